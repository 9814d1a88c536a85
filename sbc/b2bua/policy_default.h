#pragma once
// DefaultPolicy: the Policy of one SIP thread, built from the pieces in this
// folder: identification (ACL, digest, registered source), anti-flood
// (policy_flood.h), the registrar (registrar.h) and routing (routing.h).
//
// Identification of a new out-of-dialog request, in this order:
//  (a) the source address is in the ACL of an enabled trunk of the realm of
//      the listener it arrived on: Accept; except a PBX trunk with auth
//      Digest (every method but ACK, CANCEL and OPTIONS is authenticated) or
//      a REGISTER to a PBX trunk with auth Register and credentials, which
//      go through digest.
//  (-) anti-flood: a token bucket per source IP for everything not matched
//      by an ACL (carriers send at rates no scanner gets): over it -> Drop.
//  (c) not a REGISTER, and the source address:port is a live registered
//      contact of an enabled Register trunk of that realm: Accept.
//  (b) a PBX trunk with auth Digest or Register and NO ACL whose inbound
//      username is the From user (the To user for REGISTER): digest — 401
//      (REGISTER) / 407 challenge without valid credentials, Accept when they
//      verify, 403 when they do not, a stale=true challenge for an expired
//      nonce.
//  (d) anything else: Drop, counted by cause; nothing is sent.
#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "sbc/b2bua/digest.h"
#include "sbc/b2bua/gateway_health.h"
#include "sbc/b2bua/policy.h"
#include "sbc/b2bua/policy_flood.h"
#include "sbc/b2bua/registrar.h"
#include "sbc/b2bua/routing.h"
#include "sbc/txn/timer_service.h"

namespace sbc::b2bua {

struct PolicyOptions {
  std::string node_name = "sbc";  // digest realm when a trunk sets none
  // The realm of each transport listener, indexed by txn::Peer::listener.
  // Empty: no realm restriction (tests, single-realm set-ups). A listener
  // beyond the table identifies nobody.
  std::vector<std::string> listener_realms;
  DigestServerOptions digest;
  FloodOptions flood;
  RegistrarOptions registrar;
  RoutingOptions routing;
  std::uint64_t seed = 0;  // weighted random routing; 0: random
  // To tags of the responses the policy builds; default: random hex.
  std::function<std::string()> make_tag;
};

struct PolicyStats {
  std::uint64_t accepted_acl = 0;
  std::uint64_t accepted_digest = 0;
  std::uint64_t accepted_registered = 0;
  std::uint64_t challenges = 0;
  std::uint64_t stale_challenges = 0;
  std::uint64_t auth_failures = 0;  // 403 after a failed verification
  std::uint64_t dropped_unknown = 0;
  std::uint64_t dropped_flood = 0;
  std::uint64_t registers_refused = 0;  // REGISTER to a trunk that does not take them
};

class DefaultPolicy final : public Policy {
 public:
  explicit DefaultPolicy(txn::TimerService& timers, PolicyOptions options = {},
                         const HealthView* health = nullptr, RegistrationSink* sink = nullptr);

  Identity identify(const sip::Message& request, const txn::Peer& source,
                    const cfg::Snapshot& snapshot) override;
  sip::Message handleRegister(const sip::Message& request, const txn::Peer& source,
                              const cfg::Trunk& trunk) override;
  RoutingDecision route(const sip::Message& invite, const cfg::Trunk& from,
                        const cfg::Snapshot& snapshot) override;

  void setHealth(const HealthView* health) { router_.setHealth(health); }
  Registrar& registrar() { return registrar_; }
  const Registrar& registrar() const { return registrar_; }
  const PolicyStats& stats() const { return stats_; }
  const FloodGuard& flood() const { return flood_; }
  // The digest realm of a trunk's inbound credentials.
  std::string_view realmOf(const cfg::Trunk& trunk) const;

 private:
  Identity digest(const sip::Message& request, const cfg::Trunk& trunk);
  Identity drop(RejectCause cause);
  const cfg::Trunk* byCredentials(const sip::Message& request, const cfg::Snapshot& snapshot,
                                  std::string_view realm);
  void indexUsers(const cfg::Snapshot& snapshot);
  std::string makeTag();

  txn::TimerService& timers_;
  PolicyOptions options_;
  DigestServer digest_;
  FloodGuard flood_;
  Registrar registrar_;
  Router router_;
  PolicyStats stats_;
  // Inbound username -> ACL-less Digest/Register PBX trunks, per snapshot.
  const cfg::Snapshot* users_of_ = nullptr;
  std::uint64_t users_generation_ = 0;
  std::unordered_map<std::string, std::vector<const cfg::Trunk*>> users_;
};

}  // namespace sbc::b2bua

#pragma once
// Where a new call goes (Policy::route). Outbound (from a PBX trunk): the
// dialled number normalized to E.164, LNP (lnp.h), the longest-prefix routes
// of the snapshot, equal priorities ordered by weighted random, each trunk's
// enabled gateways by priority then weighted random, down gateways skipped
// (unless all are down), gateways given by a host name that has no address
// in the health view's DNS cache skipped (dns_cache.h); a named one is sent
// to its cached address with the name kept for the Request-URI and To
// (Target::uri_host), and a TLS one carries its trunk's client profile
// (Target::tls_profile). Inbound (from a carrier): the DID decides:
// active -> the PBX trunk's registered contacts (auth Register) or gateways; porting_in / reserved
// / unknown -> 404; ported_out -> 404 or re-routed by LNP per the carrier trunk's PortedOutAction.
#include <cstddef>
#include <cstdint>
#include <random>

#include "sbc/b2bua/gateway_health.h"
#include "sbc/b2bua/lnp.h"
#include "sbc/b2bua/policy.h"
#include "sbc/b2bua/registrar.h"

namespace sbc::b2bua {

struct RoutingOptions {
  std::size_t max_targets = 16;  // failover never walks further than this
};

class Router {
 public:
  // `health` and `registrar` may be null (no health checks / no PBX
  // registrations). `seed` 0: random.
  explicit Router(RoutingOptions options = {}, const HealthView* health = nullptr,
                  const Registrar* registrar = nullptr, std::uint64_t seed = 0);

  RoutingDecision route(const sip::Message& invite, const cfg::Trunk& from,
                        const cfg::Snapshot& snapshot);

  void setHealth(const HealthView* health) { health_ = health; }
  void setRegistrar(const Registrar* registrar) { registrar_ = registrar; }

 private:
  void outbound(RoutingDecision& d, const sip::Uri& ruri, const cfg::Trunk& from,
                const cfg::Snapshot& snapshot);
  void inbound(RoutingDecision& d, const sip::Uri& ruri, const cfg::Trunk& from,
               const cfg::Snapshot& snapshot);
  // Carrier targets for `e164` routed on lnp.routing_digits.
  void toCarriers(RoutingDecision& d, const LnpInfo& lnp, const cfg::Trunk& from,
                  const cfg::Snapshot& snapshot);
  // Appends the enabled gateways of `trunk`, up ones to `targets` and down
  // ones to `down`, in priority / weighted random order.
  void gatewayTargets(const cfg::Trunk& trunk, const Target& base, std::vector<Target>& targets,
                      std::vector<Target>& down);
  static void reject(RoutingDecision& d, RejectCause cause, int code, std::string_view reason);

  RoutingOptions options_;
  const HealthView* health_;
  const Registrar* registrar_;
  std::mt19937_64 rng_;
};

// Orders items of equal priority by weighted random: repeatedly draws the
// next one with probability weight / remaining weight. Weights <= 0 go last
// in their given order. Exposed for tests.
template <class T, class WeightFn>
void weightedShuffle(std::vector<T>& items, std::size_t begin, std::size_t end, WeightFn weight,
                     std::mt19937_64& rng) {
  for (std::size_t i = begin; i + 1 < end; ++i) {
    std::uint64_t total = 0;
    for (std::size_t j = i; j < end; ++j)
      total += static_cast<std::uint64_t>(std::max(0, weight(items[j])));
    if (total == 0) return;
    std::uint64_t r = std::uniform_int_distribution<std::uint64_t>(0, total - 1)(rng);
    std::size_t pick = i;
    for (std::size_t j = i; j < end; ++j) {
      auto w = static_cast<std::uint64_t>(std::max(0, weight(items[j])));
      if (r < w) {
        pick = j;
        break;
      }
      r -= w;
    }
    // Rotate rather than swap so that zero-weight items keep their order.
    std::rotate(items.begin() + static_cast<std::ptrdiff_t>(i),
                items.begin() + static_cast<std::ptrdiff_t>(pick),
                items.begin() + static_cast<std::ptrdiff_t>(pick) + 1);
  }
}

txn::Protocol toTxnProtocol(cfg::Transport t);
// ";transport=tcp" / ";transport=tls" for a SIP URI, "" for UDP (the default).
std::string_view transportUriParam(txn::Protocol p);

}  // namespace sbc::b2bua

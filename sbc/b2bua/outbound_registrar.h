#pragma once
// Outbound registration: for carrier trunks with register_outbound, the SBC
// REGISTERs to the trunk's first healthy gateway (by priority) through the
// engine's RequestSender, answers 401/407 with the trunk's outbound
// credentials (digest_client.h: SHA-256 or MD5), refreshes at half the
// granted expiry, and backs off after failures (30 s doubling to 10 min by
// default). A new snapshot that changes a trunk's registration settings
// restarts that trunk's registration; a trunk that no longer registers is
// unregistered (Expires: 0). Timers run on the SIP thread's TimerService.
// A gateway given by DNS name keeps its name in the Request-URI, To and From
// (the AOR); the REGISTER goes to the address the HealthView's DNS cache
// holds for it (never resolved on the SIP thread).
//
// Threading: one OutboundRegistrar per node, on one SIP thread.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "sbc/b2bua/digest_client.h"
#include "sbc/b2bua/gateway_health.h"
#include "sbc/b2bua/policy.h"
#include "sbc/config/snapshot.h"
#include "sbc/txn/timer_service.h"

namespace sbc::b2bua {

struct OutboundRegistrarOptions {
  std::chrono::seconds initial_backoff{30};
  std::chrono::seconds max_backoff{600};
  std::chrono::seconds min_refresh{5};  // never refresh more often than this
  // A registrar given by DNS name that has no address yet is retried after
  // this, a few times, before it counts as a failure.
  std::chrono::milliseconds dns_wait{1000};
};

enum class OutboundState : std::uint8_t { Registering, Registered, Failed };
std::string_view toString(OutboundState s);

// One trunk's registration, for metrics and the management API.
struct OutboundStatus {
  cfg::TrunkId trunk = 0;
  std::string trunk_name;
  OutboundState state = OutboundState::Registering;
  std::int64_t gateway_id = 0;  // the gateway registered to (or tried)
  int last_code = 0;            // last final response; 0: timeout / not sent
  std::uint32_t granted_expires = 0;
  txn::TimePoint expires_at{};    // Registered: when the binding lapses
  txn::TimePoint next_attempt{};  // the next REGISTER (refresh or retry)
  std::uint32_t consecutive_failures = 0;
  std::uint64_t registrations = 0;  // successful REGISTERs
};

class OutboundRegistrar {
 public:
  OutboundRegistrar(RequestSender& sender, txn::TimerService& timers,
                    const HealthView* health = nullptr, OutboundRegistrarOptions options = {});
  ~OutboundRegistrar();
  OutboundRegistrar(const OutboundRegistrar&) = delete;
  OutboundRegistrar& operator=(const OutboundRegistrar&) = delete;

  void setSnapshot(const cfg::Snapshot& snapshot);
  // Unregisters every trunk (Expires: 0) and stops (node shutdown).
  void shutdown();
  std::vector<OutboundStatus> status() const;

 private:
  struct Entry;
  void start(Entry& e);
  void send(Entry& e, std::uint32_t expires, const std::string* authorization, bool proxy);
  void onOutcome(cfg::TrunkId id, std::uint64_t epoch, const RequestSender::Outcome& o);
  void registered(Entry& e, const sip::Message& response);
  void failed(Entry& e, int code);
  void schedule(Entry& e, txn::Duration delay);
  void unregister(Entry& e);
  std::string authorizationFor(Entry& e, const DigestChallenge& ch);

  RequestSender& sender_;
  txn::TimerService& timers_;
  const HealthView* health_;
  OutboundRegistrarOptions options_;
  std::unordered_map<cfg::TrunkId, std::unique_ptr<Entry>> entries_;
  std::uint64_t next_epoch_ = 1;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace sbc::b2bua

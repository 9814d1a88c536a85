#pragma once
// Gateway health: an OPTIONS ping every `interval` to each enabled gateway
// with options_ping, through the engine's RequestSender. A gateway goes down
// after `down_after` consecutive failures and up again after one success.
// Any final response means the peer's SIP stack is alive (404, 405, 501...
// all prove it answered) except 503, which RFC 3261 21.5.4 defines as
// "temporarily unable to process": calls would fail there too. Timeouts and
// transport errors are failures.
//
// Threading: one GatewayHealth runs on one SIP thread (it owns the timers and
// the pings); isDown() may be called from any thread: the down gateways are
// kept in a small open-addressing table of atomics written by the owning
// thread only. Gateways given by host name are resolved by a DnsCache of
// its own (dns_cache.h), which routing reads through addressOf().
// Slots are never freed (a gateway that comes back up leaves a
// tombstone, reused later), so a reader never touches freed memory and takes
// no lock. (std::atomic<std::shared_ptr> was the first choice; libstdc++ 12's
// implementation trips TSan.)
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sbc/b2bua/dns_cache.h"
#include "sbc/b2bua/policy.h"
#include "sbc/config/snapshot.h"
#include "sbc/txn/timer_service.h"

namespace sbc::b2bua {

// What routing asks of gateway health.
class HealthView {
 public:
  virtual ~HealthView() = default;
  virtual bool isDown(std::int64_t gateway_id) const = 0;
  // The address to send to for a gateway's host: an IP literal as is, a DNS
  // name from the cache (dns_cache.h), nullopt for a name with no address
  // (yet): that gateway is unusable. Any thread; never blocks on DNS.
  virtual std::optional<std::string> addressOf(std::string_view host) const {
    return std::string(host);
  }
};

struct HealthOptions {
  std::chrono::seconds interval{30};
  std::uint32_t down_after = 3;  // consecutive failures
  std::size_t max_down = 2048;   // gateways down at the same time that isDown() can report
  std::string from_user = "ping";
  DnsCacheOptions dns;  // gateways given by host name
};

struct GatewayStatus {
  std::int64_t gateway_id = 0;
  cfg::TrunkId trunk = 0;
  std::string host;
  std::uint16_t port = 0;
  bool up = true;
  std::uint32_t consecutive_failures = 0;
  int last_code = 0;                 // 0: timeout / transport error / never answered
  std::chrono::milliseconds rtt{0};  // of the last answered ping
  txn::TimePoint last_check{};
  std::uint64_t pings = 0, failures = 0;
};

class GatewayHealth final : public HealthView {
 public:
  GatewayHealth(RequestSender& sender, txn::TimerService& timers, HealthOptions options = {});
  ~GatewayHealth() override;
  GatewayHealth(const GatewayHealth&) = delete;
  GatewayHealth& operator=(const GatewayHealth&) = delete;

  // Starts pinging the gateways of this snapshot; gateways that stay keep
  // their state, removed ones are forgotten.
  void setSnapshot(const cfg::Snapshot& snapshot);
  bool isDown(std::int64_t gateway_id) const override;
  std::optional<std::string> addressOf(std::string_view host) const override;
  std::vector<GatewayStatus> status() const;
  DnsStats dnsStats() const { return dns_->stats(); }

 private:
  struct Entry {
    GatewayStatus status;
    cfg::Gateway gateway;
    std::string realm;
    txn::TimerHandle timer;
    bool in_flight = false;
    std::uint64_t epoch = 0;  // bumped when the entry is reconfigured
    txn::TimePoint sent_at{};
  };
  void schedule(Entry& e, txn::Duration delay);
  void ping(std::int64_t id);
  void onOutcome(std::int64_t id, std::uint64_t epoch, const RequestSender::Outcome& outcome);
  void record(Entry& e, bool alive, int code);
  void setDown(std::int64_t id, bool down);

  RequestSender& sender_;
  txn::TimerService& timers_;
  HealthOptions options_;
  std::unordered_map<std::int64_t, Entry> entries_;
  std::uint64_t next_epoch_ = 1;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // guards late callbacks
  struct DownSlot {
    std::atomic<std::int64_t> id;
    std::atomic<bool> down{false};
  };
  std::size_t down_capacity_ = 0;
  std::unique_ptr<DownSlot[]> down_;
  std::uint64_t down_overflow_ = 0;  // more gateways down at once than the table holds
  // Host names of every enabled gateway (pinged or not). Declared last: its
  // worker thread is joined first.
  std::unique_ptr<DnsCache> dns_;
};

}  // namespace sbc::b2bua

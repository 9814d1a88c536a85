#pragma once
// Which of the console's resources changed, fanned out to every open event
// stream (GET /api/v1/events). The PostgreSQL listener publishes table names
// from its own thread; each stream waits on its connection's executor.
//
// Coalescing is per stream: a stream is told about a resource at most once
// per `coalesce` period, however many statements changed it meanwhile, so a
// bulk import costs a handful of events, not one per row.
//
// Locking: one mutex guards the subscriber list and every subscription's
// state; nothing blocks under it. A waiting stream is woken by cancelling its
// timer on its own executor (a strand), never from the publishing thread.
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sbc::admin {

enum class ChangeResource : std::uint8_t {
  kTrunks,
  kDids,
  kRoutes,
  kPortedNumbers,
  kPortOrders,
  kUsers,
  kApiTokens,
  kAudit,
  kCdrs,
  kCount
};
using ChangeSet = std::uint32_t;  // a bit per ChangeResource
constexpr ChangeSet kAllChanges =
    (ChangeSet{1} << static_cast<unsigned>(ChangeResource::kCount)) - 1;

constexpr ChangeSet changeBit(ChangeResource r) {
  return ChangeSet{1} << static_cast<unsigned>(r);
}
// The name the UI knows it by ("trunks", "port_orders", "audit", ...).
std::string_view changeResourceName(ChangeResource r);
// A NOTIFY payload (a table name) to the resource that shows it; nullopt for
// tables no page shows.
std::optional<ChangeResource> changeResourceForTable(std::string_view table);
// "trunks,dids" style list of a set, in enum order.
std::vector<std::string_view> changeNames(ChangeSet set);

class ChangeHub;

// What a wait ended with: changes to report, a keep-alive due (nothing
// changed), or the end of the stream (the hub stops or the client is gone).
struct ChangeBatch {
  ChangeSet changes = 0;
  bool closed = false;
};

class ChangeSubscription {
 public:
  ~ChangeSubscription();
  ChangeSubscription(const ChangeSubscription&) = delete;
  ChangeSubscription& operator=(const ChangeSubscription&) = delete;

  // Waits on the caller's executor (which must be a strand or a single
  // thread) until changes are due, `keepalive` passes, or the stream ends.
  boost::asio::awaitable<ChangeBatch> wait(std::chrono::milliseconds keepalive);
  // Ends the stream: a wait in progress returns closed. Any thread.
  void cancel();

 private:
  friend class ChangeHub;
  struct Waiter;
  explicit ChangeSubscription(std::shared_ptr<ChangeHub> hub) : hub_(std::move(hub)) {}

  std::shared_ptr<ChangeHub> hub_;
  // Guarded by hub_->mutex_.
  ChangeSet pending_ = 0;
  bool closed_ = false;
  std::chrono::steady_clock::time_point next_allowed_{};
  std::shared_ptr<Waiter> waiter_;
};

class ChangeHub : public std::enable_shared_from_this<ChangeHub> {
 public:
  struct Options {
    std::chrono::milliseconds coalesce{250};
    std::size_t max_streams = 256;
  };
  static std::shared_ptr<ChangeHub> create(Options options);
  ChangeHub(const ChangeHub&) = delete;
  ChangeHub& operator=(const ChangeHub&) = delete;
  ~ChangeHub() = default;

  // Any thread.
  void publish(ChangeSet changes);
  void publishTable(std::string_view table);
  // nullptr when max_streams are open or the hub has stopped.
  std::shared_ptr<ChangeSubscription> subscribe();
  // Every stream ends now, later subscribe() fail (shutdown).
  void stop();

  std::size_t openStreams() const;
  bool stopped() const;

 private:
  friend class ChangeSubscription;
  explicit ChangeHub(Options options) : options_(options) {}
  void remove(ChangeSubscription* s);
  static void wake(ChangeSubscription& s);  // mutex_ held

  const Options options_;
  mutable std::mutex mutex_;
  std::vector<ChangeSubscription*> subs_;
  bool stopped_ = false;
};

}  // namespace sbc::admin

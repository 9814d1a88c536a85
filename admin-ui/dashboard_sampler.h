#pragma once
// The dashboard's memory: every 10 s the console asks every live SBC node
// for its trunk usage, calls and relays (the same gathering as
// GET /api/v1/live/*) and counts the CDRs written since the last tick, then
// keeps one hour of those samples here, so that a freshly opened dashboard
// draws the last hour at once. Memory only: a restarted console starts empty.
#include <boost/asio/awaitable.hpp>
#include <boost/json.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace sbc::admin {

class Api;

struct TrunkPoint {
  std::int64_t id = 0;  // 0: known from CDRs only (a trunk no node reports any more)
  std::string name;
  std::string kind;
  std::int64_t active = 0;      // calls through it, summed over nodes
  double calls_per_minute = 0;  // CDRs written for it since the last sample, per minute
};

struct DashboardSample {
  std::int64_t at = 0;  // unix seconds
  // Distinct calls over the nodes that answered (a call through two trunks
  // counts once); nullopt when no node answered.
  std::optional<std::int64_t> active_calls;
  std::vector<TrunkPoint> trunks;
};

// What one tick gathered, as the console's own /api/v1/live/* bodies
// ({"items":[...],"nodes":[...]}); a missing piece is null.
struct GatheredState {
  boost::json::value usage;
  boost::json::value calls;
  boost::json::value relays;
  std::map<std::string, std::int64_t> finished_by_trunk;  // CDRs per trunk name
  double elapsed_seconds = 0;                             // the CDR window
};

// One sample from a tick's answers (pure: the unit of the sampler's logic).
DashboardSample makeSample(std::int64_t at, const GatheredState& state);
// Relay health per node, flattened: [{node, endpoint, connected, healthy, sessions, ports_free}].
boost::json::array relayRows(const boost::json::value& relays);

// The last `window` of samples. Thread-safe: the sampler writes on an io
// thread while GET /api/v1/dashboard reads on any.
class DashboardHistory {
 public:
  explicit DashboardHistory(std::chrono::seconds window = std::chrono::hours(1),
                            std::chrono::seconds interval = std::chrono::seconds(10));

  void add(DashboardSample sample, boost::json::array relays, boost::json::value nodes);
  // {interval_seconds, window_seconds, updated_at, times[], active_calls[],
  //  trunks:[{id,name,kind,active[],calls_per_minute[]}], relays[], nodes[]}:
  // every series aligned on times (null where a trunk had no sample).
  boost::json::object toJson() const;
  std::size_t size() const;

 private:
  const std::chrono::seconds window_;
  const std::chrono::seconds interval_;
  mutable std::mutex mutex_;
  std::deque<DashboardSample> samples_;
  boost::json::array relays_;
  boost::json::value nodes_;
};

// Samples now and then every `period` into `history` (a tick never overlaps
// the previous one). Returns the function that stops it (call it on
// shutdown, or io.run() never returns).
std::function<void()> startDashboardSampler(boost::asio::io_context& io, Api& api,
                                            std::shared_ptr<DashboardHistory> history,
                                            std::chrono::milliseconds period);

}  // namespace sbc::admin

#pragma once
// The hand-off between SIP threads and the trace writer: bounded both in
// records and in bytes. push() never waits on I/O: it takes a mutex for an
// O(1) append (the writer swaps the whole queue out under the same mutex) and
// refuses, counting a drop, when full. A trace that loses messages under
// overload is better than a SIP thread that stalls.
#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

#include "sbc/trace/record.h"

namespace sbc::trace {

struct TraceQueueLimits {
  std::size_t max_records = 20'000;
  std::size_t max_bytes = std::size_t{32} * 1024 * 1024;
};

class TraceQueue {
 public:
  explicit TraceQueue(TraceQueueLimits limits = {});
  TraceQueue(const TraceQueue&) = delete;
  TraceQueue& operator=(const TraceQueue&) = delete;

  // Any thread. False (and counted in dropped()) when full.
  bool push(TraceRecord&& record);
  // Writer thread: moves everything queued into `out` (appended, in order).
  void drainTo(std::vector<TraceRecord>& out);

  std::size_t size() const;
  std::uint64_t accepted() const { return accepted_.load(std::memory_order_relaxed); }
  std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  TraceQueueLimits limits_;
  mutable std::mutex mutex_;
  std::deque<TraceRecord> queue_;
  std::size_t bytes_ = 0;
  std::atomic<std::uint64_t> accepted_{0}, dropped_{0};
};

}  // namespace sbc::trace

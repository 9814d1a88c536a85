#pragma once
// The deadline-ordered timer store shared by the fake and the Asio timer
// services: a binary min-heap plus a slot table, so schedule is O(log n),
// cancel is O(1) (lazy: the heap entry is skipped when it surfaces) and nothing
// is allocated per timer once the vectors have grown.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "sbc/txn/timer_service.h"

namespace sbc::txn {

class TimerQueue {
 public:
  using Callback = TimerService::Callback;

  TimerHandle add(TimePoint deadline, Callback callback);
  // Returns false when the handle had already fired or been cancelled.
  bool cancel(TimerHandle handle);

  // Earliest deadline of a live timer.
  std::optional<TimePoint> nextDeadline();
  // Fires the earliest live timer if its deadline is <= limit. The slot is
  // released before the callback runs, so the callback may add or cancel
  // timers freely. Returns the fired timer's deadline.
  std::optional<TimePoint> runOne(TimePoint limit);

  std::size_t size() const { return live_; }
  bool empty() const { return live_ == 0; }

 private:
  struct Entry {
    TimePoint deadline;
    std::uint64_t sequence;  // FIFO among equal deadlines
    std::uint32_t slot;
    std::uint32_t generation;
  };
  struct Slot {
    Callback callback;
    std::uint32_t generation = 1;
    bool live = false;
  };

  bool isStale(const Entry& e) const;
  void dropStaleTop();
  void compactIfSparse();

  std::vector<Entry> heap_;
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> free_slots_;
  std::uint64_t next_sequence_ = 0;
  std::size_t live_ = 0;
};

}  // namespace sbc::txn

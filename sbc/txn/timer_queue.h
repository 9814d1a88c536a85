#pragma once
// The deadline-ordered timer store shared by the fake and the Asio timer
// services. Timers are kept in buckets of one deadline, each a FIFO of
// (slot, generation) entries; a small 4-ary min-heap orders the buckets by
// (deadline, creation). AsioTimerService aligns long timers on a grid, so a
// busy SIP thread has a few hundred to a few thousand buckets in flight (a
// heap that stays in cache) where a heap of timers would hold hundreds of
// thousands of entries (megabytes, a likely cache miss per level). A new
// timer joins the newest bucket of its deadline when a small two-way
// cache still knows it, else opens one (so one deadline may have several
// buckets, fired in creation order: timers of one deadline still fire in the
// order they were added). Cancel is O(1) (lazy: the entry is skipped when its
// bucket runs); nothing is allocated per timer once the vectors have grown,
// and a bucket gives its entry array back when it is recycled.
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "sbc/txn/timer_service.h"

namespace sbc::txn {

class TimerQueue {
 public:
  using Callback = TimerService::Callback;

  TimerHandle add(TimePoint deadline, Callback callback);
  // Room for `timers` live timers, so that a busy SIP thread never copies a
  // multi-megabyte vector while it grows. Untouched capacity costs address
  // space only.
  void reserve(std::size_t timers);
  // Returns false when the handle had already fired or been cancelled.
  bool cancel(TimerHandle handle);

  // Earliest deadline of a live timer.
  std::optional<TimePoint> nextDeadline();
  // Fires the earliest live timer if its deadline is <= limit (timers with
  // one deadline in the order they were added). The slot is released before
  // the callback runs, so the callback may add or cancel timers freely.
  // Returns the fired timer's deadline.
  std::optional<TimePoint> runOne(TimePoint limit);

  std::size_t size() const { return live_; }
  bool empty() const { return live_ == 0; }

 private:
  struct Entry {
    std::uint32_t slot;
    std::uint32_t generation;
  };
  // Most buckets hold a single timer (exact deadlines, short timers), so
  // the first entry lives inline and only a second one allocates.
  struct Bucket {
    TimePoint deadline{};
    Entry first{};
    std::unique_ptr<Entry[]> more;  // entries 1.. in the order added
    std::uint32_t size = 0;         // entries added
    std::uint32_t capacity = 0;     // of `more`
    std::uint32_t next = 0;         // entries before it have run
    std::uint32_t live = 0;         // live timers among entries[next..]
    std::uint32_t generation = 1;   // bumped when recycled (cache validity)

    Entry& at(std::uint32_t i) { return i == 0 ? first : more[i - 1]; }
    void push(Entry e);
  };
  struct HeapItem {
    TimePoint deadline;
    std::uint64_t sequence;  // bucket creation order, among equal deadlines
    std::uint32_t bucket;
  };
  struct CacheLine {
    TimePoint deadline{};
    std::uint32_t bucket = 0;
    std::uint32_t generation = 0;  // 0: empty
  };
  static constexpr std::uint32_t kNoBucket = UINT32_MAX;
  struct Slot {
    Callback callback;
    std::uint32_t generation = 1;
    std::uint32_t bucket = kNoBucket;  // kNoBucket: not live
    bool live() const { return bucket != kNoBucket; }
  };

  bool isStale(const Entry& e) const;
  static bool before(const HeapItem& a, const HeapItem& b);
  std::uint32_t bucketFor(TimePoint deadline);
  void release(std::uint32_t slot);
  // The earliest bucket holding a live timer at heap_[0], or false.
  bool settleTop();
  void popTop();
  void recycle(std::uint32_t bucket);
  void compactIfSparse();
  void siftUp(std::size_t index);
  void siftDown(std::size_t index);

  std::vector<HeapItem> heap_;
  std::vector<Bucket> buckets_;
  std::vector<std::uint32_t> free_buckets_;
  // By a hash of the deadline, two ways a set (most recent first): the few
  // distinct deadlines of a quiet clock must not evict each other, or every
  // timer would open a bucket of its own.
  static constexpr std::size_t kCacheSets = 64;
  std::array<std::array<CacheLine, 2>, kCacheSets> newest_{};
  std::uint64_t next_sequence_ = 0;
  std::size_t empty_buckets_ = 0;  // in the heap with no live timer
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> free_slots_;
  std::size_t live_ = 0;
};

}  // namespace sbc::txn

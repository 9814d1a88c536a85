#include "sbc/txn/timer_queue.h"

#include <algorithm>
#include <utility>

namespace sbc::txn {
namespace {

constexpr std::size_t kArity = 4;
constexpr std::uint32_t kMinMore = 4;

// A recycled index from `free` if there is one, else a new element at the
// end of `items`.
template <typename Items>
std::uint32_t takeIndex(std::vector<std::uint32_t>& free, Items& items) {
  if (free.empty()) {
    items.emplace_back();
    return static_cast<std::uint32_t>(items.size() - 1);
  }
  const std::uint32_t index = free.back();
  free.pop_back();
  return index;
}

}  // namespace

void TimerQueue::siftUp(std::size_t index) {
  const HeapItem item = heap_[index];
  while (index > 0) {
    const std::size_t parent = (index - 1) / kArity;
    if (!before(item, heap_[parent])) break;
    heap_[index] = heap_[parent];
    index = parent;
  }
  heap_[index] = item;
}

void TimerQueue::siftDown(std::size_t index) {
  const std::size_t n = heap_.size();
  const HeapItem item = heap_[index];
  while (true) {
    const std::size_t first = index * kArity + 1;
    if (first >= n) break;
    const std::size_t end = std::min(first + kArity, n);
    std::size_t best = first;
    for (std::size_t c = first + 1; c < end; ++c) {
      if (before(heap_[c], heap_[best])) best = c;
    }
    if (!before(heap_[best], item)) break;
    heap_[index] = heap_[best];
    index = best;
  }
  heap_[index] = item;
}

void TimerQueue::Bucket::push(Entry e) {
  if (size == 0) {
    first = e;
  } else {
    if (size - 1 == capacity) {
      const std::uint32_t grown = capacity == 0 ? kMinMore : capacity * 2;
      auto bigger = std::make_unique_for_overwrite<Entry[]>(grown);
      std::copy_n(more.get(), capacity, bigger.get());
      more = std::move(bigger);
      capacity = grown;
    }
    more[size - 1] = e;
  }
  ++size;
}

void TimerQueue::reserve(std::size_t timers) {
  slots_.reserve(timers);
  free_slots_.reserve(timers);
}

bool TimerQueue::before(const HeapItem& a, const HeapItem& b) {
  if (a.deadline != b.deadline) return a.deadline < b.deadline;
  return a.sequence < b.sequence;
}

std::uint32_t TimerQueue::bucketFor(TimePoint deadline) {
  const auto key = static_cast<std::uint64_t>(deadline.time_since_epoch().count());
  static_assert(kCacheSets == 64, "the hash keeps 6 bits");
  std::array<CacheLine, 2>& set = newest_[(key * 0x9E3779B97F4A7C15ULL) >> 58];
  for (const CacheLine& line : set) {
    if (line.generation != 0 && line.deadline == deadline &&
        buckets_[line.bucket].generation == line.generation) {
      return line.bucket;
    }
  }
  const std::uint32_t b = takeIndex(free_buckets_, buckets_);
  Bucket& bucket = buckets_[b];
  bucket.deadline = deadline;
  heap_.push_back(HeapItem{deadline, next_sequence_++, b});
  siftUp(heap_.size() - 1);
  // A new bucket starts empty but counts as in use from here on.
  ++empty_buckets_;
  set[1] = set[0];
  set[0] = CacheLine{deadline, b, bucket.generation};
  return b;
}

TimerHandle TimerQueue::add(TimePoint deadline, Callback callback) {
  const std::uint32_t index = takeIndex(free_slots_, slots_);
  const std::uint32_t b = bucketFor(deadline);
  Bucket& bucket = buckets_[b];
  if (bucket.live++ == 0) --empty_buckets_;
  Slot& slot = slots_[index];
  slot.callback = std::move(callback);
  slot.bucket = b;
  ++live_;
  bucket.push(Entry{index, slot.generation});
  return TimerHandle{index, slot.generation};
}

void TimerQueue::release(std::uint32_t index) {
  Slot& slot = slots_[index];
  slot.bucket = kNoBucket;
  slot.callback = nullptr;
  // Generation 0 is reserved for "no timer".
  if (++slot.generation == 0) slot.generation = 1;
  free_slots_.push_back(index);
  --live_;
}

bool TimerQueue::cancel(TimerHandle handle) {
  if (!handle || handle.slot >= slots_.size()) return false;
  Slot& slot = slots_[handle.slot];
  if (!slot.live() || slot.generation != handle.generation) return false;
  Bucket& bucket = buckets_[slot.bucket];
  release(handle.slot);
  if (--bucket.live == 0) {
    ++empty_buckets_;
    compactIfSparse();
  }
  return true;
}

bool TimerQueue::isStale(const Entry& e) const {
  const Slot& slot = slots_[e.slot];
  return !slot.live() || slot.generation != e.generation;
}

void TimerQueue::recycle(std::uint32_t b) {
  Bucket& bucket = buckets_[b];
  // Generation 0 is reserved for "empty cache line".
  if (++bucket.generation == 0) bucket.generation = 1;
  // Its memory goes back: a recycled bucket may wait long for reuse, and
  // most reuses hold one timer (inline) anyway.
  bucket.more.reset();
  bucket.capacity = 0;
  bucket.size = 0;
  bucket.next = 0;
  bucket.live = 0;
  free_buckets_.push_back(b);
}

void TimerQueue::popTop() {
  heap_.front() = heap_.back();
  heap_.pop_back();
  if (!heap_.empty()) siftDown(0);
}

bool TimerQueue::settleTop() {
  while (!heap_.empty()) {
    const std::uint32_t b = heap_.front().bucket;
    if (buckets_[b].live > 0) return true;
    popTop();
    --empty_buckets_;
    recycle(b);
  }
  return false;
}

// Cancelled timers leave their buckets behind; transactions cancel most of
// their timers (B, F, H... rarely fire), and timers with exact deadlines
// (FakeTimerService, short ones) get a bucket each, so without this the heap
// would hold up to 64*T1 worth of empty buckets.
void TimerQueue::compactIfSparse() {
  if (heap_.size() < 256 || empty_buckets_ * 4 < heap_.size() * 3) return;
  std::erase_if(heap_, [this](const HeapItem& item) {
    if (buckets_[item.bucket].live > 0) return false;
    recycle(item.bucket);
    return true;
  });
  empty_buckets_ = 0;
  if (heap_.size() < 2) return;
  for (std::size_t i = (heap_.size() - 2) / kArity + 1; i-- > 0;) siftDown(i);
}

std::optional<TimePoint> TimerQueue::nextDeadline() {
  if (!settleTop()) return std::nullopt;
  return heap_.front().deadline;
}

std::optional<TimePoint> TimerQueue::runOne(TimePoint limit) {
  if (!settleTop() || heap_.front().deadline > limit) return std::nullopt;
  const std::uint32_t b = heap_.front().bucket;
  Bucket& bucket = buckets_[b];
  const TimePoint deadline = bucket.deadline;
  // live > 0: a live entry lies ahead.
  while (isStale(bucket.at(bucket.next))) ++bucket.next;
  const Entry e = bucket.at(bucket.next++);
  --bucket.live;
  Callback callback = std::move(slots_[e.slot].callback);
  release(e.slot);
  if (bucket.live == 0) {
    // Done with this bucket before the callback runs: a timer it adds for
    // the same instant opens a new bucket, which still fires after this one.
    popTop();
    recycle(b);
  }
  if (callback) callback();
  return deadline;
}

}  // namespace sbc::txn

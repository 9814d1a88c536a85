#include "sbc/txn/timer_queue.h"

#include <algorithm>
#include <utility>

namespace sbc::txn {
namespace {

// std heap functions build a max-heap; "greater" puts the earliest on top.
bool later(const auto& a, const auto& b) {
  if (a.deadline != b.deadline) return a.deadline > b.deadline;
  return a.sequence > b.sequence;
}

}  // namespace

TimerHandle TimerQueue::add(TimePoint deadline, Callback callback) {
  std::uint32_t index;
  if (!free_slots_.empty()) {
    index = free_slots_.back();
    free_slots_.pop_back();
  } else {
    index = static_cast<std::uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  Slot& slot = slots_[index];
  slot.callback = std::move(callback);
  slot.live = true;
  ++live_;
  heap_.push_back(Entry{deadline, next_sequence_++, index, slot.generation});
  std::push_heap(heap_.begin(), heap_.end(),
                 [](const Entry& a, const Entry& b) { return later(a, b); });
  return TimerHandle{index, slot.generation};
}

bool TimerQueue::cancel(TimerHandle handle) {
  if (!handle || handle.slot >= slots_.size()) return false;
  Slot& slot = slots_[handle.slot];
  if (!slot.live || slot.generation != handle.generation) return false;
  slot.live = false;
  slot.callback = nullptr;
  // Generation 0 is reserved for "no timer".
  if (++slot.generation == 0) slot.generation = 1;
  free_slots_.push_back(handle.slot);
  --live_;
  compactIfSparse();
  return true;
}

bool TimerQueue::isStale(const Entry& e) const {
  const Slot& slot = slots_[e.slot];
  return !slot.live || slot.generation != e.generation;
}

void TimerQueue::dropStaleTop() {
  auto cmp = [](const Entry& a, const Entry& b) { return later(a, b); };
  while (!heap_.empty() && isStale(heap_.front())) {
    std::pop_heap(heap_.begin(), heap_.end(), cmp);
    heap_.pop_back();
  }
}

// Cancelled entries stay in the heap until they surface; transactions cancel
// most of their timers (B, F, H... rarely fire), so without this the heap would
// hold up to 64*T1 worth of dead entries at high call rates.
void TimerQueue::compactIfSparse() {
  if (heap_.size() < 256 || heap_.size() < 4 * live_) return;
  std::erase_if(heap_, [this](const Entry& e) { return isStale(e); });
  std::make_heap(heap_.begin(), heap_.end(),
                 [](const Entry& a, const Entry& b) { return later(a, b); });
}

std::optional<TimePoint> TimerQueue::nextDeadline() {
  dropStaleTop();
  if (heap_.empty()) return std::nullopt;
  return heap_.front().deadline;
}

std::optional<TimePoint> TimerQueue::runOne(TimePoint limit) {
  dropStaleTop();
  if (heap_.empty() || heap_.front().deadline > limit) return std::nullopt;
  const Entry top = heap_.front();
  std::pop_heap(heap_.begin(), heap_.end(),
                [](const Entry& a, const Entry& b) { return later(a, b); });
  heap_.pop_back();
  Callback callback = std::move(slots_[top.slot].callback);
  cancel(TimerHandle{top.slot, top.generation});
  if (callback) callback();
  return top.deadline;
}

}  // namespace sbc::txn

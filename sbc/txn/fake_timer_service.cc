#include "sbc/txn/fake_timer_service.h"

#include <utility>

namespace sbc::txn {

TimerHandle FakeTimerService::schedule(Duration delay, Callback callback) {
  if (delay < Duration::zero()) delay = Duration::zero();
  return queue_.add(now_ + delay, std::move(callback));
}

std::size_t FakeTimerService::advance(Duration by) {
  const TimePoint target = now_ + by;
  std::size_t fired = 0;
  while (auto next = queue_.nextDeadline()) {
    if (*next > target) break;
    now_ = *next;
    if (queue_.runOne(now_)) ++fired;
  }
  now_ = target;
  return fired;
}

bool FakeTimerService::advanceToNext() {
  auto next = queue_.nextDeadline();
  if (!next) return false;
  advance(std::chrono::duration_cast<Duration>(*next - now_));
  return true;
}

std::size_t FakeTimerService::runAll(std::size_t max_fired) {
  std::size_t fired = 0;
  while (fired < max_fired) {
    auto next = queue_.nextDeadline();
    if (!next) break;
    now_ = *next;
    if (queue_.runOne(now_)) ++fired;
  }
  return fired;
}

Duration FakeTimerService::elapsed() const {
  return std::chrono::duration_cast<Duration>(now_ - (TimePoint{} + std::chrono::hours(1)));
}

}  // namespace sbc::txn

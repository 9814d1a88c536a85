#pragma once
// Simulated time for tests: nothing fires until advance() moves the clock, and
// then every due timer fires in deadline order with now() equal to its own
// deadline, so timers scheduled from inside a callback are placed exactly.
#include <cstddef>

#include "sbc/txn/timer_queue.h"
#include "sbc/txn/timer_service.h"

namespace sbc::txn {

class FakeTimerService final : public TimerService {
 public:
  // Starts at an arbitrary non-zero instant so "time zero" bugs show up.
  FakeTimerService() : now_(TimePoint{} + std::chrono::hours(1)) {}

  TimerHandle schedule(Duration delay, Callback callback) override;
  void cancel(TimerHandle handle) override { queue_.cancel(handle); }
  TimePoint now() const override { return now_; }

  // Moves the clock forward by `by`, firing every timer due on the way
  // (advance(0ms) fires the ones already due). Returns how many fired.
  std::size_t advance(Duration by);
  // Jumps to the next pending deadline and fires what is due there; returns
  // false when no timer is pending.
  bool advanceToNext();
  // Advances until no timer is pending (bounded, so a timer that keeps
  // rescheduling itself cannot hang a test). Returns how many fired.
  std::size_t runAll(std::size_t max_fired = 100000);

  std::size_t pending() const { return queue_.size(); }
  // Time since construction: convenient for asserting exact schedules.
  Duration elapsed() const;

 private:
  TimerQueue queue_;
  TimePoint now_;
};

}  // namespace sbc::txn

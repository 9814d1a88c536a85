#pragma once
// The production TimerService: every timer of one SIP thread shares a single
// steady_timer armed at the earliest deadline. Asio stays in the .cc file.
#include <memory>

#include "sbc/txn/timer_service.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace sbc::txn {

class AsioTimerService final : public TimerService {
 public:
  // Callbacks run on the thread(s) running `io`; use one instance per thread.
  explicit AsioTimerService(boost::asio::io_context& io);
  ~AsioTimerService() override;
  AsioTimerService(const AsioTimerService&) = delete;
  AsioTimerService& operator=(const AsioTimerService&) = delete;

  TimerHandle schedule(Duration delay, Callback callback) override;
  void cancel(TimerHandle handle) override;
  TimePoint now() const override { return Clock::now(); }

  std::size_t pending() const;
  // See TimerQueue::reserve().
  void reserve(std::size_t timers);

  // Timers of 100 ms or more are due at the next multiple of a grain (8 ms;
  // 32 ms from 2 s up: Timers B/F/H/J/L/M, call lingers, session timers),
  // never earlier than asked and at most one grain later, so that the many
  // timers a busy thread schedules share expiries: one wake-up and one
  // timerfd re-arm per grain instead of one per distinct deadline. At
  // 1,000 calls/s each wake-up of an idle SIP thread costs more CPU than
  // the timers it runs. Shorter timers (zero-length ones above all) keep
  // their exact deadline.
  static constexpr Duration kCoalesceFrom{100};
  static constexpr Duration kLongFrom{2000};
  static constexpr Duration kGrain{8};
  static constexpr Duration kLongGrain{32};
  // The deadline schedule() gives a timer of `delay` asked for at `now`.
  // Timers within a grain of each other may fire in scheduling order rather
  // than by their exact deadlines; each still fires no earlier than its own.
  static TimePoint coalescedDeadline(TimePoint now, Duration delay);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace sbc::txn

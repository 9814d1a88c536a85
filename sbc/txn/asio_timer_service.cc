#include "sbc/txn/asio_timer_service.h"

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <utility>

#include "sbc/txn/timer_queue.h"

namespace sbc::txn {

struct AsioTimerService::Impl : std::enable_shared_from_this<Impl> {
  explicit Impl(boost::asio::io_context& io) : timer(io) {}

  // Re-arms the steady_timer only when the earliest deadline moved earlier
  // (or nothing is armed): most timers are scheduled later than the earliest
  // one and then cost no system call.
  void rearm() {
    auto next = queue.nextDeadline();
    if (!next) return;
    if (armed && *next >= armed_at) return;
    armed = true;
    armed_at = *next;
    timer.expires_at(*next);
    timer.async_wait(
        [weak = weak_from_this(), epoch = ++wait_epoch](const boost::system::error_code& ec) {
          if (auto self = weak.lock()) self->onExpiry(ec, epoch);
        });
  }

  void onExpiry(const boost::system::error_code& ec, std::uint64_t epoch) {
    // A superseded wait (we re-armed earlier) reports operation_aborted; the
    // newer wait owns the timer now.
    if (epoch != wait_epoch) return;
    armed = false;
    if (ec) return;
    const TimePoint limit = Clock::now();
    // Bounded: a callback that reschedules itself with zero delay runs again
    // on the next turn of the io_context instead of starving it, and after a
    // stall (the thread preempted for 20 ms at 5,000 calls/s leaves ~500
    // timers due, ~5-10 us each on cold memory) the received datagrams get
    // their turn every kMaxPerTurn timers rather than after all of them.
    constexpr std::size_t kMaxPerTurn = 64;
    std::size_t budget = std::min(queue.size(), kMaxPerTurn);
    while (budget-- > 0 && queue.runOne(limit)) {
    }
    rearm();
  }

  boost::asio::steady_timer timer;
  TimerQueue queue;
  TimePoint armed_at{};
  std::uint64_t wait_epoch = 0;
  bool armed = false;
};

AsioTimerService::AsioTimerService(boost::asio::io_context& io)
    : impl_(std::make_shared<Impl>(io)) {}

AsioTimerService::~AsioTimerService() {
  // Pending waits hold only a weak reference, so they become no-ops.
  impl_->timer.cancel();
}

TimePoint AsioTimerService::coalescedDeadline(TimePoint now, Duration delay) {
  if (delay < Duration::zero()) delay = Duration::zero();
  TimePoint deadline = now + delay;
  if (delay < kCoalesceFrom) return deadline;
  // Rounded up on the clock's own epoch, so that every timer in one grain
  // gets the same deadline (and they keep FIFO order among themselves).
  const Duration grain = delay >= kLongFrom ? kLongGrain : kGrain;
  const auto into_grain = deadline.time_since_epoch() % grain;
  if (into_grain != Clock::duration::zero()) deadline += grain - into_grain;
  return deadline;
}

TimerHandle AsioTimerService::schedule(Duration delay, Callback callback) {
  const TimePoint deadline = coalescedDeadline(Clock::now(), delay);
  TimerHandle h = impl_->queue.add(deadline, std::move(callback));
  impl_->rearm();
  return h;
}

void AsioTimerService::cancel(TimerHandle handle) {
  // The steady_timer stays armed; an expiry with nothing due just re-arms.
  impl_->queue.cancel(handle);
}

void AsioTimerService::reserve(std::size_t timers) {
  impl_->queue.reserve(timers);
}

std::size_t AsioTimerService::pending() const {
  return impl_->queue.size();
}

}  // namespace sbc::txn

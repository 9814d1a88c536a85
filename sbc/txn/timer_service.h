#pragma once
// The clock and timers every transaction runs on, injected so that tests drive
// time by hand (FakeTimerService) and production runs on the SIP thread's
// io_context (AsioTimerService). No Asio here: this header is included widely.
#include <chrono>
#include <cstdint>
#include <functional>

namespace sbc::txn {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = std::chrono::milliseconds;

// A generation-tagged slot: cancelling a handle whose timer already fired or
// was cancelled is harmless, even if the slot has been reused since.
struct TimerHandle {
  std::uint32_t slot = 0;
  std::uint32_t generation = 0;  // 0: no timer

  explicit operator bool() const { return generation != 0; }
};

class TimerService {
 public:
  // Callbacks that capture up to two pointers stay in std::function's inline
  // buffer, so scheduling a transaction timer does not allocate.
  using Callback = std::function<void()>;

  virtual ~TimerService() = default;

  // Runs `callback` once, `delay` from now() (a zero delay fires on the next
  // turn, never inside schedule()). Timers due at the same instant fire in the
  // order they were scheduled.
  virtual TimerHandle schedule(Duration delay, Callback callback) = 0;
  // Idempotent; cancelling from inside any timer callback is allowed.
  virtual void cancel(TimerHandle handle) = 0;
  virtual TimePoint now() const = 0;
};

}  // namespace sbc::txn

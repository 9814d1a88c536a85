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

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace sbc::txn

// TimerQueue, FakeTimerService and AsioTimerService: ordering, cancellation
// and the "fire at your own deadline" rule the transaction tests rely on.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "sbc/txn/asio_timer_service.h"
#include "sbc/txn/fake_timer_service.h"
#include "sbc/txn/timer_queue.h"

namespace sbc::txn {
namespace {

using namespace std::chrono_literals;

TEST(TimerQueue, FiresInDeadlineOrderThenFifo) {
  TimerQueue q;
  std::vector<int> order;
  const TimePoint t0{};
  q.add(t0 + 30ms, [&] { order.push_back(30); });
  q.add(t0 + 10ms, [&] { order.push_back(10); });
  q.add(t0 + 20ms, [&] { order.push_back(21); });
  q.add(t0 + 20ms, [&] { order.push_back(22); });
  EXPECT_EQ(q.size(), 4u);
  while (q.runOne(t0 + 1h)) {
  }
  EXPECT_EQ(order, (std::vector<int>{10, 21, 22, 30}));
  EXPECT_TRUE(q.empty());
}

TEST(TimerQueue, RunOneRespectsLimit) {
  TimerQueue q;
  int fired = 0;
  const TimePoint t0{};
  q.add(t0 + 10ms, [&] { ++fired; });
  EXPECT_FALSE(q.runOne(t0 + 9ms));
  EXPECT_EQ(fired, 0);
  auto at = q.runOne(t0 + 10ms);
  ASSERT_TRUE(at);
  EXPECT_EQ(*at, t0 + 10ms);
  EXPECT_EQ(fired, 1);
}

TEST(TimerQueue, CancelledTimersNeverFireAndStaleHandlesAreHarmless) {
  TimerQueue q;
  int a = 0, b = 0;
  const TimePoint t0{};
  TimerHandle ha = q.add(t0 + 10ms, [&] { ++a; });
  EXPECT_TRUE(q.cancel(ha));
  EXPECT_FALSE(q.cancel(ha));  // second cancel: no-op
  // The slot is reused by the next timer; the old handle must not cancel it.
  TimerHandle hb = q.add(t0 + 10ms, [&] { ++b; });
  EXPECT_EQ(hb.slot, ha.slot);
  EXPECT_FALSE(q.cancel(ha));
  while (q.runOne(t0 + 1h)) {
  }
  EXPECT_EQ(a, 0);
  EXPECT_EQ(b, 1);
  EXPECT_FALSE(q.cancel(hb));  // already fired
  EXPECT_FALSE(q.cancel(TimerHandle{}));
}

TEST(TimerQueue, ManyCancellationsKeepHeapBounded) {
  TimerQueue q;
  const TimePoint t0{};
  for (int i = 0; i < 100000; ++i) {
    TimerHandle h = q.add(t0 + std::chrono::milliseconds(1000 + i), [] {});
    q.cancel(h);
  }
  EXPECT_EQ(q.size(), 0u);
  EXPECT_FALSE(q.nextDeadline());
}

TEST(TimerQueue, CallbackMayScheduleAndCancel) {
  TimerQueue q;
  const TimePoint t0{};
  std::vector<int> order;
  TimerHandle victim;
  q.add(t0 + 1ms, [&] {
    order.push_back(1);
    q.cancel(victim);
    q.add(t0 + 2ms, [&] { order.push_back(3); });
  });
  victim = q.add(t0 + 2ms, [&] { order.push_back(2); });
  while (q.runOne(t0 + 1h)) {
  }
  EXPECT_EQ(order, (std::vector<int>{1, 3}));
}

TEST(FakeTimerService, AdvanceFiresAtEachDeadlineWithNowSet) {
  FakeTimerService clock;
  std::vector<long> seen;
  clock.schedule(500ms, [&] {
    seen.push_back(clock.elapsed().count());
    // Scheduled from a callback: relative to the callback's own instant.
    clock.schedule(1000ms, [&] { seen.push_back(clock.elapsed().count()); });
  });
  clock.schedule(2000ms, [&] { seen.push_back(clock.elapsed().count()); });
  EXPECT_EQ(clock.advance(499ms), 0u);
  EXPECT_EQ(clock.advance(1ms), 1u);
  EXPECT_EQ(clock.elapsed(), 500ms);
  EXPECT_EQ(clock.advance(10s), 2u);
  EXPECT_EQ(seen, (std::vector<long>{500, 1500, 2000}));
  EXPECT_EQ(clock.elapsed(), 10500ms);
  EXPECT_EQ(clock.pending(), 0u);
}

TEST(FakeTimerService, ZeroDelayFiresOnAdvanceZeroNotInsideSchedule) {
  FakeTimerService clock;
  int fired = 0;
  clock.schedule(0ms, [&] { ++fired; });
  EXPECT_EQ(fired, 0);
  EXPECT_EQ(clock.advance(0ms), 1u);
  EXPECT_EQ(fired, 1);
}

TEST(FakeTimerService, RunAllIsBounded) {
  FakeTimerService clock;
  std::function<void()> again = [&] { clock.schedule(1ms, again); };
  clock.schedule(1ms, again);
  EXPECT_EQ(clock.runAll(50), 50u);
  EXPECT_EQ(clock.pending(), 1u);
}

TEST(AsioTimerService, FiresInOrderAfterTheirDelays) {
  boost::asio::io_context io;
  AsioTimerService timers(io);
  std::vector<int> order;
  const TimePoint start = Clock::now();
  std::vector<Clock::duration> when(4);
  timers.schedule(30ms, [&] {
    order.push_back(30);
    when[3] = Clock::now() - start;
  });
  timers.schedule(10ms, [&] {
    order.push_back(10);
    when[1] = Clock::now() - start;
  });
  TimerHandle cancelled = timers.schedule(15ms, [&] { order.push_back(15); });
  timers.schedule(20ms, [&] {
    order.push_back(20);
    when[2] = Clock::now() - start;
  });
  timers.cancel(cancelled);
  EXPECT_EQ(timers.pending(), 3u);
  io.run_for(2s);  // returns as soon as no work is left
  EXPECT_EQ(order, (std::vector<int>{10, 20, 30}));
  EXPECT_GE(when[1], 10ms);
  EXPECT_GE(when[2], 20ms);
  EXPECT_GE(when[3], 30ms);
  EXPECT_EQ(timers.pending(), 0u);
}

TEST(AsioTimerService, EarlierTimerRearmsAndCallbacksCanReschedule) {
  boost::asio::io_context io;
  AsioTimerService timers(io);
  std::vector<int> order;
  timers.schedule(200ms, [&] { order.push_back(200); });
  timers.schedule(5ms, [&] {
    order.push_back(5);
    timers.schedule(0ms, [&] { order.push_back(6); });
  });
  io.run_for(3s);
  EXPECT_EQ(order, (std::vector<int>{5, 6, 200}));
}

// After a stall many timers are due at once; work posted meanwhile (received
// datagrams) must get a turn between slices, not wait for all of them.
TEST(AsioTimerService, ManyDueTimersLeaveTurnsToOtherWork) {
  boost::asio::io_context io;
  AsioTimerService timers(io);
  constexpr int kTimers = 500;
  int fired = 0;
  int fired_when_posted_ran = -1;
  timers.schedule(1ms, [&] {
    ++fired;
    boost::asio::post(io, [&] { fired_when_posted_ran = fired; });
  });
  for (int i = 1; i < kTimers; ++i) timers.schedule(1ms, [&] { ++fired; });
  std::this_thread::sleep_for(5ms);  // all of them due before the loop runs
  io.run_for(2s);
  EXPECT_EQ(fired, kTimers);
  EXPECT_GT(fired_when_posted_ran, 0);
  EXPECT_LT(fired_when_posted_ran, kTimers);
}

TEST(AsioTimerService, DestroyedWithPendingTimersIsSafe) {
  boost::asio::io_context io;
  int fired = 0;
  {
    AsioTimerService timers(io);
    timers.schedule(1ms, [&] { ++fired; });
  }
  io.run_for(200ms);
  EXPECT_EQ(fired, 0);
}

}  // namespace
}  // namespace sbc::txn

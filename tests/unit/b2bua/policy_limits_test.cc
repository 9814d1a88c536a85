#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "sbc/b2bua/limits.h"
#include "tests/unit/b2bua/policy_fixtures.h"

namespace sbc::b2bua {
namespace {

using namespace std::chrono_literals;

struct FakeClock {
  SharedChannelLimits::Clock::time_point now = SharedChannelLimits::Clock::time_point{} + 1h;
  SharedChannelLimits::NowFn fn() {
    return [this] { return now; };
  }
};

cfg::Trunk limited(cfg::TrunkId id, std::uint32_t max_calls) {
  cfg::Trunk t = testing::carrier(id, "c" + std::to_string(id));
  t.limits.max_calls = max_calls;
  return t;
}

TEST(Limits, TenOfFifteenAcceptedThenReleased) {
  SharedChannelLimits limits;
  cfg::Trunk t = limited(7, 10);
  int accepted = 0, refused = 0;
  for (int i = 0; i < 15; ++i) {
    RejectCause c = limits.tryAcquire(t, Direction::Outbound, "call-" + std::to_string(i));
    if (c == RejectCause::None) ++accepted;
    if (c == RejectCause::ChannelLimit) ++refused;
  }
  EXPECT_EQ(accepted, 10);
  EXPECT_EQ(refused, 5);
  auto u = limits.usageOf(7);
  EXPECT_EQ(u.outbound, 10u);
  EXPECT_EQ(u.inbound, 0u);
  EXPECT_EQ(u.rejected_limit, 5u);
  for (int i = 0; i < 15; ++i) limits.release(7, "call-" + std::to_string(i));
  u = limits.usageOf(7);
  EXPECT_EQ(u.outbound, 0u);
  EXPECT_EQ(limits.activeKeys(), 0u);
}

TEST(Limits, AcquireAndReleaseAreIdempotent) {
  SharedChannelLimits limits;
  cfg::Trunk t = limited(1, 2);
  EXPECT_EQ(limits.tryAcquire(t, Direction::Inbound, "a"), RejectCause::None);
  EXPECT_EQ(limits.tryAcquire(t, Direction::Inbound, "a"), RejectCause::None);
  EXPECT_EQ(limits.usageOf(1).inbound, 1u);
  EXPECT_EQ(limits.tryAcquire(t, Direction::Outbound, "b"), RejectCause::None);
  EXPECT_EQ(limits.tryAcquire(t, Direction::Outbound, "c"), RejectCause::ChannelLimit);
  limits.release(1, "a");
  limits.release(1, "a");  // second release is a no-op
  limits.release(1, "never-acquired");
  auto u = limits.usageOf(1);
  EXPECT_EQ(u.inbound, 0u);
  EXPECT_EQ(u.outbound, 1u);
  // The freed channel is usable again, once.
  EXPECT_EQ(limits.tryAcquire(t, Direction::Outbound, "c"), RejectCause::None);
  EXPECT_EQ(limits.tryAcquire(t, Direction::Outbound, "d"), RejectCause::ChannelLimit);
}

TEST(Limits, SameKeyOnTwoTrunksCountsOnEach) {
  SharedChannelLimits limits;
  cfg::Trunk a = limited(1, 1), b = limited(2, 1);
  EXPECT_EQ(limits.tryAcquire(a, Direction::Inbound, "k"), RejectCause::None);
  EXPECT_EQ(limits.tryAcquire(b, Direction::Outbound, "k"), RejectCause::None);
  limits.release(1, "k");
  EXPECT_EQ(limits.usageOf(1).inbound, 0u);
  EXPECT_EQ(limits.usageOf(2).outbound, 1u);
}

TEST(Limits, DirectionLimits) {
  SharedChannelLimits limits;
  cfg::Trunk t = limited(3, 0);
  t.limits.max_inbound = 1;
  t.limits.max_outbound = 2;
  EXPECT_EQ(limits.tryAcquire(t, Direction::Inbound, "i1"), RejectCause::None);
  EXPECT_EQ(limits.tryAcquire(t, Direction::Inbound, "i2"), RejectCause::ChannelLimit);
  EXPECT_EQ(limits.tryAcquire(t, Direction::Outbound, "o1"), RejectCause::None);
  EXPECT_EQ(limits.tryAcquire(t, Direction::Outbound, "o2"), RejectCause::None);
  EXPECT_EQ(limits.tryAcquire(t, Direction::Outbound, "o3"), RejectCause::ChannelLimit);
}

TEST(Limits, LoweredLimitRefusesUntilCountFalls) {
  SharedChannelLimits limits;
  cfg::Trunk t = limited(4, 5);
  for (int i = 0; i < 5; ++i)
    ASSERT_EQ(limits.tryAcquire(t, Direction::Inbound, std::to_string(i)), RejectCause::None);
  t.limits.max_calls = 2;  // a new snapshot lowers the limit
  EXPECT_EQ(limits.tryAcquire(t, Direction::Inbound, "x"), RejectCause::ChannelLimit);
  limits.release(4, "0");
  limits.release(4, "1");
  EXPECT_EQ(limits.tryAcquire(t, Direction::Inbound, "x"), RejectCause::ChannelLimit);  // 3 left
  limits.release(4, "2");
  EXPECT_EQ(limits.tryAcquire(t, Direction::Inbound, "x"), RejectCause::ChannelLimit);  // 2 left
  limits.release(4, "3");
  EXPECT_EQ(limits.tryAcquire(t, Direction::Inbound, "x"), RejectCause::None);
  for (auto k : {"0", "1", "2", "3", "4", "x", "x"}) limits.release(4, k);
  EXPECT_EQ(limits.usageOf(4).inbound, 0u);
}

TEST(Limits, CallRateBucketRefillsWithTime) {
  FakeClock clock;
  SharedChannelLimits limits(16, clock.fn());
  cfg::Trunk t = limited(5, 0);
  t.limits.cps = 2;        // one token every 500 ms
  t.limits.cps_burst = 3;  // three at once
  int n = 0;
  auto next = [&] { return limits.tryAcquire(t, Direction::Outbound, std::to_string(n++)); };
  EXPECT_EQ(next(), RejectCause::None);
  EXPECT_EQ(next(), RejectCause::None);
  EXPECT_EQ(next(), RejectCause::None);
  EXPECT_EQ(next(), RejectCause::CallRate);
  clock.now += 499ms;
  EXPECT_EQ(next(), RejectCause::CallRate);
  clock.now += 1ms;
  EXPECT_EQ(next(), RejectCause::None);
  EXPECT_EQ(next(), RejectCause::CallRate);
  clock.now += 10s;  // the bucket fills to its depth, not beyond
  for (int i = 0; i < 3; ++i) EXPECT_EQ(next(), RejectCause::None);
  EXPECT_EQ(next(), RejectCause::CallRate);
  EXPECT_EQ(limits.usageOf(5).rejected_rate, 4u);
}

TEST(Limits, CallRateDefaultBurstIsCps) {
  FakeClock clock;
  SharedChannelLimits limits(16, clock.fn());
  cfg::Trunk t = limited(6, 0);
  t.limits.cps = 0.5;  // burst max(1, 0.5) = 1, one call every 2 s
  EXPECT_EQ(limits.tryAcquire(t, Direction::Inbound, "a"), RejectCause::None);
  EXPECT_EQ(limits.tryAcquire(t, Direction::Inbound, "b"), RejectCause::CallRate);
  clock.now += 1999ms;
  EXPECT_EQ(limits.tryAcquire(t, Direction::Inbound, "b"), RejectCause::CallRate);
  clock.now += 1ms;
  EXPECT_EQ(limits.tryAcquire(t, Direction::Inbound, "b"), RejectCause::None);
}

TEST(Limits, FullTrunkDoesNotBurnRateTokens) {
  FakeClock clock;
  SharedChannelLimits limits(16, clock.fn());
  cfg::Trunk t = limited(8, 1);
  t.limits.cps = 1;
  t.limits.cps_burst = 2;
  EXPECT_EQ(limits.tryAcquire(t, Direction::Inbound, "a"), RejectCause::None);
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(limits.tryAcquire(t, Direction::Inbound, "b"), RejectCause::ChannelLimit);
  limits.release(8, "a");
  EXPECT_EQ(limits.tryAcquire(t, Direction::Inbound, "b"), RejectCause::None);
}

TEST(Limits, UsageListsEveryTrunkSeen) {
  SharedChannelLimits limits;
  cfg::Trunk a = limited(20, 0), b = limited(10, 0);
  (void)limits.tryAcquire(a, Direction::Inbound, "1");
  (void)limits.tryAcquire(b, Direction::Outbound, "2");
  auto u = limits.usage();
  ASSERT_EQ(u.size(), 2u);
  EXPECT_EQ(u[0].trunk, 10);
  EXPECT_EQ(u[0].outbound, 1u);
  EXPECT_EQ(u[1].trunk, 20);
  EXPECT_EQ(u[1].inbound, 1u);
}

TEST(Limits, TrunkTableIsBounded) {
  SharedChannelLimits limits(4);  // 16 slots, 8 usable
  int refused = 0;
  for (cfg::TrunkId id = 1; id <= 40; ++id) {
    if (limits.tryAcquire(limited(id, 0), Direction::Inbound, "k") != RejectCause::None) ++refused;
  }
  EXPECT_GT(refused, 0);
  EXPECT_EQ(limits.tableFull(), static_cast<std::uint64_t>(refused));
}

// Several SIP threads acquiring and releasing on the same trunks: the count
// never passes the limit and ends at zero.
TEST(Limits, HammerFromSeveralThreads) {
  SharedChannelLimits limits;
  cfg::Trunk t = limited(9, 10);
  t.limits.max_inbound = 7;
  constexpr int kThreads = 4;
  constexpr int kRounds = 20000;
  std::atomic<bool> over{false};
  std::atomic<int> accepted{0};
  std::vector<std::thread> threads;
  for (int th = 0; th < kThreads; ++th) {
    threads.emplace_back([&, th] {
      std::vector<std::string> held;
      for (int i = 0; i < kRounds; ++i) {
        std::string key = std::to_string(th) + ":" + std::to_string(i);
        Direction d = (i % 3 == 0) ? Direction::Outbound : Direction::Inbound;
        if (limits.tryAcquire(t, d, key) == RejectCause::None) {
          ++accepted;
          held.push_back(std::move(key));
        }
        auto u = limits.usageOf(9);
        if (u.inbound + u.outbound > 10 || u.inbound > 7) over = true;
        if (held.size() > 2 || (i % 5 == 0 && !held.empty())) {
          limits.release(9, held.front());
          limits.release(9, held.front());  // duplicate releases from racing paths
          held.erase(held.begin());
        }
      }
      for (const auto& k : held) limits.release(9, k);
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_FALSE(over.load());
  EXPECT_GT(accepted.load(), 1000);
  auto u = limits.usageOf(9);
  EXPECT_EQ(u.inbound, 0u);
  EXPECT_EQ(u.outbound, 0u);
  EXPECT_EQ(limits.activeKeys(), 0u);
}

}  // namespace
}  // namespace sbc::b2bua

#include "admin-ui/rate_limiter.h"

#include <gtest/gtest.h>

namespace sbc::admin {
namespace {

using namespace std::chrono_literals;

TEST(RateLimiter, BurstThenRefillPerKey) {
  RateLimiter rl(6, 3);  // 6 per minute: one every 10 s, burst 3
  auto t0 = RateLimiter::Clock::time_point{} + 1h;
  EXPECT_TRUE(rl.allow("1.2.3.4", t0));
  EXPECT_TRUE(rl.allow("1.2.3.4", t0));
  EXPECT_TRUE(rl.allow("1.2.3.4", t0));
  EXPECT_FALSE(rl.allow("1.2.3.4", t0));
  EXPECT_TRUE(rl.allow("5.6.7.8", t0)) << "keys are independent";
  EXPECT_EQ(rl.retryAfter("1.2.3.4", t0), 10);
  EXPECT_FALSE(rl.allow("1.2.3.4", t0 + 9s));
  EXPECT_TRUE(rl.allow("1.2.3.4", t0 + 20s));
  EXPECT_EQ(rl.retryAfter("unknown", t0), 0);
}

TEST(RateLimiter, BoundedTableDropsIdleKeysAndRefusesWhenAllBusy) {
  RateLimiter rl(60, 1, 2);
  auto t0 = RateLimiter::Clock::time_point{} + 1h;
  EXPECT_TRUE(rl.allow("a", t0));
  EXPECT_TRUE(rl.allow("b", t0));
  EXPECT_FALSE(rl.allow("c", t0)) << "table full of busy keys";
  EXPECT_EQ(rl.size(), 2u);
  EXPECT_TRUE(rl.allow("c", t0 + 2s)) << "a and b refilled: pruned";
  EXPECT_LE(rl.size(), 2u);
}

}  // namespace
}  // namespace sbc::admin

#include "tests/bench/relay_load/delay_scrape.h"

#include <gtest/gtest.h>

#include <cmath>

namespace bench::relay_load {
namespace {

constexpr const char* kBefore = R"(# HELP relay_forward_delay_seconds x
# TYPE relay_forward_delay_seconds histogram
relay_forward_delay_seconds_count 10
relay_forward_delay_seconds_sum 0.001
relay_forward_delay_seconds_bucket{le="1e-05"} 0
relay_forward_delay_seconds_bucket{le="2e-05"} 10
relay_forward_delay_seconds_bucket{le="4e-05"} 10
relay_forward_delay_seconds_bucket{le="+Inf"} 10
relay_sessions 3
)";

constexpr const char* kAfter = R"(relay_forward_delay_seconds_count 110
relay_forward_delay_seconds_sum 0.003
relay_forward_delay_seconds_bucket{le="1e-05"} 0
relay_forward_delay_seconds_bucket{le="2e-05"} 60
relay_forward_delay_seconds_bucket{le="4e-05"} 108
relay_forward_delay_seconds_bucket{le="+Inf"} 110
)";

TEST(DelayScrape, ParsesTheHistogramAndIgnoresOthers) {
  auto h = parseDelayHistogram(kBefore);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->count, 10);
  EXPECT_DOUBLE_EQ(h->sum, 0.001);
  ASSERT_EQ(h->buckets.size(), 4U);
  EXPECT_DOUBLE_EQ(h->buckets[1].le, 2e-05);
  EXPECT_TRUE(std::isinf(h->buckets[3].le));
  EXPECT_FALSE(parseDelayHistogram("relay_sessions 3\n"));
  EXPECT_FALSE(parseDelayHistogram(""));
}

TEST(DelayScrape, QuantilesOfTheWindowInterpolateInsideBuckets) {
  auto d = delta(*parseDelayHistogram(kBefore), *parseDelayHistogram(kAfter));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->count, 100);
  // 50 in (10, 20] us, 48 in (20, 40], 2 above 40.
  EXPECT_DOUBLE_EQ(quantileUs(*d, 0.5), 20.0);
  EXPECT_DOUBLE_EQ(quantileUs(*d, 0.25), 15.0);
  EXPECT_NEAR(quantileUs(*d, 0.74), 30.0, 1e-9);
  EXPECT_DOUBLE_EQ(quantileUs(*d, 0.99), 40.0);  // in +Inf: the last finite bound
  DelayHistogram empty;
  EXPECT_LT(quantileUs(empty, 0.5), 0);
}

TEST(DelayScrape, DifferentBoundsAreRefused) {
  auto a = parseDelayHistogram(kBefore);
  auto b = parseDelayHistogram(
      "relay_forward_delay_seconds_count 1\n"
      "relay_forward_delay_seconds_bucket{le=\"+Inf\"} 1\n");
  ASSERT_TRUE(a && b);
  EXPECT_FALSE(delta(*a, *b));
}

}  // namespace
}  // namespace bench::relay_load

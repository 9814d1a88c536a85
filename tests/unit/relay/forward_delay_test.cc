#include <gtest/gtest.h>

#include <cstdint>

#include "media-relay/relay/counters.h"

namespace relay {
namespace {

TEST(ForwardDelay, EveryValueFallsInsideItsBucket) {
  // Walk 1 ns .. ~2 s in small relative steps, and every bucket edge.
  for (std::uint64_t ns = 0; ns < 2'000'000'000; ns += 1 + ns / 97) {
    const std::size_t i = ForwardDelay::bucket(ns);
    ASSERT_LE(i, ForwardDelay::kBuckets) << ns;
    if (i < ForwardDelay::kBuckets) {
      EXPECT_LT(ns, ForwardDelay::upperBoundNs(i)) << ns;
    }
    if (i > 0) {
      EXPECT_GE(ns, ForwardDelay::upperBoundNs(i - 1)) << ns;
    }
  }
}

TEST(ForwardDelay, BoundsAreHalfOctavesFrom256NsToOverOneSecond) {
  EXPECT_EQ(ForwardDelay::upperBoundNs(0), 256U);
  EXPECT_EQ(ForwardDelay::upperBoundNs(1), 384U);
  EXPECT_EQ(ForwardDelay::upperBoundNs(2), 512U);
  EXPECT_EQ(ForwardDelay::upperBoundNs(3), 768U);
  for (std::size_t i = 1; i < ForwardDelay::kBuckets; ++i) {
    EXPECT_GT(ForwardDelay::upperBoundNs(i), ForwardDelay::upperBoundNs(i - 1));
    EXPECT_LE(ForwardDelay::upperBoundNs(i), ForwardDelay::upperBoundNs(i - 1) * 3 / 2);
  }
  EXPECT_GT(ForwardDelay::upperBoundNs(ForwardDelay::kBuckets - 1), 1'000'000'000U);
  // A bound is the first value of the next bucket.
  for (std::size_t i = 0; i + 1 < ForwardDelay::kBuckets; ++i) {
    EXPECT_EQ(ForwardDelay::bucket(ForwardDelay::upperBoundNs(i)), i + 1) << i;
    EXPECT_EQ(ForwardDelay::bucket(ForwardDelay::upperBoundNs(i) - 1), i) << i;
  }
  EXPECT_EQ(ForwardDelay::bucket(5'000'000'000), ForwardDelay::kBuckets);
}

TEST(ForwardDelay, RecordCountsAndSums) {
  ForwardDelay d;
  d.record(40'000);
  d.record(41'000);
  d.record(3'000'000);
  EXPECT_EQ(d.counts[ForwardDelay::bucket(40'000)].load(), 2U);
  EXPECT_EQ(d.counts[ForwardDelay::bucket(3'000'000)].load(), 1U);
  EXPECT_EQ(d.sumNs.load(), 3'081'000U);
}

}  // namespace
}  // namespace relay

// The lease gate of SharedChannelLimits (cluster mode).
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "sbc/b2bua/limits.h"

namespace sbc::b2bua {
namespace {

using Lease = SharedChannelLimits::Lease;

cfg::Trunk trunk(cfg::TrunkId id, std::uint32_t max_calls, std::uint32_t max_in = 0,
                 std::uint32_t max_out = 0) {
  cfg::Trunk t;
  t.id = id;
  t.name = "t" + std::to_string(id);
  t.kind = cfg::TrunkKind::Carrier;
  t.limits.max_calls = max_calls;
  t.limits.max_inbound = max_in;
  t.limits.max_outbound = max_out;
  return t;
}

TEST(LimitsLease, WithoutLeasesNothingChanges) {
  SharedChannelLimits limits;
  cfg::Trunk t = trunk(1, 3);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(limits.tryAcquire(t, Direction::Outbound, std::to_string(i)), RejectCause::None);
  EXPECT_EQ(limits.tryAcquire(t, Direction::Outbound, "x"), RejectCause::ChannelLimit);
  EXPECT_EQ(limits.leaseRejections(1), 0u);
}

TEST(LimitsLease, NothingLeasedRefusesLimitedTrunksOnly) {
  SharedChannelLimits limits;
  std::vector<cfg::TrunkId> low;
  limits.enableLeases(1, [&](cfg::TrunkId id) { low.push_back(id); });
  EXPECT_EQ(limits.tryAcquire(trunk(1, 10), Direction::Outbound, "a"), RejectCause::ChannelLimit);
  EXPECT_EQ(limits.leaseRejections(1), 1u);
  EXPECT_EQ(limits.usageOf(1).rejected_limit, 1u);
  EXPECT_EQ(low, std::vector<cfg::TrunkId>{1});  // a refusal asks for a lease
  // No limit, no lease needed.
  EXPECT_EQ(limits.tryAcquire(trunk(2, 0), Direction::Outbound, "a"), RejectCause::None);
}

TEST(LimitsLease, AdmitsWithinTheLeaseAndReportsLowWater) {
  SharedChannelLimits limits;
  std::vector<cfg::TrunkId> low;
  limits.enableLeases(1, [&](cfg::TrunkId id) { low.push_back(id); });
  cfg::Trunk t = trunk(1, 10);
  EXPECT_EQ(limits.setLease(1, Lease{4, 0, 0}, t.limits), (Lease{4, 0, 0}));
  EXPECT_EQ(limits.tryAcquire(t, Direction::Outbound, "a"), RejectCause::None);
  EXPECT_EQ(limits.tryAcquire(t, Direction::Inbound, "b"), RejectCause::None);
  EXPECT_TRUE(low.empty());  // 2 free
  EXPECT_EQ(limits.tryAcquire(t, Direction::Outbound, "c"), RejectCause::None);
  EXPECT_EQ(low.size(), 1u);  // 1 free: low water
  EXPECT_EQ(limits.tryAcquire(t, Direction::Outbound, "d"), RejectCause::None);
  EXPECT_EQ(limits.tryAcquire(t, Direction::Outbound, "e"), RejectCause::ChannelLimit);
  EXPECT_EQ(limits.leaseRejections(1), 1u);
  // Idempotent as before: a held call is not refused again.
  EXPECT_EQ(limits.tryAcquire(t, Direction::Outbound, "a"), RejectCause::None);
  limits.release(1, "a");
  EXPECT_EQ(limits.tryAcquire(t, Direction::Outbound, "e"), RejectCause::None);
}

TEST(LimitsLease, DirectionLeasesGateEachDirection) {
  SharedChannelLimits limits;
  limits.enableLeases(0, {});
  cfg::Trunk t = trunk(3, 0, 5, 5);
  limits.setLease(3, Lease{0, 1, 2}, t.limits);
  EXPECT_EQ(limits.tryAcquire(t, Direction::Inbound, "i1"), RejectCause::None);
  EXPECT_EQ(limits.tryAcquire(t, Direction::Inbound, "i2"), RejectCause::ChannelLimit);
  EXPECT_EQ(limits.tryAcquire(t, Direction::Outbound, "o1"), RejectCause::None);
  EXPECT_EQ(limits.tryAcquire(t, Direction::Outbound, "o2"), RejectCause::None);
  EXPECT_EQ(limits.tryAcquire(t, Direction::Outbound, "o3"), RejectCause::ChannelLimit);
}

TEST(LimitsLease, ShrinkingNeverGoesBelowTheCallsInUse) {
  SharedChannelLimits limits;
  limits.enableLeases(0, {});
  cfg::Trunk t = trunk(1, 10);
  limits.setLease(1, Lease{6, 0, 0}, t.limits);
  for (int i = 0; i < 4; ++i)
    ASSERT_EQ(limits.tryAcquire(t, Direction::Outbound, std::to_string(i)), RejectCause::None);
  // Asked to go down to 1 with 4 calls up: 4 kept (and no new call).
  EXPECT_EQ(limits.setLease(1, Lease{1, 0, 0}, t.limits), (Lease{4, 0, 0}));
  EXPECT_EQ(limits.tryAcquire(t, Direction::Outbound, "x"), RejectCause::ChannelLimit);
  limits.release(1, "0");
  EXPECT_EQ(limits.setLease(1, Lease{1, 0, 0}, t.limits), (Lease{3, 0, 0}));
  EXPECT_EQ(limits.leaseOf(1), (Lease{3, 0, 0}));
}

TEST(LimitsLease, TheTrunkLimitStillAppliesOverALargerLease) {
  SharedChannelLimits limits;
  limits.enableLeases(0, {});
  cfg::Trunk t = trunk(1, 2);
  limits.setLease(1, Lease{50, 0, 0}, t.limits);
  EXPECT_EQ(limits.tryAcquire(t, Direction::Outbound, "a"), RejectCause::None);
  EXPECT_EQ(limits.tryAcquire(t, Direction::Outbound, "b"), RejectCause::None);
  EXPECT_EQ(limits.tryAcquire(t, Direction::Outbound, "c"), RejectCause::ChannelLimit);
  EXPECT_EQ(limits.leaseRejections(1), 0u);
}

// Threads acquire and release while another thread moves the lease up and
// down: the calls admitted (counted by the workers themselves; the trunk's
// counts may briefly include an acquire about to be undone) never exceed the
// lease in force, i.e. what setLease() last reported as kept.
TEST(LimitsLease, ConcurrentShrinkNeverAdmitsBeyondTheKeptLease) {
  SharedChannelLimits limits;
  limits.enableLeases(0, {});
  cfg::Trunk t = trunk(1, 1000);
  limits.setLease(1, Lease{20, 0, 0}, t.limits);
  std::atomic<bool> stop{false};
  std::atomic<std::uint32_t> ceiling{20};  // max lease in force (kept) right now
  std::atomic<int> violations{0};
  std::atomic<std::uint32_t> admitted{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&, w] {
      int n = 0;
      while (!stop) {
        std::string key = std::to_string(w) + "-" + std::to_string(n++ % 8);
        if (limits.tryAcquire(t, Direction::Outbound, key) == RejectCause::None) {
          if (admitted.fetch_add(1) + 1 > ceiling.load()) ++violations;
          admitted.fetch_sub(1);
        }
        limits.release(1, key);
      }
    });
  }
  for (int i = 0; i < 20000; ++i) {
    const std::uint32_t want = (i % 2) ? 2 : 20;
    if (want > ceiling) ceiling = want;  // raise the bound before the lease
    const Lease kept = limits.setLease(1, Lease{want, 0, 0}, t.limits);
    ceiling = kept.calls;  // lowered only once the kept value is known
  }
  stop = true;
  for (auto& th : workers) th.join();
  EXPECT_EQ(violations.load(), 0);
  EXPECT_EQ(limits.activeKeys(), 0u);
  EXPECT_EQ(limits.usageOf(1).outbound, 0u);
}

}  // namespace
}  // namespace sbc::b2bua

#include <gtest/gtest.h>

#include "sbc/cluster/lease_math.h"

namespace sbc::cluster {
namespace {

const LeaseParams kParams{5, 2};  // block 5, low water 2

TEST(LeaseMath, AloneTakesTheWholeLimitAtOnce) {
  EXPECT_EQ(decideLease({10, 0, 0}, {}, kParams), (LeaseDecision{LeaseAction::Grow, 10}));
  // Held in full: nothing to do, whatever the use.
  EXPECT_EQ(decideLease({10, 10, 0}, {}, kParams).action, LeaseAction::Keep);
  EXPECT_EQ(decideLease({10, 10, 10}, {}, kParams).action, LeaseAction::Keep);
  // Alone but partly held (a dead node's lease not yet expired): keep asking.
  EXPECT_EQ(decideLease({10, 4, 0}, {}, kParams), (LeaseDecision{LeaseAction::Grow, 10}));
}

TEST(LeaseMath, UnlimitedNeedsNoLease) {
  EXPECT_EQ(decideLease({0, 0, 7}, {}, kParams).action, LeaseAction::Keep);
  // A limit removed while held: everything goes back.
  EXPECT_EQ(decideLease({0, 6, 3}, {1, false}, kParams), (LeaseDecision{LeaseAction::Shrink, 0}));
}

TEST(LeaseMath, SharingKeepsUseplusSpareBoundedByBlockAndFairShare) {
  // Two nodes on 10: fair share 5, block 5: an idle node keeps 5.
  EXPECT_EQ(desiredLease({10, 10, 0}, {1, false}, kParams), 5u);
  // Block smaller than the fair share: the block.
  EXPECT_EQ(desiredLease({100, 0, 0}, {1, false}, kParams), 5u);
  EXPECT_EQ(desiredLease({100, 0, 30}, {1, false}, kParams), 35u);
  // Four nodes on 10: fair share ceil(10/4) = 3.
  EXPECT_EQ(desiredLease({10, 0, 0}, {3, false}, kParams), 3u);
  // Never beyond the limit.
  EXPECT_EQ(desiredLease({10, 10, 9}, {1, false}, kParams), 10u);
}

TEST(LeaseMath, ASecondNodeMakesTheHolderGiveBack) {
  // Held the whole 10 while alone, idle; a peer appears: back to 5.
  EXPECT_EQ(decideLease({10, 10, 0}, {1, false}, kParams), (LeaseDecision{LeaseAction::Shrink, 5}));
  // The peer asked and was refused: the same, and at once.
  EXPECT_EQ(decideLease({10, 10, 0}, {1, true}, kParams), (LeaseDecision{LeaseAction::Shrink, 5}));
  // In use beyond the fair share while a peer waits: no spare at all.
  EXPECT_EQ(decideLease({10, 9, 7}, {1, true}, kParams), (LeaseDecision{LeaseAction::Shrink, 7}));
  // Using exactly the fair share, nothing spare: nothing to give.
  EXPECT_EQ(decideLease({10, 5, 5}, {1, true}, kParams).action, LeaseAction::Keep);
}

TEST(LeaseMath, GrowsOnlyAtTheLowWaterMark) {
  const LeaseParams p{10, 2};
  // limit 100, one peer: spare 10. Holding 20 with 12 in use: 8 free > 2.
  EXPECT_EQ(decideLease({100, 20, 12}, {1, false}, p).action, LeaseAction::Keep);
  // 2 free: grow to use + block.
  EXPECT_EQ(decideLease({100, 20, 18}, {1, false}, p), (LeaseDecision{LeaseAction::Grow, 28}));
  // A start with nothing held grows right away.
  EXPECT_EQ(decideLease({100, 0, 0}, {1, false}, p), (LeaseDecision{LeaseAction::Grow, 10}));
}

TEST(LeaseMath, GivesBackOnlyBeyondTheHysteresis) {
  const LeaseParams p{10, 2};
  // want = 5 + 10 = 15; holding 17 (2 above): kept, no database write per call.
  EXPECT_EQ(decideLease({100, 17, 5}, {1, false}, p).action, LeaseAction::Keep);
  // Holding 18 (3 above): back to 15.
  EXPECT_EQ(decideLease({100, 18, 5}, {1, false}, p), (LeaseDecision{LeaseAction::Shrink, 15}));
}

TEST(LeaseMath, ALoweredLimitIsGivenBack) {
  EXPECT_EQ(decideLease({4, 10, 0}, {}, kParams), (LeaseDecision{LeaseAction::Shrink, 4}));
  EXPECT_EQ(decideLease({4, 10, 2}, {1, false}, kParams).action, LeaseAction::Shrink);
}

TEST(LeaseMath, GrantNeverPassesTheLimit) {
  // 10, others hold 6: at most 4 more.
  EXPECT_EQ(grantLease(10, 6, 0, 10), 4u);
  EXPECT_EQ(grantLease(10, 6, 2, 10), 4u);
  EXPECT_EQ(grantLease(10, 6, 2, 3), 3u);
  // Others hold everything: a grow keeps what is held, no more.
  EXPECT_EQ(grantLease(10, 10, 0, 5), 0u);
  EXPECT_EQ(grantLease(10, 8, 2, 5), 2u);
  // Others above the limit (it was lowered): a grow takes nothing new.
  EXPECT_EQ(grantLease(10, 12, 3, 6), 3u);
  // A shrink always goes through.
  EXPECT_EQ(grantLease(10, 9, 5, 1), 1u);
  // Unlimited: nothing to hold.
  EXPECT_EQ(grantLease(0, 0, 4, 7), 0u);
}

TEST(LeaseMath, TwoNodesConvergeToTheirFairShares) {
  // Alternate decisions and grants of two nodes, both idle, starting with
  // node 0 holding the whole limit: they end with 5 each, the sum never
  // above 10.
  std::uint32_t held[2] = {10, 0};
  bool waiting[2] = {false, false};
  for (int round = 0; round < 6; ++round) {
    for (int n = 0; n < 2; ++n) {
      const int o = 1 - n;
      LeaseDecision d = decideLease({10, held[n], 0}, {1, waiting[o]}, kParams);
      if (d.action == LeaseAction::Keep) {
        waiting[n] = false;
        continue;
      }
      held[n] = grantLease(10, held[o], held[n], d.target);
      waiting[n] = d.action == LeaseAction::Grow && held[n] < d.target;
      ASSERT_LE(held[0] + held[1], 10u);
    }
  }
  EXPECT_EQ(held[0], 5u);
  EXPECT_EQ(held[1], 5u);
}

}  // namespace
}  // namespace sbc::cluster

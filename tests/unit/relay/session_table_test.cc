#include <gtest/gtest.h>

#include "media-relay/relay/session_table.h"

namespace relay {
namespace {

using namespace std::chrono_literals;
using Table = SessionTable<int>;

TEST(SessionTable, OrphansExpireAfterTheTtlUnlessAdopted) {
  Table t;
  auto now = Table::Clock::time_point{} + 1000s;  // the fake clock
  ASSERT_TRUE(t.insert("a", 1, "10.0.0.1", 10));
  ASSERT_TRUE(t.insert("b", 1, "10.0.0.1", 20));
  ASSERT_TRUE(t.insert("c", 2, "10.0.0.2", 30));
  EXPECT_FALSE(t.insert("a", 2, "10.0.0.2", 99));  // call ids are global

  EXPECT_EQ(t.orphan(1, now, 60s), 2u);  // connection 1 drops
  EXPECT_EQ(t.orphans(), 2u);
  EXPECT_TRUE(t.expire(now + 59s).empty());

  Table::adopt(*t.find("b"), 3, "10.0.0.1");  // the SBC is back and queries "b"
  EXPECT_EQ(t.find("b")->owner, 3u);

  auto gone = t.expire(now + 60s);
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(gone[0].first, "a");
  EXPECT_EQ(gone[0].second.payload, 10);
  EXPECT_EQ(gone[0].second.ownerIp, "10.0.0.1");
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.find("a"), nullptr);
  EXPECT_TRUE(t.expire(now + 3600s).empty());  // "b" adopted, "c" never orphaned
}

TEST(SessionTable, EraseReturnsThePayloadOnce) {
  Table t;
  t.insert("x", 1, "ip", 7);
  EXPECT_EQ(t.erase("x"), 7);
  EXPECT_EQ(t.erase("x"), std::nullopt);
  EXPECT_EQ(t.size(), 0u);
}

TEST(SessionTable, ASecondDisconnectDoesNotExtendTheTtl) {
  Table t;
  auto now = Table::Clock::time_point{} + 1000s;
  t.insert("a", 1, "ip", 1);
  t.orphan(1, now, 10s);
  EXPECT_EQ(t.orphan(1, now + 5s, 10s), 0u);  // no longer owned by 1
  EXPECT_EQ(t.expire(now + 10s).size(), 1u);
}

}  // namespace
}  // namespace relay

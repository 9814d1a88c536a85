#include <gtest/gtest.h>

#include <set>

#include "media-relay/relay/port_pool.h"

namespace relay {
namespace {

TEST(PortPool, HandsOutEvenPortsOnceEach) {
  PortPool pool(30000, 30009);  // pairs 30000, 30002, 30004, 30006, 30008
  EXPECT_EQ(pool.capacity(), 5u);
  std::set<std::uint16_t> seen;
  while (auto p = pool.acquire()) {
    EXPECT_EQ(*p % 2, 0);
    EXPECT_GE(*p, 30000);
    EXPECT_LE(*p + 1, 30009);
    EXPECT_TRUE(seen.insert(*p).second);
  }
  EXPECT_EQ(seen.size(), 5u);
  EXPECT_EQ(pool.freeCount(), 0u);
}

TEST(PortPool, ReleasedPortsComeBackLast) {
  PortPool pool(40000, 40005);  // 40000, 40002, 40004
  auto a = pool.acquire();
  ASSERT_TRUE(a);
  pool.release(*a);
  EXPECT_EQ(pool.freeCount(), 3u);
  EXPECT_EQ(*pool.acquire(), 40002);
  EXPECT_EQ(*pool.acquire(), 40004);
  EXPECT_EQ(*pool.acquire(), 40000);
}

TEST(PortPool, DoubleOrForeignReleaseIsIgnored) {
  PortPool pool(40000, 40003);
  auto a = pool.acquire();
  pool.release(*a);
  pool.release(*a);     // twice
  pool.release(40001);  // odd
  pool.release(50000);  // outside
  pool.release(40002);  // never acquired
  EXPECT_EQ(pool.freeCount(), 2u);
  auto x = pool.acquire();
  auto y = pool.acquire();
  EXPECT_NE(*x, *y);
  EXPECT_FALSE(pool.acquire());
}

}  // namespace
}  // namespace relay

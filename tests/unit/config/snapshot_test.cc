// Snapshot lookups (no database).
#include <gtest/gtest.h>

#include <arpa/inet.h>

#include "sbc/config/snapshot.h"

namespace sbc::cfg {
namespace {

std::array<std::uint8_t, 16> v4(const char* s) {
  std::array<std::uint8_t, 16> a{};
  inet_pton(AF_INET, s, a.data());
  return a;
}
std::array<std::uint8_t, 16> v6(const char* s) {
  std::array<std::uint8_t, 16> a{};
  inet_pton(AF_INET6, s, a.data());
  return a;
}

Trunk trunk(TrunkId id, const char* name, TrunkKind kind, std::vector<const char*> acl = {}) {
  Trunk t;
  t.id = id;
  t.name = name;
  t.kind = kind;
  for (const char* c : acl) t.acl.push_back(*Cidr::parse(c));
  return t;
}

TEST(Cidr, ParsesAndMasks) {
  auto c = Cidr::parse("10.1.2.3/8");
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->v6);
  EXPECT_EQ(c->prefix_len, 8);
  EXPECT_EQ(c->bytes[0], 10);
  EXPECT_EQ(c->bytes[1], 0);
  EXPECT_TRUE(c->contains(false, v4("10.200.0.1")));
  EXPECT_FALSE(c->contains(false, v4("11.0.0.1")));
  EXPECT_FALSE(c->contains(true, v6("::a00:1")));
  auto host = Cidr::parse("192.0.2.7");
  ASSERT_TRUE(host);
  EXPECT_EQ(host->prefix_len, 32);
  EXPECT_TRUE(host->contains(false, v4("192.0.2.7")));
  EXPECT_FALSE(host->contains(false, v4("192.0.2.8")));
  auto six = Cidr::parse("2001:db8::/32");
  ASSERT_TRUE(six);
  EXPECT_TRUE(six->contains(true, v6("2001:db8:1::5")));
  EXPECT_FALSE(six->contains(true, v6("2001:db9::5")));
  for (const char* bad :
       {"", "/8", "10.0.0.0/33", "10.0.0.0/", "::/129", "bogus", "10.0.0.0/8x", "1.2.3.4.5"})
    EXPECT_FALSE(Cidr::parse(bad)) << bad;
  EXPECT_TRUE(Cidr::parse("0.0.0.0/0")->contains(false, v4("8.8.8.8")));
}

TEST(Snapshot, TrunkByAddressPrefersTheLongestPrefixThenTheLowestId) {
  Snapshot s;
  s.trunks.push_back(trunk(3, "wide", TrunkKind::Carrier, {"192.0.2.0/24"}));
  s.trunks.push_back(trunk(2, "narrow", TrunkKind::Carrier, {"192.0.2.128/25"}));
  s.trunks.push_back(trunk(1, "same", TrunkKind::Carrier, {"192.0.2.128/25"}));
  s.trunks.push_back(trunk(4, "off", TrunkKind::Pbx, {"198.51.100.0/24"}));
  s.trunks.back().enabled = false;
  s.trunks.push_back(trunk(5, "inside", TrunkKind::Pbx, {"203.0.113.0/24"}));
  s.trunks.push_back(trunk(6, "outside", TrunkKind::Carrier, {"203.0.113.0/24"}));
  s.trunks.back().realm = "outside";
  s.index();
  EXPECT_EQ(s.trunkByAddress(false, v4("192.0.2.200"))->id, 1);
  EXPECT_EQ(s.trunkByAddress(false, v4("192.0.2.5"))->id, 3);
  EXPECT_EQ(s.trunkByAddress(false, v4("198.51.100.1")), nullptr);  // disabled
  EXPECT_EQ(s.trunkByAddress(false, v4("203.0.113.9"), "outside")->id, 6);
  EXPECT_EQ(s.trunkByAddress(false, v4("203.0.113.9"), "inside")->id, 5);
  EXPECT_EQ(s.trunk(2)->name, "narrow");
  EXPECT_EQ(s.trunkByName("wide")->id, 3);
  EXPECT_EQ(s.trunk(99), nullptr);
}

TEST(Snapshot, RoutesForTheLongestPrefixWithAnEnabledTrunk) {
  Snapshot s;
  s.trunks.push_back(trunk(1, "a", TrunkKind::Carrier));
  s.trunks.push_back(trunk(2, "b", TrunkKind::Carrier));
  s.trunks.push_back(trunk(3, "off", TrunkKind::Carrier));
  s.trunks.back().enabled = false;
  s.routes = {{"", 1, 50, 100}, {"1", 2, 20, 100}, {"1", 1, 10, 100}, {"1415", 3, 10, 100}};
  s.index();
  auto r = s.routesFor("14155550100");  // 1415 only has a disabled trunk: falls back to "1"
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0]->trunk, 1);
  EXPECT_EQ(r[1]->trunk, 2);
  auto d = s.routesFor("4420");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0]->prefix, "");
}

TEST(Snapshot, DidsAndPortedNumbers) {
  Snapshot s;
  s.dids["14155550100"] = Did{"14155550100", 7, DidStatus::PortedOut};
  s.ported = {{*packE164("+14155550199"), *packE164("14150000000")},
              {*packE164("+12125550100"), *packE164("12120000000")}};
  s.index();
  ASSERT_NE(s.did("14155550100"), nullptr);
  EXPECT_EQ(s.did("14155550100")->status, DidStatus::PortedOut);
  EXPECT_EQ(s.did("14155550101"), nullptr);
  EXPECT_EQ(s.routingNumber(*packE164("14155550199")), *packE164("14150000000"));
  EXPECT_EQ(s.routingNumber(*packE164("12125550100")), *packE164("12120000000"));
  EXPECT_FALSE(s.routingNumber(*packE164("12125550101")));
}

TEST(E164, PackAndUnpack) {
  EXPECT_EQ(packE164("+14155550100"), 14155550100u);
  EXPECT_EQ(packE164("999999999999999"), 999999999999999u);
  EXPECT_EQ(unpackE164(14155550100u), "14155550100");
  for (const char* bad : {"", "+", "0123", "1234567890123456", "1-800", "+1 415"})
    EXPECT_FALSE(packE164(bad)) << bad;
}

}  // namespace
}  // namespace sbc::cfg

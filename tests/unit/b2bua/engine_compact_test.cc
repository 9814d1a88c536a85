// The compact containers a call keeps its long-lived state in
// (sbc/b2bua/compact.h), and the leg's packed dialog identity.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sbc/b2bua/compact.h"
#include "sbc/b2bua/leg.h"

namespace sbc::b2bua {
namespace {

TEST(EngineCompact, PackedStringsSetInAnyOrderKeepsTheOthers) {
  PackedStrings<4> p;
  EXPECT_EQ(p.get(0), "");
  EXPECT_EQ(p.get(3), "");
  p.set(2, "two");
  p.set(0, "zero");
  p.set(3, "three");
  p.set(1, "");
  EXPECT_EQ(p.get(0), "zero");
  EXPECT_EQ(p.get(1), "");
  EXPECT_EQ(p.get(2), "two");
  EXPECT_EQ(p.get(3), "three");
  p.set(2, "a longer two");  // grows in the middle
  p.set(0, "0");             // shrinks at the front
  EXPECT_EQ(p.get(0), "0");
  EXPECT_EQ(p.get(2), "a longer two");
  EXPECT_EQ(p.get(3), "three");
  // A value that is a view into the same block.
  p.set(1, p.get(3));
  p.set(3, p.get(2).substr(2));
  EXPECT_EQ(p.get(1), "three");
  EXPECT_EQ(p.get(3), "longer two");

  PackedStrings<4> copy = p;
  p.clear();
  EXPECT_EQ(p.get(2), "");
  EXPECT_EQ(copy.get(0), "0");
  EXPECT_EQ(copy.get(2), "a longer two");
  EXPECT_EQ(copy.get(3), "longer two");
}

TEST(EngineCompact, PackedStringsSetManyEqualsOneSetEach) {
  PackedStrings<5> many;
  PackedStrings<5> one;
  for (auto* p : {&many, &one}) {
    p->set(1, "one");
    p->set(4, "four");
  }
  many.setMany({{3, "three"}, {0, "zero"}, {4, ""}});
  one.set(3, "three");
  one.set(0, "zero");
  one.set(4, "");
  for (std::size_t i = 0; i < 5; ++i) EXPECT_EQ(many.get(i), one.get(i)) << i;
  EXPECT_EQ(many.get(1), "one");
  // Values may be views into the same block, moved about in one rebuild.
  many.setMany({{2, many.get(3)}, {3, many.get(0)}, {0, "0"}});
  EXPECT_EQ(many.get(0), "0");
  EXPECT_EQ(many.get(1), "one");
  EXPECT_EQ(many.get(2), "three");
  EXPECT_EQ(many.get(3), "zero");
  EXPECT_EQ(many.get(4), "");
  many.setMany({{0, ""}, {1, ""}, {2, ""}, {3, ""}});  // all empty: no block
  for (std::size_t i = 0; i < 5; ++i) EXPECT_EQ(many.get(i), "") << i;
  many.setMany({{7, "out of range"}, {1, "x"}});  // an index past N is ignored
  EXPECT_EQ(many.get(1), "x");
  PackedStrings<5> copy = many;
  EXPECT_EQ(copy.get(1), "x");
}

TEST(EngineCompact, LegSetIdentityEqualsTheSingleSetters) {
  Leg a;
  a.setRoutes({}, false);
  a.setIdentity("cid@h", "ltag", "rtag", "<sip:l@h>", "<sip:r@h>", "sip:r@10.0.0.1:5060");
  EXPECT_EQ(a.callId(), "cid@h");
  EXPECT_EQ(a.localTag(), "ltag");
  EXPECT_EQ(a.remoteTag(), "rtag");
  EXPECT_EQ(a.localNaddr(), "<sip:l@h>");
  EXPECT_EQ(a.remoteNaddr(), "<sip:r@h>");
  EXPECT_EQ(a.remoteTarget(), "sip:r@10.0.0.1:5060");
  EXPECT_EQ(a.routeCount(), 0u);
  // Keeping some fields as they are (views of the leg itself).
  a.setIdentity(a.callId(), a.localTag(), {}, "<sip:l2@h>", a.remoteNaddr(), a.remoteTarget());
  EXPECT_EQ(a.callId(), "cid@h");
  EXPECT_EQ(a.localTag(), "ltag");
  EXPECT_EQ(a.remoteTag(), "");
  EXPECT_EQ(a.localNaddr(), "<sip:l2@h>");
  EXPECT_EQ(a.remoteNaddr(), "<sip:r@h>");
  EXPECT_EQ(a.remoteTarget(), "sip:r@10.0.0.1:5060");
}

TEST(EngineCompact, LazyActsLikeOptional) {
  Lazy<std::string> l;
  EXPECT_FALSE(l.has_value());
  EXPECT_FALSE(l);
  l = std::string("value");
  ASSERT_TRUE(l.has_value());
  EXPECT_EQ(*l, "value");
  EXPECT_EQ(l->size(), 5u);
  Lazy<std::string> copy = l;
  l.reset();
  EXPECT_FALSE(l.has_value());
  EXPECT_EQ(*copy, "value");
  copy.emplace(3, 'x');
  EXPECT_EQ(*copy, "xxx");
}

TEST(EngineCompact, LegKeepsItsDialogIdentityAndRouteSet) {
  Leg leg;
  leg.setCallId("cid@host");
  leg.setLocalTag("ours");
  leg.setRemoteTag("theirs");
  leg.setLocalNaddr("<sip:a@x>");
  leg.setRemoteNaddr("<sip:b@y>");
  leg.setRemoteTarget("sip:b@10.0.0.9:5060");
  std::vector<sip::NameAddr> rr(3);
  rr[0].text = "<sip:p1;lr>";
  rr[1].text = "<sip:p2;lr>";
  rr[2].text = "<sip:p3;lr>";
  leg.setRoutes(rr, true);
  ASSERT_EQ(leg.routeCount(), 3u);
  EXPECT_EQ(leg.route(0), "<sip:p3;lr>");
  EXPECT_EQ(leg.route(2), "<sip:p1;lr>");
  EXPECT_EQ(leg.route(3), "");
  leg.setRemoteTag("changed");  // a later update keeps everything else
  EXPECT_EQ(leg.callId(), "cid@host");
  EXPECT_EQ(leg.localTag(), "ours");
  EXPECT_EQ(leg.remoteTag(), "changed");
  EXPECT_EQ(leg.localNaddr(), "<sip:a@x>");
  EXPECT_EQ(leg.remoteNaddr(), "<sip:b@y>");
  EXPECT_EQ(leg.remoteTarget(), "sip:b@10.0.0.9:5060");
  EXPECT_EQ(leg.route(1), "<sip:p2;lr>");
  leg.setRoutes(rr, false);
  EXPECT_EQ(leg.route(0), "<sip:p1;lr>");
  leg.setRoutes({}, false);
  EXPECT_EQ(leg.routeCount(), 0u);
  EXPECT_EQ(leg.remoteTarget(), "sip:b@10.0.0.9:5060");
}

}  // namespace
}  // namespace sbc::b2bua

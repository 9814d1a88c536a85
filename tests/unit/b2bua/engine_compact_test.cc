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

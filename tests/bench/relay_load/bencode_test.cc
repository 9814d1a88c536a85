// The ng protocol codec the load generator talks to rtpengine with: what it
// encodes is what rtpengine expects, and a malformed reply is refused.
#include "tests/bench/relay_load/bencode.h"

#include <gtest/gtest.h>

namespace bench::relay_load {
namespace {

TEST(Bencode, EncodesAnNgOfferInWireOrder) {
  BValue offer = BValue::dictOf({{"command", BValue::str("offer")},
                                 {"replace", BValue::listOf({BValue::str("origin")})},
                                 {"n", BValue::integerValue(-3)}});
  EXPECT_EQ(bencode(offer), "d7:command5:offer7:replacel6:origine1:ni-3ee");
}

TEST(Bencode, DecodesAReplyAndFindsItsKeys) {
  auto v = bdecode("d6:result2:ok3:sdp5:v=0\r\n4:listli1ei2ee5:emptyde0:0:e");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->stringAt("result"), "ok");
  EXPECT_EQ(v->stringAt("sdp"), "v=0\r\n");
  ASSERT_NE(v->find("list"), nullptr);
  EXPECT_EQ(v->find("list")->list.size(), 2u);
  EXPECT_EQ(v->find("list")->list[1].integer, 2);
  EXPECT_EQ(v->stringAt(""), "");
  EXPECT_EQ(v->find("missing"), nullptr);
  EXPECT_EQ(v->stringAt("list"), "");  // not a string
}

TEST(Bencode, RoundTrips) {
  BValue v = BValue::dictOf(
      {{"a", BValue::listOf({BValue::str(std::string("x\0y", 3)), BValue::integerValue(0)})}});
  auto back = bdecode(bencode(v));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(bencode(*back), bencode(v));
}

TEST(Bencode, RefusesMalformedInput) {
  for (const char* bad : {"", "d", "l", "i12", "ie", "i1x2e", "5:abc", "3abc", ":", "d1:ae",
                          "di1ei2ee", "4294967296:x", "99999999999999999999:x", "1:ab", "d1:a"}) {
    EXPECT_FALSE(bdecode(bad).has_value()) << bad;
  }
}

TEST(Bencode, BoundsNesting) {
  std::string deep(100, 'l');
  deep += std::string(100, 'e');
  EXPECT_FALSE(bdecode(deep).has_value());
  std::string shallow(10, 'l');
  shallow += std::string(10, 'e');
  EXPECT_TRUE(bdecode(shallow).has_value());
}

}  // namespace
}  // namespace bench::relay_load

#include "common/http/forwarded.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace sbc::http {
namespace {

TEST(Forwarded, CidrParsingAndMatching) {
  auto net = parseCidr("10.0.0.0/8");
  ASSERT_TRUE(net);
  EXPECT_TRUE(net->contains(*parseAddress("10.200.1.1")));
  EXPECT_FALSE(net->contains(*parseAddress("11.0.0.1")));
  EXPECT_FALSE(net->contains(*parseAddress("::a00:1")));  // not the mapped form
  auto v6 = parseCidr("2001:db8::/32");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->contains(*parseAddress("2001:db8:1::5")));
  EXPECT_FALSE(v6->contains(*parseAddress("2001:db9::5")));
  EXPECT_TRUE(parseCidr("192.0.2.7"));
  for (const char* bad :
       {"", "10.0.0.0/33", "::/129", "10.0.0/8", "10.0.0.0/", "host", "1.2.3.4/x"}) {
    EXPECT_FALSE(parseCidr(bad)) << bad;
  }
  EXPECT_THROW(TrustedProxies({"10.0.0.0/8", "nope"}), std::invalid_argument);
}

TEST(Forwarded, OnlyATrustedPeerIsBelieved) {
  TrustedProxies proxies({"127.0.0.1", "10.0.0.0/8"});
  EXPECT_EQ(proxies.clientAddress("127.0.0.1", "198.51.100.9"), "198.51.100.9");
  EXPECT_EQ(proxies.clientAddress("192.0.2.1", "198.51.100.9"), "192.0.2.1");
  EXPECT_EQ(proxies.clientAddress("127.0.0.1", std::nullopt), "127.0.0.1");
  TrustedProxies none;
  EXPECT_EQ(none.clientAddress("127.0.0.1", "198.51.100.9"), "127.0.0.1");
}

TEST(Forwarded, RightmostUntrustedHopIsTheClient) {
  TrustedProxies proxies({"127.0.0.1", "10.0.0.0/8"});
  // The client forged the first entry; our proxies appended the rest.
  EXPECT_EQ(proxies.clientAddress("127.0.0.1", "6.6.6.6, 198.51.100.9, 10.1.2.3"), "198.51.100.9");
  EXPECT_EQ(proxies.clientAddress("127.0.0.1", " 2001:db8::7 "), "2001:db8::7");
  EXPECT_EQ(proxies.clientAddress("127.0.0.1", "[2001:db8::7]"), "2001:db8::7");
  // All hops trusted: the farthest one.
  EXPECT_EQ(proxies.clientAddress("127.0.0.1", "10.0.0.5,10.0.0.6"), "10.0.0.5");
  // Garbage stops the walk at the last good hop; it never becomes the answer.
  EXPECT_EQ(proxies.clientAddress("127.0.0.1", "198.51.100.9, evil"), "127.0.0.1");
  EXPECT_EQ(proxies.clientAddress("127.0.0.1", "garbage, 10.1.1.1"), "10.1.1.1");
  EXPECT_EQ(proxies.clientAddress("127.0.0.1", ""), "127.0.0.1");
  EXPECT_EQ(proxies.clientAddress("127.0.0.1", "1.2.3.4:5678"), "127.0.0.1");
}

}  // namespace
}  // namespace sbc::http

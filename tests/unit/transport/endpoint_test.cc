#include "sbc/transport/endpoint.h"

#include <gtest/gtest.h>

#include <unordered_set>

namespace sbc::transport {
namespace {

TEST(Endpoint, ParsesAndFormatsIpv4) {
  const auto endpoint = Endpoint::parse("192.0.2.10:5060");
  ASSERT_TRUE(endpoint);
  EXPECT_TRUE(endpoint->address.isV4());
  EXPECT_EQ(endpoint->port, 5060);
  EXPECT_EQ(endpoint->toString(), "192.0.2.10:5060");
}

TEST(IpAddress, FormatsEveryIpv4OctetWidth) {
  for (const char* text : {"0.0.0.0", "255.255.255.255", "10.0.99.100", "1.22.3.254"}) {
    const auto address = IpAddress::parse(text);
    ASSERT_TRUE(address) << text;
    EXPECT_EQ(address->toString(), text);
  }
  EXPECT_EQ(IpAddress::v4({192, 168, 0, 9}).toString(), "192.168.0.9");
}

TEST(Endpoint, ParsesAndFormatsIpv6WithBrackets) {
  const auto endpoint = Endpoint::parse("[2001:db8::1]:5061");
  ASSERT_TRUE(endpoint);
  EXPECT_TRUE(endpoint->address.isV6());
  EXPECT_EQ(endpoint->port, 5061);
  EXPECT_EQ(endpoint->toString(), "[2001:db8::1]:5061");
  EXPECT_EQ(endpoint->address.toString(), "2001:db8::1");
}

TEST(Endpoint, RejectsMalformedText) {
  for (const char* text :
       {"", "1.2.3.4", "1.2.3.4:", "1.2.3.4:65536", "1.2.3.4:-1", "host:5060", "2001:db8::1:5060",
        "[2001:db8::1]5060", "[2001:db8::1", "1.2.3.4:50x", "999.1.1.1:5060"}) {
    EXPECT_FALSE(Endpoint::parse(text)) << text;
  }
}

TEST(IpAddress, Classification) {
  EXPECT_TRUE(IpAddress::parse("0.0.0.0")->isUnspecified());
  EXPECT_TRUE(IpAddress::parse("::")->isUnspecified());
  EXPECT_TRUE(IpAddress::parse("127.0.0.1")->isLoopback());
  EXPECT_TRUE(IpAddress::parse("::1")->isLoopback());
  EXPECT_FALSE(IpAddress::parse("10.0.0.1")->isLoopback());
  EXPECT_EQ(IpAddress::loopbackV4(), *IpAddress::parse("127.0.0.1"));
  EXPECT_EQ(*IpAddress::parse("[::1]"), *IpAddress::parse("::1"));
}

TEST(Endpoint, EqualityAndHashDistinguishPortAndFamily) {
  const auto a = *Endpoint::parse("10.0.0.1:5060");
  const auto b = *Endpoint::parse("10.0.0.1:5061");
  const auto c = *Endpoint::parse("[::ffff:10.0.0.1]:5060");
  EXPECT_NE(a, b);
  EXPECT_NE(a, c);  // IPv4-mapped text stays IPv6 here; the transport maps sockets' addresses
  std::unordered_set<Endpoint, EndpointHash> set{a, b, c, a};
  EXPECT_EQ(set.size(), 3u);
}

}  // namespace
}  // namespace sbc::transport

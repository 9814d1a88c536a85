#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sbc/sip/uri.h"

namespace sbc::sip {
namespace {

Uri mustParse(std::string_view s) {
  auto u = parseUri(s);
  EXPECT_TRUE(u.ok()) << s;
  return u ? *u : Uri{};
}

TEST(Uri, SipComponents) {
  Uri u = mustParse(
      "sip:alice:secret@atlanta.example.com:5070;transport=tcp;lr;maddr=239.255.255.1;user=ip?"
      "subject=hi&priority=urgent");
  EXPECT_EQ(u.scheme, UriScheme::Sip);
  EXPECT_EQ(u.user, "alice");
  EXPECT_TRUE(u.has_password);
  EXPECT_EQ(u.password, "secret");
  EXPECT_EQ(u.host, "atlanta.example.com");
  EXPECT_EQ(u.host_type, HostType::Hostname);
  EXPECT_TRUE(u.has_port);
  EXPECT_EQ(u.port, 5070);
  EXPECT_EQ(u.transport(), "tcp");
  EXPECT_TRUE(u.lr());
  EXPECT_EQ(u.maddr(), "239.255.255.1");
  EXPECT_EQ(u.userParam(), "ip");
  EXPECT_EQ(u.headers.get("subject").value_or(""), "hi");
  EXPECT_EQ(u.headers.get("PRIORITY").value_or(""), "urgent");
  EXPECT_EQ(u.headers.size(), 2u);
  EXPECT_EQ(u.params.size(), 4u);
}

TEST(Uri, ParamsIterateInOrder) {
  Uri u = mustParse("sip:h.example.com;a=1;b;c=3");
  std::vector<std::string> seen;
  for (const Param& p : u.params)
    seen.push_back(std::string(p.name) + (p.has_value ? "=" + std::string(p.value) : ""));
  EXPECT_EQ(seen, (std::vector<std::string>{"a=1", "b", "c=3"}));
}

TEST(Uri, HostForms) {
  Uri v4 = mustParse("sip:192.0.2.1:5060");
  EXPECT_EQ(v4.host_type, HostType::IPv4);
  EXPECT_EQ(v4.user, "");
  Uri v6 = mustParse("sips:bob@[2001:db8::1]:5061;transport=tls");
  EXPECT_EQ(v6.scheme, UriScheme::Sips);
  EXPECT_EQ(v6.host_type, HostType::IPv6);
  EXPECT_EQ(v6.host, "2001:db8::1");
  EXPECT_EQ(v6.port, 5061);
  EXPECT_EQ(mustParse("sip:[::ffff:192.0.2.1]").host_type, HostType::IPv6);
  EXPECT_EQ(mustParse("sip:[::1]").host, "::1");
  EXPECT_EQ(mustParse("sip:h.example.com.").host_type, HostType::Hostname);
  EXPECT_EQ(mustParse("sips:h").portOrDefault(), 5061);
  EXPECT_EQ(mustParse("sip:h").portOrDefault(), 5060);
}

TEST(Uri, RejectsMalformed) {
  for (std::string_view bad : {"",
                               "sip:",
                               "sip:user@",
                               "sip:host:99999",
                               "sip:host:",
                               "sip:host;",
                               "sip:host;=x",
                               "sip:host;a=",
                               "sip:ho st",
                               "sip:user@host?",
                               "sip:user@host?a",
                               "sip:[::1",
                               "sip:[1::2::3]",
                               "sip:[12345::1]",
                               "sip:256.1.1.1",
                               "sip:1.2.3",
                               "sip:host.123",
                               "sip:-host.com",
                               "sip:a@b@c",
                               "sip:us%zzer@host",
                               "sip:user@host>",
                               "<sip:user@host>",
                               "sip:user@host lr",
                               "tel:",
                               "tel:+",
                               "tel:+1-555;=x",
                               "tel:+1 555",
                               "1abc:foo",
                               "mailto:",
                               ":foo",
                               "sip:user@host;lr\r\n"}) {
    EXPECT_FALSE(parseUri(bad).ok()) << bad;
  }
}

TEST(Uri, TelWithNumberPortability) {
  Uri u = mustParse("tel:+1-201-555-0123;npdi;rn=+1-201-555-9999");
  EXPECT_EQ(u.scheme, UriScheme::Tel);
  EXPECT_TRUE(u.isPhone());
  EXPECT_EQ(u.number(), "+1-201-555-0123");
  EXPECT_TRUE(u.npdi());
  EXPECT_EQ(u.rn().value_or(""), "+1-201-555-9999");

  Uri plain = mustParse("tel:+12015550123");
  EXPECT_FALSE(plain.npdi());
  EXPECT_FALSE(plain.rn().has_value());

  Uri local = mustParse("tel:7042;phone-context=example.com");
  EXPECT_EQ(local.number(), "7042");
  EXPECT_EQ(local.param("phone-context").value_or(""), "example.com");
}

TEST(Uri, SipUserPhoneWithNumberPortability) {
  Uri u = mustParse("sip:+12015550123;npdi;rn=+12015559999@carrier.example.com;user=phone");
  EXPECT_TRUE(u.isPhone());
  EXPECT_EQ(u.user, "+12015550123;npdi;rn=+12015559999");
  EXPECT_EQ(u.number(), "+12015550123");
  EXPECT_TRUE(u.npdi());
  EXPECT_EQ(u.rn().value_or(""), "+12015559999");
  EXPECT_EQ(u.host, "carrier.example.com");
  EXPECT_EQ(u.userParam(), "phone");

  Uri no = mustParse("sip:+12015550123@carrier.example.com;user=phone");
  EXPECT_FALSE(no.npdi());
  EXPECT_FALSE(no.rn().has_value());
  EXPECT_FALSE(mustParse("sip:alice@example.com").isPhone());
}

TEST(Uri, OtherSchemesAreOpaque) {
  Uri u = mustParse("http://www.example.com/a?b=c");
  EXPECT_EQ(u.scheme, UriScheme::Other);
  EXPECT_EQ(u.scheme_text, "http");
  EXPECT_EQ(u.opaque, "//www.example.com/a?b=c");
  EXPECT_EQ(mustParse("urn:service:sos").scheme, UriScheme::Other);
}

// RFC 3261 19.1.4 examples.
TEST(UriEquals, Rfc3261Equivalent) {
  EXPECT_TRUE(
      uriEquals("sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp"));
  EXPECT_TRUE(uriEquals("sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5"));
  EXPECT_TRUE(uriEquals("sip:carol@chicago.com", "sip:carol@chicago.com;security=on"));
  EXPECT_TRUE(uriEquals("sip:carol@chicago.com;newparam=5", "sip:carol@chicago.com;security=on"));
  EXPECT_TRUE(uriEquals("sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
                        "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com"));
  EXPECT_TRUE(uriEquals("sip:alice@atlanta.com?subject=project%20x&priority=urgent",
                        "sip:alice@atlanta.com?priority=urgent&subject=project%20x"));
}

TEST(UriEquals, Rfc3261NotEquivalent) {
  EXPECT_FALSE(
      uriEquals("SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP"));
  EXPECT_FALSE(uriEquals("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"));
  EXPECT_FALSE(uriEquals("sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp"));
  EXPECT_FALSE(uriEquals("sip:bob@biloxi.com", "sip:bob@biloxi.com:6000;transport=tcp"));
  EXPECT_FALSE(uriEquals("sip:carol@chicago.com", "sip:carol@chicago.com?Subject=next%20meeting"));
  EXPECT_FALSE(uriEquals("sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4"));
  EXPECT_FALSE(
      uriEquals("sip:carol@chicago.com;security=on", "sip:carol@chicago.com;security=off"));
  EXPECT_FALSE(uriEquals("sip:alice@atlanta.com", "sips:alice@atlanta.com"));
  EXPECT_FALSE(uriEquals("sip:alice:pw@atlanta.com", "sip:alice@atlanta.com"));
  EXPECT_FALSE(uriEquals("sip:alice@atlanta.com", "not a uri"));
}

TEST(UriEquals, RepeatedParamsCompareByTheirFirstValue) {
  // Lookups see the first value of a repeated name; so does comparison.
  EXPECT_TRUE(uriEquals("sip:a@h;user=phone;user=ip", "sip:a@h;user=phone;user=ip"));
  EXPECT_TRUE(uriEquals("sip:a@h;user=phone;user=ip", "sip:a@h;user=phone"));
  EXPECT_FALSE(uriEquals("sip:a@h;user=ip;user=phone", "sip:a@h;user=phone"));
  EXPECT_EQ(parseUri("sip:a@h;user=ip;user=phone")->userParam(), "ip");
}

TEST(UriEquals, Tel) {
  EXPECT_TRUE(uriEquals("tel:+1-201-555-0123", "tel:+12015550123"));
  EXPECT_TRUE(
      uriEquals("tel:7042;phone-context=example.com", "tel:7042;PHONE-CONTEXT=EXAMPLE.COM"));
  EXPECT_TRUE(uriEquals("tel:+1-201-555-0123;npdi;rn=+1-201-555-9999",
                        "tel:+12015550123;rn=+12015559999;npdi"));
  EXPECT_FALSE(uriEquals("tel:+12015550123;npdi", "tel:+12015550123"));
  EXPECT_FALSE(uriEquals("tel:+12015550123", "tel:+12015550124"));
  EXPECT_FALSE(uriEquals("tel:+12015550123", "sip:+12015550123@h;user=phone"));
}

TEST(Uri, EscapeUnescape) {
  EXPECT_EQ(unescape("%41%62c"), "Abc");
  EXPECT_EQ(unescape("100%"), "100%");
  EXPECT_EQ(unescape("%zz%4"), "%zz%4");
  std::string nul = unescape("a%00b");
  ASSERT_EQ(nul.size(), 3u);
  EXPECT_EQ(nul[1], '\0');
  EXPECT_EQ(escape("a b@c", "@"), "a%20b@c");
  EXPECT_EQ(escape(std::string("\0", 1)), "%00");
  EXPECT_EQ(unescape(escape("any <thing>; at all%")), "any <thing>; at all%");
}

TEST(Uri, HostHelpers) {
  EXPECT_TRUE(isValidIPv4("0.0.0.0"));
  EXPECT_TRUE(isValidIPv4("255.255.255.255"));
  EXPECT_FALSE(isValidIPv4("1.2.3.4.5"));
  EXPECT_FALSE(isValidIPv4("1.2.3.0004"));
  EXPECT_FALSE(isValidIPv4("1..3.4"));
  EXPECT_TRUE(isValidIPv6("2001:db8:0:0:0:0:0:1"));
  EXPECT_TRUE(isValidIPv6("::"));
  EXPECT_TRUE(isValidIPv6("fe80::1"));
  EXPECT_TRUE(isValidIPv6("::ffff:10.0.0.1"));
  EXPECT_FALSE(isValidIPv6("1:2:3:4:5:6:7"));
  EXPECT_FALSE(isValidIPv6("1:2:3:4:5:6:7:8:9"));
  EXPECT_FALSE(isValidIPv6(":1::2"));
  EXPECT_FALSE(isValidIPv6("1::2:"));
  EXPECT_FALSE(isValidIPv6("g::1"));
  EXPECT_EQ(classifyHost("[::1]"), HostType::IPv6);
  EXPECT_EQ(classifyHost("example.com"), HostType::Hostname);
  EXPECT_EQ(classifyHost("a_b.com"), HostType::None);
}

}  // namespace
}  // namespace sbc::sip

// The value parsers and formatters on their own.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "sbc/sdp/fields.h"

namespace sbc::sdp {
namespace {

TEST(SdpFields, Origin) {
  const auto o = parseOrigin("jdoe 2890844526 2890842807 IN IP4 10.47.16.5");
  ASSERT_TRUE(o);
  EXPECT_EQ(o->username, "jdoe");
  EXPECT_EQ(o->sessionIdNumber(), 2890844526U);
  EXPECT_EQ(formatOrigin(*o), "jdoe 2890844526 2890842807 IN IP4 10.47.16.5");
  // Wider than 64 bits: kept as text, no number.
  const auto wide = parseOrigin("- 123456789012345678901234 1 IN IP4 10.0.0.1");
  ASSERT_TRUE(wide);
  EXPECT_EQ(wide->sessionId, "123456789012345678901234");
  EXPECT_FALSE(wide->sessionIdNumber());
  EXPECT_FALSE(parseOrigin("- 1 1 IN IP4"));
  EXPECT_FALSE(parseOrigin("- 1 1 IN IP4 10.0.0.1 extra"));
  EXPECT_FALSE(parseOrigin(""));
}

TEST(SdpFields, Connection) {
  auto c = parseConnection("IN IP4 224.2.36.42/127/3");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->address, "224.2.36.42");
  EXPECT_EQ(c->ttl, 127U);
  EXPECT_EQ(c->addressCount, 3U);
  EXPECT_EQ(formatConnection(*c), "IN IP4 224.2.36.42/127/3");

  c = parseConnection("IN IP6 ff15::101/3");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->address, "ff15::101");
  EXPECT_FALSE(c->ttl);
  EXPECT_EQ(c->addressCount, 3U);

  c = parseConnection("IN IP4 pbx.example.com");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->address, "pbx.example.com");

  EXPECT_FALSE(parseConnection("IN IP4 224.2.36.42/256"));  // TTL is 0-255
  EXPECT_FALSE(parseConnection("IN IP4 1.2.3.4.5"));
  EXPECT_FALSE(parseConnection("IN IP4 1.2.3.04444"));
  EXPECT_FALSE(parseConnection("IN IP6 2001:db8::g"));
  EXPECT_FALSE(parseConnection("IN  IP4 1.2.3.4"));
  EXPECT_FALSE(parseConnection("IN IP4 1.2.3.4 "));
  EXPECT_EQ(addrTypeOf("2001:db8::1"), "IP6");
  EXPECT_EQ(addrTypeOf("192.0.2.1"), "IP4");
  EXPECT_TRUE(isUnspecifiedAddress("0.0.0.0"));
  EXPECT_TRUE(isUnspecifiedAddress("::"));
  EXPECT_FALSE(isUnspecifiedAddress("0.0.0.1"));
}

TEST(SdpFields, MediaLine) {
  const auto m = parseMediaLine("video 49170/2 RTP/AVP 31 32");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->media, "video");
  EXPECT_EQ(m->port, 49170);
  EXPECT_EQ(m->portCount, 2U);
  EXPECT_EQ(m->proto, "RTP/AVP");
  EXPECT_EQ(m->formats, "31 32");
  // Non-RTP protos carry tokens, not payload types.
  EXPECT_TRUE(parseMediaLine("application 9 UDP/DTLS/SCTP webrtc-datachannel"));
  EXPECT_TRUE(parseMediaLine("image 4000 udptl t38"));
  EXPECT_FALSE(parseMediaLine("audio 4000 RTP/AVP PCMU"));
  EXPECT_TRUE(parseMediaLine("audio 4000 RTP/AVP PCMU", false));
  EXPECT_FALSE(parseMediaLine("audio 4000 RTP//AVP 0"));
  EXPECT_FALSE(parseMediaLine("audio 4000 RTP/AVP 0 "));
  EXPECT_FALSE(parseMediaLine("audio -1 RTP/AVP 0"));
}

TEST(SdpFields, RtpMapAndFmtpAndPtime) {
  const auto m = parseRtpMap("96 opus/48000/2");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->payloadType, 96);
  EXPECT_EQ(m->encoding, "opus");
  EXPECT_EQ(m->clockRate, 48000U);
  EXPECT_EQ(m->channels, 2U);
  EXPECT_FALSE(parseRtpMap("96 opus"));
  EXPECT_FALSE(parseRtpMap("96 opus/"));
  EXPECT_FALSE(parseRtpMap("96 opus/48000/"));
  EXPECT_FALSE(parseRtpMap("x opus/48000"));

  const auto f = parseFmtp("101 0-16");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->format, "101");
  EXPECT_EQ(f->params, "0-16");
  EXPECT_FALSE(parseFmtp("101 "));

  EXPECT_EQ(parsePtime("20"), 20U);
  EXPECT_EQ(parsePtime("20.5"), 20U);
  EXPECT_FALSE(parsePtime("20."));
  EXPECT_FALSE(parsePtime("-20"));
}

TEST(SdpFields, CryptoForms) {
  auto c =
      parseCrypto("1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|1:32");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->keys[0].lifetime.empty());  // an MKI without a lifetime
  EXPECT_EQ(c->keys[0].mki, "1");
  EXPECT_EQ(c->keys[0].mkiLength, "32");

  c = parseCrypto("7 AES_256_CM_HMAC_SHA1_80 inline:QUJD==");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->tag, 7U);
  EXPECT_EQ(c->keys[0].keySalt, "QUJD==");

  // A future key method is kept whole.
  c = parseCrypto("2 F8_128_HMAC_SHA1_80 uri:https://keys.example/k1");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->keys[0].method, "uri");
  EXPECT_EQ(c->keys[0].keySalt, "https://keys.example/k1");

  EXPECT_FALSE(parseCrypto("1 AES_CM_128_HMAC_SHA1_80 inline:QUJD|2^20|1:4|x"));
  EXPECT_FALSE(parseCrypto("1 AES_CM_128_HMAC_SHA1_80 inline:QU#JD"));
  // A space ends the key params: what follows is session parameters.
  EXPECT_EQ(parseCrypto("1 AES_CM_128_HMAC_SHA1_80 inline:QU JD")->sessionParams, "JD");
  EXPECT_FALSE(parseCrypto("1 AES_CM_128_HMAC_SHA1_80 inline:QUJD|2^x"));
  EXPECT_FALSE(parseCrypto("1 AES_CM_128_HMAC_SHA1_80 inline:QUJD|1:1234"));
  EXPECT_FALSE(parseCrypto("1 AES_CM_128_HMAC_SHA1_80 inline:QUJD;"));
  EXPECT_FALSE(parseCrypto("1 AES_CM_128_HMAC_SHA1_80 inline:QUJD "));
  EXPECT_FALSE(parseCrypto("1234567890 AES_CM_128_HMAC_SHA1_80 inline:QUJD"));
  EXPECT_FALSE(isValidCrypto("1 AES-CM inline:QUJD"));
  EXPECT_TRUE(
      isValidCrypto("1 AES_CM_128_HMAC_SHA1_80 inline:QUJD|2^20|1:4 KDR=1 FEC_ORDER=FEC_SRTP"));
}

TEST(SdpFields, CryptoFormatRoundTrip) {
  Crypto c;
  c.tag = 3;
  c.suite = "AES_CM_128_HMAC_SHA1_32";
  c.keys.push_back({.keySalt = "QUJDREVG", .lifetime = "2^31", .mki = "2", .mkiLength = "4"});
  c.keys.push_back({.keySalt = "R0hJSktM"});
  c.sessionParams = "UNENCRYPTED_SRTP";
  const std::string text = formatCrypto(c);
  EXPECT_EQ(text,
            "3 AES_CM_128_HMAC_SHA1_32 inline:QUJDREVG|2^31|2:4;inline:R0hJSktM UNENCRYPTED_SRTP");
  const auto back = parseCrypto(text);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->tag, 3U);
  ASSERT_EQ(back->keys.size(), 2U);
  EXPECT_EQ(back->keys[0].lifetime, "2^31");
  EXPECT_EQ(back->keys[1].keySalt, "R0hJSktM");
  EXPECT_EQ(back->sessionParams, "UNENCRYPTED_SRTP");
}

TEST(SdpFields, Rtcp) {
  auto r = parseRtcp("53020");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->port, 53020);
  EXPECT_TRUE(r->address.empty());
  EXPECT_EQ(formatRtcp(*r), "53020");
  r = parseRtcp("53020 IN IP6 2001:2345:6789:ABCD:EF01:2345:6789:ABCD");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->addrType, "IP6");
  EXPECT_EQ(formatRtcp(Rtcp{.port = 9, .address = "192.0.2.1"}), "9 IN IP4 192.0.2.1");
  EXPECT_FALSE(parseRtcp("65536"));
  EXPECT_FALSE(parseRtcp("1 IN IP4"));
  EXPECT_FALSE(parseRtcp(""));
}

TEST(SdpFields, CandidateFingerprintSetupSsrcDirection) {
  const auto c =
      parseCandidate("a0+b/ 2 UDP 41819902 203.0.113.1 5000 typ relay raddr 10.0.0.1 rport 4000");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->foundation, "a0+b/");
  EXPECT_EQ(c->component, 2U);
  EXPECT_EQ(c->type, "relay");
  EXPECT_EQ(c->relPort, 4000);
  EXPECT_TRUE(c->extensions.empty());
  EXPECT_FALSE(parseCandidate("1 1 udp 1 192.0.2.1 9 typ host generation"));  // unpaired
  EXPECT_FALSE(parseCandidate("1 1 udp 1 192.0.2.1 99999 typ host"));

  EXPECT_TRUE(
      parseFingerprint("sha-1 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB"));
  EXPECT_FALSE(parseFingerprint("sha-1 4A:AD:"));
  EXPECT_FALSE(parseFingerprint("sha-1 4AAD"));
  EXPECT_EQ(parseSetup("passive"), Setup::kPassive);
  EXPECT_EQ(toString(Setup::kHoldConn), "holdconn");
  EXPECT_FALSE(parseSetup("both"));

  const auto s = parseSsrc("12345 cname:user@example.com");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->id, 12345U);
  EXPECT_EQ(s->attribute, "cname");
  EXPECT_EQ(s->value, "user@example.com");
  EXPECT_FALSE(parseSsrc("4294967296 cname:x"));
  EXPECT_TRUE(isValidIceCredential("8hhY"));
  EXPECT_FALSE(isValidIceCredential(std::string(257, 'a')));

  EXPECT_EQ(directionFromName("SendOnly"), Direction::kSendOnly);
  EXPECT_FALSE(directionFromName("send"));
  EXPECT_EQ(reversed(Direction::kSendOnly), Direction::kRecvOnly);
  EXPECT_EQ(reversed(Direction::kInactive), Direction::kInactive);
  EXPECT_EQ(toString(Direction::kRecvOnly), "recvonly");
}

// The IP4 address rule, against a plain restatement of it (split on dots, four
// parts of 1-3 digits, each 0-255; digits-and-dots text that is not that is
// refused, other text is a host name), over every string of up to 7 bytes
// from a small alphabet and some longer ones.
TEST(SdpFields, Ipv4AddressRuleMatchesItsDefinition) {
  const auto reference = [](std::string_view a) {
    const bool numeric = std::all_of(a.begin(), a.end(),
                                     [](char ch) { return (ch >= '0' && ch <= '9') || ch == '.'; });
    if (!numeric) return true;  // host-name characters of this alphabet: a-z
    int parts = 0;
    std::size_t start = 0;
    while (true) {
      const std::size_t dot = a.find('.', start);
      const std::string_view p =
          a.substr(start, dot == std::string_view::npos ? a.npos : dot - start);
      if (p.empty() || p.size() > 3) return false;
      int v = 0;
      for (const char ch : p) v = v * 10 + (ch - '0');
      if (v > 255) return false;
      ++parts;
      if (dot == std::string_view::npos) break;
      start = dot + 1;
    }
    return parts == 4;
  };
  const std::string alphabet = "0259.a";
  std::vector<std::string> inputs = {
      "0.0.0.0",    "255.255.255.255", "010.001.1.1", "256.1.1.1", "1.2.3.4444",
      "1.2.3.4.",   ".1.2.3",          "1..2.3",      "1.2.3",     "99999999999999999999.1.1.1",
      "192.0.2.1a", "a.b.c.d"};
  std::vector<std::string> frontier = {""};
  for (int len = 1; len <= 7; ++len) {
    std::vector<std::string> next;
    for (const std::string& f : frontier) {
      for (const char ch : alphabet) next.push_back(f + ch);
    }
    inputs.insert(inputs.end(), next.begin(), next.end());
    frontier = std::move(next);
  }
  // Longer dotted quads, digit by digit.
  for (const char* quad : {"1.22.3.44", "25.5.255.0", "255.256.1.1", "200.300.4.5"}) {
    inputs.emplace_back(quad);
  }
  for (const std::string& a : inputs) {
    const std::string line = "IN IP4 " + a;
    EXPECT_EQ(parseConnection(line).has_value(), !a.empty() && reference(a)) << a;
  }
}

}  // namespace
}  // namespace sbc::sdp

// The rewriting API as the SBC's SDP rewriter uses it: every result must serialize
// to SDP that a strict parse accepts and reads back equal.
#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "sbc/sdp/sdp.h"
#include "tests/unit/sdp/samples.h"

namespace sbc::sdp {
namespace {

using samples::crlf;

SessionDescription load(std::string_view lf) {
  auto r = parse(crlf(lf));
  EXPECT_TRUE(r.ok()) << r.error().toString();
  return std::move(r).value();
}

void expectReparsesEqual(const SessionDescription& sdp) {
  const auto again = parse(sdp.serialize());
  ASSERT_TRUE(again.ok()) << again.error().toString() << "\n" << sdp.serialize();
  EXPECT_EQ(*again, sdp);
}

std::vector<std::string> attributeLines(const Section& s) {
  std::vector<std::string> out;
  for (const LineView l : s.lines()) {
    if (l.isAttribute()) out.emplace_back(l.value);
  }
  return out;
}

TEST(SdpMutate, AsteriskOfferRewrittenForTheFarLeg) {
  SessionDescription sdp = load(samples::kAsterisk);
  ASSERT_TRUE(sdp.setOriginUsername("sbc"));
  ASSERT_TRUE(sdp.setSessionId(42));
  ASSERT_TRUE(sdp.setSessionVersion(1));
  ASSERT_TRUE(sdp.setOriginAddress("203.0.113.5"));
  ASSERT_TRUE(sdp.bumpSessionVersion());
  ASSERT_TRUE(sdp.setConnectionAddressEverywhere("203.0.113.5"));
  ASSERT_TRUE(sdp.media()[0].setPort(40000));
  EXPECT_EQ(sdp.origin().sessionVersion, "2");
  EXPECT_EQ(sdp.serialize(), crlf("v=0\n"
                                  "o=sbc 42 2 IN IP4 203.0.113.5\n"
                                  "s=Asterisk\n"
                                  "c=IN IP4 203.0.113.5\n"
                                  "t=0 0\n"
                                  "m=audio 40000 RTP/AVP 0 8 3 101\n"
                                  "a=rtpmap:0 PCMU/8000\n"
                                  "a=rtpmap:8 PCMA/8000\n"
                                  "a=rtpmap:3 GSM/8000\n"
                                  "a=rtpmap:101 telephone-event/8000\n"
                                  "a=fmtp:101 0-16\n"
                                  "a=ptime:20\n"
                                  "a=maxptime:150\n"
                                  "a=sendrecv\n"));
  expectReparsesEqual(sdp);
}

TEST(SdpMutate, OriginAddressSwitchesFamily) {
  SessionDescription sdp = load(samples::kAsterisk);
  ASSERT_TRUE(sdp.setOriginAddress("2001:db8::10"));
  EXPECT_EQ(sdp.origin().addrType, "IP6");
  ASSERT_TRUE(sdp.setConnectionAddressEverywhere("2001:db8::10"));
  EXPECT_EQ(sdp.connection()->addrType, "IP6");
  expectReparsesEqual(sdp);
}

TEST(SdpMutate, WebRtcOfferToPlainRtp) {
  SessionDescription sdp = load(samples::kWebRtc);
  EXPECT_EQ(sdp.removeIce(), 0U);
  for (MediaDescription& m : sdp.media()) {
    EXPECT_GT(m.removeIce(), 0U);
    EXPECT_EQ(m.removeDtls(), 2U);
    ASSERT_TRUE(m.setProto("RTP/AVP"));
    m.clearRtcp();
    m.setRtcpMux(false);
    ASSERT_TRUE(m.setConnectionAddress("203.0.113.5"));
  }
  ASSERT_TRUE(sdp.media()[0].setPort(40000));
  ASSERT_TRUE(sdp.media()[1].setPort(40002));

  const MediaDescription& audio = sdp.media()[0];
  EXPECT_TRUE(audio.candidates().empty());
  EXPECT_FALSE(audio.iceUfrag());
  EXPECT_FALSE(audio.icePwd());
  EXPECT_FALSE(audio.hasAttribute("ice-options"));
  EXPECT_FALSE(audio.endOfCandidates());
  EXPECT_FALSE(audio.fingerprint());
  EXPECT_FALSE(audio.setup());
  EXPECT_FALSE(audio.rtcp());
  EXPECT_FALSE(audio.rtcpMux());
  EXPECT_FALSE(audio.isSrtp());
  EXPECT_EQ(audio.proto(), "RTP/AVP");
  // What the rewriter did not touch is still there, in order.
  EXPECT_EQ(audio.mid(), "0");
  EXPECT_EQ(audio.rtpmap(111)->encoding, "opus");
  EXPECT_EQ(attributeLines(audio).front(), "mid:0");
  EXPECT_EQ(attributeLines(audio)[1], "extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level");
  EXPECT_EQ(sdp.media()[1].connection()->address, "203.0.113.5");
  expectReparsesEqual(sdp);
}

TEST(SdpMutate, AddCryptoForAnSrtpLeg) {
  SessionDescription sdp = load(samples::kAsterisk);
  MediaDescription& audio = sdp.media()[0];
  ASSERT_TRUE(audio.setProto("RTP/SAVP"));
  Crypto c;
  c.tag = 1;
  c.suite = "AES_CM_128_HMAC_SHA1_80";
  c.keys.push_back({.keySalt = "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz"});
  ASSERT_TRUE(audio.addCrypto(c));
  c.tag = 2;
  c.suite = "AES_CM_128_HMAC_SHA1_32";
  ASSERT_TRUE(audio.addCrypto(c));
  ASSERT_TRUE(audio.addAttribute("x-after"));
  c.tag = 3;
  c.suite = "AEAD_AES_128_GCM";
  ASSERT_TRUE(audio.addCrypto(c));  // joins the other crypto lines, before x-after

  EXPECT_TRUE(audio.isSrtp());
  const auto cryptos = audio.cryptos();
  ASSERT_EQ(cryptos.size(), 3U);
  EXPECT_EQ(cryptos[2].suite, "AEAD_AES_128_GCM");
  const auto attrs = attributeLines(audio);
  ASSERT_EQ(attrs.size(), 12U);
  EXPECT_EQ(attrs[7], "sendrecv");
  EXPECT_EQ(attrs[8],
            "crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz");
  EXPECT_EQ(attrs[10].substr(0, 9), "crypto:3 ");
  EXPECT_EQ(attrs[11], "x-after");
  expectReparsesEqual(sdp);
}

TEST(SdpMutate, ReplaceAndRemoveCryptos) {
  SessionDescription sdp = load(samples::kSrtp);
  MediaDescription& audio = sdp.media()[0];
  Crypto ours;
  ours.tag = 1;
  ours.suite = "AES_CM_128_HMAC_SHA1_80";
  ours.keys.push_back({.keySalt = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNk", .lifetime = "2^31"});
  ASSERT_TRUE(audio.setCryptos(std::array{ours}));
  const auto attrs = attributeLines(audio);
  ASSERT_EQ(attrs.size(), 6U);
  EXPECT_EQ(
      attrs[4],  // where the first of the four was
      "crypto:1 AES_CM_128_HMAC_SHA1_80 inline:QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNk|2^31");
  EXPECT_EQ(attrs[5], "sendrecv");
  expectReparsesEqual(sdp);

  EXPECT_EQ(audio.removeCryptos(), 1U);
  ASSERT_TRUE(audio.setProto("RTP/AVP"));
  EXPECT_TRUE(audio.cryptos().empty());
  EXPECT_FALSE(audio.isSrtp());
  expectReparsesEqual(sdp);
}

TEST(SdpMutate, DirectionReplacedInPlace) {
  SessionDescription sdp = load(samples::kAsterisk);
  MediaDescription& audio = sdp.media()[0];
  audio.setDirection(Direction::kSendOnly);
  EXPECT_EQ(audio.direction(), Direction::kSendOnly);
  EXPECT_EQ(attributeLines(audio).back(), "sendonly");
  EXPECT_EQ(audio.attributeValues("sendrecv").size(), 0U);
  EXPECT_TRUE(sdp.isHold());

  // Two conflicting direction lines collapse into one.
  ASSERT_TRUE(audio.addAttribute("inactive"));
  audio.setDirection(Direction::kRecvOnly);
  int directions = 0;
  for (const LineView l : audio.lines()) {
    if (directionFromName(l.attributeName())) ++directions;
  }
  EXPECT_EQ(directions, 1);
  EXPECT_FALSE(sdp.isHold());

  audio.clearDirection();
  EXPECT_FALSE(audio.direction());
  sdp.setDirection(Direction::kInactive);  // session level, inherited
  EXPECT_EQ(sdp.effectiveDirection(audio), Direction::kInactive);
  EXPECT_EQ(attributeLines(sdp), (std::vector<std::string>{"inactive"}));
  expectReparsesEqual(sdp);
}

TEST(SdpMutate, HoldVariants) {
  const std::string head = "v=0\no=- 1 2 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\n";
  const auto hold = [](std::string_view lf) { return load(lf).isHold(); };

  EXPECT_FALSE(hold(head + "m=audio 4000 RTP/AVP 0\n"));
  EXPECT_FALSE(hold(head + "m=audio 4000 RTP/AVP 0\na=sendrecv\n"));
  EXPECT_TRUE(hold(head + "m=audio 4000 RTP/AVP 0\na=sendonly\n"));
  EXPECT_TRUE(hold(head + "m=audio 4000 RTP/AVP 0\na=inactive\n"));
  EXPECT_FALSE(hold(head + "m=audio 4000 RTP/AVP 0\na=recvonly\n"));
  EXPECT_TRUE(hold(head + "a=inactive\nm=audio 4000 RTP/AVP 0\n"));  // session level
  // A media-level direction overrides the session's.
  EXPECT_FALSE(hold(head + "a=sendonly\nm=audio 4000 RTP/AVP 0\na=sendrecv\n"));
  // RFC 2543 hold: c=0.0.0.0, whatever the direction says.
  EXPECT_TRUE(
      hold("v=0\no=- 1 2 IN IP4 192.0.2.1\ns=-\nc=IN IP4 0.0.0.0\nt=0 0\n"
           "m=audio 4000 RTP/AVP 0\na=sendrecv\n"));
  EXPECT_TRUE(hold(head + "m=audio 4000 RTP/AVP 0\nc=IN IP4 0.0.0.0\n"));
  // No enabled stream is not a hold; a disabled stream does not count.
  EXPECT_FALSE(hold(head + "m=audio 0 RTP/AVP 0\na=sendonly\n"));
  EXPECT_TRUE(hold(head + "m=audio 4000 RTP/AVP 0\na=sendonly\nm=video 0 RTP/AVP 31\n"));

  // Audio held, video still flowing: the session is not on hold, the audio is.
  const SessionDescription mixed =
      load(head + "m=audio 4000 RTP/AVP 0\na=sendonly\nm=video 4002 RTP/AVP 31\n");
  EXPECT_FALSE(mixed.isHold());
  EXPECT_TRUE(mixed.isHold(mixed.media()[0]));
  EXPECT_FALSE(mixed.isHold(mixed.media()[1]));
}

TEST(SdpMutate, RefusedMutationsChangeNothing) {
  SessionDescription sdp = load(samples::kAsterisk);
  const SessionDescription before = sdp;
  MediaDescription& audio = sdp.media()[0];

  EXPECT_FALSE(audio.addAttribute("rtpmap", "junk"));
  EXPECT_FALSE(audio.addAttribute("foo bar"));
  EXPECT_FALSE(audio.addAttribute("foo:bar"));
  EXPECT_FALSE(audio.addAttribute("x", "a\r\nb=injected"));
  EXPECT_FALSE(audio.addAttribute("x", "trailing "));
  EXPECT_FALSE(audio.addAttribute("x", ""));
  EXPECT_FALSE(audio.addAttribute("sendrecv", "x"));
  EXPECT_FALSE(audio.addAttribute("x", std::string(5000, 'a')));
  EXPECT_FALSE(audio.setAttribute("crypto", "1 X"));
  EXPECT_FALSE(audio.setAttribute("ptime", "twenty"));
  EXPECT_FALSE(audio.setConnectionAddress("not an address!"));
  EXPECT_FALSE(audio.setConnectionAddress(""));
  EXPECT_FALSE(sdp.setConnectionAddressEverywhere("1.2.3.4.5"));
  EXPECT_FALSE(audio.setProto("RTP AVP"));
  EXPECT_FALSE(audio.setProto(""));
  EXPECT_FALSE(audio.removeFormat("99"));
  EXPECT_FALSE(audio.setFormats({}));
  EXPECT_FALSE(audio.setFormats(std::array<std::string_view, 1>{"a b"}));
  EXPECT_FALSE(audio.setFormats(std::array<std::string_view, 1>{"PCMU"}));  // RTP wants numbers
  EXPECT_FALSE(audio.setBandwidth("A S", 1));
  EXPECT_FALSE(audio.setRtcp(Rtcp{.port = 1, .address = "bad addr"}));
  EXPECT_FALSE(audio.addCrypto(Crypto{}));
  Crypto good;
  good.suite = "AES_CM_128_HMAC_SHA1_80";
  good.keys.push_back({.keySalt = "QUJD"});
  Crypto bad = good;
  bad.keys[0].keySalt = "not_base64";
  EXPECT_FALSE(audio.setCryptos(std::array{good, bad}));
  EXPECT_FALSE(sdp.setOriginUsername("two words"));
  Origin o = sdp.origin();
  o.sessionId = "abc";
  EXPECT_FALSE(sdp.setOrigin(o));
  EXPECT_FALSE(sdp.setSessionName(""));
  EXPECT_FALSE(sdp.removeMedia(1));

  EXPECT_EQ(sdp, before);
  EXPECT_EQ(sdp.serialize(), before.serialize());
}

TEST(SdpMutate, RemoveFormatTakesItsAttributesAlong) {
  SessionDescription sdp = load(samples::kWebRtc);
  MediaDescription& audio = sdp.media()[0];
  ASSERT_TRUE(audio.removeFormat("63"));
  ASSERT_TRUE(audio.removeFormat("111"));
  EXPECT_FALSE(audio.formats().contains("63"));
  EXPECT_FALSE(audio.rtpmap(63));
  EXPECT_FALSE(audio.fmtp("63"));
  EXPECT_FALSE(audio.rtpmap(111));
  EXPECT_FALSE(audio.fmtp("111"));
  EXPECT_TRUE(audio.attributeValues("rtcp-fb").empty());
  EXPECT_EQ(audio.formats().raw(), "9 0 8 13 110 126");
  expectReparsesEqual(sdp);

  SessionDescription one = load(samples::kAudioVideoRejected);
  EXPECT_FALSE(one.media()[0].removeFormat("0"));  // an m= line keeps one format
  ASSERT_TRUE(one.media()[0].setFormats(std::array<std::string_view, 2>{"8", "0"}));
  EXPECT_EQ(one.media()[0].formats().raw(), "8 0");
}

TEST(SdpMutate, ApplicationMediaRefusesRtpProto) {
  SessionDescription sdp = load(
      "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\n"
      "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\na=sctp-port:5000\n");
  EXPECT_FALSE(sdp.media()[0].isRtp());
  EXPECT_FALSE(sdp.media()[0].setProto("RTP/AVP"));
  EXPECT_TRUE(sdp.media()[0].setProto("UDP/DTLS/SCTP"));
  EXPECT_TRUE(sdp.media()[0].setPort(0));
  expectReparsesEqual(sdp);
}

TEST(SdpMutate, ValuesPointingIntoTheSameSdp) {
  // Views returned by accessors may be passed straight back to mutators even
  // though the write can move the storage they point into.
  SessionDescription sdp = load(samples::kFreeSwitch);
  MediaDescription& audio = sdp.media()[0];
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(audio.setAttribute("x-copy", *audio.attribute("fmtp")));
  }
  EXPECT_EQ(audio.attribute("x-copy"),
            "102 useinbandfec=1; maxaveragebitrate=30000; maxplaybackrate=48000; ptime=20");
  ASSERT_TRUE(audio.removeFormat(*audio.formats().begin()));  // "9"
  EXPECT_FALSE(audio.rtpmap(9));
  ASSERT_TRUE(audio.addAttribute("x-proto", audio.proto()));
  ASSERT_TRUE(sdp.setConnectionAddressEverywhere(sdp.media()[0].rtcp()->address));
  ASSERT_TRUE(sdp.setOriginUsername(sdp.origin().address));
  EXPECT_EQ(sdp.origin().username, "10.0.0.5");
  expectReparsesEqual(sdp);
}

TEST(SdpMutate, RepeatedEditsKeepMemoryBounded) {
  SessionDescription sdp = load(samples::kAsterisk);
  sdp.shrinkToFit();
  const std::size_t baseline = sdp.memoryUsage();
  for (std::uint32_t i = 0; i < 20000; ++i) {
    ASSERT_TRUE(sdp.media()[0].setPort(static_cast<std::uint16_t>(i)));
    ASSERT_TRUE(sdp.setSessionVersion(i));
  }
  EXPECT_LT(sdp.memoryUsage(), baseline + 2048);
  EXPECT_EQ(sdp.media()[0].port(), 19999);
  expectReparsesEqual(sdp);
}

TEST(SdpMutate, BandwidthAndConnectionInsertedInRfcOrder) {
  SessionDescription sdp = load(samples::kAsterisk);
  MediaDescription& audio = sdp.media()[0];
  ASSERT_TRUE(audio.setBandwidth("TIAS", 64000));
  ASSERT_TRUE(audio.setConnectionAddress("2001:db8::5"));  // c= before b=
  ASSERT_TRUE(audio.setBandwidth("TIAS", 80000));          // replaced, not added
  ASSERT_TRUE(sdp.setBandwidth("CT", 100));                // session: after c=, before t=
  EXPECT_EQ(audio.line(1).type, 'c');
  EXPECT_EQ(audio.line(1).value, "IN IP6 2001:db8::5");
  EXPECT_EQ(audio.line(2).value, "TIAS:80000");
  EXPECT_EQ(sdp.line(4).value, "CT:100");
  EXPECT_EQ(sdp.line(5).type, 't');
  EXPECT_EQ(sdp.effectiveConnection(audio)->address, "2001:db8::5");
  expectReparsesEqual(sdp);
  EXPECT_EQ(audio.removeBandwidths(), 1U);
  EXPECT_FALSE(audio.bandwidth("TIAS"));
  expectReparsesEqual(sdp);
}

TEST(SdpMutate, RtcpAndRtcpMux) {
  SessionDescription sdp = load(samples::kFreeSwitch);
  MediaDescription& audio = sdp.media()[0];
  ASSERT_TRUE(audio.setRtcp(Rtcp{.port = 40001, .address = "203.0.113.5"}));
  EXPECT_EQ(audio.attribute("rtcp"), "40001 IN IP4 203.0.113.5");
  EXPECT_EQ(attributeLines(audio).back(), "rtcp:40001 IN IP4 203.0.113.5");  // in place
  ASSERT_TRUE(audio.setRtcp(Rtcp{.port = 40003}));
  EXPECT_EQ(audio.rtcp()->port, 40003);
  EXPECT_TRUE(audio.rtcp()->address.empty());
  audio.setRtcpMux(true);
  audio.setRtcpMux(true);
  EXPECT_EQ(audio.attributeValues("rtcp-mux").size(), 1U);
  expectReparsesEqual(sdp);
  audio.setRtcpMux(false);
  audio.clearRtcp();
  EXPECT_FALSE(audio.rtcpMux());
  EXPECT_FALSE(audio.rtcp());
  expectReparsesEqual(sdp);
}

TEST(SdpMutate, GenericAttributesAndMediaList) {
  SessionDescription sdp = load(samples::kUnknownLines);
  ASSERT_TRUE(sdp.addAttribute("x-a", "1"));
  ASSERT_TRUE(sdp.addAttribute("x-a", "2"));
  ASSERT_TRUE(sdp.setAttribute("X-A", "3"));  // first one replaced, the second dropped
  EXPECT_EQ(sdp.attributeValues("x-a"), (std::vector<std::string_view>{"3"}));
  ASSERT_TRUE(sdp.setAttribute("x-flag"));
  EXPECT_EQ(sdp.attribute("x-flag"), "");
  EXPECT_EQ(sdp.removeAttributesIf([](const LineView& l) {
    return l.attributeName().substr(0, 2) == "X-" || l.attributeName() == "x-flag";
  }),
            3U);  // X-nat from the input, X-A (renamed by setAttribute), x-flag
  EXPECT_EQ(sdp.removeAttributes("nothing"), 0U);
  // Unknown lines stay where they were.
  EXPECT_EQ(sdp.line(3).type, 'x');
  EXPECT_EQ(sdp.line(sdp.lineCount() - 1).type, 'y');
  ASSERT_TRUE(sdp.setSessionName("SBC"));
  EXPECT_EQ(sdp.sessionName(), "SBC");

  const MediaDescription copy = sdp.media()[0];
  sdp.addMedia(copy);
  ASSERT_EQ(sdp.mediaCount(), 2U);
  ASSERT_TRUE(sdp.media()[1].setPort(0));
  expectReparsesEqual(sdp);
  ASSERT_TRUE(sdp.removeMedia(0));
  EXPECT_EQ(sdp.media()[0].port(), 0);
  expectReparsesEqual(sdp);
}

TEST(SdpMutate, ShrinkToFitAndFootprint) {
  SessionDescription sdp = load(samples::kAsterisk);
  const std::string before = sdp.serialize();
  sdp.shrinkToFit();
  EXPECT_EQ(sdp.serialize(), before);
  // Text without "x=" and CRLF, plus 8 bytes per line, plus one media object.
  EXPECT_LT(sdp.memoryUsage(), before.size() + std::size_t{14} * 8 + sizeof(MediaDescription));
}

TEST(SdpMutate, CopiesAreIndependent) {
  const SessionDescription original = load(samples::kSrtp);
  SessionDescription leg = original;  // e.g. the B leg starts from the A leg's offer
  ASSERT_TRUE(leg.setConnectionAddressEverywhere("203.0.113.5"));
  EXPECT_EQ(leg.media()[0].removeCryptos(), 4U);
  EXPECT_EQ(original.connection()->address, "198.51.100.10");
  EXPECT_EQ(original.media()[0].cryptos().size(), 4U);
  EXPECT_EQ(original.serialize(), crlf(samples::kSrtp));
  EXPECT_NE(leg, original);
}

}  // namespace
}  // namespace sbc::sdp

// SDP anchoring: what the relay is told about each peer, and what each leg
// receives (only the relay's address; crypto per trunk media policy).
#include "sbc/media/sdp_anchor.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sbc/sdp/sdp.h"

namespace sbc::media {
namespace {

using cfg::MediaPolicy;

constexpr std::string_view kKey30 = "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz";  // 30 bytes
constexpr std::string_view kKey30b = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd";

sdp::SessionDescription parse(const std::string& text) {
  auto r = sdp::parse(text, sdp::kLenient);
  EXPECT_TRUE(r.ok()) << text;
  return std::move(r).value();
}

std::string pbxOffer() {
  return "v=0\r\n"
         "o=pbx 123 1 IN IP4 127.0.0.2\r\n"
         "s=Asterisk\r\n"
         "c=IN IP4 127.0.0.2\r\n"
         "t=0 0\r\n"
         "m=audio 10000 RTP/AVP 0 8 18 101\r\n"
         "a=rtpmap:0 PCMU/8000\r\n"
         "a=rtpmap:101 telephone-event/8000\r\n"
         "a=fmtp:101 0-16\r\n"
         "a=fmtp:18 annexb=no\r\n"
         "a=ptime:20\r\n"
         "a=sendrecv\r\n";
}

std::string srtpOffer(std::string_view key = kKey30) {
  return "v=0\r\n"
         "o=- 1 1 IN IP4 127.0.0.3\r\n"
         "s=-\r\n"
         "t=0 0\r\n"
         "m=audio 20000 RTP/SAVP 8 101\r\n"
         "c=IN IP4 127.0.0.3\r\n"
         "a=rtpmap:8 PCMA/8000\r\n"
         "a=rtpmap:101 telephone-event/8000\r\n"
         "a=crypto:3 AES_CM_128_HMAC_SHA1_32 inline:" +
         std::string(kKey30b) +
         "|2^31|1:1\r\n"  // MKI: not supported, skipped
         "a=crypto:5 AES_CM_128_HMAC_SHA1_80 inline:" +
         std::string(key) +
         "|2^31\r\n"
         "a=rtcp:20011 IN IP4 127.0.0.33\r\n"
         "a=ice-ufrag:abcd\r\n"
         "a=ice-pwd:aaaaaaaaaaaaaaaaaaaaaaaa\r\n"
         "a=candidate:1 1 UDP 2130706431 127.0.0.3 20000 typ host\r\n"
         "a=fingerprint:sha-256 AB:CD\r\n"
         "a=setup:actpass\r\n";
}

LocalStream relayLocal(bool crypto) {
  LocalStream l;
  l.address = "192.0.2.10";
  l.rtpPort = 30000;
  l.rtcpPort = 30001;
  if (crypto) l.crypto = relayctl::Crypto{"AES_CM_128_HMAC_SHA1_80", std::string(kKey30b), false};
  return l;
}

TEST(SdpAnchorRead, PlainOfferGivesEndpointsPayloadTypesAndDtmf) {
  auto offer = parse(pbxOffer());
  auto r = readOffer(offer, MediaPolicy::Rtp);
  ASSERT_TRUE(r.ok());
  const PeerStream& p = r.value();
  EXPECT_EQ(p.index, 0u);
  EXPECT_FALSE(p.srtp);
  ASSERT_TRUE(p.spec.rtp.has_value());
  EXPECT_EQ(p.spec.rtp->address, "127.0.0.2");
  EXPECT_EQ(p.spec.rtp->port, 10000);
  ASSERT_TRUE(p.spec.rtcp.has_value());
  EXPECT_EQ(p.spec.rtcp->port, 10001);  // RTP port + 1 when not signalled
  EXPECT_FALSE(p.spec.rtcpMux);
  ASSERT_EQ(p.spec.payloadTypes.size(), 4u);
  EXPECT_EQ(p.spec.payloadTypes[0], (relayctl::PayloadType{0, "PCMU", 8000}));
  // Static payload types without rtpmap come from the RFC 3551 table.
  EXPECT_EQ(p.spec.payloadTypes[1], (relayctl::PayloadType{8, "PCMA", 8000}));
  EXPECT_EQ(p.spec.payloadTypes[2], (relayctl::PayloadType{18, "G729", 8000}));
  EXPECT_EQ(p.spec.payloadTypes[3], (relayctl::PayloadType{101, "telephone-event", 8000}));
  EXPECT_EQ(p.spec.telephoneEventPt, 101);
  EXPECT_EQ(p.spec.direction, relayctl::Direction::kSendRecv);
  EXPECT_FALSE(p.spec.crypto.has_value());
}

TEST(SdpAnchorRead, SrtpOfferPicksFirstUsableCryptoAndRtcpAttribute) {
  auto offer = parse(srtpOffer());
  auto r = readOffer(offer, MediaPolicy::SrtpOptional);
  ASSERT_TRUE(r.ok());
  const PeerStream& p = r.value();
  EXPECT_TRUE(p.srtp);
  EXPECT_EQ(p.cryptoTag, 5u);
  ASSERT_TRUE(p.spec.crypto.has_value());
  EXPECT_EQ(p.spec.crypto->suite, "AES_CM_128_HMAC_SHA1_80");
  EXPECT_EQ(p.spec.crypto->key, kKey30);
  EXPECT_FALSE(p.spec.crypto->generate);
  ASSERT_TRUE(p.spec.rtcp.has_value());
  EXPECT_EQ(p.spec.rtcp->address, "127.0.0.33");
  EXPECT_EQ(p.spec.rtcp->port, 20011);
}

TEST(SdpAnchorRead, PolicyDecidesWhatIsAcceptable) {
  // rtp trunk: an SAVP offer cannot be answered in plain RTP.
  EXPECT_EQ(readOffer(parse(srtpOffer()), MediaPolicy::Rtp).error(), AnchorError::kNotAcceptable);
  // srtp-mandatory: plain RTP is refused (488)...
  EXPECT_EQ(readOffer(parse(pbxOffer()), MediaPolicy::SrtpMandatory).error(),
            AnchorError::kNotAcceptable);
  // ...and so is SAVP whose only keys are of the wrong length.
  std::string bad = srtpOffer("c2hvcnQ=");
  EXPECT_EQ(readOffer(parse(bad), MediaPolicy::SrtpMandatory).error(), AnchorError::kNotAcceptable);
  EXPECT_TRUE(readOffer(parse(srtpOffer()), MediaPolicy::SrtpMandatory).ok());
  // srtp-optional: both are fine.
  EXPECT_TRUE(readOffer(parse(pbxOffer()), MediaPolicy::SrtpOptional).ok());
  EXPECT_TRUE(readOffer(parse(srtpOffer()), MediaPolicy::SrtpOptional).ok());
}

TEST(SdpAnchorRead, OfferSrtpFollowsTheOtherLegsPolicy) {
  EXPECT_FALSE(offerSrtp(MediaPolicy::Rtp, true));
  EXPECT_TRUE(offerSrtp(MediaPolicy::SrtpMandatory, false));
  EXPECT_TRUE(offerSrtp(MediaPolicy::SrtpOptional, true));
  EXPECT_FALSE(offerSrtp(MediaPolicy::SrtpOptional, false));
}

TEST(SdpAnchorRead, HoldDirectionsAreThePeersOwn) {
  std::string s = pbxOffer();
  s.replace(s.find("a=sendrecv"), 10, "a=sendonly");
  auto r = readOffer(parse(s), MediaPolicy::Rtp);
  ASSERT_TRUE(r.ok());
  // The peer only sends: the relay must not send to it.
  EXPECT_EQ(r.value().spec.direction, relayctl::Direction::kSendOnly);

  std::string old = pbxOffer();
  old.replace(old.find("c=IN IP4 127.0.0.2"), 18, "c=IN IP4 0.0.0.0");
  r = readOffer(parse(old), MediaPolicy::Rtp);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r.value().spec.rtp.has_value());  // nowhere to send to
  EXPECT_EQ(r.value().spec.direction, relayctl::Direction::kSendOnly);
  old.replace(old.find("a=sendrecv"), 10, "a=recvonly");
  r = readOffer(parse(old), MediaPolicy::Rtp);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().spec.direction, relayctl::Direction::kInactive);
}

TEST(SdpAnchorRead, RtcpMuxAndHostNames) {
  std::string s = pbxOffer() + "a=rtcp-mux\r\n";
  auto r = readOffer(parse(s), MediaPolicy::Rtp);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.value().spec.rtcpMux);
  EXPECT_FALSE(r.value().spec.rtcp.has_value());

  std::string named = pbxOffer();
  named.replace(named.find("c=IN IP4 127.0.0.2"), 18, "c=IN IP4 pbx.example");
  r = readOffer(parse(named), MediaPolicy::Rtp);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r.value().spec.rtp.has_value());  // the relay takes literals only: latch
}

TEST(SdpAnchorRead, PicksFirstAudioStreamAndSkipsDisabledOnes) {
  std::string s =
      "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
      "m=video 4000 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
      "m=audio 0 RTP/AVP 0\r\n"
      "m=audio 5000 RTP/AVP 8\r\n";
  auto offer = parse(s);
  auto r = readOffer(offer, MediaPolicy::Rtp);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().index, 2u);

  std::string none = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n";
  EXPECT_FALSE(readOffer(parse(none), MediaPolicy::Rtp).ok());
  std::string dtls =
      "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
      "m=audio 5000 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\n";
  EXPECT_EQ(readOffer(parse(dtls), MediaPolicy::SrtpOptional).error(), AnchorError::kNotAcceptable);
}

TEST(SdpAnchorRead, AnswerMustAcceptOurCrypto) {
  std::string ans =
      "v=0\r\no=- 1 1 IN IP4 10.0.0.9\r\ns=-\r\nc=IN IP4 10.0.0.9\r\nt=0 0\r\n"
      "m=audio 6000 RTP/SAVP 0\r\n"
      "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" +
      std::string(kKey30) + "\r\n";
  auto r = readAnswer(parse(ans), 0, true);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.value().srtp);
  EXPECT_EQ(r.value().spec.crypto->key, kKey30);
  EXPECT_EQ(r.value().spec.rtp->address, "10.0.0.9");

  std::string wrong_tag = ans;
  wrong_tag.replace(wrong_tag.find("crypto:1"), 8, "crypto:2");
  EXPECT_EQ(readAnswer(parse(wrong_tag), 0, true).error(), AnchorError::kBadAnswer);
  // An answer to a plain offer: crypto is ignored.
  auto plain = readAnswer(parse(ans), 0, false);
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain.value().srtp);
  // Fewer m= lines than the offer: not an answer to it.
  EXPECT_EQ(readAnswer(parse(ans), 1, false).error(), AnchorError::kBadAnswer);
  std::string rejected = ans;
  rejected.replace(rejected.find("audio 6000"), 10, "audio 0");
  auto rej = readAnswer(parse(rejected), 0, true);
  ASSERT_TRUE(rej.ok());
  EXPECT_TRUE(rej.value().rejected);
}

TEST(SdpAnchorRewrite, OnlyTheRelayAddressRemainsAndCodecsPass) {
  auto sdp = parse(srtpOffer());
  ASSERT_TRUE(rewriteForLeg(sdp, 0, relayLocal(false)));
  const std::string out = sdp.serialize();
  EXPECT_EQ(out.find("127.0.0."), std::string::npos) << out;
  EXPECT_NE(out.find("c=IN IP4 192.0.2.10\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("m=audio 30000 RTP/AVP 8 101\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("a=rtcp:30001 IN IP4 192.0.2.10\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("a=rtpmap:101 telephone-event/8000\r\n"), std::string::npos);
  for (std::string_view gone : {"a=crypto", "a=ice-", "a=candidate", "a=fingerprint", "a=setup"}) {
    EXPECT_EQ(out.find(gone), std::string::npos) << gone;
  }
  // The result is valid SDP.
  EXPECT_TRUE(sdp::parse(out, sdp::kStrict).ok()) << out;
}

TEST(SdpAnchorRewrite, SrtpLegGetsSavpAndOneCrypto) {
  auto sdp = parse(pbxOffer());
  ASSERT_TRUE(rewriteForLeg(sdp, 0, relayLocal(true)));
  const std::string out = sdp.serialize();
  EXPECT_NE(out.find("m=audio 30000 RTP/SAVP 0 8 18 101\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + std::string(kKey30b)),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find("a=crypto", out.find("a=crypto") + 1), std::string::npos);
  // fmtp and ptime unchanged.
  EXPECT_NE(out.find("a=fmtp:18 annexb=no\r\n"), std::string::npos);
  EXPECT_NE(out.find("a=ptime:20\r\n"), std::string::npos);
  EXPECT_EQ(out.find("127.0.0.2"), std::string::npos) << out;
}

TEST(SdpAnchorRewrite, AnswerKeepsThePeersCryptoTagAndMux) {
  auto sdp = parse(pbxOffer());
  LocalStream l = relayLocal(true);
  l.cryptoTag = 5;
  l.rtcpMux = true;
  l.rtcpPort = 30000;
  l.feedback = true;
  ASSERT_TRUE(rewriteForLeg(sdp, 0, l));
  const std::string out = sdp.serialize();
  EXPECT_NE(out.find("RTP/SAVPF"), std::string::npos) << out;
  EXPECT_NE(out.find("a=crypto:5 "), std::string::npos) << out;
  EXPECT_NE(out.find("a=rtcp-mux\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("a=rtcp:30000 IN IP4 192.0.2.10\r\n"), std::string::npos) << out;
}

TEST(SdpAnchorRewrite, OtherStreamsAreDisabledWithoutLeakingAddresses) {
  std::string s =
      "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nt=0 0\r\n"
      "a=group:BUNDLE a v\r\n"
      "m=audio 5000 RTP/AVP 0\r\nc=IN IP4 10.0.0.1\r\na=mid:a\r\n"
      "m=video 5002 RTP/AVP 96\r\nc=IN IP6 fd00::1\r\na=rtpmap:96 H264/90000\r\n"
      "a=rtcp:5003 IN IP4 10.0.0.1\r\na=mid:v\r\n";
  auto sdp = parse(s);
  ASSERT_TRUE(rewriteForLeg(sdp, 0, relayLocal(false)));
  const std::string out = sdp.serialize();
  EXPECT_EQ(out.find("10.0.0.1"), std::string::npos) << out;
  EXPECT_EQ(out.find("fd00::1"), std::string::npos) << out;
  EXPECT_NE(out.find("m=video 0 RTP/AVP 96\r\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("a=group"), std::string::npos) << out;
  EXPECT_TRUE(sdp::parse(out, sdp::kStrict).ok()) << out;
}

TEST(SdpAnchorRewrite, RejectedStreamGoesOutWithPortZero) {
  auto sdp = parse(pbxOffer());
  LocalStream l = relayLocal(false);
  l.rejected = true;
  ASSERT_TRUE(rewriteForLeg(sdp, 0, l));
  EXPECT_NE(sdp.serialize().find("m=audio 0 RTP/AVP"), std::string::npos);
  EXPECT_FALSE(rewriteForLeg(sdp, 3, l));  // no such stream
}

TEST(SdpAnchorRewrite, Ipv6RelayAddress) {
  auto sdp = parse(pbxOffer());
  LocalStream l = relayLocal(false);
  l.address = "2001:db8::10";
  ASSERT_TRUE(rewriteForLeg(sdp, 0, l));
  const std::string out = sdp.serialize();
  EXPECT_NE(out.find("c=IN IP6 2001:db8::10\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("a=rtcp:30001 IN IP6 2001:db8::10\r\n"), std::string::npos) << out;
}

TEST(SdpAnchorRead, StaticTable) {
  EXPECT_EQ(staticPayloadType(9)->encoding, "G722");
  EXPECT_EQ(staticPayloadType(9)->clockRate, 8000u);
  EXPECT_FALSE(staticPayloadType(96).has_value());
  EXPECT_FALSE(staticPayloadType(2).has_value());
}

TEST(SdpAnchorRead, TooManyPayloadTypesAreCapped) {
  std::string s =
      "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 5000 RTP/AVP";
  for (int pt = 96; pt < 96 + 40; ++pt) s += " " + std::to_string(pt);
  s += "\r\n";
  for (int pt = 96; pt < 96 + 40; ++pt) s += "a=rtpmap:" + std::to_string(pt) + " X/8000\r\n";
  auto r = readOffer(parse(s), MediaPolicy::Rtp);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().spec.payloadTypes.size(), relayctl::kMaxPayloadTypes);
}

std::string fourLineOffer() {
  return "v=0\r\n"
         "o=pbx 1 1 IN IP4 127.0.0.2\r\n"
         "s=-\r\n"
         "c=IN IP4 127.0.0.2\r\n"
         "t=0 0\r\n"
         "m=audio 10000 RTP/AVP 0\r\n"
         "a=ssrc:11 cname:user@127.0.0.2\r\n"
         "m=video 10002 RTP/SAVP 96\r\n"
         "a=rtpmap:96 VP8/90000\r\n"
         "a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:" +
         std::string(kKey30) +
         "\r\n"
         "m=image 10004 udptl t38\r\n"
         "m=audio 0 RTP/AVP 8\r\n";
}

TEST(SdpAnchorStreams, EveryEnabledRtpLineIsCarriedWithinThePolicy) {
  auto offer = parse(fourLineOffer());
  auto rtp = readOfferStreams(offer, MediaPolicy::Rtp);
  ASSERT_TRUE(rtp.ok());
  EXPECT_EQ(rtp.value().primary, 0u);
  ASSERT_EQ(rtp.value().streams.size(), 4u);
  ASSERT_TRUE(rtp.value().streams[0].has_value());
  EXPECT_EQ(rtp.value().streams[0]->spec.rtp, (relayctl::Endpoint{"127.0.0.2", 10000}));
  EXPECT_FALSE(rtp.value().streams[1].has_value());  // SAVP on an rtp trunk: declined
  EXPECT_FALSE(rtp.value().streams[2].has_value());  // T.38 is not RTP
  EXPECT_FALSE(rtp.value().streams[3].has_value());  // offered disabled
  auto optional = readOfferStreams(offer, MediaPolicy::SrtpOptional);
  ASSERT_TRUE(optional.ok());
  ASSERT_TRUE(optional.value().streams[1].has_value());
  EXPECT_TRUE(optional.value().streams[1]->srtp);
  EXPECT_EQ(optional.value().streams[1]->spec.rtp, (relayctl::Endpoint{"127.0.0.2", 10002}));
  EXPECT_EQ(optional.value().streams[1]->spec.payloadTypes.front().encoding, "VP8");
  // The primary stream still decides: plain audio on an srtp-mandatory trunk.
  EXPECT_EQ(readOfferStreams(offer, MediaPolicy::SrtpMandatory).error(),
            AnchorError::kNotAcceptable);
}

TEST(SdpAnchorStreams, RewriteGivesEachCarriedLineItsRelayPort) {
  auto offer = parse(fourLineOffer());
  std::vector<std::optional<LocalStream>> locals(2);
  locals[0] = relayLocal(false);
  locals[1] = relayLocal(true);
  locals[1]->rtpPort = 30010;
  locals[1]->rtcpPort = 30011;
  ASSERT_TRUE(rewriteStreams(offer, locals));
  const std::string out = offer.serialize();
  EXPECT_NE(out.find("m=audio 30000 RTP/AVP 0\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("m=video 30010 RTP/SAVP 96\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("a=rtcp:30011 IN IP4 192.0.2.10"), std::string::npos) << out;
  EXPECT_NE(out.find("m=image 0 udptl t38\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("m=audio 0 RTP/AVP 8\r\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("127.0.0.2"), std::string::npos) << out;          // a=ssrc cname gone too
  EXPECT_EQ(out.find(std::string(kKey30)), std::string::npos) << out;  // only the relay's key
  EXPECT_NE(out.find("inline:" + std::string(kKey30b)), std::string::npos) << out;
  // Nothing to anchor on: refused rather than leaking the peer's address.
  auto again = parse(fourLineOffer());
  EXPECT_FALSE(rewriteStreams(again, {}));
}

}  // namespace
}  // namespace sbc::media

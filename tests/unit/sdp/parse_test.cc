// Parsing realistic offers and reading them through the typed accessors.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sbc/sdp/sdp.h"
#include "tests/unit/sdp/samples.h"

namespace sbc::sdp {
namespace {

using samples::crlf;

SessionDescription mustParse(std::string_view text, const ParseOptions& options = {}) {
  auto r = parse(text, options);
  EXPECT_TRUE(r.ok()) << r.error().toString();
  if (!r.ok()) return *parse(crlf("v=0\no=- 0 0 IN IP4 0.0.0.0\ns=-\nc=IN IP4 0.0.0.0\nt=0 0\n"));
  return std::move(r).value();
}

TEST(SdpParse, AsteriskOffer) {
  const std::string text = crlf(samples::kAsterisk);
  const SessionDescription sdp = mustParse(text);

  const Origin o = sdp.origin();
  EXPECT_EQ(o.username, "-");
  EXPECT_EQ(o.sessionId, "1793392066");
  EXPECT_EQ(o.sessionVersionNumber(), 1793392066U);
  EXPECT_EQ(o.netType, "IN");
  EXPECT_EQ(o.addrType, "IP4");
  EXPECT_EQ(o.address, "192.168.1.20");
  EXPECT_EQ(sdp.sessionName(), "Asterisk");
  ASSERT_TRUE(sdp.connection());
  EXPECT_EQ(sdp.connection()->address, "192.168.1.20");
  ASSERT_TRUE(sdp.timing());
  EXPECT_EQ(sdp.timing()->start, 0U);
  EXPECT_EQ(sdp.timing()->stop, 0U);

  ASSERT_EQ(sdp.mediaCount(), 1U);
  const MediaDescription& audio = sdp.media()[0];
  EXPECT_EQ(audio.mediaType(), "audio");
  EXPECT_EQ(audio.port(), 14050);
  EXPECT_FALSE(audio.portCount());
  EXPECT_EQ(audio.proto(), "RTP/AVP");
  EXPECT_TRUE(audio.isRtp());
  EXPECT_FALSE(audio.isSrtp());
  const std::vector<std::string_view> fmts(audio.formats().begin(), audio.formats().end());
  EXPECT_EQ(fmts, (std::vector<std::string_view>{"0", "8", "3", "101"}));
  EXPECT_EQ(audio.formats().size(), 4U);
  EXPECT_TRUE(audio.formats().contains("101"));
  EXPECT_FALSE(audio.formats().contains("10"));

  const auto maps = audio.rtpmaps();
  ASSERT_EQ(maps.size(), 4U);
  EXPECT_EQ(maps[3].payloadType, 101);
  EXPECT_EQ(maps[3].encoding, "telephone-event");
  EXPECT_EQ(maps[3].clockRate, 8000U);
  EXPECT_FALSE(maps[3].channels);
  ASSERT_TRUE(audio.rtpmap(8));
  EXPECT_EQ(audio.rtpmap(8)->encoding, "PCMA");
  EXPECT_FALSE(audio.rtpmap(9));
  EXPECT_EQ(audio.fmtp("101"), "0-16");
  EXPECT_FALSE(audio.fmtp("0"));
  EXPECT_EQ(audio.ptime(), 20U);
  EXPECT_EQ(audio.maxptime(), 150U);
  EXPECT_EQ(audio.direction(), Direction::kSendRecv);
  EXPECT_FALSE(audio.connection());  // inherited from the session
  EXPECT_EQ(sdp.effectiveConnection(audio)->address, "192.168.1.20");
  EXPECT_FALSE(audio.rtcp());
  EXPECT_FALSE(audio.rtcpMux());
  EXPECT_FALSE(sdp.isHold());

  // Untouched, it serializes back byte for byte.
  EXPECT_EQ(sdp.serialize(), text);
  EXPECT_EQ(sdp.serializedSize(), text.size());
}

TEST(SdpParse, FreeSwitchOfferWithOpusAndRtcp) {
  const SessionDescription sdp = mustParse(crlf(samples::kFreeSwitch));
  EXPECT_EQ(sdp.origin().sessionVersion, "1700000001");
  const MediaDescription& audio = sdp.media()[0];
  const auto opus = audio.rtpmap(102);
  ASSERT_TRUE(opus);
  EXPECT_EQ(opus->encoding, "opus");
  EXPECT_EQ(opus->clockRate, 48000U);
  EXPECT_EQ(opus->channels, 2U);
  EXPECT_EQ(audio.fmtp("102"),
            "useinbandfec=1; maxaveragebitrate=30000; maxplaybackrate=48000; ptime=20");
  EXPECT_EQ(audio.fmtps().size(), 2U);
  const auto rtcp = audio.rtcp();
  ASSERT_TRUE(rtcp);
  EXPECT_EQ(rtcp->port, 28767);
  EXPECT_EQ(rtcp->netType, "IN");
  EXPECT_EQ(rtcp->addrType, "IP4");
  EXPECT_EQ(rtcp->address, "10.0.0.5");
}

TEST(SdpParse, CiscoCubeMediaLevelConnectionAndBandwidth) {
  const SessionDescription sdp = mustParse(crlf(samples::kCiscoCube));
  EXPECT_EQ(sdp.sessionName(), "SIP Call");
  const MediaDescription& audio = sdp.media()[0];
  ASSERT_TRUE(audio.connection());
  EXPECT_EQ(audio.connection()->address, "172.16.10.1");
  EXPECT_EQ(audio.bandwidth("AS"), 80U);
  EXPECT_EQ(audio.bandwidth("as"), 80U);  // bwtype compared case-insensitively
  ASSERT_EQ(audio.bandwidths().size(), 1U);
  EXPECT_EQ(audio.fmtp("18"), "annexb=no");
  EXPECT_EQ(audio.rtpmap(18)->encoding, "G729");
  EXPECT_FALSE(audio.direction());  // none written: sendrecv by default
  EXPECT_EQ(sdp.effectiveDirection(audio), Direction::kSendRecv);
}

TEST(SdpParse, WebRtcOfferWithIceAndDtls) {
  const std::string text = crlf(samples::kWebRtc);
  const SessionDescription sdp = mustParse(text);
  EXPECT_FALSE(sdp.connection());
  EXPECT_EQ(sdp.attribute("group"), "BUNDLE 0 1");
  EXPECT_EQ(sdp.attribute("msid-semantic"), " WMS stream1");
  EXPECT_TRUE(sdp.hasAttribute("extmap-allow-mixed"));
  EXPECT_EQ(sdp.attribute("extmap-allow-mixed"), "");
  ASSERT_EQ(sdp.mediaCount(), 2U);

  const MediaDescription& audio = sdp.media()[0];
  EXPECT_EQ(audio.proto(), "UDP/TLS/RTP/SAVPF");
  EXPECT_TRUE(audio.isRtp());
  EXPECT_TRUE(audio.isSrtp());
  EXPECT_EQ(audio.iceUfrag(), "EsAw");
  EXPECT_EQ(audio.icePwd(), "P2uYro0UCOQ4zxjKXaWCBui1");
  EXPECT_TRUE(audio.endOfCandidates());
  EXPECT_FALSE(audio.iceLite());
  const auto fp = audio.fingerprint();
  ASSERT_TRUE(fp);
  EXPECT_EQ(fp->hashFunction, "sha-256");
  EXPECT_EQ(fp->value.size(), 95U);
  EXPECT_EQ(audio.setup(), Setup::kActPass);
  EXPECT_EQ(audio.mid(), "0");
  EXPECT_TRUE(audio.rtcpMux());
  EXPECT_EQ(audio.rtcp()->port, 9);

  const auto cands = audio.candidates();
  ASSERT_EQ(cands.size(), 3U);
  EXPECT_EQ(cands[0].foundation, "1467250027");
  EXPECT_EQ(cands[0].component, 1U);
  EXPECT_EQ(cands[0].transport, "udp");
  EXPECT_EQ(cands[0].priority, 2122260223U);
  EXPECT_EQ(cands[0].address, "192.168.0.196");
  EXPECT_EQ(cands[0].port, 46243);
  EXPECT_EQ(cands[0].type, "host");
  EXPECT_EQ(cands[0].extensions, "generation 0 network-id 1");
  EXPECT_EQ(cands[1].type, "srflx");
  EXPECT_EQ(cands[1].relAddr, "192.168.0.196");
  EXPECT_EQ(cands[1].relPort, 46243);
  EXPECT_EQ(cands[1].extensions, "generation 0");
  EXPECT_EQ(cands[2].transport, "tcp");
  EXPECT_EQ(cands[2].extensions, "tcptype active generation 0");

  const auto ssrcs = audio.ssrcs();
  ASSERT_EQ(ssrcs.size(), 2U);
  EXPECT_EQ(ssrcs[0].id, 3570614608U);
  EXPECT_EQ(ssrcs[0].attribute, "cname");
  EXPECT_EQ(ssrcs[0].value, "4TOk42mSjXCkVIa6");
  EXPECT_EQ(ssrcs[1].value, "stream1 track1");

  const MediaDescription& video = sdp.media()[1];
  EXPECT_EQ(video.mediaType(), "video");
  EXPECT_EQ(video.mid(), "1");
  EXPECT_EQ(video.rtpmap(96)->clockRate, 90000U);
  EXPECT_EQ(video.fmtp("97"), "apt=96");
  EXPECT_EQ(video.attributeValues("rtcp-fb"), (std::vector<std::string_view>{"96 nack"}));
  EXPECT_EQ(sdp.serialize(), text);
}

TEST(SdpParse, SrtpOfferWithSeveralCryptoLines) {
  const SessionDescription sdp = mustParse(crlf(samples::kSrtp));
  const MediaDescription& audio = sdp.media()[0];
  EXPECT_TRUE(audio.isSrtp());
  const auto cryptos = audio.cryptos();
  ASSERT_EQ(cryptos.size(), 4U);

  EXPECT_EQ(cryptos[0].tag, 1U);
  EXPECT_EQ(cryptos[0].suite, "AES_CM_128_HMAC_SHA1_80");
  ASSERT_EQ(cryptos[0].keys.size(), 1U);
  EXPECT_EQ(cryptos[0].keys[0].method, "inline");
  EXPECT_EQ(cryptos[0].keys[0].keySalt, "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR");
  EXPECT_EQ(cryptos[0].keys[0].lifetime, "2^20");
  EXPECT_EQ(cryptos[0].keys[0].mki, "1");
  EXPECT_EQ(cryptos[0].keys[0].mkiLength, "4");
  EXPECT_TRUE(cryptos[0].sessionParams.empty());

  EXPECT_EQ(cryptos[1].suite, "AES_CM_128_HMAC_SHA1_32");
  EXPECT_EQ(cryptos[1].sessionParams, "UNENCRYPTED_SRTCP");

  EXPECT_EQ(cryptos[2].suite, "AEAD_AES_128_GCM");
  EXPECT_TRUE(cryptos[2].keys[0].lifetime.empty());
  EXPECT_TRUE(cryptos[2].keys[0].mki.empty());

  ASSERT_EQ(cryptos[3].keys.size(), 2U);
  EXPECT_EQ(cryptos[3].keys[0].lifetime, "1048576");
  EXPECT_EQ(cryptos[3].keys[1].keySalt, "QUJDZGVmZ2hpSktMbW9QUXJzVFVWd3l6MTIzNDU2");
  EXPECT_EQ(cryptos[3].sessionParams, "KDR=1");
}

TEST(SdpParse, AudioPlusRejectedVideo) {
  const SessionDescription sdp = mustParse(crlf(samples::kAudioVideoRejected));
  ASSERT_EQ(sdp.mediaCount(), 2U);
  EXPECT_FALSE(sdp.media()[0].isDisabled());
  EXPECT_TRUE(sdp.media()[1].isDisabled());
  EXPECT_EQ(sdp.media()[1].port(), 0);
  EXPECT_EQ(sdp.media()[1].rtpmap(31)->encoding, "H261");
  // The audio's rtpmap stays with the audio section.
  EXPECT_FALSE(sdp.media()[0].rtpmap(31));
}

TEST(SdpParse, Ipv6) {
  const SessionDescription sdp = mustParse(crlf(samples::kIpv6));
  EXPECT_EQ(sdp.origin().addrType, "IP6");
  EXPECT_EQ(sdp.origin().address, "2001:db8::1");
  ASSERT_TRUE(sdp.connection());
  EXPECT_EQ(sdp.connection()->addrType, "IP6");
  EXPECT_EQ(sdp.connection()->address, "2001:db8::1");
  const auto rtcp = sdp.media()[0].rtcp();
  ASSERT_TRUE(rtcp);
  EXPECT_EQ(rtcp->port, 5005);
  EXPECT_EQ(rtcp->addrType, "IP6");
  EXPECT_EQ(rtcp->address, "2001:db8::1");
}

TEST(SdpParse, MulticastConnectionKeepsTtlAndCount) {
  const SessionDescription sdp =
      mustParse(crlf("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 233.252.0.1/127/3\nt=0 0\n"
                     "m=audio 5000/2 RTP/AVP 0\n"));
  const auto c = sdp.connection();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->address, "233.252.0.1");
  EXPECT_EQ(c->ttl, 127U);
  EXPECT_EQ(c->addressCount, 3U);
  EXPECT_EQ(sdp.media()[0].port(), 5000);
  EXPECT_EQ(sdp.media()[0].portCount(), 2U);
}

TEST(SdpParse, AllSessionLineTypes) {
  const std::string text = crlf(
      "v=0\n"
      "o=jdoe 2890844526 2890842807 IN IP4 10.47.16.5\n"
      "s=SDP Seminar\n"
      "i=A Seminar on the session description protocol\n"
      "u=http://www.example.com/seminars/sdp.pdf\n"
      "e=j.doe@example.com (Jane Doe)\n"
      "e=ops@example.com\n"
      "p=+1 617 555-6011\n"
      "c=IN IP4 224.2.17.12/127\n"
      "b=CT:128\n"
      "t=2873397496 2873404696\n"
      "r=7d 1h 0 25h\n"
      "t=0 0\n"
      "z=2882844526 -1h 2898848070 0\n"
      "k=prompt\n"
      "a=recvonly\n"
      "m=audio 49170 RTP/AVP 0\n"
      "i=audio stream\n"
      "k=clear:secret\n"
      "m=video 51372 RTP/AVP 99\n"
      "a=rtpmap:99 h263-1998/90000\n");
  const SessionDescription sdp = mustParse(text);
  EXPECT_EQ(sdp.information(), "A Seminar on the session description protocol");
  EXPECT_EQ(sdp.uri(), "http://www.example.com/seminars/sdp.pdf");
  EXPECT_EQ(sdp.emails().size(), 2U);
  EXPECT_EQ(sdp.phones(), (std::vector<std::string_view>{"+1 617 555-6011"}));
  EXPECT_EQ(sdp.bandwidth("CT"), 128U);
  EXPECT_EQ(sdp.connection()->ttl, 127U);
  EXPECT_EQ(sdp.timing()->start, 2873397496U);
  EXPECT_EQ(sdp.direction(), Direction::kRecvOnly);
  EXPECT_EQ(sdp.effectiveDirection(sdp.media()[0]), Direction::kRecvOnly);
  EXPECT_EQ(sdp.media()[0].information(), "audio stream");
  EXPECT_EQ(sdp.serialize(), text);
}

TEST(SdpParse, UnknownLinesSurviveInOrder) {
  const std::string text = crlf(samples::kUnknownLines);
  const SessionDescription sdp = mustParse(text);
  // Same bytes back: every unknown line, in its position.
  EXPECT_EQ(sdp.serialize(), text);

  std::vector<std::string> sessionLines;
  for (const LineView l : sdp.lines())
    sessionLines.push_back(std::string(1, l.type) + "=" + std::string(l.value));
  EXPECT_EQ(sessionLines,
            (std::vector<std::string>{"v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-",
                                      "x=vendor-session-extension 1", "c=IN IP4 192.0.2.1", "t=0 0",
                                      "a=X-nat:0", "y=another"}));
  const MediaDescription& audio = sdp.media()[0];
  EXPECT_EQ(audio.line(1).attributeName(), "X-vendor-first");
  EXPECT_FALSE(audio.line(1).attributeHasValue());
  EXPECT_EQ(audio.line(3).type, 'w');
  EXPECT_EQ(audio.attribute("x-unknown"), "with: colons");
  EXPECT_EQ(audio.attribute("X-UNKNOWN"), "with: colons");

  // Still true after an edit elsewhere in the same sections.
  SessionDescription edited = sdp;
  ASSERT_TRUE(edited.setConnectionAddressEverywhere("203.0.113.9"));
  ASSERT_TRUE(edited.media()[0].setPort(5000));
  std::string expected = text;
  expected.replace(expected.find("c=IN IP4 192.0.2.1"), 18, "c=IN IP4 203.0.113.9");
  expected.replace(expected.find("m=audio 4000"), 12, "m=audio 5000");
  EXPECT_EQ(edited.serialize(), expected);
}

TEST(SdpParse, LfLineEndingsAndMissingFinalNewline) {
  std::string lf(samples::kAsterisk);
  lf.pop_back();  // no final line ending at all
  const SessionDescription sdp = mustParse(lf);
  EXPECT_EQ(sdp.media()[0].direction(), Direction::kSendRecv);
  EXPECT_EQ(sdp.serialize(), crlf(samples::kAsterisk));  // always written with CRLF

  // Mixed endings, and trailing blank lines after the body.
  std::string mixed = crlf(samples::kAsterisk);
  mixed.replace(mixed.find("\r\ns=Asterisk"), 2, "\n");
  mixed += "\r\n\r\n";
  EXPECT_EQ(mustParse(mixed).serialize(), crlf(samples::kAsterisk));
}

TEST(SdpParse, RoundTripEqualityOfAllSamples) {
  for (std::string_view sample :
       {samples::kAsterisk, samples::kFreeSwitch, samples::kCiscoCube, samples::kWebRtc,
        samples::kSrtp, samples::kAudioVideoRejected, samples::kIpv6, samples::kUnknownLines}) {
    const SessionDescription a = mustParse(sample);
    const auto b = parse(a.serialize());
    ASSERT_TRUE(b.ok()) << b.error().toString();
    EXPECT_EQ(*b, a);
    SessionDescription c = *b;
    ASSERT_TRUE(c.media()[0].setPort(1));
    EXPECT_NE(c, a);
  }
}

}  // namespace
}  // namespace sbc::sdp

#include <gtest/gtest.h>

#include <vector>

#include "media-relay/relay/rtp_packet.h"

namespace relay {
namespace {

std::vector<std::uint8_t> rtp(std::uint8_t pt, std::uint16_t seq, std::uint32_t ts,
                              std::uint32_t ssrc = 0x11223344) {
  std::vector<std::uint8_t> p(12 + 160, 0xd5);
  p[0] = 0x80;
  p[1] = pt;
  p[2] = seq >> 8;
  p[3] = seq & 0xff;
  for (int i = 0; i < 4; ++i) p[4 + i] = static_cast<std::uint8_t>(ts >> (24 - 8 * i));
  for (int i = 0; i < 4; ++i) p[8 + i] = static_cast<std::uint8_t>(ssrc >> (24 - 8 * i));
  return p;
}

TEST(RtcpMux, DemuxByPayloadTypeRange) {
  EXPECT_FALSE(isRtcp(rtp(0, 1, 0)));         // PCMU
  EXPECT_FALSE(isRtcp(rtp(0x80 | 8, 1, 0)));  // PCMA with marker
  EXPECT_FALSE(isRtcp(rtp(101, 1, 0)));       // telephone-event
  EXPECT_FALSE(isRtcp(rtp(0x80 | 111, 1, 0)));
  for (int b = 192; b <= 223; ++b) {
    std::vector<std::uint8_t> p{0x80, static_cast<std::uint8_t>(b), 0, 1};
    EXPECT_TRUE(isRtcp(p)) << b;
  }
  std::vector<std::uint8_t> p{0x80, 224, 0, 1};
  EXPECT_FALSE(isRtcp(p));
  EXPECT_FALSE(isRtcp(std::vector<std::uint8_t>{0x80}));
}

TEST(RtpHeader, ParsesAndRejects) {
  auto h = parseRtpHeader(rtp(0x80 | 8, 0xabcd, 0x01020304, 0xdeadbeef));
  ASSERT_TRUE(h);
  EXPECT_EQ(h->payloadType, 8);
  EXPECT_EQ(h->sequence, 0xabcd);
  EXPECT_EQ(h->timestamp, 0x01020304u);
  EXPECT_EQ(h->ssrc, 0xdeadbeefu);
  auto p = rtp(0, 1, 0);
  p[0] = 0x40;  // version 1
  EXPECT_FALSE(parseRtpHeader(p));
  EXPECT_FALSE(parseRtpHeader(std::span(p.data(), 11)));
}

// SR with one report block, then an SDES chunk: a typical compound packet.
std::vector<std::uint8_t> senderReport() {
  std::vector<std::uint8_t> p = {
      0x81, 200,  0,    12,    // SR, RC=1, length 12 words
      0x11, 0x22, 0x33, 0x44,  // sender SSRC
      0,    0,    0,    1,    0,    0,    0,    2,    0, 0, 0,   3,
      0,    0,    0,    4,    0,    0,    0,    5,  // NTP, RTP ts, counts
      0xaa, 0xbb, 0xcc, 0xdd,                       // report block: source SSRC
      64,   0x00, 0x01, 0x02,                       // fraction 64/256, cumulative 258
      0,    1,    0x10, 0x00,                       // extended highest seq
      0,    0,    0x01, 0x40,                       // jitter 320
      0,    0,    0,    0,    0,    0,    0,    0,  // LSR, DLSR
      0x81, 202,  0,    2,    0x11, 0x22, 0x33, 0x44, 1, 1, 'x', 0,  // SDES CNAME "x"
  };
  return p;
}

TEST(Rtcp, ParsesSenderReportBlocks) {
  auto s = parseRtcp(senderReport());
  ASSERT_TRUE(s.valid);
  EXPECT_TRUE(s.hasSenderReport);
  EXPECT_EQ(s.senderSsrc, 0x11223344u);
  ASSERT_EQ(s.blockCount, 1u);
  EXPECT_EQ(s.blocks[0].ssrc, 0xaabbccddu);
  EXPECT_EQ(s.blocks[0].fractionLost, 64);
  EXPECT_EQ(s.blocks[0].cumulativeLost, 258);
  EXPECT_EQ(s.blocks[0].highestSequence, 0x11000u);
  EXPECT_EQ(s.blocks[0].jitter, 320u);
}

TEST(Rtcp, ReceiverReportWithNegativeCumulativeLoss) {
  std::vector<std::uint8_t> rr = {0x81, 201, 0, 7, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0xff, 0xff, 0xfe,
                                  0,    0,   0, 9, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0,    0,    0};
  auto s = parseRtcp(rr);
  ASSERT_TRUE(s.valid);
  EXPECT_FALSE(s.hasSenderReport);
  EXPECT_EQ(s.blocks[0].cumulativeLost, -2);
  EXPECT_EQ(s.blocks[0].jitter, 7u);
}

TEST(Rtcp, RejectsMalformedCompounds) {
  auto good = senderReport();
  constexpr std::size_t kSrBytes = 52;  // the SR alone is a valid compound
  for (std::size_t n = 0; n < good.size(); ++n) {
    if (n == kSrBytes) continue;
    EXPECT_FALSE(parseRtcp(std::span(good.data(), n)).valid) << n;  // every other truncation
  }
  EXPECT_TRUE(parseRtcp(std::span(good.data(), kSrBytes)).valid);
  auto badVersion = good;
  badVersion[kSrBytes] = 0x41;  // the SDES packet's version
  EXPECT_FALSE(parseRtcp(badVersion).valid);
  auto sdesFirst = std::vector<std::uint8_t>(good.begin() + kSrBytes, good.end());
  EXPECT_FALSE(parseRtcp(sdesFirst).valid);  // must start with SR/RR
  auto tooManyBlocks = good;
  tooManyBlocks[0] = 0x85;  // RC=5 does not fit in 12 words
  EXPECT_FALSE(parseRtcp(tooManyBlocks).valid);
  EXPECT_FALSE(parseRtcp(rtp(0, 1, 2)).valid);
}

TEST(ReceptionStats, CountsLossAcrossWrapAndSsrcChange) {
  ReceptionStats s;
  std::int64_t t = 0;
  std::uint16_t seq = 65530;
  std::uint32_t ts = 1000;
  for (int i = 0; i < 20; ++i, ++seq, ts += 160, t += 20000) {
    if (i == 5 || i == 6 || i == 12) continue;  // three lost, one across the wrap
    s.onPacket(*parseRtpHeader(rtp(0, seq, ts)), t, 8000);
  }
  EXPECT_EQ(s.lost(), 3u);
  EXPECT_EQ(s.jitterUs(), 0u);  // perfectly paced
  // A new SSRC (e.g. after a transfer) starts over and keeps the old loss.
  s.onPacket(*parseRtpHeader(rtp(0, 100, 0, 0x99)), t, 8000);
  s.onPacket(*parseRtpHeader(rtp(0, 102, 320, 0x99)), t + 40000, 8000);
  EXPECT_EQ(s.lost(), 4u);
}

TEST(ReceptionStats, JitterFollowsRfc3550) {
  ReceptionStats s;
  std::int64_t t = 0;
  std::uint32_t ts = 0;
  // Packets alternately 5 ms early and late: |D| = 10 ms after the first.
  for (int i = 0; i < 400; ++i, ts += 160) {
    std::int64_t arrival = t + i * 20000 + ((i % 2) ? 5000 : -5000);
    s.onPacket(*parseRtpHeader(rtp(0, static_cast<std::uint16_t>(i), ts)), arrival, 8000);
  }
  EXPECT_NEAR(s.jitterUs(), 10000, 200);
  EXPECT_EQ(s.lost(), 0u);
}

}  // namespace
}  // namespace relay

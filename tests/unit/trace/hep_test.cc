#include <gtest/gtest.h>

#include <string>

#include "sbc/trace/hep.h"

namespace sbc::trace {
namespace {

using namespace std::chrono_literals;

std::string bytes(std::initializer_list<int> v) {
  std::string s;
  for (int b : v) s += static_cast<char>(b);
  return s;
}

TEST(Hep, EncodesEveryChunkOfAnIpv4UdpMessageByteForByte) {
  HepPacket p;
  p.transport = Transport::Udp;
  p.src_address = "10.0.0.1";
  p.src_port = 5060;
  p.dst_address = "192.168.1.2";
  p.dst_port = 5080;
  p.at = std::chrono::system_clock::time_point(1700000000s + 123456us);
  p.capture_id = 2001;
  p.payload = "OPTIONS";
  p.correlation_id = "abc";
  HepResult r = encodeHep3(p);
  ASSERT_TRUE(r.ok());

  std::string expected = "HEP3";
  expected += bytes({0x00, 0x73});                                  // total 115
  expected += bytes({0, 0, 0, 1, 0, 7, 2});                         // family IPv4
  expected += bytes({0, 0, 0, 2, 0, 7, 17});                        // UDP
  expected += bytes({0, 0, 0, 3, 0, 10, 10, 0, 0, 1});              // src
  expected += bytes({0, 0, 0, 4, 0, 10, 192, 168, 1, 2});           // dst
  expected += bytes({0, 0, 0, 7, 0, 8, 0x13, 0xc4});                // 5060
  expected += bytes({0, 0, 0, 8, 0, 8, 0x13, 0xd8});                // 5080
  expected += bytes({0, 0, 0, 9, 0, 10, 0x65, 0x53, 0xf1, 0x00});   // 1700000000
  expected += bytes({0, 0, 0, 10, 0, 10, 0x00, 0x01, 0xe2, 0x40});  // 123456
  expected += bytes({0, 0, 0, 11, 0, 7, 1});                        // SIP
  expected += bytes({0, 0, 0, 12, 0, 10, 0, 0, 0x07, 0xd1});        // 2001
  expected += bytes({0, 0, 0, 15, 0, 13}) + "OPTIONS";
  expected += bytes({0, 0, 0, 17, 0, 9}) + "abc";
  ASSERT_EQ(expected.size(), 115u);
  EXPECT_EQ(r.bytes, expected);
}

TEST(Hep, Ipv6AndTcpUseTheirChunksAndDecodeBack) {
  HepPacket p;
  p.transport = Transport::Tls;
  p.src_address = "::1";
  p.src_port = 5061;
  p.dst_address = "2001:db8::2";
  p.dst_port = 6000;
  p.payload = "SIP/2.0 200 OK\r\n\r\n";
  HepResult r = encodeHep3(p);
  ASSERT_TRUE(r.ok());
  auto chunks = decodeHep3(r.bytes);
  ASSERT_TRUE(chunks.has_value());
  auto find = [&](std::uint16_t type) -> std::string_view {
    for (const HepChunk& c : *chunks)
      if (c.type == type && c.vendor == 0) return c.value;
    return {};
  };
  EXPECT_EQ(find(1), bytes({10}));
  EXPECT_EQ(find(2), bytes({6}));
  EXPECT_EQ(find(5).size(), 16u);
  EXPECT_EQ(find(5).back(), '\x01');
  EXPECT_EQ(find(6).substr(0, 4), bytes({0x20, 0x01, 0x0d, 0xb8}));
  EXPECT_EQ(find(15), p.payload);
  // No correlation id given: no chunk.
  EXPECT_TRUE(find(17).empty());
}

TEST(Hep, ReceivedRecordsGoFromRemoteToLocal) {
  TraceRecord rec;
  rec.call_id = "a-leg@pbx";
  rec.direction = Direction::In;
  rec.local_address = "127.0.0.1";
  rec.local_port = 5060;
  rec.remote_address = "127.0.0.2";
  rec.remote_port = 5999;
  rec.message = "INVITE sip:x SIP/2.0\r\n\r\n";
  auto r = encodeHep3(rec, 7);
  ASSERT_TRUE(r.ok());
  auto chunks = decodeHep3(r.bytes);
  ASSERT_TRUE(chunks);
  std::string src, dst, corr;
  for (const HepChunk& c : *chunks) {
    if (c.type == 3) src = c.value;
    if (c.type == 4) dst = c.value;
    if (c.type == 17) corr = c.value;
  }
  EXPECT_EQ(src, bytes({127, 0, 0, 2}));
  EXPECT_EQ(dst, bytes({127, 0, 0, 1}));
  EXPECT_EQ(corr, "a-leg@pbx");
}

TEST(Hep, AHostNameSideBecomesUnspecifiedAndMixedFamiliesAreRefused) {
  HepPacket p;
  p.src_address = "sbc.example.com";
  p.dst_address = "10.1.1.1";
  auto r = encodeHep3(p);
  ASSERT_TRUE(r.ok());
  auto chunks = decodeHep3(r.bytes);
  ASSERT_TRUE(chunks);
  EXPECT_EQ((*chunks)[2].value, bytes({0, 0, 0, 0}));

  p.src_address = "::1";
  EXPECT_EQ(encodeHep3(p).error, HepError::BadAddress);
  p.src_address = "nope";
  p.dst_address = "also-nope";
  EXPECT_EQ(encodeHep3(p).error, HepError::BadAddress);
}

TEST(Hep, APayloadBeyondSixtyFourKilobytesIsRefused) {
  std::string big(70000, 'x');
  HepPacket p;
  p.src_address = "10.0.0.1";
  p.dst_address = "10.0.0.2";
  p.payload = big;
  EXPECT_EQ(encodeHep3(p).error, HepError::TooLarge);
}

TEST(Hep, DecoderRejectsTruncatedAndInconsistentPackets) {
  HepPacket p;
  p.src_address = "10.0.0.1";
  p.dst_address = "10.0.0.2";
  p.payload = "x";
  std::string good = encodeHep3(p).bytes;
  ASSERT_TRUE(decodeHep3(good));
  EXPECT_FALSE(decodeHep3(""));
  EXPECT_FALSE(decodeHep3("HEP2\x00\x06"));
  for (std::size_t n = 0; n < good.size(); ++n) EXPECT_FALSE(decodeHep3(good.substr(0, n))) << n;
  std::string bad_chunk = good;
  bad_chunk[6 + 4] = 0;  // first chunk length 0x0000 (below its header)
  bad_chunk[6 + 5] = 2;
  EXPECT_FALSE(decodeHep3(bad_chunk));
}

}  // namespace
}  // namespace sbc::trace

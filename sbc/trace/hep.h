#pragma once
// HEPv3 (Homer Encapsulation Protocol, version 3) encoding of a traced
// message for a capture server such as Homer/heplify-server.
//
// Layout: "HEP3", total length (u16), then chunks, each vendor id (u16, 0 =
// generic), type (u16), length (u16, including these 6 bytes), value. All
// integers big-endian. Chunks written, in this order:
//   0x0001 IP family (u8: 2 IPv4, 10 IPv6)    0x0002 IP protocol (u8: 17 UDP, 6 TCP/TLS)
//   0x0003/0x0004 IPv4 src/dst (4 bytes)      0x0005/0x0006 IPv6 src/dst (16 bytes)
//   0x0007/0x0008 src/dst port (u16)          0x0009/0x000a time: seconds, microseconds (u32)
//   0x000b protocol type (u8: 1 SIP)          0x000c capture agent id (u32)
//   0x000f payload (the SIP message)          0x0011 correlation id (the A-leg Call-ID)
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sbc/trace/record.h"

namespace sbc::trace {

struct HepPacket {
  Transport transport = Transport::Udp;
  std::string_view src_address;  // IP literals of one family
  std::uint16_t src_port = 0;
  std::string_view dst_address;
  std::uint16_t dst_port = 0;
  std::chrono::system_clock::time_point at{};
  std::uint32_t capture_id = 0;
  std::string_view payload;
  std::string_view correlation_id;
};

enum class HepError : std::uint8_t { Ok, BadAddress, TooLarge };

struct HepResult {
  HepError error = HepError::Ok;
  std::string bytes;  // empty unless Ok
  bool ok() const { return error == HepError::Ok; }
};

HepResult encodeHep3(const HepPacket& packet);
// A traced record as a capture agent on this node would see it: received
// messages go remote -> local, sent ones local -> remote. An address that is
// not an IP literal (an advertised host name) is sent as the unspecified
// address of the other one's family.
HepResult encodeHep3(const TraceRecord& record, std::uint32_t capture_id);

// ---- decoding (tests, tools): never reads out of bounds.
struct HepChunk {
  std::uint16_t vendor = 0;
  std::uint16_t type = 0;
  std::string_view value;
};
// nullopt when `bytes` is not one complete, well-formed HEPv3 packet.
std::optional<std::vector<HepChunk>> decodeHep3(std::string_view bytes);

}  // namespace sbc::trace

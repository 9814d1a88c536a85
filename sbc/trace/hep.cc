#include "sbc/trace/hep.h"

#include <arpa/inet.h>

#include <array>
#include <cstring>

namespace sbc::trace {
namespace {

constexpr std::size_t kHeader = 6;  // "HEP3" + total length
constexpr std::size_t kChunkHeader = 6;
constexpr std::size_t kMaxPacket = 0xffff;

struct Ip {
  bool v6 = false;
  std::array<unsigned char, 16> bytes{};
};

std::optional<Ip> parseIp(std::string_view text) {
  if (text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  char buf[INET6_ADDRSTRLEN] = {};
  std::memcpy(buf, text.data(), text.size());
  Ip ip;
  if (inet_pton(AF_INET, buf, ip.bytes.data()) == 1) return ip;
  ip.v6 = true;
  if (inet_pton(AF_INET6, buf, ip.bytes.data()) == 1) return ip;
  return std::nullopt;
}

void put16(std::string& out, std::uint16_t v) {
  out += static_cast<char>(v >> 8);
  out += static_cast<char>(v & 0xff);
}
void put32(std::string& out, std::uint32_t v) {
  put16(out, static_cast<std::uint16_t>(v >> 16));
  put16(out, static_cast<std::uint16_t>(v & 0xffff));
}
void chunkHead(std::string& out, std::uint16_t type, std::size_t value_size) {
  put16(out, 0);  // generic vendor
  put16(out, type);
  put16(out, static_cast<std::uint16_t>(kChunkHeader + value_size));
}
void chunk8(std::string& out, std::uint16_t type, std::uint8_t v) {
  chunkHead(out, type, 1);
  out += static_cast<char>(v);
}
void chunk16(std::string& out, std::uint16_t type, std::uint16_t v) {
  chunkHead(out, type, 2);
  put16(out, v);
}
void chunk32(std::string& out, std::uint16_t type, std::uint32_t v) {
  chunkHead(out, type, 4);
  put32(out, v);
}
void chunkBytes(std::string& out, std::uint16_t type, std::string_view v) {
  chunkHead(out, type, v.size());
  out += v;
}

std::uint16_t get16(std::string_view s, std::size_t at) {
  return static_cast<std::uint16_t>((static_cast<unsigned char>(s[at]) << 8) |
                                    static_cast<unsigned char>(s[at + 1]));
}

}  // namespace

HepResult encodeHep3(const HepPacket& p) {
  auto src = parseIp(p.src_address);
  auto dst = parseIp(p.dst_address);
  if (!src && !dst) return {HepError::BadAddress, {}};
  // An unknown side takes the unspecified address of the known one's family.
  if (!src) src = Ip{dst->v6, {}};
  if (!dst) dst = Ip{src->v6, {}};
  if (src->v6 != dst->v6) return {HepError::BadAddress, {}};
  const bool v6 = src->v6;
  const std::size_t addr = v6 ? 16 : 4;

  const std::size_t total = kHeader + (kChunkHeader + 1) * 3 + (kChunkHeader + addr) * 2 +
                            (kChunkHeader + 2) * 2 + (kChunkHeader + 4) * 3 +
                            (kChunkHeader + p.payload.size()) +
                            (p.correlation_id.empty() ? 0 : kChunkHeader + p.correlation_id.size());
  if (total > kMaxPacket) return {HepError::TooLarge, {}};

  const auto since = p.at.time_since_epoch();
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(since);
  const auto usecs = std::chrono::duration_cast<std::chrono::microseconds>(since - secs);

  HepResult r;
  std::string& out = r.bytes;
  out.reserve(total);
  out += "HEP3";
  put16(out, static_cast<std::uint16_t>(total));
  chunk8(out, 0x0001, v6 ? 10 : 2);
  chunk8(out, 0x0002, p.transport == Transport::Udp ? 17 : 6);
  const auto* s = reinterpret_cast<const char*>(src->bytes.data());
  const auto* d = reinterpret_cast<const char*>(dst->bytes.data());
  chunkBytes(out, v6 ? 0x0005 : 0x0003, std::string_view(s, addr));
  chunkBytes(out, v6 ? 0x0006 : 0x0004, std::string_view(d, addr));
  chunk16(out, 0x0007, p.src_port);
  chunk16(out, 0x0008, p.dst_port);
  chunk32(out, 0x0009, static_cast<std::uint32_t>(secs.count()));
  chunk32(out, 0x000a, static_cast<std::uint32_t>(usecs.count()));
  chunk8(out, 0x000b, 1);  // SIP
  chunk32(out, 0x000c, p.capture_id);
  chunkBytes(out, 0x000f, p.payload);
  if (!p.correlation_id.empty()) chunkBytes(out, 0x0011, p.correlation_id);
  return r;
}

HepResult encodeHep3(const TraceRecord& r, std::uint32_t capture_id) {
  HepPacket p;
  p.transport = r.transport;
  const bool in = r.direction == Direction::In;
  p.src_address = in ? r.remote_address : r.local_address;
  p.src_port = in ? r.remote_port : r.local_port;
  p.dst_address = in ? r.local_address : r.remote_address;
  p.dst_port = in ? r.local_port : r.remote_port;
  p.at = r.at;
  p.capture_id = capture_id;
  p.payload = r.message;
  p.correlation_id = r.call_id;
  return encodeHep3(p);
}

std::optional<std::vector<HepChunk>> decodeHep3(std::string_view b) {
  if (b.size() < kHeader || b.substr(0, 4) != "HEP3") return std::nullopt;
  if (get16(b, 4) != b.size()) return std::nullopt;
  std::vector<HepChunk> out;
  std::size_t at = kHeader;
  while (at < b.size()) {
    if (b.size() - at < kChunkHeader) return std::nullopt;
    const std::uint16_t len = get16(b, at + 4);
    if (len < kChunkHeader || len > b.size() - at) return std::nullopt;
    out.push_back(
        {get16(b, at), get16(b, at + 2), b.substr(at + kChunkHeader, len - kChunkHeader)});
    at += len;
  }
  return out;
}

}  // namespace sbc::trace

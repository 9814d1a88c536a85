#include "sbc/transport/endpoint.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace sbc::transport {

std::string_view toString(Protocol protocol) {
  switch (protocol) {
    case Protocol::kUdp:
      return "UDP";
    case Protocol::kTcp:
      return "TCP";
    case Protocol::kTls:
      return "TLS";
  }
  return "?";
}

IpAddress IpAddress::v4(std::array<std::uint8_t, 4> bytes) {
  IpAddress address;
  std::memcpy(address.bytes_.data(), bytes.data(), bytes.size());
  address.family_ = Family::kV4;
  return address;
}

IpAddress IpAddress::v6(const std::array<std::uint8_t, 16>& bytes, std::uint32_t scope_id) {
  IpAddress address;
  address.bytes_ = bytes;
  address.scope_id_ = scope_id;
  address.family_ = Family::kV6;
  return address;
}

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
  }
  // inet_pton needs a terminated string; the longest textual IPv6 address is
  // 45 characters, so anything longer is not an address.
  char buffer[64];
  if (text.empty() || text.size() >= sizeof(buffer)) return std::nullopt;
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';

  IpAddress address;
  if (::inet_pton(AF_INET, buffer, address.bytes_.data()) == 1) {
    address.family_ = Family::kV4;
    return address;
  }
  if (::inet_pton(AF_INET6, buffer, address.bytes_.data()) == 1) {
    address.family_ = Family::kV6;
    return address;
  }
  return std::nullopt;
}

bool IpAddress::isUnspecified() const {
  const std::size_t n = isV4() ? 4 : 16;
  for (std::size_t i = 0; i < n; ++i) {
    if (bytes_[i] != 0) return false;
  }
  return true;
}

bool IpAddress::isLoopback() const {
  if (isV4()) return bytes_[0] == 127;
  for (std::size_t i = 0; i < 15; ++i) {
    if (bytes_[i] != 0) return false;
  }
  return bytes_[15] == 1;
}

std::string IpAddress::toString() const {
  if (isV4()) {
    // Every received datagram's source is formatted: glibc's inet_ntop goes
    // through sprintf, which costs more than the rest of this path.
    char buffer[16];
    char* p = buffer;
    for (std::size_t i = 0; i < 4; ++i) {
      if (i != 0) *p++ = '.';
      p = std::to_chars(p, buffer + sizeof(buffer), bytes_[i]).ptr;
    }
    return std::string(buffer, static_cast<std::size_t>(p - buffer));
  }
  char buffer[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(isV4() ? AF_INET : AF_INET6, bytes_.data(), buffer, sizeof(buffer));
  return buffer;
}

std::string Endpoint::toString() const {
  std::string out;
  out.reserve(48);
  if (address.isV6()) {
    out += '[';
    out += address.toString();
    out += ']';
  } else {
    out += address.toString();
  }
  out += ':';
  out += std::to_string(port);
  return out;
}

std::optional<Endpoint> Endpoint::parse(std::string_view text) {
  std::string_view host;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return std::nullopt;
    }
    host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
    // An unbracketed IPv6 address with a port is ambiguous.
    if (host.find(':') != std::string_view::npos) return std::nullopt;
  }
  unsigned port = 0;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535 ||
      port_text.empty()) {
    return std::nullopt;
  }
  auto address = IpAddress::parse(host);
  if (!address) return std::nullopt;
  return Endpoint{*address, static_cast<std::uint16_t>(port)};
}

std::size_t EndpointHash::operator()(const Endpoint& endpoint) const noexcept {
  // FNV-1a over the bytes that identify the endpoint: cheap and good enough
  // for a table keyed by peers.
  std::uint64_t hash = 1469598103934665603ULL;
  auto mix = [&hash](std::uint8_t byte) {
    hash ^= byte;
    hash *= 1099511628211ULL;
  };
  const auto& bytes = endpoint.address.bytes();
  const std::size_t n = endpoint.address.isV4() ? 4 : 16;
  for (std::size_t i = 0; i < n; ++i) mix(bytes[i]);
  mix(static_cast<std::uint8_t>(endpoint.port >> 8));
  mix(static_cast<std::uint8_t>(endpoint.port & 0xff));
  mix(static_cast<std::uint8_t>(endpoint.address.family()));
  return static_cast<std::size_t>(hash);
}

}  // namespace sbc::transport

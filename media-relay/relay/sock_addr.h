// An IPv4/IPv6 address and port as the packet path compares them: a flat,
// trivially copyable value built from a sockaddr without allocation.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace relay {

struct SockAddr {
  // An IPv4 (sockaddr_in) or IPv6 (sockaddr_in6) address: 28 bytes rather
  // than sockaddr_storage's 128, because every leg holds several and the
  // packet path reads them next to the rest of the leg's hot state.
  sockaddr_in6 storage{};
  socklen_t length = 0;

  static std::optional<SockAddr> fromString(std::string_view ip, std::uint16_t port);
  static SockAddr fromSockaddr(const sockaddr* sa, socklen_t len);

  bool valid() const { return length != 0; }
  int family() const { return storage.sin6_family; }
  std::uint16_t port() const;
  void setPort(std::uint16_t port);
  const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&storage); }
  std::string toString() const;  // "1.2.3.4:5" / "[::1]:5"

  // Same IP (port ignored): the NAT latching rule compares this.
  bool sameIp(const SockAddr& o) const;
  // Same IP and port.
  bool operator==(const SockAddr& o) const { return sameIp(o) && port() == o.port(); }
};

}  // namespace relay

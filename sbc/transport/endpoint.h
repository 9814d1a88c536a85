#pragma once
// Addresses as the transport reports them. A small value type of our own
// instead of boost::asio::ip::address so that headers including it stay free
// of Asio; conversion lives in asio_convert.h (internal).

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sbc::transport {

enum class Protocol : std::uint8_t { kUdp, kTcp, kTls };
inline constexpr std::size_t kProtocolCount = 3;

std::string_view toString(Protocol protocol);

class IpAddress {
 public:
  enum class Family : std::uint8_t { kV4, kV6 };

  // 0.0.0.0
  IpAddress() = default;

  static IpAddress v4(std::array<std::uint8_t, 4> bytes);
  static IpAddress v6(const std::array<std::uint8_t, 16>& bytes, std::uint32_t scope_id = 0);
  static IpAddress loopbackV4() { return v4({127, 0, 0, 1}); }
  // Accepts dotted IPv4 and textual IPv6 (with or without brackets).
  static std::optional<IpAddress> parse(std::string_view text);

  Family family() const { return family_; }
  bool isV4() const { return family_ == Family::kV4; }
  bool isV6() const { return family_ == Family::kV6; }
  bool isUnspecified() const;
  bool isLoopback() const;
  // First 4 bytes for IPv4, all 16 for IPv6.
  const std::array<std::uint8_t, 16>& bytes() const { return bytes_; }
  std::uint32_t scopeId() const { return scope_id_; }

  // "192.0.2.1" / "2001:db8::1" (no brackets).
  std::string toString() const;

  friend bool operator==(const IpAddress&, const IpAddress&) = default;

 private:
  std::array<std::uint8_t, 16> bytes_{};
  std::uint32_t scope_id_ = 0;
  Family family_ = Family::kV4;
};

struct Endpoint {
  IpAddress address;
  std::uint16_t port = 0;

  // "192.0.2.1:5060" / "[2001:db8::1]:5060": the form Via and Contact use.
  std::string toString() const;
  // Inverse of toString(); the port is mandatory.
  static std::optional<Endpoint> parse(std::string_view text);

  friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

struct EndpointHash {
  std::size_t operator()(const Endpoint& endpoint) const noexcept;
};

}  // namespace sbc::transport

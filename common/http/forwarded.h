#pragma once
// The client's address behind reverse proxies we trust (X-Forwarded-For).
//
// The header is only believed when the TCP peer is one of the configured
// proxies; then it is read from the right (the hop nearest to us) leftwards,
// skipping trusted proxies, and the first address that is not one is the
// client. Everything left of it was written by the client and proves nothing.
// A malformed entry stops the walk at the last address known good, so a
// forged header can never move the answer outside what a trusted proxy said.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sbc::http {

// An IPv4 or IPv6 network; IPv4 is kept as IPv4-mapped IPv6 so one compare
// serves both.
struct Cidr {
  std::array<std::uint8_t, 16> address{};
  unsigned prefix = 128;
  bool contains(const std::array<std::uint8_t, 16>& a) const;
};

// "10.0.0.0/8", "192.0.2.7", "::1", "2001:db8::/32"; nullopt when malformed.
std::optional<Cidr> parseCidr(std::string_view text);
// An address (no prefix) in the same 16-byte form; nullopt when malformed.
std::optional<std::array<std::uint8_t, 16>> parseAddress(std::string_view text);

class TrustedProxies {
 public:
  TrustedProxies() = default;
  // Start-up only: throws std::invalid_argument naming a malformed entry.
  explicit TrustedProxies(const std::vector<std::string>& cidrs);

  bool empty() const { return networks_.empty(); }
  bool trusted(std::string_view address) const;

  // The client address for a request from `peer` carrying `forwarded_for`
  // (the X-Forwarded-For value; several header lines joined by ","). Returns
  // the peer itself when it is not trusted or the header says nothing usable.
  std::string clientAddress(std::string_view peer,
                            std::optional<std::string_view> forwarded_for) const;

 private:
  bool trusted(const std::array<std::uint8_t, 16>& a) const;
  std::vector<Cidr> networks_;
};

}  // namespace sbc::http

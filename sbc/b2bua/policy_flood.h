#pragma once
// Anti-flood for new out-of-dialog requests: a token bucket per source IP in
// a fixed-size, 4-way set-associative table (sources are attacker
// controlled, so memory must not grow with them). A full set evicts its
// least recently seen entry. One FloodGuard per SIP thread; with N threads a
// source spread over them gets up to N times the rate, which is still
// bounded.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "sbc/txn/timer_service.h"

namespace sbc::b2bua {

// An IP address as bytes, for ACL and flood lookups. IPv4-mapped IPv6
// ("::ffff:192.0.2.1") is folded to IPv4.
struct IpAddr {
  bool v6 = false;
  std::array<std::uint8_t, 16> bytes{};
  static std::optional<IpAddr> parse(std::string_view text);
  friend bool operator==(const IpAddr&, const IpAddr&) = default;
};

struct FloodOptions {
  bool enabled = true;
  double rate = 20;                // new requests per second per source IP
  std::uint32_t burst = 60;        // bucket depth
  std::size_t table_size = 16384;  // entries (rounded up to a multiple of 4)
};

class FloodGuard {
 public:
  explicit FloodGuard(FloodOptions options = {});
  // True when the source may send one more new request now.
  bool allow(const IpAddr& source, txn::TimePoint now);
  std::uint64_t dropped() const { return dropped_; }
  std::uint64_t evictions() const { return evictions_; }

 private:
  struct Entry {
    IpAddr addr;
    bool used = false;
    double tokens = 0;
    txn::TimePoint last{};
  };
  static constexpr std::size_t kWays = 4;
  FloodOptions options_;
  std::vector<Entry> table_;
  std::uint64_t dropped_ = 0;
  std::uint64_t evictions_ = 0;
};

}  // namespace sbc::b2bua

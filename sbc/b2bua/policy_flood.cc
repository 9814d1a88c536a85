#include "sbc/b2bua/policy_flood.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace sbc::b2bua {

std::optional<IpAddr> IpAddr::parse(std::string_view text) {
  if (text.empty() || text.size() > 45) return std::nullopt;
  char buf[64];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  IpAddr a;
  if (inet_pton(AF_INET, buf, a.bytes.data()) == 1) return a;
  if (inet_pton(AF_INET6, buf, a.bytes.data()) != 1) return std::nullopt;
  static constexpr std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(a.bytes.data(), kMapped, sizeof kMapped) == 0) {
    std::memmove(a.bytes.data(), a.bytes.data() + 12, 4);
    std::fill(a.bytes.begin() + 4, a.bytes.end(), 0);
    return a;
  }
  a.v6 = true;
  return a;
}

FloodGuard::FloodGuard(FloodOptions options) : options_(options) {
  std::size_t n = std::max<std::size_t>(kWays, (options_.table_size + kWays - 1) / kWays * kWays);
  table_.resize(n);
}

bool FloodGuard::allow(const IpAddr& source, txn::TimePoint now) {
  if (!options_.enabled || !(options_.rate > 0)) return true;
  // FNV-1a over the address; the set index needs spread, not secrecy (an
  // attacker who aims at one set only evicts their own entries there).
  std::uint64_t h = 1469598103934665603ULL ^ (source.v6 ? 1u : 0u);
  const std::size_t len = source.v6 ? 16 : 4;
  for (std::size_t i = 0; i < len; ++i) h = (h ^ source.bytes[i]) * 1099511628211ULL;
  const std::size_t sets = table_.size() / kWays;
  Entry* set = &table_[(h % sets) * kWays];

  Entry* e = nullptr;
  Entry* victim = &set[0];
  for (std::size_t w = 0; w < kWays; ++w) {
    if (set[w].used && set[w].addr == source) {
      e = &set[w];
      break;
    }
    if (!set[w].used) {
      if (victim->used) victim = &set[w];
    } else if (victim->used && set[w].last < victim->last) {
      victim = &set[w];
    }
  }
  const double depth = std::max<double>(1, options_.burst);
  if (!e) {
    if (victim->used) ++evictions_;
    e = victim;
    e->used = true;
    e->addr = source;
    e->tokens = depth;
    e->last = now;
  } else if (now > e->last) {
    const double secs = std::chrono::duration<double>(now - e->last).count();
    e->tokens = std::min(depth, e->tokens + secs * options_.rate);
    e->last = now;
  }
  if (e->tokens >= 1) {
    e->tokens -= 1;
    return true;
  }
  ++dropped_;
  return false;
}

}  // namespace sbc::b2bua

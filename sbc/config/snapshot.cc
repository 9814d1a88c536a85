#include "sbc/config/snapshot.h"

#include "sbc/config/tls_profiles.h"

#include <algorithm>
#include <charconv>
#include <cstring>

#include <arpa/inet.h>

namespace sbc::cfg {

std::optional<Cidr> Cidr::parse(std::string_view text) {
  Cidr c;
  std::string_view addr = text;
  int len = -1;
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    addr = text.substr(0, slash);
    std::string_view l = text.substr(slash + 1);
    auto [p, ec] = std::from_chars(l.data(), l.data() + l.size(), len);
    if (ec != std::errc() || p != l.data() + l.size() || l.empty()) return std::nullopt;
  }
  if (addr.empty() || addr.size() > 45) return std::nullopt;
  char buf[64];
  std::memcpy(buf, addr.data(), addr.size());
  buf[addr.size()] = '\0';
  if (inet_pton(AF_INET, buf, c.bytes.data()) == 1) {
    c.v6 = false;
    if (len < 0) len = 32;
    if (len > 32) return std::nullopt;
  } else if (inet_pton(AF_INET6, buf, c.bytes.data()) == 1) {
    c.v6 = true;
    if (len < 0) len = 128;
    if (len > 128) return std::nullopt;
  } else {
    return std::nullopt;
  }
  c.prefix_len = static_cast<std::uint8_t>(len);
  // Keep the network address only, so that "10.1.2.3/8" means 10.0.0.0/8.
  const std::size_t total = c.v6 ? 16 : 4;
  for (std::size_t i = 0; i < total; ++i) {
    int bits = len - static_cast<int>(i) * 8;
    if (bits >= 8) continue;
    c.bytes[i] &= bits <= 0 ? 0 : static_cast<std::uint8_t>(0xff << (8 - bits));
  }
  return c;
}

bool Cidr::contains(bool v6_addr, const std::array<std::uint8_t, 16>& addr) const {
  if (v6_addr != v6) return false;
  int bits = prefix_len;
  for (std::size_t i = 0; bits > 0; ++i, bits -= 8) {
    std::uint8_t mask = bits >= 8 ? 0xff : static_cast<std::uint8_t>(0xff << (8 - bits));
    if ((addr[i] & mask) != bytes[i]) return false;
  }
  return true;
}

void Snapshot::index() {
  by_id_.clear();
  by_prefix_.clear();
  max_prefix_len_ = 0;
  for (std::size_t i = 0; i < trunks.size(); ++i) by_id_[trunks[i].id] = i;
  for (std::size_t i = 0; i < routes.size(); ++i) {
    by_prefix_[routes[i].prefix].push_back(i);
    max_prefix_len_ = std::max(max_prefix_len_, routes[i].prefix.size());
  }
  for (auto& [prefix, list] : by_prefix_) {
    std::stable_sort(list.begin(), list.end(), [&](std::size_t a, std::size_t b) {
      return routes[a].priority < routes[b].priority;
    });
  }
  std::sort(ported.begin(), ported.end(),
            [](const PortedEntry& a, const PortedEntry& b) { return a.number < b.number; });
  auto& profiles = TlsProfileRegistry::instance();
  for (Trunk& t : trunks) {
    for (Gateway& g : t.gateways) {
      g.tls_profile =
          g.transport == Transport::Tls ? profiles.intern(tlsProfileOf(t, g)) : std::uint32_t{0};
    }
  }
}

const Trunk* Snapshot::trunk(TrunkId id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &trunks[it->second];
}

const Trunk* Snapshot::trunkByName(std::string_view name) const {
  for (const auto& t : trunks)
    if (t.name == name) return &t;
  return nullptr;
}

const Trunk* Snapshot::trunkByAddress(bool v6, const std::array<std::uint8_t, 16>& addr,
                                      std::string_view realm) const {
  const Trunk* best = nullptr;
  int best_len = -1;
  for (const auto& t : trunks) {
    if (!t.enabled || (!realm.empty() && t.realm != realm)) continue;
    for (const auto& c : t.acl) {
      if (!c.contains(v6, addr)) continue;
      if (c.prefix_len > best_len || (c.prefix_len == best_len && t.id < best->id)) {
        best = &t;
        best_len = c.prefix_len;
      }
    }
  }
  return best;
}

const Did* Snapshot::did(std::string_view e164_digits) const {
  auto it = dids.find(std::string(e164_digits));
  return it == dids.end() ? nullptr : &it->second;
}

std::vector<const Route*> Snapshot::routesFor(std::string_view digits) const {
  std::vector<const Route*> out;
  std::size_t len = std::min(digits.size(), max_prefix_len_);
  std::string key;
  for (std::size_t l = len + 1; l-- > 0;) {
    key.assign(digits.substr(0, l));
    auto it = by_prefix_.find(key);
    if (it == by_prefix_.end()) continue;
    for (std::size_t idx : it->second) {
      const Trunk* t = trunk(routes[idx].trunk);
      if (t && t->enabled) out.push_back(&routes[idx]);
    }
    if (!out.empty()) return out;
  }
  return out;
}

std::optional<std::uint64_t> Snapshot::routingNumber(std::uint64_t number) const {
  auto it = std::lower_bound(ported.begin(), ported.end(), number,
                             [](const PortedEntry& e, std::uint64_t n) { return e.number < n; });
  if (it == ported.end() || it->number != number) return std::nullopt;
  return it->routing_number;
}

std::optional<std::uint64_t> packE164(std::string_view digits) {
  if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);
  if (digits.empty() || digits.size() > 15 || digits.front() == '0') return std::nullopt;
  std::uint64_t v = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v;
}

std::string unpackE164(std::uint64_t packed) {
  return std::to_string(packed);
}

}  // namespace sbc::cfg

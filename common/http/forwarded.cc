#include "common/http/forwarded.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>
#include <stdexcept>

namespace sbc::http {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<std::array<std::uint8_t, 16>> parseAddress(std::string_view text) {
  text = trim(text);
  // "[v6]" as some proxies write it; "v4:port" is not an address.
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
  }
  if (text.empty() || text.size() > 45) return std::nullopt;
  char buf[46];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  std::array<std::uint8_t, 16> out{};
  if (text.find(':') == std::string_view::npos) {
    in_addr v4{};
    if (inet_pton(AF_INET, buf, &v4) != 1) return std::nullopt;
    out[10] = 0xff;
    out[11] = 0xff;
    std::memcpy(out.data() + 12, &v4, 4);
    return out;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, buf, &v6) != 1) return std::nullopt;
  std::memcpy(out.data(), &v6, 16);
  return out;
}

bool Cidr::contains(const std::array<std::uint8_t, 16>& a) const {
  unsigned bits = prefix;
  for (std::size_t i = 0; i < 16 && bits > 0; ++i) {
    unsigned take = bits >= 8 ? 8 : bits;
    auto mask = static_cast<std::uint8_t>(0xff << (8 - take));
    if ((a[i] & mask) != (address[i] & mask)) return false;
    bits -= take;
  }
  return true;
}

std::optional<Cidr> parseCidr(std::string_view text) {
  text = trim(text);
  std::string_view addr = text;
  std::optional<unsigned> prefix;
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    addr = text.substr(0, slash);
    std::string_view p = text.substr(slash + 1);
    unsigned n = 0;
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), n);
    if (p.empty() || ec != std::errc() || end != p.data() + p.size()) return std::nullopt;
    prefix = n;
  }
  auto a = parseAddress(addr);
  if (!a) return std::nullopt;
  const bool v4 = addr.find(':') == std::string_view::npos;
  Cidr c;
  c.address = *a;
  if (prefix) {
    if (*prefix > (v4 ? 32U : 128U)) return std::nullopt;
    c.prefix = v4 ? *prefix + 96 : *prefix;
  }
  return c;
}

TrustedProxies::TrustedProxies(const std::vector<std::string>& cidrs) {
  for (const auto& text : cidrs) {
    auto c = parseCidr(text);
    if (!c) throw std::invalid_argument("not an address or CIDR network: '" + text + "'");
    networks_.push_back(*c);
  }
}

bool TrustedProxies::trusted(const std::array<std::uint8_t, 16>& a) const {
  for (const auto& n : networks_) {
    if (n.contains(a)) return true;
  }
  return false;
}

bool TrustedProxies::trusted(std::string_view address) const {
  auto a = parseAddress(address);
  return a && trusted(*a);
}

std::string TrustedProxies::clientAddress(std::string_view peer,
                                          std::optional<std::string_view> forwarded_for) const {
  if (!forwarded_for || networks_.empty() || !trusted(peer)) return std::string(peer);
  std::string_view rest = *forwarded_for;
  std::string_view answer = peer;
  while (!rest.empty()) {
    std::size_t comma = rest.rfind(',');
    std::string_view item = trim(comma == std::string_view::npos ? rest : rest.substr(comma + 1));
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(0, comma);
    if (item.empty()) continue;
    auto a = parseAddress(item);
    if (!a) break;  // garbage: keep the last hop a trusted proxy vouched for
    if (item.size() >= 2 && item.front() == '[') item = item.substr(1, item.size() - 2);
    answer = item;
    if (!trusted(*a)) break;
  }
  return std::string(answer);
}

}  // namespace sbc::http

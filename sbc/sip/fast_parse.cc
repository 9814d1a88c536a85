#include "sbc/sip/fast_parse.h"

#include <array>
#include <cstddef>
#include <cstdint>

#include "sbc/sip/text.h"

namespace sbc::sip::detail {

namespace {

using text::is;

constexpr std::size_t kNpos = std::string_view::npos;

// unreserved = alphanum / mark
constexpr std::uint16_t kUnreserved = text::kAlpha | text::kDigit | text::kMark;
// user = 1*( unreserved / escaped / user-unreserved ); escapes take the full path.
constexpr std::uint16_t kUserChar = kUnreserved | text::kUserUnres;
// paramchar = param-unreserved / unreserved / escaped
constexpr std::uint16_t kParamChar = kUnreserved | text::kParamUnres;

inline bool isHostChar(char c) {
  return text::isAlnum(c) || c == '.' || c == '-';
}

// gen-value without quotes: token characters (1) plus ':' '[' ']' (2).
constexpr std::array<std::uint8_t, 256> makeGenValueTable() {
  std::array<std::uint8_t, 256> t{};
  for (std::size_t c = 0; c < 256; ++c)
    if (text::kTable[c] & text::kToken) t[c] = 1;
  t[static_cast<unsigned char>(':')] = 2;
  t[static_cast<unsigned char>('[')] = 2;
  t[static_cast<unsigned char>(']')] = 2;
  return t;
}
constexpr std::array<std::uint8_t, 256> kGenValue = makeGenValueTable();

inline std::size_t tokenEnd(std::string_view s, std::size_t i) {
  while (i < s.size() && text::isToken(s[i])) ++i;
  return i;
}

// *( ";" token [ "=" gen-value ] ) running exactly to the end of `s`, no LWS,
// no quoted values: the shape genericParams() accepts with the same result.
// `each(param, value_is_token)` sees every parameter; the flag saves a second
// scan of values (branch, tag) that must be tokens.
template <class F>
bool fastParams(std::string_view s, std::size_t i, Params& params, F&& each) {
  if (i == s.size()) return true;
  if (s[i] != ';') return false;
  const std::size_t first = i + 1;
  while (i < s.size()) {
    if (s[i] != ';') return false;
    ++i;
    Param p;
    const std::size_t nb = i;
    i = tokenEnd(s, i);
    if (i == nb) return false;
    p.name = s.substr(nb, i - nb);
    std::uint8_t seen = 0;
    if (i < s.size() && s[i] == '=') {
      ++i;
      const std::size_t vb = i;
      while (i < s.size()) {
        const std::uint8_t k = kGenValue[static_cast<unsigned char>(s[i])];
        if (k == 0) break;
        seen |= k;
        ++i;
      }
      if (i == vb) return false;
      p.has_value = true;
      p.value = s.substr(vb, i - vb);
    }
    if (!each(p, seen <= 1)) return false;
  }
  params = Params(s.substr(first), ';');
  return true;
}

// uri-parameters after the host: each ";" pname [ "=" pvalue ], both
// 1*paramchar, up to the end of `s` (no '?' headers, no escapes).
bool fastUriParams(std::string_view s) {
  std::size_t i = 0;
  for (;;) {
    const std::size_t nb = i;
    while (i < s.size() && is(s[i], kParamChar)) ++i;
    if (i == nb) return false;
    if (i < s.size() && s[i] == '=') {
      const std::size_t vb = ++i;
      while (i < s.size() && is(s[i], kParamChar)) ++i;
      if (i == vb) return false;
    }
    if (i == s.size()) return true;
    if (s[i] != ';') return false;
    ++i;
  }
}

}  // namespace

bool fastUri(std::string_view s, Uri& u) {
  std::size_t i = 0;
  if (s.size() > 4 && s[0] == 's' && s[1] == 'i' && s[2] == 'p') {
    if (s[3] == ':') {
      u.scheme = UriScheme::Sip;
      i = 4;
    } else if (s[3] == 's' && s[4] == ':') {
      u.scheme = UriScheme::Sips;
      i = 5;
    } else {
      return false;
    }
  } else {
    return false;
  }
  u.text = s;
  u.scheme_text = s.substr(0, i - 1);
  const std::string_view body = s.substr(i);
  // As in the full parser, the first '@' anywhere ends the userinfo.
  const std::size_t at = body.find('@');
  std::string_view hostport = body;
  if (at != kNpos) {
    const std::string_view user = body.substr(0, at);
    if (user.empty()) return false;
    std::size_t semi = kNpos;
    for (std::size_t k = 0; k < user.size(); ++k) {
      const char c = user[k];
      if (!is(c, kUserChar)) return false;  // ':' (password) and '%' included
      if (c == ';' && semi == kNpos) semi = k;
    }
    u.user = user;
    u.user_number = user.substr(0, semi);
    if (semi != kNpos) u.user_params = Params(user.substr(semi + 1), ';');
    hostport = body.substr(at + 1);
  }
  std::size_t k = 0;
  while (k < hostport.size() && isHostChar(hostport[k])) ++k;
  if (k == 0) return false;
  u.host = hostport.substr(0, k);
  u.host_type = classifyHost(u.host);
  if (u.host_type == HostType::None) return false;
  if (k < hostport.size() && hostport[k] == ':') {
    const std::size_t pb = ++k;
    while (k < hostport.size() && text::isDigit(hostport[k])) ++k;
    if (k == pb || k - pb > 5) return false;
    auto port = parseUint(hostport.substr(pb, k - pb), 65535);
    if (!port) return false;
    u.port = static_cast<std::uint16_t>(*port);
    u.has_port = true;
  }
  if (k < hostport.size()) {
    if (hostport[k] != ';') return false;
    const std::string_view params = hostport.substr(k + 1);
    if (!fastUriParams(params)) return false;
    u.params = Params(params, ';');
  }
  return true;
}

bool fastVia(std::string_view s, Via& v) {
  v.text = s;
  std::size_t i = 0;
  if (s.size() > 8 && s.substr(0, 8) == "SIP/2.0/") {
    v.protocol_name = s.substr(0, 3);
    v.protocol_version = s.substr(4, 3);
    i = 8;
  } else {
    i = tokenEnd(s, 0);
    if (i == 0 || i >= s.size() || s[i] != '/') return false;
    v.protocol_name = s.substr(0, i);
    const std::size_t b = ++i;
    i = tokenEnd(s, i);
    if (i == b || i >= s.size() || s[i] != '/') return false;
    v.protocol_version = s.substr(b, i - b);
    ++i;
  }
  std::size_t b = i;
  i = tokenEnd(s, i);
  if (i == b) return false;
  v.transport_text = s.substr(b, i - b);
  if (v.transport_text == "UDP") {
    v.transport = TransportProto::Udp;
  } else if (v.transport_text == "TCP") {
    v.transport = TransportProto::Tcp;
  } else {
    v.transport = transportFromString(v.transport_text);
  }
  b = i;
  while (i < s.size() && text::isWsp(s[i])) ++i;
  if (i == b) return false;
  b = i;
  while (i < s.size() && isHostChar(s[i])) ++i;
  if (i == b) return false;
  v.host = s.substr(b, i - b);
  v.host_type = classifyHost(v.host);
  if (v.host_type == HostType::None) return false;
  if (i < s.size() && s[i] == ':') {
    b = ++i;
    while (i < s.size() && text::isDigit(s[i])) ++i;
    if (i == b) return false;
    auto port = parseUint(s.substr(b, i - b), 65535);
    if (!port) return false;
    v.port = static_cast<std::uint16_t>(*port);
    v.has_port = true;
  }
  return fastParams(s, i, v.params, [&v](const Param& p, bool value_is_token) {
    // The branch is in every Via: its rule (viaParam's) without a rescan.
    if (p.name.size() == 6 && text::iequals(p.name, "branch")) {
      if (!p.has_value || !value_is_token) return false;
      v.branch = p.value;
      return true;
    }
    // rport (RFC 3581) is in most Vias too: viaParam's rule, inline.
    if (p.name.size() == 5 && text::iequals(p.name, "rport")) {
      v.rport = true;
      if (p.has_value) {
        auto n = parseUint(p.value, 65535);
        if (!n || *n == 0) return false;
        v.rport_value = static_cast<std::uint16_t>(*n);
      }
      return true;
    }
    return viaParam(v, p);
  });
}

bool fastNameAddr(std::string_view s, bool allow_addr_spec, NameAddr& na) {
  na.text = s;
  std::size_t i = 0;
  if (s.empty() || text::isWsp(s[0])) return false;
  if (s[0] == '"') {
    // A quoted display name without escapes or line breaks.
    std::size_t close = 1;
    while (close < s.size() && s[close] != '"') {
      const auto u = static_cast<unsigned char>(s[close]);
      if (s[close] == '\\' || (u < 0x20 && s[close] != '\t') || u == 0x7f) return false;
      ++close;
    }
    if (close >= s.size()) return false;
    na.display_name = s.substr(1, close - 1);
    na.display_quoted = true;
    i = close + 1;
    while (i < s.size() && text::isWsp(s[i])) ++i;
    if (i >= s.size() || s[i] != '<') return false;
  } else if (s[0] != '<') {
    // *(token LWS) before '<' is a display name; otherwise an addr-spec.
    std::size_t end = 0;
    for (;;) {
      const std::size_t t = tokenEnd(s, i);
      if (t == i) break;
      end = t;
      i = t;
      while (i < s.size() && text::isWsp(s[i])) ++i;
    }
    if (i < s.size() && s[i] == '\r') return false;  // folding: full parser
    if (end != 0 && i < s.size() && s[i] == '<') {
      na.display_name = s.substr(0, end);
    } else {
      i = 0;
    }
  }
  std::string_view uri_text;
  if (i < s.size() && s[i] == '<') {
    na.angle_brackets = true;
    const std::size_t close = s.find('>', i + 1);
    if (close == kNpos) return false;
    uri_text = s.substr(i + 1, close - i - 1);
    i = close + 1;
  } else {
    if (!allow_addr_spec) return false;
    const std::size_t b = i;
    while (i < s.size()) {
      const char c = s[i];
      if (c == ';' || text::isWsp(c) || c == '\r' || c == ',' || c == '?') break;
      ++i;
    }
    uri_text = s.substr(b, i - b);
  }
  auto uri = parseUri(uri_text);
  if (!uri) return false;
  na.uri = *uri;
  return fastParams(s, i, na.params, [&na](const Param& p, bool value_is_token) {
    // nameAddrParam's rule for the tag, without a rescan of its value.
    if (p.name.size() == 3 && text::iequals(p.name, "tag")) {
      if (!p.has_value || !value_is_token) return false;
      na.tag = p.value;
      return true;
    }
    return nameAddrParam(na, p);
  });
}

}  // namespace sbc::sip::detail

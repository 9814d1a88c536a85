#include "sbc/sdp/fields.h"

#include <array>

#include "sbc/sdp/lex.h"

namespace sbc::sdp {

using detail::FieldReader;
using detail::iequals;
using detail::isDigits;
using detail::isNonWsString;
using detail::isToken;
using detail::parseUnsigned;

namespace {

enum class Ip4Shape { kLiteral, kBadNumeric, kNotNumeric };

// One pass over an IP4 address (every o= and c= line has one): a dotted quad
// with parts of 1-3 digits, each 0-255 (kLiteral); only digits and dots but
// not that (kBadNumeric: refused, never taken for a host name); anything
// else is left to the host-name rule (kNotNumeric).
Ip4Shape classifyIpv4(std::string_view s) {
  int dots = 0;
  int digits = 0;
  unsigned part = 0;
  bool ok = true;
  for (const char c : s) {
    if (c == '.') {
      ok = ok && digits > 0;
      ++dots;
      digits = 0;
      part = 0;
      continue;
    }
    if (!detail::isDigit(c)) return Ip4Shape::kNotNumeric;
    if (++digits > 3) {
      ok = false;
      continue;
    }
    part = part * 10 + static_cast<unsigned>(c - '0');
    ok = ok && part <= 255;
  }
  return ok && digits > 0 && dots == 3 ? Ip4Shape::kLiteral : Ip4Shape::kBadNumeric;
}

bool isFqdn(std::string_view s) {
  return s.size() <= 255 && detail::allOfClass(s, detail::kHostClass);
}

bool isIpv6Literal(std::string_view s) {
  // Full validation belongs to the socket layer; here we only keep the grammar's
  // character set so that nothing else can ride along in the field.
  return s.size() >= 2 && s.size() <= 45 && detail::indexOf(s, ':') != std::string_view::npos &&
         detail::allOf(s, [](char c) { return detail::isHex(c) || c == ':' || c == '.'; });
}

// A unicast address as c=, o= and a=rtcp carry it, checked against its addrtype.
bool isValidAddress(std::string_view addrType, std::string_view address) {
  if (iequals(addrType, "IP4")) {
    const Ip4Shape shape = classifyIpv4(address);
    return shape == Ip4Shape::kNotNumeric ? isFqdn(address) : shape == Ip4Shape::kLiteral;
  }
  if (iequals(addrType, "IP6")) {
    return detail::indexOf(address, ':') != std::string_view::npos ? isIpv6Literal(address)
                                                                   : isFqdn(address);
  }
  return isNonWsString(address);
}

bool isPtNumber(std::string_view s) {
  const auto pt = parseUnsigned<std::uint32_t>(s, 3);
  return pt.has_value() && *pt <= 127;
}

}  // namespace

// ---- o= -------------------------------------------------------------------

std::optional<std::uint64_t> Origin::sessionIdNumber() const {
  return parseUnsigned<std::uint64_t>(sessionId);
}
std::optional<std::uint64_t> Origin::sessionVersionNumber() const {
  return parseUnsigned<std::uint64_t>(sessionVersion);
}

std::optional<Origin> parseOrigin(std::string_view value) {
  FieldReader r(value);
  Origin o;
  std::array<std::string_view*, 6> fields = {&o.username, &o.sessionId, &o.sessionVersion,
                                             &o.netType,  &o.addrType,  &o.address};
  for (std::string_view* f : fields) {
    if (!r.next(*f) || !isNonWsString(*f)) return std::nullopt;
  }
  if (!r.done()) return std::nullopt;
  if (!isToken(o.netType) || !isToken(o.addrType)) return std::nullopt;
  if (iequals(o.netType, "IN") && !isValidAddress(o.addrType, o.address)) return std::nullopt;
  return o;
}

std::string formatOrigin(const Origin& o) {
  std::string out;
  out.reserve(o.username.size() + o.sessionId.size() + o.sessionVersion.size() + o.netType.size() +
              o.addrType.size() + o.address.size() + 5);
  out.append(o.username).append(" ").append(o.sessionId).append(" ");
  out.append(o.sessionVersion).append(" ").append(o.netType).append(" ");
  out.append(o.addrType).append(" ").append(o.address);
  return out;
}

// ---- c= -------------------------------------------------------------------

std::string_view addrTypeOf(std::string_view address) {
  return detail::indexOf(address, ':') != std::string_view::npos ? "IP6" : "IP4";
}

bool isUnspecifiedAddress(std::string_view address) {
  return address == "0.0.0.0" || address == "::" || address == "0:0:0:0:0:0:0:0";
}

std::optional<Connection> parseConnection(std::string_view value) {
  FieldReader r(value);
  Connection c;
  std::string_view addr;
  if (!r.next(c.netType) || !r.next(c.addrType) || !r.next(addr) || !r.done()) {
    return std::nullopt;
  }
  if (!isToken(c.netType) || !isToken(c.addrType) || addr.empty()) return std::nullopt;
  const bool ip4 = iequals(c.addrType, "IP4");
  const bool ip6 = iequals(c.addrType, "IP6");
  if (ip4 || ip6) {
    const std::size_t slash = detail::indexOf(addr, '/');
    c.address = addr.substr(0, slash);
    if (slash != std::string_view::npos) {
      std::string_view suffix = addr.substr(slash + 1);
      const std::size_t slash2 = detail::indexOf(suffix, '/');
      const auto first = parseUnsigned<std::uint32_t>(suffix.substr(0, slash2), 10);
      if (!first) return std::nullopt;
      if (ip4) {
        if (*first > 255) return std::nullopt;
        c.ttl = first;
        if (slash2 != std::string_view::npos) {
          c.addressCount = parseUnsigned<std::uint32_t>(suffix.substr(slash2 + 1), 10);
          if (!c.addressCount) return std::nullopt;
        }
      } else {
        if (slash2 != std::string_view::npos) return std::nullopt;
        c.addressCount = first;
      }
    }
  } else {
    c.address = addr;
  }
  if (!isValidAddress(c.addrType, c.address)) return std::nullopt;
  return c;
}

std::string formatConnection(const Connection& c) {
  std::string out;
  out.reserve(c.netType.size() + c.addrType.size() + c.address.size() + 24);
  out.append(c.netType).append(" ").append(c.addrType).append(" ").append(c.address);
  if (c.ttl) out.append("/").append(std::to_string(*c.ttl));
  if (c.addressCount) out.append("/").append(std::to_string(*c.addressCount));
  return out;
}

// ---- b= t= m= -------------------------------------------------------------

std::optional<Bandwidth> parseBandwidth(std::string_view value) {
  const std::size_t colon = detail::indexOf(value, ':');
  if (colon == std::string_view::npos) return std::nullopt;
  Bandwidth b;
  b.type = value.substr(0, colon);
  const auto v = parseUnsigned<std::uint64_t>(value.substr(colon + 1));
  if (!isToken(b.type) || !v) return std::nullopt;
  b.value = *v;
  return b;
}

std::optional<Timing> parseTiming(std::string_view value) {
  FieldReader r(value);
  std::string_view start, stop;
  if (!r.next(start) || !r.next(stop) || !r.done()) return std::nullopt;
  const auto s = parseUnsigned<std::uint64_t>(start);
  const auto e = parseUnsigned<std::uint64_t>(stop);
  if (!s || !e) return std::nullopt;
  return Timing{*s, *e};
}

std::optional<MediaLine> parseMediaLine(std::string_view value, bool strict) {
  FieldReader r(value);
  MediaLine m;
  std::string_view port;
  if (!r.next(m.media) || !r.next(port) || !r.next(m.proto)) return std::nullopt;
  if (!isToken(m.media)) return std::nullopt;
  const std::size_t slash = detail::indexOf(port, '/');
  const auto p = parseUnsigned<std::uint32_t>(port.substr(0, slash), 5);
  if (!p || *p > 65535) return std::nullopt;
  m.port = static_cast<std::uint16_t>(*p);
  if (slash != std::string_view::npos) {
    m.portCount = parseUnsigned<std::uint32_t>(port.substr(slash + 1), 10);
    if (!m.portCount || *m.portCount == 0) return std::nullopt;
  }
  // proto = token *("/" token)
  {
    std::string_view rest = m.proto;
    while (true) {
      const std::size_t s = detail::indexOf(rest, '/');
      if (!isToken(rest.substr(0, s))) return std::nullopt;
      if (s == std::string_view::npos) break;
      rest = rest.substr(s + 1);
    }
  }
  m.formats = r.takeRest();
  if (m.formats.empty()) {
    if (strict) return std::nullopt;
    return m;
  }
  const bool rtp = m.proto.find("RTP") != std::string_view::npos;
  FieldReader fr(m.formats);
  std::string_view fmt;
  while (fr.next(fmt)) {
    if (!isToken(fmt)) return std::nullopt;
    if (strict && rtp && !isPtNumber(fmt)) return std::nullopt;
  }
  return m;
}

// ---- direction ------------------------------------------------------------

std::string_view toString(Direction d) {
  switch (d) {
    case Direction::kSendRecv:
      return "sendrecv";
    case Direction::kSendOnly:
      return "sendonly";
    case Direction::kRecvOnly:
      return "recvonly";
    case Direction::kInactive:
      return "inactive";
  }
  return "sendrecv";
}

std::optional<Direction> directionFromName(std::string_view name) {
  if (iequals(name, "sendrecv")) return Direction::kSendRecv;
  if (iequals(name, "sendonly")) return Direction::kSendOnly;
  if (iequals(name, "recvonly")) return Direction::kRecvOnly;
  if (iequals(name, "inactive")) return Direction::kInactive;
  return std::nullopt;
}

Direction reversed(Direction d) {
  switch (d) {
    case Direction::kSendOnly:
      return Direction::kRecvOnly;
    case Direction::kRecvOnly:
      return Direction::kSendOnly;
    default:
      return d;
  }
}

// ---- rtpmap fmtp ptime ----------------------------------------------------

std::optional<RtpMap> parseRtpMap(std::string_view value) {
  FieldReader r(value);
  std::string_view pt, enc;
  if (!r.next(pt) || !r.next(enc) || !r.done()) return std::nullopt;
  const auto ptNumber = parseUnsigned<std::uint32_t>(pt, 3);
  if (!ptNumber || *ptNumber > 127) return std::nullopt;
  RtpMap m;
  m.payloadType = static_cast<std::uint8_t>(*ptNumber);
  const std::size_t s1 = detail::indexOf(enc, '/');
  if (s1 == std::string_view::npos) return std::nullopt;
  m.encoding = enc.substr(0, s1);
  if (!isToken(m.encoding)) return std::nullopt;
  std::string_view rest = enc.substr(s1 + 1);
  const std::size_t s2 = detail::indexOf(rest, '/');
  const auto clock = parseUnsigned<std::uint32_t>(rest.substr(0, s2), 10);
  if (!clock) return std::nullopt;
  m.clockRate = *clock;
  if (s2 != std::string_view::npos) {
    m.channels = parseUnsigned<std::uint32_t>(rest.substr(s2 + 1), 10);
    if (!m.channels) return std::nullopt;
  }
  return m;
}

std::optional<Fmtp> parseFmtp(std::string_view value) {
  const std::size_t sp = detail::indexOf(value, ' ');
  if (sp == std::string_view::npos) return std::nullopt;
  Fmtp f{value.substr(0, sp), value.substr(sp + 1)};
  if (!isToken(f.format) || f.params.empty()) return std::nullopt;
  return f;
}

std::optional<std::uint32_t> parsePtime(std::string_view value) {
  const std::size_t dot = detail::indexOf(value, '.');
  if (dot != std::string_view::npos && !isDigits(value.substr(dot + 1))) return std::nullopt;
  return parseUnsigned<std::uint32_t>(value.substr(0, dot), 10);
}

// ---- crypto ---------------------------------------------------------------

namespace {

bool isSuiteName(std::string_view s) {
  return !s.empty() && detail::allOf(s, [](char c) { return detail::isAlnum(c) || c == '_'; });
}

// key-info of the inline method: key-salt ["|" lifetime] ["|" mki-value ":" mki-length]
bool parseInlineKey(std::string_view info, CryptoKey& key) {
  const std::size_t bar = detail::indexOf(info, '|');
  key.keySalt = info.substr(0, bar);
  if (!detail::allOfClass(key.keySalt, detail::kBase64Class)) return false;
  if (bar == std::string_view::npos) return true;
  std::string_view rest = info.substr(bar + 1);
  for (int part = 0; part < 2; ++part) {
    const std::size_t next = detail::indexOf(rest, '|');
    const std::string_view p = rest.substr(0, next);
    const std::size_t colon = detail::indexOf(p, ':');
    if (colon == std::string_view::npos) {
      // A lifetime may only precede the MKI.
      if (part > 0 || !key.lifetime.empty()) return false;
      const std::string_view digits = detail::istartsWith(p, "2^") ? p.substr(2) : p;
      if (!isDigits(digits) || digits.size() > 20) return false;
      key.lifetime = p;
    } else {
      key.mki = p.substr(0, colon);
      key.mkiLength = p.substr(colon + 1);
      if (!isDigits(key.mki) || key.mki.size() > 20 || !isDigits(key.mkiLength) ||
          key.mkiLength.size() > 3) {
        return false;
      }
      if (next != std::string_view::npos) return false;  // nothing may follow the MKI
      return true;
    }
    if (next == std::string_view::npos) return true;
    rest = rest.substr(next + 1);
  }
  return false;
}

template <typename OnKey>
bool walkCrypto(std::string_view value, Crypto& c, OnKey&& onKey) {
  FieldReader r(value);
  std::string_view tag, keyParams;
  if (!r.next(tag) || !r.next(c.suite) || !r.next(keyParams)) return false;
  const auto t = parseUnsigned<std::uint32_t>(tag, 9);
  if (!t || !isSuiteName(c.suite) || keyParams.empty()) return false;
  c.tag = *t;
  if (!r.done()) {
    c.sessionParams = r.takeRest();
    if (c.sessionParams.empty()) return false;
  }
  while (true) {
    const std::size_t semi = detail::indexOf(keyParams, ';');
    const std::string_view kp = keyParams.substr(0, semi);
    const std::size_t colon = detail::indexOf(kp, ':');
    if (colon == std::string_view::npos) return false;
    CryptoKey key;
    key.method = kp.substr(0, colon);
    const std::string_view info = kp.substr(colon + 1);
    if (!isSuiteName(key.method) || info.empty()) return false;
    if (iequals(key.method, "inline")) {
      if (!parseInlineKey(info, key)) return false;
    } else {
      if (!isNonWsString(info)) return false;
      key.keySalt = info;
    }
    onKey(key);
    if (semi == std::string_view::npos) break;
    keyParams = keyParams.substr(semi + 1);
  }
  return true;
}

}  // namespace

std::optional<Crypto> parseCrypto(std::string_view value) {
  Crypto c;
  if (!walkCrypto(value, c, [&c](const CryptoKey& k) { c.keys.push_back(k); })) {
    return std::nullopt;
  }
  return c;
}

bool isValidCrypto(std::string_view value) {
  Crypto c;
  return walkCrypto(value, c, [](const CryptoKey&) {});
}

std::string formatCrypto(const Crypto& c) {
  std::string out = std::to_string(c.tag);
  out.append(" ").append(c.suite).append(" ");
  bool first = true;
  for (const CryptoKey& k : c.keys) {
    if (!first) out.append(";");
    first = false;
    out.append(k.method).append(":").append(k.keySalt);
    if (!k.lifetime.empty()) out.append("|").append(k.lifetime);
    if (!k.mki.empty()) out.append("|").append(k.mki).append(":").append(k.mkiLength);
  }
  if (!c.sessionParams.empty()) out.append(" ").append(c.sessionParams);
  return out;
}

// ---- rtcp -----------------------------------------------------------------

std::optional<Rtcp> parseRtcp(std::string_view value) {
  FieldReader r(value);
  std::string_view port;
  if (!r.next(port)) return std::nullopt;
  const auto p = parseUnsigned<std::uint32_t>(port, 5);
  if (!p || *p > 65535) return std::nullopt;
  Rtcp rtcp;
  rtcp.port = static_cast<std::uint16_t>(*p);
  if (r.done()) return rtcp;
  if (!r.next(rtcp.netType) || !r.next(rtcp.addrType) || !r.next(rtcp.address) || !r.done()) {
    return std::nullopt;
  }
  if (!isToken(rtcp.netType) || !isToken(rtcp.addrType) ||
      !isValidAddress(rtcp.addrType, rtcp.address)) {
    return std::nullopt;
  }
  return rtcp;
}

std::string formatRtcp(const Rtcp& rtcp) {
  std::string out = std::to_string(rtcp.port);
  if (!rtcp.address.empty()) {
    out.append(" ").append(rtcp.netType.empty() ? std::string_view("IN") : rtcp.netType);
    out.append(" ").append(rtcp.addrType.empty() ? addrTypeOf(rtcp.address) : rtcp.addrType);
    out.append(" ").append(rtcp.address);
  }
  return out;
}

// ---- ICE ------------------------------------------------------------------

bool isValidIceCredential(std::string_view value) {
  return value.size() <= 256 && detail::allOfClass(value, detail::kIceClass);
}

std::optional<Candidate> parseCandidate(std::string_view value) {
  FieldReader r(value);
  Candidate c;
  std::string_view component, priority, port, typ;
  if (!r.next(c.foundation) || !r.next(component) || !r.next(c.transport) || !r.next(priority) ||
      !r.next(c.address) || !r.next(port) || !r.next(typ) || !r.next(c.type)) {
    return std::nullopt;
  }
  if (c.foundation.size() > 32 || !detail::allOfClass(c.foundation, detail::kIceClass)) {
    return std::nullopt;
  }
  const auto comp = parseUnsigned<std::uint32_t>(component, 5);
  const auto prio = parseUnsigned<std::uint64_t>(priority, 10);
  const auto p = parseUnsigned<std::uint32_t>(port, 5);
  if (!comp || !prio || !p || *p > 65535 || !isToken(c.transport) || !isNonWsString(c.address) ||
      typ != "typ" || !isToken(c.type)) {
    return std::nullopt;
  }
  c.component = *comp;
  c.priority = *prio;
  c.port = static_cast<std::uint16_t>(*p);
  // Optional raddr/rport, then extension name/value pairs kept raw.
  std::string_view tail = r.rest();
  while (!tail.empty()) {
    FieldReader tr(tail);
    std::string_view name, val;
    if (!tr.next(name) || !tr.next(val) || !isNonWsString(name) || !isNonWsString(val)) {
      return std::nullopt;
    }
    if (name == "raddr" && c.relAddr.empty() && c.extensions.empty()) {
      c.relAddr = val;
    } else if (name == "rport" && !c.relPort && c.extensions.empty()) {
      const auto rp = parseUnsigned<std::uint32_t>(val, 5);
      if (!rp || *rp > 65535) return std::nullopt;
      c.relPort = static_cast<std::uint16_t>(*rp);
    } else if (c.extensions.empty()) {
      c.extensions = tail;
    }
    tail = tr.rest();
  }
  return c;
}

// ---- DTLS -----------------------------------------------------------------

std::optional<Fingerprint> parseFingerprint(std::string_view value) {
  FieldReader r(value);
  Fingerprint f;
  if (!r.next(f.hashFunction) || !r.next(f.value) || !r.done() || !isToken(f.hashFunction)) {
    return std::nullopt;
  }
  // 2HEX *(":" 2HEX)
  const std::string_view v = f.value;
  if (v.size() < 2 || (v.size() + 1) % 3 != 0) return std::nullopt;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const bool colonSlot = (i % 3) == 2;
    if (colonSlot ? v[i] != ':' : !detail::isHex(v[i])) return std::nullopt;
  }
  return f;
}

std::optional<Setup> parseSetup(std::string_view value) {
  if (iequals(value, "active")) return Setup::kActive;
  if (iequals(value, "passive")) return Setup::kPassive;
  if (iequals(value, "actpass")) return Setup::kActPass;
  if (iequals(value, "holdconn")) return Setup::kHoldConn;
  return std::nullopt;
}

std::string_view toString(Setup s) {
  switch (s) {
    case Setup::kActive:
      return "active";
    case Setup::kPassive:
      return "passive";
    case Setup::kActPass:
      return "actpass";
    case Setup::kHoldConn:
      return "holdconn";
  }
  return "actpass";
}

// ---- ssrc -----------------------------------------------------------------

std::optional<Ssrc> parseSsrc(std::string_view value) {
  const std::size_t sp = detail::indexOf(value, ' ');
  if (sp == std::string_view::npos) return std::nullopt;
  const auto id = parseUnsigned<std::uint32_t>(value.substr(0, sp), 10);
  if (!id) return std::nullopt;
  Ssrc s;
  s.id = *id;
  const std::string_view rest = value.substr(sp + 1);
  const std::size_t colon = detail::indexOf(rest, ':');
  s.attribute = rest.substr(0, colon);
  if (!isToken(s.attribute)) return std::nullopt;
  if (colon != std::string_view::npos) {
    s.value = rest.substr(colon + 1);
    if (s.value.empty()) return std::nullopt;
  }
  return s;
}

}  // namespace sbc::sdp

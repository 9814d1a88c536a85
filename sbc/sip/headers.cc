#include "sbc/sip/headers.h"

#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sbc/sip/fast_parse.h"
#include "sbc/sip/parse_memo.h"
#include "sbc/sip/text.h"

namespace sbc::sip {

using text::isDigit;
using text::Scanner;

// ---------------------------------------------------------------- methods

Method methodFromString(std::string_view s) {
  switch (s.size()) {
    case 3:
      if (s == "ACK") return Method::Ack;
      if (s == "BYE") return Method::Bye;
      break;
    case 4:
      if (s == "INFO") return Method::Info;
      break;
    case 5:
      if (s == "PRACK") return Method::Prack;
      if (s == "REFER") return Method::Refer;
      break;
    case 6:
      if (s == "INVITE") return Method::Invite;
      if (s == "CANCEL") return Method::Cancel;
      if (s == "UPDATE") return Method::Update;
      if (s == "NOTIFY") return Method::Notify;
      break;
    case 7:
      if (s == "OPTIONS") return Method::Options;
      if (s == "MESSAGE") return Method::Message;
      if (s == "PUBLISH") return Method::Publish;
      break;
    case 8:
      if (s == "REGISTER") return Method::Register;
      break;
    case 9:
      if (s == "SUBSCRIBE") return Method::Subscribe;
      break;
    default:
      break;
  }
  return Method::Unknown;
}

std::string_view methodName(Method m) {
  switch (m) {
    case Method::Unknown:
      return "";
    case Method::Invite:
      return "INVITE";
    case Method::Ack:
      return "ACK";
    case Method::Bye:
      return "BYE";
    case Method::Cancel:
      return "CANCEL";
    case Method::Options:
      return "OPTIONS";
    case Method::Register:
      return "REGISTER";
    case Method::Prack:
      return "PRACK";
    case Method::Update:
      return "UPDATE";
    case Method::Info:
      return "INFO";
    case Method::Subscribe:
      return "SUBSCRIBE";
    case Method::Notify:
      return "NOTIFY";
    case Method::Refer:
      return "REFER";
    case Method::Message:
      return "MESSAGE";
    case Method::Publish:
      return "PUBLISH";
  }
  return "";
}

// ---------------------------------------------------------------- names

namespace {

struct NameEntry {
  HeaderId id;
  std::string_view name;
  char compact;  // 0 if none
  bool list;
};

// One table drives names, compact forms and list-ness.
constexpr NameEntry kNames[] = {
    {HeaderId::Accept, "Accept", 0, true},
    {HeaderId::AcceptContact, "Accept-Contact", 'a', true},
    {HeaderId::AcceptEncoding, "Accept-Encoding", 0, true},
    {HeaderId::AcceptLanguage, "Accept-Language", 0, true},
    {HeaderId::AlertInfo, "Alert-Info", 0, true},
    {HeaderId::Allow, "Allow", 0, true},
    {HeaderId::AllowEvents, "Allow-Events", 'u', true},
    {HeaderId::AuthenticationInfo, "Authentication-Info", 0, false},
    {HeaderId::Authorization, "Authorization", 0, false},
    {HeaderId::CallId, "Call-ID", 'i', false},
    {HeaderId::CallInfo, "Call-Info", 0, true},
    {HeaderId::Contact, "Contact", 'm', true},
    {HeaderId::ContentDisposition, "Content-Disposition", 0, false},
    {HeaderId::ContentEncoding, "Content-Encoding", 'e', true},
    {HeaderId::ContentLanguage, "Content-Language", 0, true},
    {HeaderId::ContentLength, "Content-Length", 'l', false},
    {HeaderId::ContentType, "Content-Type", 'c', false},
    {HeaderId::CSeq, "CSeq", 0, false},
    {HeaderId::Date, "Date", 0, false},
    {HeaderId::Diversion, "Diversion", 0, true},
    {HeaderId::ErrorInfo, "Error-Info", 0, true},
    {HeaderId::Event, "Event", 'o', false},
    {HeaderId::Expires, "Expires", 0, false},
    {HeaderId::From, "From", 'f', false},
    {HeaderId::HistoryInfo, "History-Info", 0, true},
    {HeaderId::Identity, "Identity", 'y', false},
    {HeaderId::IdentityInfo, "Identity-Info", 'n', false},
    {HeaderId::InReplyTo, "In-Reply-To", 0, true},
    {HeaderId::MaxForwards, "Max-Forwards", 0, false},
    {HeaderId::MimeVersion, "MIME-Version", 0, false},
    {HeaderId::MinExpires, "Min-Expires", 0, false},
    {HeaderId::MinSE, "Min-SE", 0, false},
    {HeaderId::Organization, "Organization", 0, false},
    {HeaderId::PAssertedIdentity, "P-Asserted-Identity", 0, true},
    {HeaderId::PPreferredIdentity, "P-Preferred-Identity", 0, true},
    {HeaderId::Path, "Path", 0, true},
    {HeaderId::Priority, "Priority", 0, false},
    {HeaderId::Privacy, "Privacy", 0, false},
    {HeaderId::ProxyAuthenticate, "Proxy-Authenticate", 0, false},
    {HeaderId::ProxyAuthorization, "Proxy-Authorization", 0, false},
    {HeaderId::ProxyRequire, "Proxy-Require", 0, true},
    {HeaderId::RAck, "RAck", 0, false},
    {HeaderId::Reason, "Reason", 0, true},
    {HeaderId::RecordRoute, "Record-Route", 0, true},
    {HeaderId::ReferTo, "Refer-To", 'r', false},
    {HeaderId::ReferredBy, "Referred-By", 'b', false},
    {HeaderId::RejectContact, "Reject-Contact", 'j', true},
    {HeaderId::Replaces, "Replaces", 0, false},
    {HeaderId::ReplyTo, "Reply-To", 0, false},
    {HeaderId::RequestDisposition, "Request-Disposition", 'd', true},
    {HeaderId::Require, "Require", 0, true},
    {HeaderId::RetryAfter, "Retry-After", 0, false},
    {HeaderId::Route, "Route", 0, true},
    {HeaderId::RSeq, "RSeq", 0, false},
    {HeaderId::Server, "Server", 0, false},
    {HeaderId::ServiceRoute, "Service-Route", 0, true},
    {HeaderId::SessionExpires, "Session-Expires", 'x', false},
    {HeaderId::Subject, "Subject", 's', false},
    {HeaderId::SubscriptionState, "Subscription-State", 0, false},
    {HeaderId::Supported, "Supported", 'k', true},
    {HeaderId::Timestamp, "Timestamp", 0, false},
    {HeaderId::To, "To", 't', false},
    {HeaderId::Unsupported, "Unsupported", 0, true},
    {HeaderId::UserAgent, "User-Agent", 0, false},
    {HeaderId::Via, "Via", 'v', true},
    {HeaderId::Warning, "Warning", 0, true},
    {HeaderId::WWWAuthenticate, "WWW-Authenticate", 0, false},
};

constexpr std::size_t kNameCount = std::size(kNames);

// Built at compile time: no initialisation order or guard to worry about.
struct NameIndex {
  // Buckets keyed by (lower-case first letter, length): a lookup is one
  // table read plus one case-insensitive compare (rarely two).
  static constexpr std::size_t kMaxLen = 32;
  static constexpr std::size_t kPerBucket = 3;
  // Entries are index + 1 into kNames; 0 is empty.
  std::array<std::array<std::uint8_t, kPerBucket>, 26 * kMaxLen> buckets{};
  std::array<HeaderId, 26> compact{};
  std::array<std::uint8_t, static_cast<std::size_t>(HeaderId::kCount)> by_id{};
  // Lower-case names padded with NUL, for word-at-a-time comparison.
  std::array<std::array<char, kMaxLen>, kNameCount> lower{};

  static constexpr std::size_t key(char first, std::size_t len) {
    char c = (first >= 'A' && first <= 'Z') ? static_cast<char>(first + 32) : first;
    return static_cast<std::size_t>(c - 'a') * kMaxLen + len;
  }
};

constexpr NameIndex buildNameIndex() {
  NameIndex idx;
  for (std::size_t n = 0; n < kNameCount; ++n) {
    const NameEntry& e = kNames[n];
    auto& b = idx.buckets[NameIndex::key(e.name[0], e.name.size())];
    std::size_t slot = 0;
    while (b[slot] != 0) ++slot;  // a fourth entry fails constant evaluation
    b[slot] = static_cast<std::uint8_t>(n + 1);
    if (e.compact != 0) idx.compact[static_cast<std::size_t>(e.compact - 'a')] = e.id;
    idx.by_id[static_cast<std::size_t>(e.id)] = static_cast<std::uint8_t>(n + 1);
    for (std::size_t i = 0; i < e.name.size(); ++i) {
      char c = e.name[i];
      idx.lower[n][i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
    }
  }
  return idx;
}

constexpr NameIndex kNameIndex = buildNameIndex();

// Table names hold only letters and '-': OR 0x20 folds case exactly for
// them, and the only other byte it folds onto one of them is CR (onto '-'),
// which is excluded explicitly.
template <class W>
bool sameWord(std::string_view name, const std::array<char, NameIndex::kMaxLen>& lower,
              std::size_t off) {
  constexpr W kCase = static_cast<W>(0x2020202020202020ULL);
  constexpr W kCr = static_cast<W>(0x0D0D0D0D0D0D0D0DULL);
  constexpr W kOnes = static_cast<W>(0x0101010101010101ULL);
  constexpr W kHigh = static_cast<W>(0x8080808080808080ULL);
  W x;
  W y;
  std::memcpy(&x, name.data() + off, sizeof(W));
  std::memcpy(&y, lower.data() + off, sizeof(W));
  W cr = static_cast<W>(x ^ kCr);
  return static_cast<W>(x | kCase) == y && static_cast<W>((cr - kOnes) & ~cr & kHigh) == 0;
}

// Table names hold only letters and '-': OR 0x20 folds case exactly for
// them, and the only other byte it folds onto one of them is CR (onto '-'),
// which is excluded explicitly. Words are compared whole; the last one
// overlaps the previous so that nothing is read past the name.
bool sameName(std::string_view name, const std::array<char, NameIndex::kMaxLen>& lower) {
  const std::size_t n = name.size();
  if (n >= 8) {
    for (std::size_t i = 0; i + 8 <= n; i += 8)
      if (!sameWord<std::uint64_t>(name, lower, i)) return false;
    return sameWord<std::uint64_t>(name, lower, n - 8);
  }
  if (n >= 4)
    return sameWord<std::uint32_t>(name, lower, 0) && sameWord<std::uint32_t>(name, lower, n - 4);
  if (n >= 2)
    return sameWord<std::uint16_t>(name, lower, 0) && sameWord<std::uint16_t>(name, lower, n - 2);
  return n == 1 && static_cast<char>(name[0] | 0x20) == lower[0] && name[0] != '\r';
}

}  // namespace

std::string_view headerName(HeaderId id) {
  auto i = static_cast<std::size_t>(id);
  if (i >= static_cast<std::size_t>(HeaderId::kCount)) return {};
  std::uint8_t n = kNameIndex.by_id[i];
  return n != 0 ? kNames[n - 1].name : std::string_view{};
}

HeaderId headerIdFromName(std::string_view name) {
  if (name.empty() || name.size() >= NameIndex::kMaxLen) return HeaderId::Other;
  char first = static_cast<char>(name[0] | 0x20);
  if (first < 'a' || first > 'z') return HeaderId::Other;
  if (name.size() == 1) return kNameIndex.compact[static_cast<std::size_t>(first - 'a')];
  for (std::uint8_t n : kNameIndex.buckets[NameIndex::key(first, name.size())]) {
    if (n == 0) break;
    if (sameName(name, kNameIndex.lower[n - 1])) return kNames[n - 1].id;
  }
  return HeaderId::Other;
}

bool isListHeader(HeaderId id) {
  auto i = static_cast<std::size_t>(id);
  if (i >= static_cast<std::size_t>(HeaderId::kCount)) return false;
  std::uint8_t n = kNameIndex.by_id[i];
  return n != 0 && kNames[n - 1].list;
}

// ---------------------------------------------------------------- helpers

bool iequals(std::string_view a, std::string_view b) {
  return text::iequals(a, b);
}

std::string_view trimLws(std::string_view s) {
  std::size_t b = text::skipLws(s, 0);
  std::size_t e = s.size();
  while (e > b) {
    char c = s[e - 1];
    if (text::isWsp(c) || c == '\r' || c == '\n')
      --e;
    else
      break;
  }
  return s.substr(b, e - b);
}

std::string unquote(std::string_view s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) ++i;
    out.push_back(s[i]);
  }
  return out;
}

std::string unfold(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    std::size_t j = text::skipLws(s, i);
    if (j != i) {
      out.push_back(' ');
      i = j;
    } else {
      out.push_back(s[i++]);
    }
  }
  return out;
}

bool ListSplitter::next(std::string_view& element) {
  const std::string_view s = value_;
  for (;;) {
    pos_ = text::skipLws(s, pos_);
    if (pos_ >= s.size()) return false;
    if (s[pos_] == ',') {
      ++pos_;
      continue;
    }
    break;
  }
  const std::size_t b = pos_;
  const std::size_t n = s.size();
  bool quoted = false;
  bool angle = false;
  std::size_t i = b;
  while (i < n) {
    if (quoted) {
      i = text::findAny(s, i, '"', '\\', '"', '"');
      if (i >= n) break;
      if (s[i] == '\\') {
        i += 2;  // quoted-pair
        continue;
      }
      quoted = false;
    } else {
      i = text::findAny(s, i, ',', '"', '<', '>');
      if (i >= n) break;
      char c = s[i];
      if (c == ',' && !angle) break;
      if (c == '"')
        quoted = true;
      else if (c == '<')
        angle = true;
      else if (c == '>')
        angle = false;
    }
    ++i;
  }
  if (quoted || angle || i > n) {
    error_ = true;
    pos_ = n;
    return false;
  }
  element = trimLws(s.substr(b, i - b));
  pos_ = i < s.size() ? i + 1 : s.size();
  return true;
}

TransportProto transportFromString(std::string_view t) {
  if (text::iequals(t, "UDP")) return TransportProto::Udp;
  if (text::iequals(t, "TCP")) return TransportProto::Tcp;
  if (text::iequals(t, "TLS")) return TransportProto::Tls;
  if (text::iequals(t, "SCTP")) return TransportProto::Sctp;
  if (text::iequals(t, "WS")) return TransportProto::Ws;
  if (text::iequals(t, "WSS")) return TransportProto::Wss;
  return TransportProto::Other;
}

Result<std::uint32_t> parseUint(std::string_view s, std::uint32_t max) {
  if (s.empty()) return ParseError::BadHeaderValue;
  std::uint64_t v = 0;
  for (char c : s) {
    if (!isDigit(c)) return ParseError::BadHeaderValue;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
    if (v > max) return ParseError::BadHeaderValue;
  }
  return static_cast<std::uint32_t>(v);
}

namespace {

// gen-value = token / host / quoted-string; the unquoted forms are token
// characters plus ':' '[' ']' (IPv6 hosts and received=IPv6).
bool genValue(Scanner& sc, std::string_view& value, bool& quoted) {
  if (sc.peek() == '"') {
    quoted = true;
    return sc.quoted(value);
  }
  quoted = false;
  std::size_t b = sc.pos();
  while (!sc.atEnd()) {
    char c = sc.peek();
    if (text::isToken(c) || c == ':' || c == '[' || c == ']')
      sc.setPos(sc.pos() + 1);
    else
      break;
  }
  value = sc.slice(b, sc.pos());
  return !value.empty();
}

// *( SEMI generic-param ) up to the end of the value. On success `params`
// views the list text (after the first ';'). `each` sees every param.
template <class F>
bool genericParams(Scanner& sc, Params& params, F&& each) {
  std::size_t first = std::string_view::npos;
  std::size_t last = sc.pos();
  while (sc.sep(';')) {
    if (first == std::string_view::npos) first = sc.pos();
    Param p;
    p.name = sc.token();
    if (p.name.empty()) return false;
    if (sc.sep('=')) {
      p.has_value = true;
      if (!genValue(sc, p.value, p.quoted)) return false;
    }
    if (!each(p)) return false;
    last = sc.pos();
  }
  if (first != std::string_view::npos) params = Params(sc.slice(first, last), ';');
  sc.lws();
  return sc.atEnd();
}

bool noParamCheck(const Param&) {
  return true;
}

// 1*DIGIT at the cursor, at most `max` (ports, CSeq and RAck numbers,
// delta-seconds).
Result<std::uint32_t> number(Scanner& sc, std::uint32_t max) {
  std::size_t b = sc.pos();
  while (!sc.atEnd() && isDigit(sc.peek())) sc.setPos(sc.pos() + 1);
  return parseUint(sc.slice(b, sc.pos()), max);
}

// The method that ends a CSeq or RAck value: a token, then only LWS.
bool methodAtEnd(Scanner& sc, std::string_view& text, Method& method) {
  text = sc.token();
  if (text.empty()) return false;
  method = methodFromString(text);
  sc.lws();
  return sc.atEnd();
}

// delta-seconds *(SEMI generic-param): Session-Expires and Min-SE.
template <class F>
bool deltaWithParams(std::string_view value, std::uint32_t& delta, Params& params, F&& each) {
  Scanner sc(value);
  sc.lws();
  auto n = number(sc, 0xffffffffU);
  if (!n) return false;
  delta = *n;
  return genericParams(sc, params, std::forward<F>(each));
}

// Host (hostname / IPv4 / [IPv6]) with optional port, as in Via sent-by.
bool hostPort(Scanner& sc, std::string_view& host, HostType& type, std::uint16_t& port,
              bool& has_port) {
  std::size_t b = sc.pos();
  if (sc.peek() == '[') {
    while (!sc.atEnd() && sc.peek() != ']') sc.setPos(sc.pos() + 1);
    if (!sc.consume(']')) return false;
    std::string_view h = sc.slice(b, sc.pos());
    if (classifyHost(h) != HostType::IPv6) return false;
    host = h.substr(1, h.size() - 2);
    type = HostType::IPv6;
  } else {
    while (!sc.atEnd() && (text::isAlnum(sc.peek()) || sc.peek() == '.' || sc.peek() == '-'))
      sc.setPos(sc.pos() + 1);
    host = sc.slice(b, sc.pos());
    type = classifyHost(host);
    if (type == HostType::None) return false;
  }
  if (sc.sep(':')) {
    auto p = number(sc, 65535);
    if (!p) return false;
    port = static_cast<std::uint16_t>(*p);
    has_port = true;
  }
  return true;
}

}  // namespace

// ---------------------------------------------------------------- Via

bool detail::viaParam(Via& v, const Param& p) {
  if (text::iequals(p.name, "branch")) {
    if (!p.has_value || p.quoted || !text::isAllToken(p.value)) return false;
    v.branch = p.value;
  } else if (text::iequals(p.name, "received")) {
    if (!p.has_value || p.quoted) return false;
    std::string_view r = p.value;
    if (isValidIPv4(r) || isValidIPv6(r))
      v.received = r;
    else if (classifyHost(r) == HostType::IPv6)
      v.received = r.substr(1, r.size() - 2);
    else
      return false;
  } else if (text::iequals(p.name, "rport")) {
    v.rport = true;
    if (p.has_value) {
      auto n = parseUint(p.value, 65535);
      if (!n || *n == 0) return false;
      v.rport_value = static_cast<std::uint16_t>(*n);
    }
  } else if (text::iequals(p.name, "maddr")) {
    if (!p.has_value || classifyHost(p.value) == HostType::None) return false;
    v.maddr = p.value;
  } else if (text::iequals(p.name, "ttl")) {
    auto n = p.has_value ? parseUint(p.value, 255) : Result<std::uint32_t>(ParseError::BadVia);
    if (!n) return false;
    v.ttl = static_cast<int>(*n);
  }
  return true;
}

bool detail::nameAddrParam(NameAddr& na, const Param& p) {
  if (text::iequals(p.name, "tag")) {
    if (!p.has_value || p.quoted || !text::isAllToken(p.value)) return false;
    na.tag = p.value;
  }
  return true;
}

namespace {

Result<Via> parseViaUncached(std::string_view value) {
  Via v;
  v.text = value;
  Scanner sc(value);
  sc.lws();
  v.protocol_name = sc.token();
  if (v.protocol_name.empty() || !sc.sep('/')) return ParseError::BadVia;
  v.protocol_version = sc.token();
  if (v.protocol_version.empty() || !sc.sep('/')) return ParseError::BadVia;
  v.transport_text = sc.token();
  if (v.transport_text.empty()) return ParseError::BadVia;
  v.transport = transportFromString(v.transport_text);
  if (!sc.lws()) return ParseError::BadVia;
  if (!hostPort(sc, v.host, v.host_type, v.port, v.has_port)) return ParseError::BadVia;
  bool ok = genericParams(sc, v.params, [&v](const Param& p) { return detail::viaParam(v, p); });
  if (!ok) return ParseError::BadVia;
  return v;
}

}  // namespace

// ---------------------------------------------------------------- NameAddr

std::string NameAddr::displayName() const {
  if (display_quoted) return unfold(unquote(display_name));
  return unfold(display_name);
}

namespace {

Result<NameAddr> parseNameAddrUncached(std::string_view value, bool allow_addr_spec) {
  NameAddr na;
  na.text = value;
  Scanner sc(value);
  sc.lws();
  std::string_view uri_text;
  if (sc.peek() == '"') {
    if (!sc.quoted(na.display_name)) return ParseError::BadHeaderValue;
    na.display_quoted = true;
    sc.lws();
    if (sc.peek() != '<') return ParseError::BadHeaderValue;
  } else if (sc.peek() != '<') {
    // *(token LWS) followed by '<' is a display name; otherwise addr-spec.
    std::size_t start = sc.pos();
    std::size_t end = start;
    for (;;) {
      std::string_view t = sc.token();
      if (t.empty()) break;
      end = sc.pos();
      sc.lws();
    }
    if (end != start && sc.peek() == '<') {
      na.display_name = sc.slice(start, end);
    } else {
      sc.setPos(start);
    }
  }
  if (sc.consume('<')) {
    na.angle_brackets = true;
    std::size_t b = sc.pos();
    std::string_view rest = sc.rest();
    std::size_t close = rest.find('>');
    if (close == std::string_view::npos) return ParseError::BadHeaderValue;
    uri_text = rest.substr(0, close);
    sc.setPos(b + close + 1);
  } else {
    if (!allow_addr_spec) return ParseError::BadHeaderValue;
    // addr-spec: the URI ends at ';' (header params) or LWS; '?' and ','
    // would require the name-addr form (RFC 3261 20.10).
    std::size_t b = sc.pos();
    while (!sc.atEnd()) {
      char c = sc.peek();
      if (c == ';' || text::isWsp(c) || c == '\r' || c == ',' || c == '?') break;
      sc.setPos(sc.pos() + 1);
    }
    if (sc.peek() == '?' || sc.peek() == ',') return ParseError::BadHeaderValue;
    uri_text = sc.slice(b, sc.pos());
  }
  auto uri = parseUri(uri_text);
  if (!uri) return ParseError::BadHeaderValue;
  na.uri = *uri;
  bool ok =
      genericParams(sc, na.params, [&na](const Param& p) { return detail::nameAddrParam(na, p); });
  if (!ok) return ParseError::BadHeaderValue;
  return na;
}

}  // namespace

// ---------------------------------------------------------------- parse memo

// Each asks the per-thread memo first (a call's messages repeat these
// values; the responses of a transaction carry its Via again); a miss takes
// the single-pass parser for the common shape, else the full grammar.
Result<Via> parseVia(std::string_view value) {
  return detail::memoized<Via>(value, false, [](std::string_view v) -> Result<Via> {
    Via via;
    if (detail::fastVia(v, via)) return via;
    return parseViaUncached(v);
  });
}

// A name-addr hit in the memo also skips its URI.
Result<NameAddr> parseNameAddr(std::string_view value, bool allow_addr_spec) {
  return detail::memoized<NameAddr>(value, allow_addr_spec,
                                    [allow_addr_spec](std::string_view v) -> Result<NameAddr> {
                                      NameAddr na;
                                      if (detail::fastNameAddr(v, allow_addr_spec, na)) return na;
                                      return parseNameAddrUncached(v, allow_addr_spec);
                                    });
}

Result<Via> detail::parseViaFull(std::string_view value) {
  return parseViaUncached(value);
}

Result<NameAddr> detail::parseNameAddrFull(std::string_view value, bool allow_addr_spec) {
  return parseNameAddrUncached(value, allow_addr_spec);
}

// ---------------------------------------------------------------- scalars

Result<CSeq> parseCSeq(std::string_view value) {
  Scanner sc(value);
  sc.lws();
  auto n = number(sc, 0x7fffffffU);
  if (!n || !sc.lws()) return ParseError::BadCSeq;
  CSeq c;
  c.number = *n;
  if (!methodAtEnd(sc, c.method_text, c.method)) return ParseError::BadCSeq;
  return c;
}

Result<std::string_view> parseCallId(std::string_view value) {
  std::string_view v = trimLws(value);
  if (v.empty()) return ParseError::BadCallId;
  // callid = word [ "@" word ]: one pass (every message has one).
  std::size_t at = std::string_view::npos;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const char c = v[i];
    if (c == '@') {
      if (at != std::string_view::npos) return ParseError::BadCallId;
      at = i;
    } else if (!text::is(c, text::kWord)) {
      return ParseError::BadCallId;
    }
  }
  if (at == 0 || at + 1 == v.size()) return ParseError::BadCallId;
  return v;
}

Result<MediaType> parseMediaType(std::string_view value) {
  MediaType m;
  m.text = value;
  Scanner sc(value);
  sc.lws();
  m.type = sc.token();
  if (m.type.empty() || !sc.sep('/')) return ParseError::BadContentType;
  m.subtype = sc.token();
  if (m.subtype.empty()) return ParseError::BadContentType;
  if (!genericParams(sc, m.params, noParamCheck)) return ParseError::BadContentType;
  return m;
}

bool MediaType::is(std::string_view t, std::string_view s) const {
  return text::iequals(type, t) && text::iequals(subtype, s);
}

bool MediaType::admits(std::string_view t, std::string_view s) const {
  if (type == "*") return true;
  if (!text::iequals(type, t)) return false;
  return subtype == "*" || text::iequals(subtype, s);
}

Result<SessionExpires> parseSessionExpires(std::string_view value) {
  SessionExpires se;
  bool ok = deltaWithParams(value, se.delta, se.params, [&se](const Param& p) {
    if (text::iequals(p.name, "refresher")) {
      if (text::iequals(p.value, "uac"))
        se.refresher = Refresher::Uac;
      else if (text::iequals(p.value, "uas"))
        se.refresher = Refresher::Uas;
      else
        return false;
    }
    return true;
  });
  if (!ok) return ParseError::BadHeaderValue;
  return se;
}

Result<MinSE> parseMinSE(std::string_view value) {
  MinSE m;
  if (!deltaWithParams(value, m.delta, m.params, noParamCheck)) return ParseError::BadHeaderValue;
  return m;
}

Result<Reason> parseReason(std::string_view value) {
  Reason r;
  Scanner sc(value);
  sc.lws();
  r.protocol = sc.token();
  if (r.protocol.empty()) return ParseError::BadHeaderValue;
  bool ok = genericParams(sc, r.params, [&r](const Param& p) {
    if (text::iequals(p.name, "cause")) {
      auto n = parseUint(p.value, 0xffff);
      if (!n || p.quoted) return false;
      r.cause = static_cast<int>(*n);
    } else if (text::iequals(p.name, "text")) {
      r.text = p.value;
    }
    return true;
  });
  if (!ok) return ParseError::BadHeaderValue;
  return r;
}

Result<RAck> parseRAck(std::string_view value) {
  Scanner sc(value);
  sc.lws();
  RAck r;
  auto rseq = number(sc, 0xffffffffU);
  if (!rseq || !sc.lws()) return ParseError::BadHeaderValue;
  auto cseq = number(sc, 0x7fffffffU);
  if (!cseq || !sc.lws()) return ParseError::BadHeaderValue;
  r.rseq = *rseq;
  r.cseq = *cseq;
  if (!methodAtEnd(sc, r.method_text, r.method)) return ParseError::BadHeaderValue;
  return r;
}

Result<AuthHeader> parseAuth(std::string_view value) {
  AuthHeader a;
  a.text = value;
  Scanner sc(value);
  sc.lws();
  a.scheme = sc.token();
  if (a.scheme.empty()) return ParseError::BadHeaderValue;
  if (sc.atEnd()) return a;
  if (!sc.lws()) return ParseError::BadHeaderValue;
  std::size_t first = sc.pos();
  // auth-param *(COMMA auth-param); anything else is a token68 credential.
  bool params_ok = true;
  std::size_t last = first;
  for (;;) {
    std::string_view name = sc.token();
    if (name.empty() || !sc.sep('=')) {
      params_ok = false;
      break;
    }
    std::string_view v;
    bool quoted = false;
    if (!genValue(sc, v, quoted)) {
      params_ok = false;
      break;
    }
    last = sc.pos();
    if (!sc.sep(',')) break;
  }
  sc.lws();
  if (params_ok && sc.atEnd()) {
    a.params = Params(sc.slice(first, last), ',');
    return a;
  }
  // token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
  std::string_view t = trimLws(value.substr(first));
  std::size_t i = 0;
  while (i < t.size() &&
         (text::isAlnum(t[i]) || std::string_view("-._~+/").find(t[i]) != std::string_view::npos))
    ++i;
  if (i == 0) return ParseError::BadHeaderValue;
  while (i < t.size() && t[i] == '=') ++i;
  if (i != t.size()) return ParseError::BadHeaderValue;
  a.token68 = t;
  return a;
}

// ---------------------------------------------------------------- Date

bool isValidSipDate(std::string_view s) {
  // "Sat, 13 Nov 2010 23:29:00 GMT" (RFC 3261 25.1 SIP-date = rfc1123-date)
  static constexpr std::string_view kDays[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
  static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  s = trimLws(s);
  if (s.size() != 29) return false;
  bool day_ok = false;
  for (auto d : kDays) day_ok = day_ok || s.substr(0, 3) == d;
  bool month_ok = false;
  for (auto m : kMonths) month_ok = month_ok || s.substr(8, 3) == m;
  auto digits = [&](std::size_t pos, std::size_t n) {
    for (std::size_t i = pos; i < pos + n; ++i)
      if (!isDigit(s[i])) return false;
    return true;
  };
  auto num = [&](std::size_t pos) { return (s[pos] - '0') * 10 + (s[pos + 1] - '0'); };
  return day_ok && month_ok && s.substr(3, 2) == ", " && digits(5, 2) && s[7] == ' ' &&
         s[11] == ' ' && digits(12, 4) && s[16] == ' ' && digits(17, 2) && s[19] == ':' &&
         digits(20, 2) && s[22] == ':' && digits(23, 2) && s.substr(25) == " GMT" && num(5) >= 1 &&
         num(5) <= 31 && num(17) <= 23 && num(20) <= 59 && num(23) <= 60;
}

}  // namespace sbc::sip

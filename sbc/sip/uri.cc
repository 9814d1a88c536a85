#include "sbc/sip/uri.h"

#include <algorithm>
#include <vector>

#include "sbc/sip/fast_parse.h"
#include "sbc/sip/parse_memo.h"
#include "sbc/sip/text.h"

namespace sbc::sip {

using text::is;
using text::isAlnum;
using text::isAlpha;
using text::isDigit;
using text::isHex;

// ---------------------------------------------------------------- Params

Params::Iterator::Iterator(std::string_view text, char sep, std::size_t pos)
    : text_(text), pos_(pos), sep_(sep) {
  if (text_.empty()) {
    pos_ = std::string_view::npos;
    return;
  }
  load();
}

// Parses the parameter starting at pos_ into cur_ and sets next_. Empty
// elements (";;") are skipped; the text was validated by its producer, so
// this only has to be safe, not strict.
void Params::Iterator::load() {
  const std::string_view s = text_;
  std::size_t i = pos_;
  for (;;) {
    i = text::skipLws(s, i);
    if (i >= s.size()) {
      pos_ = std::string_view::npos;
      return;
    }
    if (s[i] == sep_) {
      ++i;
      continue;
    }
    break;
  }
  pos_ = i;
  cur_ = Param{};
  std::size_t b = i;
  while (i < s.size() && s[i] != sep_ && s[i] != '=' && !text::isWsp(s[i]) && s[i] != '\r') ++i;
  cur_.name = s.substr(b, i - b);
  std::size_t j = text::skipLws(s, i);
  if (j < s.size() && s[j] == '=') {
    cur_.has_value = true;
    j = text::skipLws(s, j + 1);
    if (j < s.size() && s[j] == '"') {
      text::Scanner sc(s, j);
      std::string_view v;
      if (sc.quoted(v)) {
        cur_.value = v;
        cur_.quoted = true;
        j = sc.pos();
      } else {
        cur_.value = s.substr(j + 1);
        j = s.size();
      }
    } else {
      std::size_t vb = j;
      while (j < s.size() && s[j] != sep_ && !text::isWsp(s[j]) && s[j] != '\r') ++j;
      cur_.value = s.substr(vb, j - vb);
    }
    i = j;
  }
  // Move past trailing LWS and the separator; anything unexpected ends the
  // element there so that iteration always progresses.
  i = text::skipLws(s, i);
  while (i < s.size() && s[i] != sep_) ++i;
  next_ = i < s.size() ? i + 1 : s.size();
  if (i == pos_) next_ = pos_ + 1;
}

Params::Iterator& Params::Iterator::operator++() {
  if (pos_ == std::string_view::npos) return *this;
  pos_ = next_;
  if (pos_ >= text_.size()) {
    pos_ = std::string_view::npos;
    return *this;
  }
  load();
  return *this;
}

std::size_t Params::size() const {
  std::size_t n = 0;
  for (auto it = begin(); it != end(); ++it) ++n;
  return n;
}

std::optional<Param> Params::find(std::string_view name) const {
  for (const Param& p : *this)
    if (text::iequals(p.name, name)) return p;
  return std::nullopt;
}

std::optional<std::string_view> Params::get(std::string_view name) const {
  if (auto p = find(name)) return p->value;
  return std::nullopt;
}

// ---------------------------------------------------------------- hosts

bool isValidIPv4(std::string_view s) {
  int parts = 0;
  std::size_t i = 0;
  while (true) {
    std::size_t b = i;
    int v = 0;
    while (i < s.size() && isDigit(s[i]) && i - b < 3) v = v * 10 + (s[i++] - '0');
    if (i == b || v > 255) return false;
    if (i < s.size() && isDigit(s[i])) return false;  // more than 3 digits
    ++parts;
    if (i == s.size()) break;
    if (s[i] != '.' || parts == 4) return false;
    ++i;
  }
  return parts == 4;
}

bool isValidIPv6(std::string_view s) {
  if (s.empty()) return false;
  int groups = 0;
  bool double_colon = false;
  std::size_t i = 0;
  if (s.substr(0, 2) == "::") {
    double_colon = true;
    i = 2;
    if (i == s.size()) return true;
  } else if (s[0] == ':') {
    return false;
  }
  while (i < s.size()) {
    std::size_t b = i;
    while (i < s.size() && isHex(s[i]) && i - b < 4) ++i;
    if (i < s.size() && s[i] == '.') {
      // Embedded IPv4 must be the last part and counts as two groups.
      if (!isValidIPv4(s.substr(b))) return false;
      groups += 2;
      break;
    }
    if (i == b) return false;
    if (i < s.size() && isHex(s[i])) return false;  // group longer than 4
    ++groups;
    if (i == s.size()) break;
    if (s[i] != ':') return false;
    ++i;
    if (i < s.size() && s[i] == ':') {
      if (double_colon) return false;
      double_colon = true;
      ++i;
      if (i == s.size()) break;
    } else if (i == s.size()) {
      return false;  // trailing single colon
    }
  }
  return double_colon ? groups <= 7 : groups == 8;
}

// hostname = *( domainlabel "." ) toplabel [ "." ], labels alphanum with
// inner '-', toplabel starting with a letter. One pass, no allocation.
static bool isValidHostname(std::string_view s) {
  if (s.empty() || s.size() > 255) return false;
  if (s.back() == '.') s.remove_suffix(1);
  if (s.empty()) return false;
  std::size_t label = 0;
  char prev = '.';
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '.') {
      if (i == label || prev == '-') return false;
      label = i + 1;
    } else if (c == '-') {
      if (i == label) return false;
    } else if (!isAlnum(c)) {
      return false;
    }
    prev = c;
  }
  return prev != '-' && label < s.size() && isAlpha(s[label]);
}

HostType classifyHost(std::string_view host) {
  if (host.empty()) return HostType::None;
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return HostType::None;
    return isValidIPv6(host.substr(1, host.size() - 2)) ? HostType::IPv6 : HostType::None;
  }
  // A hostname's last label starts with a letter, so the two never overlap;
  // try the likelier one first.
  if (isDigit(host.front()) && isValidIPv4(host)) return HostType::IPv4;
  return isValidHostname(host) ? HostType::Hostname : HostType::None;
}

// ---------------------------------------------------------------- escapes

static bool validEscapes(std::string_view s, std::size_t i) {
  return i + 2 < s.size() && isHex(s[i + 1]) && isHex(s[i + 2]);
}

// Every byte is in `cls` (or alphanum/mark) or is a valid %HH escape.
static bool allUriChars(std::string_view s, std::uint16_t cls) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (!validEscapes(s, i)) return false;
      i += 2;
      continue;
    }
    if (!text::isUnreserved(c) && !is(c, cls)) return false;
  }
  return true;
}

std::string unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && isHex(s[i + 1]) && isHex(s[i + 2])) {
      out.push_back(static_cast<char>(text::hexValue(s[i + 1]) * 16 + text::hexValue(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string escape(std::string_view s, std::string_view allowed) {
  static constexpr char kHexDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (text::isUnreserved(c) || allowed.find(c) != std::string_view::npos) {
      out.push_back(c);
    } else {
      auto u = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kHexDigits[u >> 4]);
      out.push_back(kHexDigits[u & 15]);
    }
  }
  return out;
}

// ---------------------------------------------------------------- parsing

namespace {

// pname [ "=" pvalue ] *( ";" ... ), both 1*paramchar.
bool validUriParams(std::string_view s) {
  if (s.empty()) return false;
  std::size_t i = 0;
  while (i <= s.size()) {
    std::size_t semi = s.find(';', i);
    if (semi == std::string_view::npos) semi = s.size();
    std::string_view p = s.substr(i, semi - i);
    std::size_t eq = p.find('=');
    std::string_view name = p.substr(0, eq);
    if (name.empty() || !allUriChars(name, text::kParamUnres)) return false;
    if (eq != std::string_view::npos) {
      std::string_view value = p.substr(eq + 1);
      if (value.empty() || !allUriChars(value, text::kParamUnres)) return false;
    }
    i = semi + 1;
  }
  return true;
}

// hname "=" hvalue *( "&" hname "=" hvalue )
bool validUriHeaders(std::string_view s) {
  if (s.empty()) return false;
  std::size_t i = 0;
  while (i <= s.size()) {
    std::size_t amp = s.find('&', i);
    if (amp == std::string_view::npos) amp = s.size();
    std::string_view h = s.substr(i, amp - i);
    std::size_t eq = h.find('=');
    if (eq == std::string_view::npos || eq == 0) return false;
    if (!allUriChars(h.substr(0, eq), text::kHnvUnres)) return false;
    if (!allUriChars(h.substr(eq + 1), text::kHnvUnres)) return false;
    i = amp + 1;
  }
  return true;
}

bool isVisualSeparator(char c) {
  return c == '-' || c == '.' || c == '(' || c == ')';
}

// RFC 3966 par: ";" pname ["=" pvalue], pname = 1*(alphanum / "-").
bool validTelParams(std::string_view s) {
  std::size_t i = 0;
  while (i <= s.size()) {
    std::size_t semi = s.find(';', i);
    if (semi == std::string_view::npos) semi = s.size();
    std::string_view p = s.substr(i, semi - i);
    std::size_t eq = p.find('=');
    std::string_view name = p.substr(0, eq);
    if (name.empty()) return false;
    for (char c : name)
      if (!isAlnum(c) && c != '-') return false;
    if (eq != std::string_view::npos) {
      std::string_view value = p.substr(eq + 1);
      if (value.empty() || !allUriChars(value, text::kParamUnres)) return false;
    }
    i = semi + 1;
  }
  return true;
}

// global-number-digits or local-number-digits.
bool validTelNumber(std::string_view n) {
  if (n.empty()) return false;
  bool digit = false;
  if (n.front() == '+') {
    for (char c : n.substr(1)) {
      if (isDigit(c))
        digit = true;
      else if (!isVisualSeparator(c))
        return false;
    }
    return digit;
  }
  for (char c : n) {
    if (isHex(c) || c == '*' || c == '#')
      digit = true;
    else if (!isVisualSeparator(c))
      return false;
  }
  return digit;
}

bool parsePort(std::string_view digits, std::uint16_t& port) {
  if (digits.empty() || digits.size() > 5) return false;
  std::uint32_t v = 0;
  for (char c : digits) {
    if (!isDigit(c)) return false;
    v = v * 10 + static_cast<std::uint32_t>(c - '0');
  }
  if (v > 65535) return false;
  port = static_cast<std::uint16_t>(v);
  return true;
}

Result<Uri> parseTel(Uri& u, std::string_view body) {
  std::size_t semi = body.find(';');
  std::string_view number = body.substr(0, semi);
  if (!validTelNumber(number)) return ParseError::BadRequestUri;
  u.user = number;
  u.user_number = number;
  if (semi != std::string_view::npos) {
    std::string_view params = body.substr(semi + 1);
    if (!validTelParams(params)) return ParseError::BadRequestUri;
    u.params = Params(params, ';');
  }
  return u;
}

Result<Uri> parseSip(Uri& u, std::string_view body) {
  // '@' cannot appear unescaped after the host, so the first one ends the
  // userinfo (which may itself hold ';', '?', '/', ',').
  std::size_t at = body.find('@');
  std::string_view hostport = body;
  if (at != std::string_view::npos) {
    std::string_view userinfo = body.substr(0, at);
    std::size_t colon = userinfo.find(':');
    u.user = userinfo.substr(0, colon);
    if (u.user.empty() || !allUriChars(u.user, text::kUserUnres)) return ParseError::BadRequestUri;
    if (colon != std::string_view::npos) {
      u.has_password = true;
      u.password = userinfo.substr(colon + 1);
      if (!allUriChars(u.password, text::kPassUnres)) return ParseError::BadRequestUri;
    }
    std::size_t semi = u.user.find(';');
    u.user_number = u.user.substr(0, semi);
    if (semi != std::string_view::npos) u.user_params = Params(u.user.substr(semi + 1), ';');
    hostport = body.substr(at + 1);
  }
  std::size_t i = 0;
  if (!hostport.empty() && hostport[0] == '[') {
    std::size_t close = hostport.find(']');
    if (close == std::string_view::npos) return ParseError::BadRequestUri;
    u.host = hostport.substr(1, close - 1);
    if (!isValidIPv6(u.host)) return ParseError::BadRequestUri;
    u.host_type = HostType::IPv6;
    i = close + 1;
  } else {
    while (i < hostport.size() &&
           (isAlnum(hostport[i]) || hostport[i] == '.' || hostport[i] == '-'))
      ++i;
    u.host = hostport.substr(0, i);
    u.host_type = classifyHost(u.host);
    if (u.host_type == HostType::None) return ParseError::BadRequestUri;
  }
  if (i < hostport.size() && hostport[i] == ':') {
    std::size_t b = ++i;
    while (i < hostport.size() && isDigit(hostport[i])) ++i;
    if (!parsePort(hostport.substr(b, i - b), u.port)) return ParseError::BadRequestUri;
    u.has_port = true;
  }
  std::string_view rest = hostport.substr(i);
  std::size_t q = rest.find('?');
  std::string_view params = rest.substr(0, q);
  if (!params.empty()) {
    if (params[0] != ';' || !validUriParams(params.substr(1))) return ParseError::BadRequestUri;
    u.params = Params(params.substr(1), ';');
  }
  if (q != std::string_view::npos) {
    std::string_view headers = rest.substr(q + 1);
    if (!validUriHeaders(headers)) return ParseError::BadRequestUri;
    u.headers = Params(headers, '&');
  }
  return u;
}

bool validOpaque(std::string_view s) {
  if (s.empty()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (!validEscapes(s, i)) return false;
      i += 2;
      continue;
    }
    if (!text::isUnreserved(c) && !is(c, text::kReserved) && c != '[' && c != ']' && c != '#')
      return false;
  }
  return true;
}

}  // namespace

namespace {

Result<Uri> parseUriUncached(std::string_view s) {
  Uri u;
  u.text = s;
  std::size_t colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0 || !isAlpha(s[0]))
    return ParseError::BadRequestUri;
  u.scheme_text = s.substr(0, colon);
  for (char c : u.scheme_text)
    if (!isAlnum(c) && c != '+' && c != '-' && c != '.') return ParseError::BadRequestUri;
  std::string_view body = s.substr(colon + 1);
  if (text::iequals(u.scheme_text, "sip")) {
    u.scheme = UriScheme::Sip;
    return parseSip(u, body);
  }
  if (text::iequals(u.scheme_text, "sips")) {
    u.scheme = UriScheme::Sips;
    return parseSip(u, body);
  }
  if (text::iequals(u.scheme_text, "tel")) {
    u.scheme = UriScheme::Tel;
    return parseTel(u, body);
  }
  u.scheme = UriScheme::Other;
  if (!validOpaque(body)) return ParseError::BadRequestUri;
  u.opaque = body;
  return u;
}

}  // namespace

// URIs repeat (a leg's target, every name-addr's): the memo answers first,
// a miss takes the single-pass parser for the common shape.
Result<Uri> parseUri(std::string_view s) {
  return detail::memoized<Uri>(s, false, [](std::string_view t) -> Result<Uri> {
    Uri u;
    if (detail::fastUri(t, u)) return u;
    return parseUriUncached(t);
  });
}

Result<Uri> detail::parseUriFull(std::string_view s) {
  return parseUriUncached(s);
}

bool Uri::isPhone() const {
  if (scheme == UriScheme::Tel) return true;
  return isSip() && text::iequals(userParam(), "phone");
}

std::optional<std::string_view> Uri::rn() const {
  if (scheme == UriScheme::Tel) return params.get("rn");
  if (isSip()) return user_params.get("rn");
  return std::nullopt;
}

bool Uri::npdi() const {
  if (scheme == UriScheme::Tel) return params.has("npdi");
  if (isSip()) return user_params.has("npdi");
  return false;
}

// ---------------------------------------------------------------- equality

namespace {

bool iequalsUnescaped(std::string_view a, std::string_view b) {
  if (a.find('%') == std::string_view::npos && b.find('%') == std::string_view::npos)
    return text::iequals(a, b);
  return text::iequals(unescape(a), unescape(b));
}

bool equalsUnescaped(std::string_view a, std::string_view b) {
  if (a.find('%') == std::string_view::npos && b.find('%') == std::string_view::npos) return a == b;
  return unescape(a) == unescape(b);
}

struct NormParam {
  std::string name;  // unescaped, lower-case
  std::string value;
  bool has_value;
};

const NormParam* findNorm(const std::vector<NormParam>& v, std::string_view name) {
  for (const auto& p : v)
    if (p.name == name) return &p;
  return nullptr;
}

// Unescaped, lower-cased names; a repeated name keeps its first value (the
// one every lookup sees), so that comparison is consistent with lookups.
std::vector<NormParam> normalize(const Params& ps) {
  std::vector<NormParam> out;
  for (const Param& p : ps) {
    NormParam n{unescape(p.name), unescape(p.value), p.has_value};
    for (char& c : n.name) c = text::lower(c);
    if (findNorm(out, n.name) == nullptr) out.push_back(std::move(n));
  }
  return out;
}

bool sipParamsEqual(const Params& pa, const Params& pb) {
  auto a = normalize(pa);
  auto b = normalize(pb);
  static constexpr std::string_view kMustMatch[] = {"transport", "user", "ttl", "method", "maddr"};
  for (const auto& p : a) {
    if (const NormParam* q = findNorm(b, p.name)) {
      if (!text::iequals(p.value, q->value)) return false;
    }
  }
  for (std::string_view name : kMustMatch) {
    if ((findNorm(a, name) == nullptr) != (findNorm(b, name) == nullptr)) return false;
  }
  return true;
}

bool headersEqual(const Params& pa, const Params& pb) {
  auto a = normalize(pa);
  auto b = normalize(pb);
  if (a.size() != b.size()) return false;
  for (const auto& p : a) {
    const NormParam* q = findNorm(b, p.name);
    if (q == nullptr || !text::iequals(p.value, q->value)) return false;
  }
  return true;
}

std::string stripVisual(std::string_view s) {
  std::string out;
  for (char c : s)
    if (!isVisualSeparator(c)) out.push_back(text::lower(c));
  return out;
}

bool telEquals(const Uri& a, const Uri& b) {
  bool ga = !a.user.empty() && a.user[0] == '+';
  bool gb = !b.user.empty() && b.user[0] == '+';
  if (ga != gb || stripVisual(unescape(a.user)) != stripVisual(unescape(b.user))) return false;
  auto pa = normalize(a.params);
  auto pb = normalize(b.params);
  if (pa.size() != pb.size()) return false;
  for (const auto& p : pa) {
    const NormParam* q = findNorm(pb, p.name);
    if (q == nullptr || p.has_value != q->has_value) return false;
    bool numeric = !p.value.empty() && p.value[0] == '+';
    if (numeric ? stripVisual(p.value) != stripVisual(q->value) : !text::iequals(p.value, q->value))
      return false;
  }
  return true;
}

}  // namespace

bool uriEquals(const Uri& a, const Uri& b) {
  if (a.scheme != b.scheme) return false;
  switch (a.scheme) {
    case UriScheme::Tel:
      return telEquals(a, b);
    case UriScheme::Other:
      return text::iequals(a.scheme_text, b.scheme_text) && equalsUnescaped(a.opaque, b.opaque);
    case UriScheme::Sip:
    case UriScheme::Sips:
      break;
  }
  if (!equalsUnescaped(a.user, b.user)) return false;
  if (a.has_password != b.has_password || !equalsUnescaped(a.password, b.password)) return false;
  if (!iequalsUnescaped(a.host, b.host)) return false;
  if (a.has_port != b.has_port || a.port != b.port) return false;
  return sipParamsEqual(a.params, b.params) && headersEqual(a.headers, b.headers);
}

bool uriEquals(std::string_view a, std::string_view b) {
  auto ua = parseUri(a);
  auto ub = parseUri(b);
  return ua && ub && uriEquals(*ua, *ub);
}

}  // namespace sbc::sip

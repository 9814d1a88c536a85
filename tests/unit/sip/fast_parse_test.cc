// The single-pass parsers for the common shapes must give exactly what the
// full grammar gives (or step aside): every field, every view's position,
// every error. Checked on hand-picked values, on every Via / name-addr / URI
// in the RFC 4475 torture messages, and on many random mutations of them.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "sbc/sip/fast_parse.h"
#include "sbc/sip/headers.h"
#include "sbc/sip/message.h"
#include "sbc/sip/uri.h"

namespace sbc::sip {
namespace {

// Views are compared by position: both parsers slice the same text.
bool sameView(std::string_view a, std::string_view b) {
  return a.size() == b.size() && (a.empty() || a.data() == b.data());
}
bool sameParams(const Params& a, const Params& b) {
  return sameView(a.text(), b.text()) && (a.empty() || a.separator() == b.separator());
}

std::string describeDifference(const Uri& a, const Uri& b) {
  std::string d;
  auto v = [&](const char* n, std::string_view x, std::string_view y) {
    if (!sameView(x, y))
      d += std::string(n) + ": '" + std::string(x) + "' vs '" + std::string(y) + "' ";
  };
  if (a.scheme != b.scheme) d += "scheme ";
  v("text", a.text, b.text);
  v("scheme_text", a.scheme_text, b.scheme_text);
  v("user", a.user, b.user);
  v("user_number", a.user_number, b.user_number);
  if (!sameParams(a.user_params, b.user_params)) d += "user_params ";
  v("password", a.password, b.password);
  if (a.has_password != b.has_password) d += "has_password ";
  v("host", a.host, b.host);
  if (a.host_type != b.host_type) d += "host_type ";
  if (a.port != b.port || a.has_port != b.has_port) d += "port ";
  if (!sameParams(a.params, b.params)) d += "params ";
  if (!sameParams(a.headers, b.headers)) d += "headers ";
  v("opaque", a.opaque, b.opaque);
  return d;
}

std::string describeDifference(const Via& a, const Via& b) {
  std::string d;
  auto v = [&](const char* n, std::string_view x, std::string_view y) {
    if (!sameView(x, y))
      d += std::string(n) + ": '" + std::string(x) + "' vs '" + std::string(y) + "' ";
  };
  v("text", a.text, b.text);
  v("protocol_name", a.protocol_name, b.protocol_name);
  v("protocol_version", a.protocol_version, b.protocol_version);
  v("transport_text", a.transport_text, b.transport_text);
  if (a.transport != b.transport) d += "transport ";
  v("host", a.host, b.host);
  if (a.host_type != b.host_type) d += "host_type ";
  if (a.port != b.port || a.has_port != b.has_port) d += "port ";
  if (!sameParams(a.params, b.params)) d += "params ";
  v("branch", a.branch, b.branch);
  v("received", a.received, b.received);
  v("maddr", a.maddr, b.maddr);
  if (a.rport != b.rport || a.rport_value != b.rport_value) d += "rport ";
  if (a.ttl != b.ttl) d += "ttl ";
  return d;
}

std::string describeDifference(const NameAddr& a, const NameAddr& b) {
  std::string d;
  auto v = [&](const char* n, std::string_view x, std::string_view y) {
    if (!sameView(x, y))
      d += std::string(n) + ": '" + std::string(x) + "' vs '" + std::string(y) + "' ";
  };
  v("text", a.text, b.text);
  v("display_name", a.display_name, b.display_name);
  if (a.display_quoted != b.display_quoted) d += "display_quoted ";
  if (a.angle_brackets != b.angle_brackets) d += "angle_brackets ";
  if (!sameParams(a.params, b.params)) d += "params ";
  v("tag", a.tag, b.tag);
  std::string u = describeDifference(a.uri, b.uri);
  if (!u.empty()) d += "uri{" + u + "}";
  return d;
}

// Runs the public parser (fast path first) and the full one on the same
// text; returns a description of any difference ("" when identical).
template <class T>
std::string compare(const Result<T>& pub, const Result<T>& full) {
  if (pub.ok() != full.ok()) return pub.ok() ? "public accepts, full rejects" : "public rejects";
  if (!pub.ok()) return pub.error() == full.error() ? "" : "different errors";
  return describeDifference(*pub, *full);
}

struct Counts {
  int fast = 0;
  int total = 0;
};

std::string checkVia(const std::string& text, Counts* counts = nullptr) {
  if (counts != nullptr) {
    Via v;
    counts->fast += detail::fastVia(text, v) ? 1 : 0;
    ++counts->total;
  }
  return compare(parseVia(text), detail::parseViaFull(text));
}

std::string checkNameAddr(const std::string& text, bool addr_spec, Counts* counts = nullptr) {
  if (counts != nullptr) {
    NameAddr na;
    counts->fast += detail::fastNameAddr(text, addr_spec, na) ? 1 : 0;
    ++counts->total;
  }
  return compare(parseNameAddr(text, addr_spec), detail::parseNameAddrFull(text, addr_spec));
}

std::string checkUri(const std::string& text, Counts* counts = nullptr) {
  if (counts != nullptr) {
    Uri u;
    counts->fast += detail::fastUri(text, u) ? 1 : 0;
    ++counts->total;
  }
  return compare(parseUri(text), detail::parseUriFull(text));
}

const std::vector<std::string> kVias = {
    "SIP/2.0/UDP 10.0.0.5:5060;rport;branch=z9hG4bKPj5c1e0d2b-7c4f-4f3b-9a4e-1b2c3d4e5f60",
    "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK.abc;rport=5070;received=198.51.100.7",
    "SIP/2.0/TCP sbc.example.com;branch=z9hG4bK776asdhds",
    "SIP/2.0/TLS sbc.example.com:5061;branch=z9hG4bK1;maddr=239.1.1.1;ttl=16",
    "SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1;received=[2001:db8::1]",
    "SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1;received=2001:db8::1",
    "SIP/2.0/UDP [2001:db8::9]:5060;branch=z9hG4bK1",
    "SIP / 2.0 / UDP 10.0.0.1;branch=z9hG4bK1",
    "SIP/2.0/UDP 10.0.0.1 ; branch = z9hG4bK1",
    "SIP/2.0/UDP 10.0.0.1;branch=\"z9hG4bK1\"",
    "SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1;rport=0",
    "SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1;ttl=256",
    "SIP/2.0/UDP 10.0.0.1:65536;branch=z9hG4bK1",
    "SIP/2.0/UDP 10.0.0.1:;branch=z9hG4bK1",
    "SIP/2.0/UDP 10.0.0.256;branch=z9hG4bK1",
    "SIP/2.0/UDP host-.example.com;branch=z9hG4bK1",
    "SIP/2.0/UDP 10.0.0.1;branch=",
    "SIP/2.0/UDP 10.0.0.1;",
    "SIP/2.0/UDP 10.0.0.1;;branch=x",
    "SIP/2.0/UDP 10.0.0.1;branch=x ",
    " SIP/2.0/UDP 10.0.0.1;branch=x",
    "SIP/2.0/UDP\t10.0.0.1;branch=x",
    "SIP/2.0/UDP  10.0.0.1;branch=x;x-flag;x-v=a:b[c]",
    "SIP/2.0/UDP\r\n 10.0.0.1;branch=x",
    "SIP/2.0/UDP 10.0.0.1;branch=x, SIP/2.0/UDP 10.0.0.2",
    "SIP/2.0/UDP10.0.0.1;branch=x",
    "SIP/2.0/UNKNOWN 10.0.0.1;branch=x",
    "SIP/2.0/udp 10.0.0.1;BRANCH=z9hG4bK1;RPORT",
    "SIP/2.0/UDP 10.0.0.1;maddr=;branch=x",
    "SIP/2.0/UDP 10.0.0.1;received=host.example.com",
    "",
    "SIP/2.0/",
};

const std::vector<std::string> kNameAddrs = {
    "\"Reception Desk\" <sip:100@10.0.0.5>;tag=1f0e9d8c-7b6a-4958-8f7e-6d5c4b3a2910",
    "<sip:+15551234567@carrier.example.com>",
    "<sip:+15551234567;npdi;rn=+15559990000@carrier.example.com;user=phone>;tag=abc",
    "Alice Smith <sip:alice@example.com:5070;transport=tcp;lr>;tag=x;expires=60",
    "sip:alice@example.com;tag=88sja8x",
    "sip:alice@example.com?subject=x",
    "sip:alice@example.com,sip:bob@example.com",
    "sip:alice@example.com ;tag=1",
    "<sip:alice@example.com> ;tag=1",
    "<sip:alice@example.com>;tag=\"q\"",
    "<sip:alice@example.com>;tag=",
    "<sip:alice@example.com>;tag",
    "<sip:alice@example.com",
    "\"Esc \\\"aped\\\"\" <sip:a@b.example>",
    "\"Unterminated <sip:a@b.example>",
    "\"\" <sip:a@b.example>",
    "\"Tab\tin\" <sip:a@b.example>",
    "Bob\t<sip:bob@192.0.2.4>",
    "Bob <tel:+1-555-0100>;tag=9",
    "<sips:bob@[2001:db8::1]:5061>",
    "<sip:bob:secret@example.com>",
    "<sip:b%6Fb@example.com>",
    "<sip:bob@example.com;maddr=239.1.1.1?Subject=hi&x=y>",
    "<urn:service:sos>",
    "<SIP:bob@example.com>",
    "<sip:@example.com>",
    "<sip:bob@>",
    "<sip:bob@example.com;>",
    "<sip:bob@example.com;a==b>",
    "<sip:bob@example.com:99999>",
    "<sip:bob@example.com:05060>",
    "<sip:bob@host_name>",
    "A B C <sip:abc@example.com>",
    "A  B\r\n C <sip:abc@example.com>",
    "<sip:a@b.example>;tag=1;tag=2",
    "\xc3\xa9t\xc3\xa9 <sip:a@b.example>",
    "\"\xc3\xa9t\xc3\xa9\" <sip:a@b.example>",
    "<sip:a@b.example>x",
    ";tag=1",
    "",
};

const std::vector<std::string> kUris = {
    "sip:+15551234567@carrier.example.com:5060",
    "sip:carrier.example.com",
    "sips:alice@example.com;transport=tls",
    "sip:alice;day=tuesday@example.com",
    "sip:+15551234567;npdi;rn=+15559990000@10.0.0.1;user=phone",
    "sip:alice@example.com;lr;maddr=10.0.0.1;x-y=[a:b]/c&d+e$f",
    "sip:alice@example.com;",
    "sip:alice@example.com;=x",
    "sip:alice@example.com;x=",
    "sip:alice@example.com;x=y=z",
    "sip:alice@example.com?x=y",
    "sip:alice@exa%6Dple.com",
    "sip:al%69ce@example.com",
    "sip:alice:pw@example.com",
    "sip:@example.com",
    "sip:example.com:",
    "sip:example.com:123456",
    "sip:[::1]:5060",
    "sip:10.0.0.1.5",
    "sip:1.2.3.4",
    "sip:host;a@b",
    "sip:a@b@c",
    "sip:",
    "sips:",
    "sip",
    "tel:+1-555-0100;phone-context=example.com",
    "urn:service:sos",
    "SIP:alice@example.com",
    "sip:alice@example.com:5060;transport=udp;lr",
};

TEST(FastParse, HandPickedViasMatchTheFullGrammar) {
  Counts c;
  for (const auto& v : kVias) EXPECT_EQ(checkVia(v, &c), "") << v;
  // The everyday shapes must actually take the fast path.
  EXPECT_GE(c.fast, 8);
}

TEST(FastParse, HandPickedNameAddrsMatchTheFullGrammar) {
  Counts c;
  for (const auto& v : kNameAddrs) {
    EXPECT_EQ(checkNameAddr(v, true, &c), "") << v;
    EXPECT_EQ(checkNameAddr(v, false), "") << v << " (no addr-spec)";
  }
  EXPECT_GE(c.fast, 8);
}

TEST(FastParse, HandPickedUrisMatchTheFullGrammar) {
  Counts c;
  for (const auto& v : kUris) EXPECT_EQ(checkUri(v, &c), "") << v;
  EXPECT_GE(c.fast, 8);
}

TEST(FastParse, TheCommonShapesTakeTheFastPath) {
  Via v;
  EXPECT_TRUE(detail::fastVia(kVias[0], v));
  EXPECT_EQ(v.branch, "z9hG4bKPj5c1e0d2b-7c4f-4f3b-9a4e-1b2c3d4e5f60");
  EXPECT_TRUE(v.rport);
  EXPECT_EQ(v.port, 5060);
  NameAddr na;
  EXPECT_TRUE(detail::fastNameAddr(kNameAddrs[0], true, na));
  EXPECT_EQ(na.display_name, "Reception Desk");
  EXPECT_EQ(na.uri.user, "100");
  EXPECT_EQ(na.tag, "1f0e9d8c-7b6a-4958-8f7e-6d5c4b3a2910");
  Uri u;
  EXPECT_TRUE(detail::fastUri(kUris[4], u));
  EXPECT_EQ(u.rn(), "+15559990000");
  EXPECT_TRUE(u.npdi());
  // Shapes left to the full grammar.
  EXPECT_FALSE(detail::fastVia("SIP/2.0/UDP [::1];branch=z9hG4bK1", v));
  EXPECT_FALSE(detail::fastNameAddr("\"a\\\"b\" <sip:x@y.example>", true, na));
  EXPECT_FALSE(detail::fastUri("sip:al%69ce@example.com", u));
}

// Every Via, name-addr and Request-URI of the RFC 4475 torture messages.
struct Corpus {
  std::vector<std::string> vias, name_addrs, uris;
};

Corpus torture() {
  Corpus c;
  const std::filesystem::path dir = std::filesystem::path(SBC_FIXTURES_DIR) / "rfc4475";
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::string msg((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::size_t eol = msg.find("\r\n");
    if (eol == std::string::npos) continue;
    std::string line = msg.substr(0, eol);
    if (auto a = line.find(' '), b = line.rfind(' '); a != std::string::npos && b > a)
      c.uris.push_back(line.substr(a + 1, b - a - 1));
    std::size_t pos = eol + 2;
    while (pos < msg.size()) {
      std::size_t end = msg.find("\r\n", pos);
      if (end == std::string::npos || end == pos) break;
      // Unfold continuation lines into the header line.
      while (end + 2 < msg.size() && (msg[end + 2] == ' ' || msg[end + 2] == '\t')) {
        std::size_t next = msg.find("\r\n", end + 2);
        if (next == std::string::npos) break;
        end = next;
      }
      std::string field = msg.substr(pos, end - pos);
      pos = end + 2;
      std::size_t colon = field.find(':');
      if (colon == std::string::npos) continue;
      HeaderId id = headerIdFromName(trimLws(std::string_view(field).substr(0, colon)));
      std::string_view value = trimLws(std::string_view(field).substr(colon + 1));
      ListSplitter split(value);
      std::string_view el;
      while (split.next(el)) {
        if (id == HeaderId::Via) c.vias.emplace_back(el);
        if (id == HeaderId::From || id == HeaderId::To || id == HeaderId::Contact ||
            id == HeaderId::Route || id == HeaderId::RecordRoute)
          c.name_addrs.emplace_back(el);
      }
    }
  }
  return c;
}

TEST(FastParse, TortureMessageValuesMatchTheFullGrammar) {
  Corpus c = torture();
  ASSERT_GT(c.vias.size(), 20U);
  ASSERT_GT(c.name_addrs.size(), 40U);
  for (const auto& v : c.vias) EXPECT_EQ(checkVia(v), "") << v;
  for (const auto& v : c.name_addrs) {
    EXPECT_EQ(checkNameAddr(v, true), "") << v;
    EXPECT_EQ(checkNameAddr(v, false), "") << v;
  }
  for (const auto& v : c.uris) EXPECT_EQ(checkUri(v), "") << v;
}

// Random edits of valid values probe every boundary of the fast shapes.
std::string mutate(const std::string& base, std::mt19937& rng) {
  static const std::string kChars = "aZ09.-_:;=@<>\"\\[]?&,+%/ \t\r\n!~*'()$#\x7f\xc3";
  std::string s = base;
  const int edits = 1 + static_cast<int>(rng() % 3);
  for (int e = 0; e < edits; ++e) {
    const std::size_t at = s.empty() ? 0 : rng() % (s.size() + 1);
    const char c = kChars[rng() % kChars.size()];
    switch (rng() % 3) {
      case 0:
        if (at < s.size()) s[at] = c;
        break;
      case 1:
        s.insert(s.begin() + static_cast<std::ptrdiff_t>(at), c);
        break;
      default:
        if (at < s.size()) s.erase(at, 1);
        break;
    }
  }
  return s;
}

TEST(FastParse, MutatedValuesMatchTheFullGrammar) {
  std::mt19937 rng(20261126);
  constexpr int kPerValue = 3000;
  int failures = 0;
  for (const auto& base : kVias) {
    for (int i = 0; i < kPerValue && failures < 10; ++i) {
      std::string m = mutate(base, rng);
      std::string d = checkVia(m);
      if (!d.empty()) ++failures;
      EXPECT_EQ(d, "") << "via: " << m;
    }
  }
  for (const auto& base : kNameAddrs) {
    for (int i = 0; i < kPerValue && failures < 10; ++i) {
      std::string m = mutate(base, rng);
      std::string d = checkNameAddr(m, (i & 1) == 0);
      if (!d.empty()) ++failures;
      EXPECT_EQ(d, "") << "name-addr: " << m;
    }
  }
  for (const auto& base : kUris) {
    for (int i = 0; i < kPerValue && failures < 10; ++i) {
      std::string m = mutate(base, rng);
      std::string d = checkUri(m);
      if (!d.empty()) ++failures;
      EXPECT_EQ(d, "") << "uri: " << m;
    }
  }
}

// The accessor's view of a failure is its own error code (BadVia, BadTo):
// compare values, and only whether both fail.
template <class T>
std::string compareAccessor(const Result<const T&>& r, const Result<T>& full) {
  if (!r.ok() && !full.ok()) return "";
  if (!r.ok()) return "accessor rejects";
  return compare(Result<T>(*r), full);
}

// Builders that seed the parse of what they add (Message::addVia, the tagged
// To of makeResponse) must give exactly what parsing the added text gives.
TEST(SeededParse, AddViaEqualsParsingItsText) {
  struct Case {
    std::string_view transport, host;
    std::uint16_t port;
    std::string_view branch;
    bool rport;
  };
  const std::vector<Case> cases = {
      {"UDP", "192.0.2.10", 5060, "z9hG4bKsbc1a2b3c4d5e6f7a8b", true},
      {"TCP", "sbc.example.com", 5080, "z9hG4bK-x.y!z", false},
      {"TLS", "edge-1.example.net", 65535, "z9hG4bK0", true},
      {"udp", "10.0.0.1", 1, "abc", true},  // lower-case transport, RFC 2543 branch
      {"SCTP", "h", 5060, "z9hG4bKq", false},
      {"UDP", "2001:db8::1", 5060, "z9hG4bKv6", true},  // IPv6: parsed on access
      {"UDP", "bad host", 5060, "z9hG4bKsp", true},     // not a host: parsed (fails)
      {"UDP", "10.0.0.1", 5060, "z9hG4bK\"q", true},    // not a token: parsed (fails)
      {"XYZ", "10.0.0.1", 5060, "z9hG4bKo", true},      // unknown transport
  };
  for (const Case& c : cases) {
    auto created = Message::createRequest(Method::Invite, "sip:+15551234567@10.0.0.2");
    ASSERT_TRUE(created.ok());
    Message m = std::move(created).value();
    m.addVia(c.transport, c.host, c.port, c.branch, c.rport);
    const HeaderField* f = m.header(HeaderId::Via);
    ASSERT_NE(f, nullptr);
    Message plain = Message::createRequest(Method::Invite, "sip:x@10.0.0.2").value();
    plain.addHeader(HeaderId::Via, f->value);
    EXPECT_EQ(f->value, plain.header(HeaderId::Via)->value);
    EXPECT_EQ(compareAccessor(m.topVia(), detail::parseViaFull(f->value)), "") << f->value;
    if (m.topVia().ok()) EXPECT_EQ(m.topVia()->text.data(), f->value.data());
  }
  // A second Via goes after the first and leaves the top one's parse alone.
  Message m = Message::createRequest(Method::Bye, "sip:a@10.0.0.2").value();
  m.addVia("UDP", "10.0.0.1", 5060, "z9hG4bKfirst", true);
  m.addVia("UDP", "10.0.0.9", 5062, "z9hG4bKsecond", false);
  ASSERT_TRUE(m.topVia().ok());
  EXPECT_EQ(m.topVia()->branch, "z9hG4bKfirst");
  ASSERT_TRUE(m.vias().ok());
  ASSERT_EQ(m.vias()->size(), 2U);
  EXPECT_EQ((*m.vias())[1].branch, "z9hG4bKsecond");
  EXPECT_NE(m.serialize().find("Via: SIP/2.0/UDP 10.0.0.9:5062;branch=z9hG4bKsecond\r\n"),
            std::string::npos);
  // A later mutation of Via drops the seeded parse.
  m.removeFirstValue(HeaderId::Via);
  ASSERT_TRUE(m.topVia().ok());
  EXPECT_EQ(m.topVia()->branch, "z9hG4bKsecond");
}

TEST(SeededParse, TaggedToOfMakeResponseEqualsParsingItsText) {
  const std::vector<std::string> tos = {
      "<sip:+15551234567@10.0.0.2>",
      "<sip:bob@biloxi.example.com;user=phone>;foo=bar",
      "\"Bob B.\" <sips:bob@[2001:db8::9]:5061;transport=tls>",
      "Bob <sip:bob@biloxi.example.com>;x=\"quoted;value\";flag",
      "sip:bob@biloxi.example.com",
      "sip:bob@biloxi.example.com;foo=bar",
      "tel:+15551234567",
      "<tel:+15551234567;phone-context=example.com>",
      "<urn:service:sos>",
      "  <sip:spaces@example.com>  ",
  };
  for (const std::string& to : tos) {
    std::string text =
        "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds\r\n"
        "Max-Forwards: 70\r\nTo: " +
        to +
        "\r\nFrom: <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
        "Call-ID: a84b4c76e66710\r\nCSeq: 314159 INVITE\r\n"
        "Content-Length: 0\r\n\r\n";
    ParseResult parsed = parseDatagram(text);
    ASSERT_TRUE(parsed.ok()) << to;
    for (std::string_view tag : {std::string_view("as8d7f6g5h"), std::string_view("a b")}) {
      Message r = makeResponse(*parsed.message, 200, {}, tag);
      const HeaderField* f = r.header(HeaderId::To);
      ASSERT_NE(f, nullptr);
      EXPECT_EQ(compareAccessor(r.to(), detail::parseNameAddrFull(f->value, true)), "") << f->value;
      if (tag == "as8d7f6g5h") {
        ASSERT_TRUE(r.to().ok()) << f->value;
        EXPECT_EQ(r.to()->tag, tag);
      }
    }
  }
}

// What the builders seed into the per-thread memo is what parsing gives: a
// later parse of the same text (another buffer, as a response carrying our
// Via back) answers from the memo with views on its own text.
TEST(SeededParse, SeededMemoEntriesEqualParsing) {
  Message m = Message::createRequest(Method::Invite, "sip:a@10.0.0.2").value();
  m.addVia("UDP", "192.0.2.10", 5060, "z9hG4bKseedmemo1", true);
  const std::string via_text(m.header(HeaderId::Via)->value);
  EXPECT_EQ(compare(parseVia(via_text), detail::parseViaFull(via_text)), "") << via_text;

  ParseResult req = parseDatagram(
      "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
      "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKseedmemo2\r\n"
      "To: \"Bob\" <sip:bob@biloxi.example.com;user=phone>;x=1\r\n"
      "From: <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
      "Call-ID: seedmemo@h\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n\r\n");
  ASSERT_TRUE(req.ok());
  Message r = makeResponse(*req.message, 200, {}, "seedmemotag");
  const std::string to_text(r.header(HeaderId::To)->value);
  for (bool allow_addr_spec : {true, false}) {
    EXPECT_EQ(compare(parseNameAddr(to_text, allow_addr_spec),
                      detail::parseNameAddrFull(to_text, allow_addr_spec)),
              "")
        << to_text;
  }
}

// Message::replaceFirstValue (the received/rport stamp of the transaction
// layer) gives the Vias a re-parse of the result gives, and the same wire
// as removeFirstValue + prependHeader up to where a lone value stands.
TEST(SeededParse, ReplaceFirstValueKeepsViasCurrent) {
  const std::vector<std::string> starts = {
      "Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK-1;rport\r\n",
      "v: SIP/2.0/UDP 10.0.0.5;branch=z9hG4bK-1, SIP/2.0/TCP 10.0.0.4;branch=z9hG4bK-0\r\n",
      std::string("Via: SIP/2.0/UDP 10.0.0.5;branch=z9hG4bK-1\r\n") +
          "Via: SIP/2.0/TCP 10.0.0.4;branch=z9hG4bK-0, SIP/2.0/UDP 10.0.0.3;branch=z9hG4bK-x\r\n",
      "Via: SIP/2.0/UDP 10.0.0.5;branch=z9hG4bK-1, bad via\r\n",
      "Via: , SIP/2.0/UDP 10.0.0.5;branch=z9hG4bK-1\r\n",  // an empty first element
  };
  const std::vector<std::string> values = {
      "SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK-1;received=192.0.2.7;rport=5099",
      "SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bK-1;received=2001:db8::7",
      "SIP/2.0/UDP 10.0.0.5 ; branch = z9hG4bK-1 ; rport",
      "SIP/2.0/UDP 10.0.0.5;branch=a, SIP/2.0/UDP 10.0.0.6;branch=b",
      "not a via",
      "SIP/2.0/UDP 10.0.0.5;branch=x\r\nX-Injected: 1",
  };
  for (const std::string& start : starts) {
    for (const std::string& value : values) {
      for (bool read_first : {true, false}) {
        std::string text = "OPTIONS sip:a@h SIP/2.0\r\n" + start +
                           "From: <sip:a@h>;tag=1\r\nTo: <sip:b@h>\r\n"
                           "Call-ID: c\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n\r\n";
        ParseResult p = parseDatagram(text);
        ASSERT_TRUE(p.message.has_value()) << start;
        Message m = std::move(*p.message);
        Message old = m;
        if (read_first) {
          (void)m.vias();
          (void)m.topVia();
        }
        ASSERT_TRUE(m.replaceFirstValue(HeaderId::Via, value));
        old.removeFirstValue(HeaderId::Via);
        old.prependHeader(HeaderId::Via, value);
        const std::string wire = m.serialize();
        std::string ctx = start;
        ctx.append(" <- ").append(value).append(read_first ? " (read)" : "");
        EXPECT_EQ(wire.find("\r\nX-Injected"), std::string::npos) << ctx;
        ParseResult again = parseDatagram(wire);
        if (!again.message.has_value()) {  // no usable top Via any more
          EXPECT_FALSE(m.topVia().ok()) << ctx;
          continue;
        }
        const Message& fresh = *again.message;
        // Same Via values, in the same order, as the old two-step edit.
        std::vector<std::string_view> got;
        std::vector<std::string_view> want;
        for (const HeaderField& h : m.headers())
          if (h.id == HeaderId::Via) got.push_back(h.value);
        for (const HeaderField& h : old.headers())
          if (h.id == HeaderId::Via) want.push_back(h.value);
        EXPECT_EQ(got, want) << ctx;
        EXPECT_EQ(m.headers().size(), old.headers().size()) << ctx;
        // The accessors answer what parsing the resulting text answers.
        ASSERT_EQ(m.vias().ok(), fresh.vias().ok()) << ctx;
        if (m.vias().ok()) {
          ASSERT_EQ(m.vias()->size(), fresh.vias()->size()) << ctx;
          for (std::size_t i = 0; i < m.vias()->size(); ++i) {
            const Via& a = (*m.vias())[i];
            EXPECT_EQ(compare(Result<Via>(a), detail::parseViaFull(a.text)), "") << ctx;
            EXPECT_EQ(a.text, (*fresh.vias())[i].text) << ctx;
            EXPECT_EQ(a.branch, (*fresh.vias())[i].branch) << ctx;
            EXPECT_EQ(a.received, (*fresh.vias())[i].received) << ctx;
          }
        }
        ASSERT_EQ(m.topVia().ok(), fresh.topVia().ok()) << ctx;
        if (m.topVia().ok()) {
          EXPECT_EQ(m.topVia()->text, fresh.topVia()->text) << ctx;
          EXPECT_EQ(compare(Result<Via>(*m.topVia()), detail::parseViaFull(m.topVia()->text)), "")
              << ctx;
        }
      }
    }
  }
  Message none = Message::createRequest(Method::Options, "sip:a@h").value();
  EXPECT_FALSE(none.replaceFirstValue(HeaderId::Via, "SIP/2.0/UDP h;branch=z9hG4bKx"));
  EXPECT_FALSE(none.replaceFirstValue(HeaderId::Other, "x"));
}

}  // namespace
}  // namespace sbc::sip

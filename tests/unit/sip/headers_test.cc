#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "sbc/sip/headers.h"

namespace sbc::sip {
namespace {

TEST(HeaderNames, CompactFormsMapToTheSameIds) {
  struct Case {
    const char* compact;
    HeaderId id;
  } cases[] = {
      {"i", HeaderId::CallId},
      {"m", HeaderId::Contact},
      {"e", HeaderId::ContentEncoding},
      {"l", HeaderId::ContentLength},
      {"c", HeaderId::ContentType},
      {"f", HeaderId::From},
      {"t", HeaderId::To},
      {"v", HeaderId::Via},
      {"s", HeaderId::Subject},
      {"k", HeaderId::Supported},
      {"o", HeaderId::Event},
      {"u", HeaderId::AllowEvents},
      {"r", HeaderId::ReferTo},
      {"b", HeaderId::ReferredBy},
      {"x", HeaderId::SessionExpires},
      {"y", HeaderId::Identity},
      {"a", HeaderId::AcceptContact},
      {"j", HeaderId::RejectContact},
      {"d", HeaderId::RequestDisposition},
      {"n", HeaderId::IdentityInfo},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(headerIdFromName(c.compact), c.id) << c.compact;
    std::string upper(1, static_cast<char>(c.compact[0] - 32));
    EXPECT_EQ(headerIdFromName(upper), c.id) << upper;
    EXPECT_EQ(headerIdFromName(headerName(c.id)), c.id);
  }
  EXPECT_EQ(headerIdFromName("z"), HeaderId::Other);
}

TEST(HeaderNames, CaseInsensitiveLongForms) {
  EXPECT_EQ(headerIdFromName("cALL-iD"), HeaderId::CallId);
  EXPECT_EQ(headerIdFromName("MAX-FORWARDS"), HeaderId::MaxForwards);
  EXPECT_EQ(headerIdFromName("p-asserted-identity"), HeaderId::PAssertedIdentity);
  EXPECT_EQ(headerIdFromName("www-authenticate"), HeaderId::WWWAuthenticate);
  EXPECT_EQ(headerIdFromName("X-Custom"), HeaderId::Other);
  EXPECT_EQ(headerIdFromName("Call-ID2"), HeaderId::Other);
  EXPECT_EQ(headerIdFromName(""), HeaderId::Other);
  EXPECT_EQ(headerIdFromName("C%6Fntact"), HeaderId::Other);
  EXPECT_EQ(headerName(HeaderId::CallId), "Call-ID");
  EXPECT_EQ(headerName(HeaderId::CSeq), "CSeq");
  EXPECT_EQ(headerName(HeaderId::Other), "");
  // Every id has a name and round-trips.
  for (int i = 1; i < static_cast<int>(HeaderId::kCount); ++i) {
    auto id = static_cast<HeaderId>(i);
    EXPECT_FALSE(headerName(id).empty()) << i;
    EXPECT_EQ(headerIdFromName(headerName(id)), id) << headerName(id);
  }
  EXPECT_TRUE(isListHeader(HeaderId::Via));
  EXPECT_TRUE(isListHeader(HeaderId::Supported));
  EXPECT_FALSE(isListHeader(HeaderId::From));
  EXPECT_FALSE(isListHeader(HeaderId::Authorization));
}

TEST(Methods, CaseSensitive) {
  EXPECT_EQ(methodFromString("INVITE"), Method::Invite);
  EXPECT_EQ(methodFromString("PRACK"), Method::Prack);
  EXPECT_EQ(methodFromString("invite"), Method::Unknown);
  EXPECT_EQ(methodFromString("RE%47IST%45R"), Method::Unknown);
  EXPECT_EQ(methodName(Method::Subscribe), "SUBSCRIBE");
  for (int i = 1; i <= static_cast<int>(Method::Publish); ++i)
    EXPECT_EQ(methodFromString(methodName(static_cast<Method>(i))), static_cast<Method>(i));
}

std::vector<std::string> split(std::string_view v, bool* error = nullptr) {
  ListSplitter sp(v);
  std::vector<std::string> out;
  std::string_view el;
  while (sp.next(el)) out.emplace_back(el);
  if (error) *error = sp.error();
  return out;
}

TEST(ListSplitter, RespectsQuotesAndAngles) {
  EXPECT_EQ(split(R"(a, "b,\"c" <sip:x,y@h>;p=1 ,d)"),
            (std::vector<std::string>{"a", R"("b,\"c" <sip:x,y@h>;p=1)", "d"}));
  EXPECT_EQ(split(" INVITE,ACK ,\r\n BYE"), (std::vector<std::string>{"INVITE", "ACK", "BYE"}));
  EXPECT_EQ(split(""), std::vector<std::string>{});
  bool error = false;
  split("\"unterminated, x", &error);
  EXPECT_TRUE(error);
  split("<sip:a@b, c", &error);
  EXPECT_TRUE(error);
}

TEST(Via, AllParams) {
  auto v = parseVia(
      "SIP/2.0/TLS "
      "[2001:db8::1]:5061;branch=z9hG4bKabc;rport;received=192.0.2.1;maddr=224.2.0.1;ttl=16;x=y");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->protocol_name, "SIP");
  EXPECT_EQ(v->protocol_version, "2.0");
  EXPECT_EQ(v->transport, TransportProto::Tls);
  EXPECT_EQ(v->host, "2001:db8::1");
  EXPECT_EQ(v->host_type, HostType::IPv6);
  EXPECT_EQ(v->port, 5061);
  EXPECT_EQ(v->branch, "z9hG4bKabc");
  EXPECT_TRUE(v->hasRfc3261Branch());
  EXPECT_TRUE(v->rport);
  EXPECT_EQ(v->rport_value, 0);
  EXPECT_EQ(v->received, "192.0.2.1");
  EXPECT_EQ(v->maddr, "224.2.0.1");
  EXPECT_EQ(v->ttl, 16);
  EXPECT_EQ(v->params.get("x").value_or(""), "y");
  EXPECT_EQ(v->params.size(), 6u);

  auto r = parseVia("SIP/2.0/UDP 10.0.0.1;rport=5062;received=2001:db8::9;branch=z9hG4bK1");
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->has_port);
  EXPECT_EQ(r->rport_value, 5062);
  EXPECT_EQ(r->received, "2001:db8::9");
  EXPECT_EQ(r->ttl, -1);
  EXPECT_EQ(parseVia("SIP/2.0/WSS h.example.com;branch=z9hG4bKx")->transport, TransportProto::Wss);
}

TEST(Via, RejectsMalformed) {
  for (std::string_view bad :
       {"", "SIP/2.0/UDP", "SIP/2.0 UDP host", "SIP/2.0/UDP host:0x", "SIP/2.0/UDP host:70000",
        "SIP/2.0/UDPhost", "SIP/2.0/UDP host;", "SIP/2.0/UDP host;branch",
        "SIP/2.0/UDP host;branch=", "SIP/2.0/UDP host;rport=0", "SIP/2.0/UDP host;ttl=256",
        "SIP/2.0/UDP host;received=example.com", "SIP/2.0/UDP host;;x", "SIP/2.0/UDP host junk",
        "SIP/2.0/UDP [::1"}) {
    EXPECT_FALSE(parseVia(bad).ok()) << bad;
  }
}

TEST(NameAddr, Forms) {
  auto a = parseNameAddr(R"("Alice \"A\" Smith" <sip:alice@example.com;transport=tcp>;tag=abc;x)");
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->display_quoted);
  EXPECT_EQ(a->displayName(), "Alice \"A\" Smith");
  EXPECT_TRUE(a->angle_brackets);
  EXPECT_EQ(a->uri.transport(), "tcp");
  EXPECT_EQ(a->tag, "abc");
  EXPECT_TRUE(a->params.has("x"));

  auto b = parseNameAddr("Bob  Jones <sip:bob@example.com>");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->displayName(), "Bob Jones");

  // addr-spec: params after ';' belong to the header, not the URI.
  auto c = parseNameAddr("sip:carol@example.com;tag=t1;transport=udp");
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->angle_brackets);
  EXPECT_EQ(c->uri.text, "sip:carol@example.com");
  EXPECT_TRUE(c->uri.params.empty());
  EXPECT_EQ(c->tag, "t1");
  EXPECT_EQ(c->params.get("transport").value_or(""), "udp");

  auto d = parseNameAddr("<tel:+15551234;npdi>;tag=1");
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->uri.npdi());
  EXPECT_EQ(d->displayName(), "");
}

TEST(NameAddr, RejectsMalformed) {
  for (std::string_view bad :
       {"", "<sip:a@b", "\"unterminated <sip:a@b>", "< sip:a@b>", "<sip:a@b >", "sip:a b@c",
        "Bell, Alexander <sip:a@b>", "sip:a@b?x=y", "sip:a@b, sip:c@d", "<sip:a@b>;",
        "<sip:a@b>;;x", "<sip:a@b> junk", "<sip:a@b>;tag=", "<sip:a@b>;tag=\"q\"",
        "\"x\" sip:a@b"}) {
    EXPECT_FALSE(parseNameAddr(bad).ok()) << bad;
  }
  EXPECT_FALSE(parseNameAddr("sip:a@b", /*allow_addr_spec=*/false).ok());
  EXPECT_TRUE(parseNameAddr("<sip:a@b;lr>", false).ok());
}

TEST(CSeq, Parse) {
  auto c = parseCSeq("  101 \r\n INVITE ");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->number, 101u);
  EXPECT_EQ(c->method, Method::Invite);
  EXPECT_EQ(parseCSeq("2147483647 ACK")->number, 2147483647u);
  EXPECT_EQ(parseCSeq("1 FOO")->method, Method::Unknown);
  for (std::string_view bad :
       {"2147483648 ACK", "-1 INVITE", "1INVITE", "1 INVITE x", "INVITE", "1", ""})
    EXPECT_EQ(parseCSeq(bad).error(), ParseError::BadCSeq) << bad;
}

TEST(CallId, Parse) {
  EXPECT_EQ(parseCallId(" abc@def ").valueOr({}), "abc@def");
  EXPECT_EQ(parseCallId("a1b2c3").valueOr({}), "a1b2c3");
  for (std::string_view bad : {"", "a@b@c", "@b", "a@", "a b", "a;b"})
    EXPECT_FALSE(parseCallId(bad).ok()) << bad;
}

TEST(MediaType, ParseAndMatch) {
  auto m = parseMediaType("Application/SDP ; charset=utf-8");
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->is("application", "sdp"));
  EXPECT_EQ(m->params.get("charset").value_or(""), "utf-8");
  auto q = parseMediaType("multipart/mixed;boundary=\"a b\"");
  ASSERT_TRUE(q);
  EXPECT_EQ(q->params.get("boundary").value_or(""), "a b");
  EXPECT_TRUE(parseMediaType("*/*")->admits("application", "sdp"));
  EXPECT_TRUE(parseMediaType("application/*")->admits("application", "sdp"));
  EXPECT_FALSE(parseMediaType("text/*")->admits("application", "sdp"));
  for (std::string_view bad : {"application", "application/", "/sdp", "a/b;", "a/b c"})
    EXPECT_FALSE(parseMediaType(bad).ok()) << bad;
}

TEST(SessionTimers, SessionExpiresAndMinSE) {
  auto se = parseSessionExpires("1800;refresher=uac");
  ASSERT_TRUE(se);
  EXPECT_EQ(se->delta, 1800u);
  EXPECT_EQ(se->refresher, Refresher::Uac);
  EXPECT_EQ(parseSessionExpires(" 90 ")->refresher, Refresher::None);
  EXPECT_EQ(parseSessionExpires("90;refresher=UAS")->refresher, Refresher::Uas);
  EXPECT_FALSE(parseSessionExpires("abc").ok());
  EXPECT_FALSE(parseSessionExpires("1800;refresher=foo").ok());
  EXPECT_FALSE(parseSessionExpires("99999999999").ok());
  EXPECT_EQ(parseMinSE("90")->delta, 90u);
  EXPECT_FALSE(parseMinSE("").ok());
}

TEST(ReasonHeader, Parse) {
  auto r = parseReason("Q.850;cause=16;text=\"Normal call clearing\"");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->protocol, "Q.850");
  EXPECT_EQ(r->cause, 16);
  EXPECT_EQ(r->text, "Normal call clearing");
  EXPECT_EQ(parseReason("SIP ;cause=487")->cause, 487);
  EXPECT_EQ(parseReason("SIP")->cause, -1);
  EXPECT_FALSE(parseReason("SIP;cause=abc").ok());
  EXPECT_FALSE(parseReason(";cause=1").ok());
}

TEST(RAckHeader, Parse) {
  auto r = parseRAck("776656 1 INVITE");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->rseq, 776656u);
  EXPECT_EQ(r->cseq, 1u);
  EXPECT_EQ(r->method, Method::Invite);
  EXPECT_FALSE(parseRAck("1 INVITE").ok());
  EXPECT_FALSE(parseRAck("1 2 INVITE x").ok());
}

TEST(AuthHeader, Parse) {
  auto d = parseAuth(
      R"(Digest username="bob", realm="biloxi.com", nonce="dcd98b", uri="sip:bob@biloxi.com", response="6629fae4", algorithm=MD5, qop=auth, nc=00000001, cnonce="0a4f113b")");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->scheme, "Digest");
  EXPECT_EQ(d->params.get("username").value_or(""), "bob");
  EXPECT_EQ(d->params.get("uri").value_or(""), "sip:bob@biloxi.com");
  EXPECT_EQ(d->params.get("nc").value_or(""), "00000001");
  EXPECT_EQ(d->params.get("ALGORITHM").value_or(""), "MD5");
  EXPECT_EQ(d->params.size(), 9u);
  auto c = parseAuth(R"(Digest realm="a, b", nonce="x")");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->params.get("realm").value_or(""), "a, b");
  auto b = parseAuth("Basic dXNlcjpwYXNz==");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->token68, "dXNlcjpwYXNz==");
  EXPECT_FALSE(parseAuth("").ok());
  EXPECT_FALSE(parseAuth("Digest realm=\"x").ok());
}

TEST(Scalars, ParseUint) {
  EXPECT_EQ(parseUint("4294967295", 0xffffffffU).valueOr(0), 4294967295u);
  EXPECT_FALSE(parseUint("4294967296", 0xffffffffU).ok());
  EXPECT_FALSE(parseUint("36893488147419103232", 0xffffffffU).ok());
  EXPECT_EQ(parseUint("0068", 255).valueOr(0), 68u);
  EXPECT_FALSE(parseUint("256", 255).ok());
  for (std::string_view bad : {"", "+1", "-1", " 1", "1 ", "1a"})
    EXPECT_FALSE(parseUint(bad, 100).ok()) << bad;
}

TEST(Dates, SipDate) {
  EXPECT_TRUE(isValidSipDate("Sat, 13 Nov 2010 23:29:00 GMT"));
  EXPECT_FALSE(isValidSipDate("Fri, 01 Jan 2010 16:00:00 EST"));
  EXPECT_FALSE(isValidSipDate("Sat, 13 Nov 2010 25:29:00 GMT"));
  EXPECT_FALSE(isValidSipDate("Sat 13 Nov 2010 23:29:00 GMT"));
  EXPECT_FALSE(isValidSipDate(""));
}

TEST(TextHelpers, QuoteFoldTrim) {
  EXPECT_EQ(unquote(R"("a \"b\" \\c")"), R"(a "b" \c)");
  EXPECT_EQ(unquote("plain"), "plain");
  EXPECT_EQ(unfold("a \r\n  b\t\tc"), "a b c");
  EXPECT_EQ(trimLws(" \r\n x y \r\n "), "x y");
  EXPECT_TRUE(iequals("Content-Length", "content-length"));
}

}  // namespace
}  // namespace sbc::sip

namespace sbc::sip {
namespace {

// Repeated values are answered from the per-thread parse memo: the answer
// must be what a fresh parse gives, with every view inside the caller's own
// text (the first text may be gone by then).
bool inside(std::string_view view, const std::string& text) {
  if (view.empty()) return true;
  return view.data() >= text.data() && view.data() + view.size() <= text.data() + text.size();
}

TEST(ParseMemo, RepeatedNameAddrViewsPointIntoTheNewText) {
  const std::string value =
      "\"Alice\" <sip:+12125550123;npdi@a.example.com:5070;user=phone>;tag=memo1";
  NameAddr first_copy;
  {
    auto first_text = std::make_unique<std::string>(value);
    auto first = parseNameAddr(*first_text);
    ASSERT_TRUE(first.ok());
    first_copy = *first;
  }  // the first text is freed: nothing may still point into it
  const std::string second_text(value.data(), value.size());  // another buffer
  auto second = parseNameAddr(second_text);
  ASSERT_TRUE(second.ok());
  const NameAddr& na = *second;
  for (std::string_view v : {na.text, na.display_name, na.tag, na.uri.text, na.uri.scheme_text,
                             na.uri.user, na.uri.user_number, na.uri.host, na.params.text(),
                             na.uri.params.text(), na.uri.user_params.text()})
    EXPECT_TRUE(inside(v, second_text)) << v;
  EXPECT_EQ(na.text, value);
  EXPECT_EQ(na.displayName(), "Alice");
  EXPECT_EQ(na.tag, "memo1");
  EXPECT_EQ(na.uri.host, "a.example.com");
  EXPECT_EQ(na.uri.port, 5070);
  EXPECT_EQ(na.uri.userParam(), "phone");
  EXPECT_TRUE(na.uri.npdi());
  EXPECT_EQ(na.uri.number(), "+12125550123");
  EXPECT_EQ(na.params.get("tag"), "memo1");
  EXPECT_EQ(first_copy.uri.host_type, na.uri.host_type);
}

TEST(ParseMemo, RepeatedViaAndUriAnswersMatchAFreshParse) {
  const std::string via_text =
      "SIP/2.0/UDP 192.0.2.1:5062;branch=z9hG4bKmemo;rport=5062;received=192.0.2.9";
  auto a = parseVia(via_text);
  const std::string again(via_text.data(), via_text.size());
  auto b = parseVia(again);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->branch, "z9hG4bKmemo");
  EXPECT_EQ(b->received, "192.0.2.9");
  EXPECT_EQ(b->rport_value, 5062);
  EXPECT_EQ(b->port, 5062);
  for (std::string_view v :
       {b->text, b->host, b->branch, b->received, b->transport_text, b->params.text()})
    EXPECT_TRUE(inside(v, again)) << v;

  const std::string uri = "sip:bob@[2001:db8::1]:5080;transport=tcp?subject=x";
  auto u1 = parseUri(uri);
  const std::string uri2(uri.data(), uri.size());
  auto u2 = parseUri(uri2);
  ASSERT_TRUE(u1.ok());
  ASSERT_TRUE(u2.ok());
  EXPECT_EQ(u2->host, "2001:db8::1");
  EXPECT_EQ(u2->transport(), "tcp");
  EXPECT_EQ(u2->headers.text(), "subject=x");
  EXPECT_TRUE(inside(u2->host, uri2));
  EXPECT_TRUE(inside(u2->headers.text(), uri2));

  // A failed parse is never remembered as a success, and the addr-spec flag
  // is part of the key.
  EXPECT_FALSE(parseNameAddr("sip:bob@example.com", false).ok());
  EXPECT_TRUE(parseNameAddr("sip:bob@example.com", true).ok());
  EXPECT_FALSE(parseNameAddr("sip:bob@example.com", false).ok());
  EXPECT_FALSE(parseUri("sip:bob@exa mple.com").ok());
  EXPECT_FALSE(parseUri("sip:bob@exa mple.com").ok());
}

}  // namespace
}  // namespace sbc::sip

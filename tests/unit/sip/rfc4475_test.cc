// One case per RFC 4475 torture message, named after its file. Each asserts
// what that message tests, per tests/fixtures/rfc4475/MANIFEST.tsv.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "sbc/sip/message.h"
#include "sbc/sip/uri.h"
#include "sbc/sip/validate.h"
#include "sip_test_util.h"

namespace sbc::sip {
namespace {

using testing::expectRoundTrip;
using testing::loadFixture;

ParseResult parseFile(const std::string& name) {
  return parseDatagram(loadFixture(name));
}

// A message that parses cleanly, validates with `status` (0 = accepted) and
// survives serialize + re-parse.
Message expectValid(const std::string& name, int status = 0) {
  auto r = parseFile(name);
  EXPECT_TRUE(r.ok()) << name << ": " << toString(r.error);
  if (!r.message) return Message();
  if (r.message->isRequest()) {
    auto v = validateRequest(*r.message, ValidationPolicy{});
    EXPECT_EQ(v.status, status) << name << ": " << toString(v.error);
  }
  expectRoundTrip(*r.message);
  return std::move(*r.message);
}

// A request the parser accepts as answerable but flags with `error`.
Message expectParseReject(const std::string& name, ParseError error, int status) {
  auto r = parseFile(name);
  EXPECT_EQ(r.error, error) << toString(r.error);
  EXPECT_EQ(errorStatus(r.error).code, status);
  EXPECT_TRUE(r.message.has_value());
  if (!r.message) return Message();
  auto v = validateRequest(*r.message, ValidationPolicy{});
  EXPECT_EQ(v.status, status);
  EXPECT_EQ(v.error, error);
  // Still answerable: the response carries the request's Via and CSeq.
  Message resp = makeResponse(*r.message, v.status, v.reason, "sbc1");
  EXPECT_EQ(resp.statusCode(), status);
  EXPECT_EQ(resp.headerCount(HeaderId::Via), r.message->headerCount(HeaderId::Via));
  // The response echoes From/To/Call-ID/CSeq as received; when those were
  // sound it is itself a valid message.
  const Message& q = *r.message;
  if (q.from() && q.to() && q.callId() && q.cseq()) {
    EXPECT_TRUE(parseDatagram(resp.serialize()).ok()) << resp.serialize();
  }
  return std::move(*r.message);
}

// Parses cleanly, then validateRequest rejects with status + error.
ValidationResult expectValidationReject(const std::string& name, ParseError error, int status,
                                        const ValidationPolicy& policy = {}) {
  auto r = parseFile(name);
  EXPECT_TRUE(r.ok()) << toString(r.error);
  if (!r.message) return {};
  auto v = validateRequest(*r.message, policy);
  EXPECT_EQ(v.status, status);
  EXPECT_EQ(v.error, error) << toString(v.error);
  expectRoundTrip(*r.message);
  return v;
}

void expectDiscard(const std::string& name, ParseError error) {
  auto r = parseFile(name);
  EXPECT_TRUE(r.discard());
  EXPECT_EQ(r.error, error) << toString(r.error);
  EXPECT_EQ(errorStatus(r.error).code, -1);
}

std::string_view extraHeader(const ValidationResult& v, HeaderId id) {
  for (const auto& h : v.extra)
    if (h.id == id) return h.value;
  return {};
}

// ------------------------------------------------------------ 3.1.1 valid

TEST(Rfc4475, wsinv) {
  Message m = expectValid("wsinv");
  EXPECT_EQ(m.method(), Method::Invite);
  EXPECT_EQ(m.requestUri().user, "vivekg");
  EXPECT_EQ(m.requestUri().host, "chair-dnrc.example.com");
  EXPECT_TRUE(m.requestUri().params.has("unknownparam"));

  auto to = m.to();
  ASSERT_TRUE(to);
  EXPECT_FALSE(to->angle_brackets);
  EXPECT_EQ(to->uri.text, "sip:vivekg@chair-dnrc.example.com");
  EXPECT_EQ(to->tag, "1918181833n");

  auto from = m.from();
  ASSERT_TRUE(from);
  EXPECT_EQ(from->displayName(), "J Rosenberg \\\"");
  EXPECT_EQ(from->uri.text, "sip:jdrosen@example.com");
  EXPECT_EQ(from->tag, "98asjd8");

  EXPECT_EQ(m.maxForwards().valueOr(0), 68u);
  EXPECT_EQ(m.callId().valueOr({}), "wsinv.ndaksdj@192.0.2.1");
  EXPECT_EQ(m.contentLength().valueOr(0), 150u);
  auto cseq = m.cseq();
  ASSERT_TRUE(cseq);
  EXPECT_EQ(cseq->number, 9u);
  EXPECT_EQ(cseq->method, Method::Invite);

  auto vias = m.vias();
  ASSERT_TRUE(vias);
  ASSERT_EQ(vias->size(), 3u);
  EXPECT_EQ((*vias)[0].protocol_version, "2.0");
  EXPECT_EQ((*vias)[0].transport, TransportProto::Udp);
  EXPECT_EQ((*vias)[0].host, "192.0.2.2");
  EXPECT_EQ((*vias)[0].branch, "390skdjuw");
  EXPECT_EQ((*vias)[1].transport, TransportProto::Tcp);
  EXPECT_EQ((*vias)[1].host, "spindle.example.com");
  EXPECT_EQ((*vias)[1].branch, "z9hG4bK9ikj8");
  EXPECT_EQ((*vias)[2].host, "192.168.255.111");
  EXPECT_EQ((*vias)[2].branch, "z9hG4bK30239");

  const HeaderField* subject = m.header("s");
  ASSERT_NE(subject, nullptr);
  EXPECT_EQ(subject->id, HeaderId::Subject);
  EXPECT_EQ(subject->value, "");
  const HeaderField* nf = m.header("newfangledheader");
  ASSERT_NE(nf, nullptr);
  EXPECT_EQ(unfold(nf->value), "newfangled value continued newfangled value");
  EXPECT_EQ(m.header("UnknownHeaderWithUnusualValue")->value, ";;,,;;,;");
  ASSERT_TRUE(m.contentType());
  EXPECT_TRUE(m.contentType()->is("application", "sdp"));

  auto routes = m.routes();
  ASSERT_TRUE(routes);
  ASSERT_EQ(routes->size(), 1u);
  EXPECT_TRUE((*routes)[0].uri.lr());
  EXPECT_EQ((*routes)[0].uri.param("unknownwith").value_or(""), "value");
  EXPECT_TRUE((*routes)[0].uri.params.has("unknown-no-value"));

  auto contacts = m.contacts();
  ASSERT_TRUE(contacts);
  ASSERT_EQ(contacts->size(), 1u);
  const NameAddr& c = (*contacts)[0];
  EXPECT_EQ(c.displayName(), "Quoted string \"\"");
  EXPECT_EQ(c.uri.text, "sip:jdrosen@example.com");
  EXPECT_EQ(c.params.get("newparam").value_or(""), "newvalue");
  EXPECT_TRUE(c.params.has("secondparam"));
  EXPECT_EQ(c.params.get("q").value_or(""), "0.33");
  EXPECT_EQ(m.body().size(), 150u);
}

TEST(Rfc4475, intmeth) {
  // The unknown method is legal syntax; as a UAS we answer it with 501.
  Message m = expectValid("intmeth", 501);
  EXPECT_EQ(m.method(), Method::Unknown);
  EXPECT_EQ(m.methodText(), "!interesting-Method0123456789_*+`.%indeed'~");
  EXPECT_EQ(m.cseq()->method_text, m.methodText());
  const Uri& u = m.requestUri();
  EXPECT_EQ(u.user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
  EXPECT_TRUE(u.has_password);
  EXPECT_EQ(u.password, "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
  EXPECT_EQ(u.host, "example.com");

  auto to = m.to();
  ASSERT_TRUE(to);
  EXPECT_EQ(to->displayName(), std::string("BEL:\x07 NUL:\0 DEL:\x7f", 17));
  EXPECT_EQ(to->uri.user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");

  auto from = m.from();
  ASSERT_TRUE(from);
  EXPECT_EQ(from->displayName(), "token1~` token2'+_ token3*%!.-");
  EXPECT_EQ(from->tag, "_token~1'+`*%!-.");
  auto fp = from->params.find("fromParam''~+*_!.-%");
  ASSERT_TRUE(fp.has_value());
  EXPECT_TRUE(fp->quoted);
  EXPECT_EQ(fp->value,
            "\xd1\x80\xd0\xb0\xd0\xb1\xd0\xbe\xd1\x82\xd0\xb0\xd1\x8e\xd1\x89\xd0\xb8\xd0\xb9");
  EXPECT_EQ(m.callId().valueOr({}), "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{");
  EXPECT_EQ(m.maxForwards().valueOr(0), 255u);
  const HeaderField* ext = m.header("extensionHeader-!.%*+_`'~");
  ASSERT_NE(ext, nullptr);
  EXPECT_EQ(ext->value, "\xef\xbb\xbf\xe5\xa4\xa7\xe5\x81\x9c\xe9\x9b\xbb");
}

TEST(Rfc4475, esc01) {
  Message m = expectValid("esc01");
  const Uri& ruri = m.requestUri();
  EXPECT_EQ(ruri.user, "sips%3Auser%40example.com");
  EXPECT_EQ(unescape(ruri.user), "sips:user@example.com");
  EXPECT_EQ(ruri.host, "example.net");
  EXPECT_TRUE(uriEquals(ruri, *parseUri("sip:sips%3auser%40example.com@EXAMPLE.net")));

  auto to = m.to();
  ASSERT_TRUE(to);
  EXPECT_TRUE(uriEquals(to->uri, *parseUri("sip:user@example.com")));
  auto from = m.from();
  ASSERT_TRUE(from);
  EXPECT_EQ(unescape(from->uri.user), "I have spaces");
  EXPECT_EQ(m.header(HeaderId::ContentType)->name, "C");

  auto contacts = m.contacts();
  ASSERT_TRUE(contacts);
  ASSERT_EQ(contacts->size(), 1u);
  // <sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31>
  EXPECT_TRUE(
      uriEquals((*contacts)[0].uri, *parseUri("sip:caller@host5.example.net;lr;name=value%2541")));
  EXPECT_FALSE(
      uriEquals((*contacts)[0].uri, *parseUri("sip:caller@host5.example.net;lr;name=valueA")));
}

TEST(Rfc4475, escnull) {
  Message m = expectValid("escnull");
  auto to = m.to();
  auto from = m.from();
  ASSERT_TRUE(to && from);
  EXPECT_EQ(unescape(to->uri.user), std::string("null-\0-null", 11));
  EXPECT_TRUE(uriEquals(to->uri, from->uri));
  EXPECT_FALSE(uriEquals(to->uri, *parseUri("sip:null-@example.com")));
  auto contacts = m.contacts();
  ASSERT_TRUE(contacts);
  ASSERT_EQ(contacts->size(), 2u);
  EXPECT_EQ(unescape((*contacts)[0].uri.user), std::string(1, '\0'));
  EXPECT_EQ(unescape((*contacts)[1].uri.user), std::string(2, '\0'));
  EXPECT_FALSE(uriEquals((*contacts)[0].uri, (*contacts)[1].uri));
}

TEST(Rfc4475, esc02) {
  // RE%47IST%45R is an unknown method, not REGISTER: we answer 501.
  Message m = expectValid("esc02", 501);
  EXPECT_EQ(m.method(), Method::Unknown);
  EXPECT_EQ(m.methodText(), "RE%47IST%45R");
  EXPECT_EQ(m.cseq()->method_text, "RE%47IST%45R");
  EXPECT_EQ(m.to()->displayName(), "%Z%45");
  EXPECT_EQ(m.topVia()->branch, "z9hG4bK209%fzsnel234");
  // C%6Fntact is an unknown header, not a Contact.
  const HeaderField* odd = m.header("C%6Fntact");
  ASSERT_NE(odd, nullptr);
  EXPECT_EQ(odd->id, HeaderId::Other);
  auto contacts = m.contacts();
  ASSERT_TRUE(contacts);
  ASSERT_EQ(contacts->size(), 2u);
  EXPECT_EQ((*contacts)[0].uri.host, "host1.example.com");
  EXPECT_EQ((*contacts)[1].uri.host, "host3.example.com");
}

TEST(Rfc4475, lwsdisp) {
  Message m = expectValid("lwsdisp");
  auto from = m.from();
  ASSERT_TRUE(from);
  EXPECT_EQ(from->displayName(), "caller");
  EXPECT_TRUE(from->angle_brackets);
  EXPECT_EQ(from->uri.text, "sip:caller@example.com");
  EXPECT_EQ(from->tag, "323");
}

TEST(Rfc4475, longreq) {
  Message m = expectValid("longreq");
  auto vias = m.vias();
  ASSERT_TRUE(vias);
  ASSERT_EQ(vias->size(), 34u);
  EXPECT_EQ(vias->front().host, "sip33.example.com");
  EXPECT_EQ(vias->back().host, "host.example.com");
  EXPECT_EQ(vias->back().received, "192.0.2.5");
  EXPECT_EQ(vias->back().branch.size(), 215u);
  auto to = m.to();
  ASSERT_TRUE(to);
  EXPECT_EQ(to->uri.port, 6000);
  EXPECT_TRUE(
      to->uri.params.has("verylonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglongl"
                         "onglonglonglonglonglonglonglongParameterNameWithNoValue"));
  auto from = m.from();
  ASSERT_TRUE(from);
  EXPECT_FALSE(from->angle_brackets);
  EXPECT_EQ(from->tag.size(), 155u);
  EXPECT_TRUE(
      from->params.has("unknownValuelessparamnameparamnameparamnameparamnameparamnameparamnameparam"
                       "nameparamnameparamnameparamname"));
  EXPECT_TRUE(from->uri.params.empty());
  EXPECT_EQ(m.callId()->substr(0, 12), "longreq.oner");
  EXPECT_EQ(m.body().size(), 150u);
}

TEST(Rfc4475, dblreq) {
  std::string bytes = loadFixture("dblreq");
  Message m = expectValid("dblreq");
  EXPECT_EQ(m.method(), Method::Register);
  EXPECT_EQ(m.callId().valueOr({}), "dblreq.0ha0isndaksdj99sdfafnl3lk233412");
  EXPECT_EQ(m.contentLength().valueOr(99), 0u);
  EXPECT_TRUE(m.body().empty());
  std::string wire = m.serialize();
  EXPECT_EQ(wire.find("INVITE"), std::string::npos);
  EXPECT_LT(wire.size(), bytes.size());
  EXPECT_EQ(bytes.substr(0, wire.size()), wire);
}

TEST(Rfc4475, semiuri) {
  Message m = expectValid("semiuri");
  const Uri& u = m.requestUri();
  EXPECT_EQ(u.user, "user;par=u%40example.net");
  EXPECT_EQ(u.host, "example.com");
  EXPECT_TRUE(u.params.empty());
  EXPECT_EQ(u.user_number, "user");
  EXPECT_EQ(u.user_params.get("par").value_or(""), "u%40example.net");
  auto accept = m.accept();
  ASSERT_TRUE(accept);
  ASSERT_EQ(accept->size(), 6u);
  EXPECT_TRUE((*accept)[5].is("message", "sipfrag"));
}

TEST(Rfc4475, transports) {
  Message m = expectValid("transports");
  auto vias = m.vias();
  ASSERT_TRUE(vias);
  ASSERT_EQ(vias->size(), 5u);
  EXPECT_EQ((*vias)[0].transport, TransportProto::Udp);
  EXPECT_EQ((*vias)[1].transport, TransportProto::Sctp);
  EXPECT_EQ((*vias)[2].transport, TransportProto::Tls);
  EXPECT_EQ((*vias)[3].transport, TransportProto::Other);
  EXPECT_EQ((*vias)[3].transport_text, "UNKNOWN");
  EXPECT_EQ((*vias)[4].transport, TransportProto::Tcp);
  EXPECT_EQ(m.callId().valueOr({}), "transports.kijh4akdnaqjkwendsasfdj");
}

TEST(Rfc4475, mpart01) {
  std::string bytes = loadFixture("mpart01");
  Message m = expectValid("mpart01");
  auto ct = m.contentType();
  ASSERT_TRUE(ct);
  EXPECT_TRUE(ct->is("multipart", "mixed"));
  EXPECT_EQ(ct->params.get("boundary").value_or(""), "7a9cbec02ceef655");
  ASSERT_EQ(m.body().size(), 553u);
  EXPECT_EQ(m.body(), std::string_view(bytes).substr(bytes.size() - 553));
}

TEST(Rfc4475, unreason) {
  Message m = expectValid("unreason");
  EXPECT_TRUE(m.isResponse());
  EXPECT_EQ(m.statusCode(), 200);
  EXPECT_EQ(m.reasonPhrase().substr(0, 15), "= 2**3 * 5**2 \xd0");
  EXPECT_EQ(m.body().size(), 154u);
}

TEST(Rfc4475, noreason) {
  Message m = expectValid("noreason");
  EXPECT_EQ(m.statusCode(), 100);
  EXPECT_EQ(m.reasonPhrase(), "");
  EXPECT_EQ(m.to()->tag, "902jndnke3");
}

// ------------------------------------------------------------ 3.1.2 invalid

TEST(Rfc4475, badinv01) {
  // The top Via ("...;;,;,,") is unusable: there is nowhere to send a 400.
  expectDiscard("badinv01", ParseError::NoUsableVia);
}

TEST(Rfc4475, clerr) {
  Message m = expectParseReject("clerr", ParseError::BodyTooShort, 400);
  EXPECT_EQ(m.contentLength().valueOr(0), 9999u);
}

TEST(Rfc4475, ncl) {
  Message m = expectParseReject("ncl", ParseError::BadContentLength, 400);
  EXPECT_FALSE(m.contentLength());
}

TEST(Rfc4475, scalar02) {
  Message m = expectParseReject("scalar02", ParseError::BadCSeq, 400);
  // Every overlarge scalar is refused, not just the first.
  EXPECT_EQ(m.maxForwards().error(), ParseError::BadMaxForwards);
  EXPECT_FALSE(m.expires());
  EXPECT_EQ(m.contacts().error(), ParseError::BadContact);
}

TEST(Rfc4475, scalarlg) {
  expectDiscard("scalarlg", ParseError::ResponseUnusable);
}

TEST(Rfc4475, quotbal) {
  expectParseReject("quotbal", ParseError::BadTo, 400);
}

TEST(Rfc4475, ltgtruri) {
  expectParseReject("ltgtruri", ParseError::BadRequestLine, 400);
}

TEST(Rfc4475, lwsruri) {
  expectParseReject("lwsruri", ParseError::BadRequestLine, 400);
}

TEST(Rfc4475, lwsstart) {
  expectParseReject("lwsstart", ParseError::BadRequestLine, 400);
}

TEST(Rfc4475, trws) {
  expectParseReject("trws", ParseError::BadRequestLine, 400);
}

TEST(Rfc4475, escruri) {
  expectValidationReject("escruri", ParseError::EscapedHeadersInRequestUri, 400);
  ValidationPolicy lenient;
  lenient.reject_escaped_headers_in_ruri = false;
  auto r = parseFile("escruri");
  ASSERT_TRUE(r.message);
  EXPECT_TRUE(validateRequest(*r.message, lenient).ok());
  EXPECT_EQ(r.message->requestUri().headers.get("Route").value_or(""), "%3Csip:example.com%3E");
}

TEST(Rfc4475, baddate) {
  // Our choice: ignore the bad Date by default; reject when the policy asks.
  auto r = parseFile("baddate");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(validateRequest(*r.message, ValidationPolicy{}).ok());
  ValidationPolicy strict;
  strict.reject_bad_date = true;
  auto v = validateRequest(*r.message, strict);
  EXPECT_EQ(v.status, 400);
  EXPECT_EQ(v.error, ParseError::BadDate);
  EXPECT_FALSE(isValidSipDate(r.message->header(HeaderId::Date)->value));
}

TEST(Rfc4475, regbadct) {
  // Contact "sip:user@example.com?Route=..." in addr-spec form: '?' needs the
  // name-addr form, so the Contact is malformed -> 400.
  expectValidationReject("regbadct", ParseError::BadContact, 400);
  // And in addr-spec form, what follows ';' belongs to the header.
  auto r = parseFile("regbadct");
  ASSERT_TRUE(r.message);
  auto from = r.message->from();
  ASSERT_TRUE(from);
  EXPECT_FALSE(from->angle_brackets);
  EXPECT_EQ(from->uri.text, "sip:user@example.com");
  EXPECT_TRUE(from->uri.params.empty());
  EXPECT_EQ(from->tag, "998332");
}

TEST(Rfc4475, badaspec) {
  expectParseReject("badaspec", ParseError::BadTo, 400);
}

TEST(Rfc4475, baddn) {
  expectParseReject("baddn", ParseError::BadFrom, 400);
}

TEST(Rfc4475, badvers) {
  Message m = expectParseReject("badvers", ParseError::BadVersion, 505);
  EXPECT_EQ(m.version(), "SIP/7.0");
}

TEST(Rfc4475, mismatch01) {
  expectParseReject("mismatch01", ParseError::CSeqMethodMismatch, 400);
}

TEST(Rfc4475, mismatch02) {
  Message m = expectParseReject("mismatch02", ParseError::CSeqMethodMismatch, 400);
  EXPECT_EQ(m.methodText(), "NEWMETHOD");
}

TEST(Rfc4475, bigcode) {
  expectDiscard("bigcode", ParseError::BadStatusCode);
}

// ------------------------------------------------------------ 3.2 transaction

TEST(Rfc4475, badbranch) {
  Message m = expectValid("badbranch");
  auto via = m.topVia();
  ASSERT_TRUE(via);
  EXPECT_EQ(via->branch, "z9hG4bK");
  // The bare magic cookie is not an RFC 3261 branch: RFC 2543 matching applies.
  EXPECT_FALSE(via->hasRfc3261Branch());
}

// ------------------------------------------------------------ 3.3 application

TEST(Rfc4475, insuf) {
  Message m = expectParseReject("insuf", ParseError::MissingHeader, 400);
  EXPECT_EQ(m.from().error(), ParseError::Missing);
  EXPECT_EQ(m.callId().error(), ParseError::Missing);
}

TEST(Rfc4475, unkscm) {
  expectValidationReject("unkscm", ParseError::UnsupportedUriScheme, 416);
  auto r = parseFile("unkscm");
  EXPECT_EQ(r.message->requestUri().scheme, UriScheme::Other);
  EXPECT_EQ(r.message->requestUri().opaque, "totallyopaquecontent");
}

TEST(Rfc4475, novelsc) {
  expectValidationReject("novelsc", ParseError::UnsupportedUriScheme, 416);
  auto r = parseFile("novelsc");
  EXPECT_EQ(r.message->requestUri().scheme_text, "soap.beep");
}

TEST(Rfc4475, unksm2) {
  Message m = expectValid("unksm2");
  EXPECT_EQ(m.to()->uri.scheme, UriScheme::Other);
  EXPECT_EQ(m.to()->uri.scheme_text, "isbn");
  EXPECT_EQ(m.from()->uri.scheme_text, "http");
  EXPECT_EQ(m.from()->tag, "3234233");
  ASSERT_TRUE(m.contacts());
  EXPECT_EQ((*m.contacts())[0].uri.text, "name:John_Smith");
  // Passed through untouched.
  EXPECT_NE(m.serialize().find("To: isbn:2983792873\r\n"), std::string::npos);
}

TEST(Rfc4475, bext01) {
  auto v = expectValidationReject("bext01", ParseError::BadExtension, 420);
  EXPECT_EQ(extraHeader(v, HeaderId::Unsupported),
            "nothingSupportsThis, nothingSupportsThisEither, noProxiesSupportThis, "
            "norDoAnyProxiesSupportThis");
  auto r = parseFile("bext01");
  Message resp = makeResponse(*r.message, v, "t1");
  EXPECT_NE(resp.serialize().find("\r\nUnsupported: nothingSupportsThis, "), std::string::npos);
}

TEST(Rfc4475, invut) {
  auto v = expectValidationReject("invut", ParseError::UnsupportedMediaType, 415);
  EXPECT_NE(extraHeader(v, HeaderId::Accept).find("application/sdp"), std::string_view::npos);
}

TEST(Rfc4475, regaut01) {
  // Unknown scheme: parsed, not rejected by validation (the app challenges).
  Message m = expectValid("regaut01");
  auto auth = m.auth(HeaderId::Authorization);
  ASSERT_TRUE(auth);
  ASSERT_EQ(auth->size(), 1u);
  EXPECT_EQ((*auth)[0].scheme, "NoOneKnowsThisScheme");
  EXPECT_EQ((*auth)[0].params.get("opaque-data").value_or(""), "here");
}

TEST(Rfc4475, multi01) {
  expectParseReject("multi01", ParseError::DuplicateHeader, 400);
}

TEST(Rfc4475, mcl01) {
  expectParseReject("mcl01", ParseError::MultipleContentLength, 400);
}

TEST(Rfc4475, bcast) {
  Message m = expectValid("bcast");
  auto vias = m.vias();
  ASSERT_TRUE(vias);
  ASSERT_EQ(vias->size(), 2u);
  EXPECT_EQ((*vias)[1].host, "255.255.255.255");
  EXPECT_EQ((*vias)[1].host_type, HostType::IPv4);
}

TEST(Rfc4475, zeromf) {
  expectValidationReject("zeromf", ParseError::TooManyHops, 483);
  ValidationPolicy self;
  self.allow_zero_max_forwards = true;  // an OPTIONS addressed to us
  auto r = parseFile("zeromf");
  EXPECT_TRUE(validateRequest(*r.message, self).ok());
}

TEST(Rfc4475, cparam01) {
  Message m = expectValid("cparam01");
  auto c = m.contacts();
  ASSERT_TRUE(c);
  ASSERT_EQ(c->size(), 1u);
  EXPECT_FALSE((*c)[0].angle_brackets);
  EXPECT_TRUE((*c)[0].uri.params.empty());
  EXPECT_TRUE((*c)[0].params.has("unknownparam"));
}

TEST(Rfc4475, cparam02) {
  Message m = expectValid("cparam02");
  auto c = m.contacts();
  ASSERT_TRUE(c);
  ASSERT_EQ(c->size(), 1u);
  EXPECT_TRUE((*c)[0].uri.params.has("unknownparam"));
  EXPECT_TRUE((*c)[0].params.empty());
}

TEST(Rfc4475, regescrt) {
  Message m = expectValid("regescrt");
  auto c = m.contacts();
  ASSERT_TRUE(c);
  ASSERT_EQ(c->size(), 1u);
  EXPECT_EQ(m.header(HeaderId::Contact)->name, "M");
  auto route = (*c)[0].uri.headers.get("Route");
  ASSERT_TRUE(route.has_value());
  EXPECT_EQ(unescape(*route), "<sip:sip.example.com>");
}

TEST(Rfc4475, sdp01) {
  auto v = expectValidationReject("sdp01", ParseError::NotAcceptable, 406);
  EXPECT_EQ(extraHeader(v, HeaderId::Accept), "application/sdp");
}

// ------------------------------------------------------------ 3.4 compat

TEST(Rfc4475, inv2543) {
  Message m = expectValid("inv2543");
  EXPECT_EQ(m.maxForwards().error(), ParseError::Missing);
  EXPECT_TRUE(m.topVia()->branch.empty());
  EXPECT_TRUE(m.from()->tag.empty());
  EXPECT_TRUE(m.from()->uri.isPhone());
  EXPECT_EQ(m.from()->uri.number(), "+13035551111");
  // To is in addr-spec form: ";user=phone" is a header parameter there.
  EXPECT_FALSE(m.to()->uri.isPhone());
  EXPECT_EQ(m.to()->params.get("user").value_or(""), "phone");
  ValidationPolicy strict;
  strict.accept_missing_max_forwards = false;
  EXPECT_EQ(validateRequest(m, strict).status, 400);
}

}  // namespace
}  // namespace sbc::sip

#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "sbc/sip/message.h"
#include "sip_test_util.h"

namespace sbc::sip {
namespace {

using testing::expectRoundTrip;
using testing::loadFixture;

// A request as a PBX sends it, with every header a B2BUA reads.
std::string sampleInvite() {
  return "INVITE sip:+15551234567@carrier.example.com;user=phone SIP/2.0\r\n"
         "Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK-1;rport\r\n"
         "Via: SIP/2.0/TCP 10.0.0.4;branch=z9hG4bK-0, SIP/2.0/UDP 10.0.0.3;branch=z9hG4bK-x\r\n"
         "Max-Forwards: 70\r\n"
         "From: \"Reception\" <sip:100@pbx.example.com>;tag=as1\r\n"
         "To: <sip:+15551234567@carrier.example.com;user=phone>\r\n"
         "Contact: <sip:100@10.0.0.5:5060>;expires=3600;q=0.5\r\n"
         "Call-ID: 3c26b1a2@10.0.0.5\r\n"
         "CSeq: 102 INVITE\r\n"
         "Route: <sip:edge1.example.com;lr>, <sip:edge2.example.com;lr>\r\n"
         "Record-Route: <sip:rr.example.com;lr>\r\n"
         "Allow: INVITE, ACK, CANCEL, OPTIONS, BYE\r\n"
         "Supported: replaces, timer\r\n"
         "k: 100rel\r\n"
         "Require: timer\r\n"
         "Proxy-Require: sec-agree\r\n"
         "Unsupported: foo\r\n"
         "Session-Expires: 1800;refresher=uac\r\n"
         "Min-SE: 90\r\n"
         "P-Asserted-Identity: \"Reception\" <sip:100@pbx.example.com>, <tel:+15550001111>\r\n"
         "Privacy: id; header\r\n"
         "Reason: Q.850;cause=16;text=\"Normal\", SIP;cause=200\r\n"
         "Expires: 120\r\n"
         "Timestamp: 54.2\r\n"
         "Proxy-Authorization: Digest username=\"100\", realm=\"carrier\", nonce=\"n\", "
         "uri=\"sip:x@y\", response=\"r\"\r\n"
         "Accept: application/sdp\r\n"
         "X-Custom: keep me\r\n"
         "Content-Type: application/sdp\r\n"
         "Content-Length: 4\r\n"
         "\r\n"
         "v=0\n";
}

Message parsed(std::string bytes) {
  auto r = parseDatagram(std::move(bytes));
  EXPECT_TRUE(r.ok()) << toString(r.error);
  return r.message ? std::move(*r.message) : Message();
}

TEST(Message, StructuredAccessors) {
  Message m = parsed(sampleInvite());
  EXPECT_TRUE(m.isRequest());
  EXPECT_EQ(m.method(), Method::Invite);
  EXPECT_EQ(m.requestUri().number(), "+15551234567");
  auto vias = m.vias();
  ASSERT_TRUE(vias);
  ASSERT_EQ(vias->size(), 3u);
  EXPECT_EQ((*vias)[1].branch, "z9hG4bK-0");
  EXPECT_EQ((*vias)[2].host, "10.0.0.3");
  EXPECT_TRUE(m.topVia()->rport);
  EXPECT_EQ(m.from()->displayName(), "Reception");
  EXPECT_EQ(m.from()->tag, "as1");
  EXPECT_TRUE(m.to()->tag.empty());
  EXPECT_EQ(m.callId().valueOr({}), "3c26b1a2@10.0.0.5");
  EXPECT_EQ(m.cseq()->number, 102u);
  ASSERT_TRUE(m.contacts());
  EXPECT_EQ((*m.contacts())[0].params.get("expires").value_or(""), "3600");
  ASSERT_TRUE(m.routes());
  ASSERT_EQ(m.routes()->size(), 2u);
  EXPECT_EQ((*m.routes())[1].uri.host, "edge2.example.com");
  ASSERT_EQ(m.recordRoutes()->size(), 1u);
  EXPECT_EQ(m.maxForwards().valueOr(0), 70u);
  EXPECT_EQ(m.contentLength().valueOr(0), 4u);
  EXPECT_TRUE(m.contentType()->is("application", "sdp"));
  EXPECT_EQ(m.accept()->size(), 1u);
  EXPECT_EQ(m.allow()->size(), 5u);
  // Supported comes from both the long and the compact form.
  ASSERT_TRUE(m.supported());
  EXPECT_EQ(m.supported()->size(), 3u);
  EXPECT_EQ((*m.supported())[2], "100rel");
  EXPECT_EQ((*m.require())[0], "timer");
  EXPECT_EQ((*m.proxyRequire())[0], "sec-agree");
  EXPECT_EQ((*m.unsupported())[0], "foo");
  EXPECT_EQ(m.sessionExpires()->delta, 1800u);
  EXPECT_EQ(m.sessionExpires()->refresher, Refresher::Uac);
  EXPECT_EQ(m.minSE()->delta, 90u);
  ASSERT_TRUE(m.pAssertedIdentities());
  ASSERT_EQ(m.pAssertedIdentities()->size(), 2u);
  EXPECT_EQ((*m.pAssertedIdentities())[1].uri.scheme, UriScheme::Tel);
  ASSERT_TRUE(m.privacy());
  EXPECT_EQ(m.privacy()->size(), 2u);
  EXPECT_EQ((*m.privacy())[1], "header");
  ASSERT_TRUE(m.reasons());
  ASSERT_EQ(m.reasons()->size(), 2u);
  EXPECT_EQ((*m.reasons())[0].cause, 16);
  EXPECT_EQ((*m.reasons())[1].protocol, "SIP");
  EXPECT_EQ(m.expires().valueOr(0), 120u);
  ASSERT_TRUE(m.auth(HeaderId::ProxyAuthorization));
  EXPECT_EQ((*m.auth(HeaderId::ProxyAuthorization))[0].params.get("realm").value_or(""), "carrier");
  EXPECT_TRUE(m.auth(HeaderId::Authorization)->empty());
  EXPECT_EQ(m.header("x-custom")->value, "keep me");
  EXPECT_EQ(m.body(), "v=0\n");
  // Absent optional headers.
  EXPECT_EQ(m.rseq().error(), ParseError::Missing);
  EXPECT_EQ(m.rack().error(), ParseError::Missing);
  EXPECT_FALSE(m.contactIsWildcard());
  expectRoundTrip(m);
}

TEST(Message, UntouchedMessageSerializesByteForByte) {
  for (const char* name : {"wsinv", "intmeth", "esc01", "longreq", "mpart01", "unreason"}) {
    std::string bytes = loadFixture(name);
    auto r = parseDatagram(bytes);
    ASSERT_TRUE(r.message) << name;
    EXPECT_EQ(r.message->serialize(), bytes) << name;
  }
  std::string invite = sampleInvite();
  EXPECT_EQ(parsed(invite).serialize(), invite);
}

TEST(Message, CompactFormsAndFolding) {
  Message m = parsed(
      "OPTIONS sip:a@example.com SIP/2.0\r\n"
      "v: SIP/2.0/UDP h.example.com\r\n"
      " ;branch=z9hG4bK77\r\n"
      "f: <sip:b@example.com>\r\n"
      "\t;tag=9\r\n"
      "t: sip:a@example.com\r\n"
      "i: fold@h\r\n"
      "CSeq: 1\r\n"
      "  OPTIONS\r\n"
      "m: <sip:b@10.0.0.1>\r\n"
      "x: 300\r\n"
      "c: text/plain\r\n"
      "l: 2\r\n"
      "\r\n"
      "hi");
  EXPECT_EQ(m.topVia()->branch, "z9hG4bK77");
  EXPECT_EQ(m.from()->tag, "9");
  EXPECT_EQ(m.to()->uri.user, "a");
  EXPECT_EQ(m.callId().valueOr({}), "fold@h");
  EXPECT_EQ(m.cseq()->method, Method::Options);
  EXPECT_EQ(m.contacts()->size(), 1u);
  EXPECT_EQ(m.sessionExpires()->delta, 300u);
  EXPECT_TRUE(m.contentType()->is("text", "plain"));
  EXPECT_EQ(m.body(), "hi");
  EXPECT_EQ(m.header(HeaderId::From)->name, "f");
  expectRoundTrip(m);
}

TEST(Message, MissingVersusDuplicate) {
  Message m = parsed(
      "OPTIONS sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
      "From: <sip:b@h>;tag=1\r\nTo: <sip:a@h>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n"
      "Expires: 10\r\nExpires: 20\r\nl: 0\r\n\r\n");
  EXPECT_EQ(m.maxForwards().error(), ParseError::Missing);
  EXPECT_EQ(m.expires().error(), ParseError::DuplicateHeader);
  EXPECT_TRUE(m.routes()->empty());
  EXPECT_EQ(m.headerCount(HeaderId::Expires), 2u);
  EXPECT_EQ(m.headerCount("expires"), 2u);
}

TEST(Message, WildcardContact) {
  Message m = parsed(
      "REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
      "From: <sip:b@h>;tag=1\r\nTo: <sip:b@h>\r\nCall-ID: c\r\nCSeq: 2 REGISTER\r\n"
      "Contact: *\r\nExpires: 0\r\nl: 0\r\n\r\n");
  EXPECT_TRUE(m.contactIsWildcard());
  ASSERT_TRUE(m.contacts());
  EXPECT_TRUE(m.contacts()->empty());
}

TEST(Parse, FramingOverDatagramAndStream) {
  std::string no_cl =
      "MESSAGE sip:a@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:b@h>;tag=1\r\n"
      "To: <sip:a@h>\r\nCall-ID: c\r\nCSeq: 1 MESSAGE\r\nContent-Type: text/plain\r\n\r\nhello";
  auto d = parseDatagram(no_cl);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d.message->body(), "hello");
  // The serialized form carries the Content-Length a stream needs.
  EXPECT_NE(d.message->serialize().find("Content-Length: 5\r\n"), std::string::npos);
  auto s = parseMessage(no_cl);
  EXPECT_EQ(s.error, ParseError::MissingContentLength);
  ASSERT_TRUE(s.message);
  EXPECT_EQ(errorStatus(s.error).code, 400);

  auto framed = parseMessage(d.message->serialize());
  EXPECT_TRUE(framed.ok());
  EXPECT_EQ(framed.message->body(), "hello");
}

TEST(Parse, LongFoldedValuesAndBareLfInBody) {
  std::string bytes =
      "MESSAGE sip:a@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:b@h>;tag=1\r\n"
      "To: <sip:a@h>\r\nCall-ID: c\r\nCSeq: 1 MESSAGE\r\n"
      "Subject: a fairly long subject line that goes on\r\n   and continues after folding\r\n"
      "Content-Type: text/plain\r\nContent-Length: 5\r\n\r\na\nb\rc";
  auto r = parseMessage(bytes);
  ASSERT_TRUE(r.ok()) << toString(r.error);
  EXPECT_EQ(unfold(r.message->header(HeaderId::Subject)->value),
            "a fairly long subject line that goes on and continues after folding");
  EXPECT_EQ(r.message->body(), "a\nb\rc");
}

TEST(Parse, LeadingCrlfIgnored) {
  auto r = parseDatagram(
      "\r\n\r\nOPTIONS sip:a@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
      "From: <sip:b@h>;tag=1\r\nTo: <sip:a@h>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\nl: 0\r\n\r\n");
  EXPECT_TRUE(r.ok());
}

TEST(Parse, HardFailuresAreDiscarded) {
  struct Case {
    std::string bytes;
    ParseError error;
  } cases[] = {
      {"", ParseError::Empty},
      {"\r\n\r\n", ParseError::Empty},
      {"garbage", ParseError::IncompleteHeaders},
      {"hello world\r\n\r\n", ParseError::BadStartLine},
      {"GET / HTTP/1.1\r\nHost: x\r\n\r\n", ParseError::BadStartLine},
      {"OPTIONS sip:a@h SIP/2.0\r\nVia: SIP/2.0/UDP h\r\n", ParseError::IncompleteHeaders},
      {"OPTIONS sip:a@h SIP/2.0\r\nCall-ID: x\r\n\r\n", ParseError::NoUsableVia},
      {"SIP/2.0 99 Low\r\nVia: SIP/2.0/UDP h\r\n\r\n", ParseError::BadStatusCode},
      {"SIP/2.0 2000 OK\r\nVia: SIP/2.0/UDP h\r\n\r\n", ParseError::BadStatusCode},
      {"SIP/2.0 200OK\r\nVia: SIP/2.0/UDP h\r\n\r\n", ParseError::BadStatusCode},
      {"SIP/3.0 200 OK\r\nVia: SIP/2.0/UDP h\r\n\r\n", ParseError::BadStartLine},
      {"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nCall-ID: c\r\n\r\n",
       ParseError::ResponseUnusable},
  };
  for (const auto& c : cases) {
    auto r = parseDatagram(c.bytes);
    EXPECT_TRUE(r.discard()) << c.bytes;
    EXPECT_EQ(r.error, c.error) << c.bytes << " -> " << toString(r.error);
    EXPECT_TRUE(isDiscard(r.error));
  }
}

TEST(Parse, AnswerableErrors) {
  const std::string tail =
      "Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:b@h>;tag=1\r\nTo: <sip:a@h>\r\n"
      "Call-ID: c\r\nCSeq: 1 OPTIONS\r\nl: 0\r\n";
  struct Case {
    std::string bytes;
    ParseError error;
  } cases[] = {
      {"OPTIONS sip:a@h SIP/2.0\r\nBare\nLF: x\r\n" + tail + "\r\n", ParseError::BadHeaderLine},
      {"OPTIONS sip:a@h SIP/2.0\r\nNo colon here\r\n" + tail + "\r\n", ParseError::BadHeaderLine},
      // Bare CR / LF deep inside a long value (past the 16-byte fast scan).
      {"OPTIONS sip:a@h SIP/2.0\r\nX-Long: 0123456789012345678901234\rInjected: 1\r\n" + tail +
           "\r\n",
       ParseError::BadHeaderLine},
      {"OPTIONS sip:a@h SIP/2.0\r\nX-Long: 01234567890123456789012345678901234567\nInjected: "
       "1\r\n" +
           tail + "\r\n",
       ParseError::BadHeaderLine},
      {"OPTIONS sip:a@h SIP/2.0\r\n : leading space\r\n" + tail + "\r\n",
       ParseError::BadHeaderLine},
      {"OPTIONS sip:a@h SIP/2.0\r\n" + tail + "Content-Length: 0\r\n\r\n",
       ParseError::MultipleContentLength},
      {"OPTIONS sip:a@h SIP/2.0\r\n" + tail.substr(0, tail.size() - 6) +
           "Content-Length: 99999999999999999999\r\n\r\n",
       ParseError::BadContentLength},
      {"OPTIONS sip:a@h;x= SIP/2.0\r\n" + tail + "\r\n", ParseError::BadRequestUri},
      {"OPTIONS sip:a@h\tSIP/2.0\r\n" + tail + "\r\n", ParseError::BadRequestLine},
      {"OPTIONS sip:a@h SIP/2.1\r\n" + tail + "\r\n", ParseError::BadVersion},
      {"INVITE sip:a@h SIP/2.0\r\n" + tail + "\r\n", ParseError::CSeqMethodMismatch},
  };
  for (const auto& c : cases) {
    auto r = parseDatagram(c.bytes);
    EXPECT_EQ(r.error, c.error) << c.bytes << " -> " << toString(r.error);
    EXPECT_FALSE(r.discard()) << c.bytes;
    if (r.message) {
      EXPECT_EQ(r.message->parseError(), c.error);
      Message resp =
          makeResponse(*r.message, errorStatus(r.error).code, errorStatus(r.error).reason);
      EXPECT_TRUE(parseDatagram(resp.serialize()).ok());
    }
  }
}

TEST(Mutation, BuildRequestFromScratch) {
  auto req =
      Message::createRequest(Method::Invite, "sip:+15551234567@carrier.example.com;user=phone");
  ASSERT_TRUE(req);
  Message& m = *req;
  m.addHeader(HeaderId::Via, "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-sbc-1;rport");
  m.addHeader(HeaderId::MaxForwards, "70");
  m.addHeader(HeaderId::From, "<sip:sbc@192.0.2.10>;tag=f1");
  m.addHeader(HeaderId::To, "<sip:+15551234567@carrier.example.com;user=phone>");
  m.addHeader(HeaderId::CallId, "b-leg-1@192.0.2.10");
  m.addHeader(HeaderId::CSeq, "1 INVITE");
  m.addHeader("X-Trunk", "carrier-a");
  m.setBody("v=0\r\n", "application/sdp");
  // A later Via still goes after the first one, prepend puts one on top.
  m.addHeader(HeaderId::Via, "SIP/2.0/UDP 192.0.2.11;branch=z9hG4bK-2");
  m.prependHeader(HeaderId::Via, "SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK-top");

  std::string wire = m.serialize();
  EXPECT_EQ(wire.substr(0, wire.find("\r\n")),
            "INVITE sip:+15551234567@carrier.example.com;user=phone SIP/2.0");
  auto r = parseMessage(wire);
  ASSERT_TRUE(r.ok()) << toString(r.error) << "\n" << wire;
  Message& p = *r.message;
  ASSERT_EQ(p.vias()->size(), 3u);
  EXPECT_EQ((*p.vias())[0].branch, "z9hG4bK-top");
  EXPECT_EQ((*p.vias())[1].branch, "z9hG4bK-sbc-1");
  EXPECT_EQ((*p.vias())[2].branch, "z9hG4bK-2");
  EXPECT_EQ(p.headers()[0].id, HeaderId::Via);
  EXPECT_EQ(p.headers()[2].id, HeaderId::Via);
  EXPECT_EQ(p.contentLength().valueOr(0), 5u);
  EXPECT_EQ(p.body(), "v=0\r\n");
  EXPECT_EQ(p.header("x-trunk")->value, "carrier-a");
  expectRoundTrip(p);

  EXPECT_FALSE(Message::createRequest(Method::Invite, "not a uri").ok());
  EXPECT_FALSE(Message::createRequest("BAD METHOD", "sip:a@b").ok());
  auto ext = Message::createRequest("FOO", "sip:a@b");
  ASSERT_TRUE(ext);
  EXPECT_EQ(ext->method(), Method::Unknown);
  EXPECT_EQ(ext->methodText(), "FOO");
}

TEST(Mutation, ReplaceRemoveAndBody) {
  Message m = parsed(sampleInvite());
  auto top = m.topVia();
  ASSERT_TRUE(top);
  std::string_view branch_before = top->branch;

  m.setHeader(HeaderId::MaxForwards, "69");
  EXPECT_EQ(m.maxForwards().valueOr(0), 69u);
  EXPECT_EQ(m.headerCount(HeaderId::MaxForwards), 1u);
  // Views handed out for other headers stay valid.
  EXPECT_EQ(branch_before, "z9hG4bK-1");

  EXPECT_EQ(m.removeHeader(HeaderId::Supported), 2u);  // long and compact form
  EXPECT_TRUE(m.supported()->empty());
  EXPECT_EQ(m.removeHeader("x-CUSTOM"), 1u);
  EXPECT_EQ(m.header("X-Custom"), nullptr);
  EXPECT_EQ(m.removeHeader(HeaderId::Warning), 0u);

  m.setHeader("X-New", "a");
  m.setHeader("x-new", "b");
  EXPECT_EQ(m.headerCount("X-New"), 1u);
  EXPECT_EQ(m.header("X-New")->value, "b");

  ASSERT_TRUE(
      m.setRequestUri("sip:+15550000000;npdi;rn=+15559999999@carrier.example.com;user=phone"));
  EXPECT_TRUE(m.requestUri().npdi());
  EXPECT_FALSE(m.setRequestUri("sip:bad uri"));
  EXPECT_EQ(m.requestUri().rn().value_or(""), "+15559999999");

  m.setBody("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n");
  EXPECT_EQ(m.contentLength().valueOr(0), 31u);
  m.setBody("");
  EXPECT_EQ(m.contentLength().valueOr(99), 0u);
  EXPECT_EQ(m.header(HeaderId::ContentType), nullptr);

  auto r = parseMessage(m.serialize());
  ASSERT_TRUE(r.ok()) << toString(r.error);
  EXPECT_EQ(r.message->requestUri().rn().value_or(""), "+15559999999");
  EXPECT_EQ(r.message->maxForwards().valueOr(0), 69u);
  EXPECT_TRUE(r.message->body().empty());
  expectRoundTrip(*r.message);
}

TEST(Mutation, LazilyCachedHeadersFollowMutation) {
  Message m = parsed(sampleInvite());
  auto from = m.from();
  ASSERT_TRUE(from);
  const std::string_view from_tag = from->tag;
  ASSERT_FALSE(from_tag.empty());
  // Headers outside the inline cache, mutated before and after first read.
  m.setHeader(HeaderId::SessionExpires, "1800;refresher=uac");
  ASSERT_TRUE(m.sessionExpires());
  EXPECT_EQ(m.sessionExpires()->delta, 1800u);
  EXPECT_EQ(m.sessionExpires()->refresher, Refresher::Uac);
  m.setHeader(HeaderId::SessionExpires, "90");
  EXPECT_EQ(m.sessionExpires()->delta, 90u);
  const std::size_t required = m.require().ok() ? m.require()->size() : 0;
  m.addHeader(HeaderId::Require, "timer");
  ASSERT_TRUE(m.require());
  EXPECT_EQ(m.require()->size(), required + 1);
  EXPECT_EQ(m.require()->back(), "timer");
  m.addHeader(HeaderId::Require, "100rel");
  EXPECT_EQ(m.require()->back(), "100rel");
  // The view into the inline cache was not disturbed.
  EXPECT_EQ(m.from()->tag, from_tag);
  Message moved = std::move(m);
  EXPECT_EQ(moved.sessionExpires()->delta, 90u);
  // The copy itself is what is tested.
  Message copy = moved;  // NOLINT(performance-unnecessary-copy-initialization)
  ASSERT_TRUE(copy.require());
  EXPECT_EQ(copy.require()->size(), moved.require()->size());
  EXPECT_EQ(copy.sessionExpires()->delta, 90u);
}

TEST(Mutation, RemoveFirstValue) {
  Message m = parsed(sampleInvite());
  ASSERT_EQ(m.vias()->size(), 3u);
  EXPECT_TRUE(m.removeFirstValue(HeaderId::Via));  // the whole first field
  ASSERT_EQ(m.vias()->size(), 2u);
  EXPECT_EQ(m.topVia()->branch, "z9hG4bK-0");
  EXPECT_TRUE(m.removeFirstValue(HeaderId::Via));  // first value of "a, b"
  ASSERT_EQ(m.vias()->size(), 1u);
  EXPECT_EQ(m.topVia()->host, "10.0.0.3");
  EXPECT_TRUE(m.removeFirstValue(HeaderId::Via));
  EXPECT_EQ(m.topVia().error(), ParseError::Missing);
  EXPECT_FALSE(m.removeFirstValue(HeaderId::Via));
  EXPECT_TRUE(m.removeFirstValue(HeaderId::Route));
  EXPECT_EQ((*m.routes())[0].uri.host, "edge2.example.com");
}

// An empty Via field before the real one: the top Via is the first
// element of the list for a request and a response alike (a response
// copied from such a request was discarded as having no usable Via).
TEST(Mutation, TopViaSkipsAnEmptyViaField) {
  const std::string head = "Via: \r\nVia: SIP/2.0/UDP host1.example.com;branch=z9hG4bKa\r\n";
  const std::string rest =
      "To: <sip:b@h>\r\nFrom: <sip:a@h>;tag=1\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n"
      "Content-Length: 0\r\n\r\n";
  Message req = parsed("OPTIONS sip:b@h SIP/2.0\r\n" + head + "Max-Forwards: 70\r\n" + rest);
  ASSERT_TRUE(req.topVia().ok());
  EXPECT_EQ(req.topVia()->host, "host1.example.com");
  // A copy starts with an empty cache: its top Via is read on its own.
  Message copy(req);  // NOLINT(performance-unnecessary-copy-initialization)
  ASSERT_TRUE(copy.topVia().ok());
  EXPECT_EQ(copy.topVia()->branch, "z9hG4bKa");
  ParseResult resp = parseDatagram(makeResponse(req, 200, {}, "t").serialize());
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp.message->topVia()->host, "host1.example.com");
  ParseResult none = parseDatagram("SIP/2.0 200 OK\r\nVia: \r\n" + rest);
  EXPECT_TRUE(none.discard());
}

TEST(Mutation, NoHeaderInjection) {
  auto req = Message::createRequest(Method::Options, "sip:a@h");
  ASSERT_TRUE(req);
  req->addHeader("X-Evil", "a\r\nVia: SIP/2.0/UDP evil");
  req->addHeader("Bad:Name\r\n", "v");
  std::string wire = req->serialize();
  EXPECT_EQ(wire.find("\r\nVia:"), std::string::npos);
  EXPECT_NE(wire.find("X-Evil: a  Via: SIP/2.0/UDP evil\r\n"), std::string::npos);
  EXPECT_NE(wire.find("\r\nBadName: v\r\n"), std::string::npos);
}

TEST(Mutation, StatusLine) {
  Message r = Message::createResponse(183);
  EXPECT_EQ(r.reasonPhrase(), "Session Progress");
  r.setStatus(486);
  EXPECT_EQ(r.serialize().substr(0, 24), "SIP/2.0 486 Busy Here\r\nC");
  r.setStatus(499, "Custom Thing");
  EXPECT_EQ(r.reasonPhrase(), "Custom Thing");
}

TEST(MessageValue, CopyIsDeepAndMoveKeepsViews) {
  auto original = std::make_unique<Message>(parsed(sampleInvite()));
  original->setHeader("X-Added", "value");
  Message copy(*original);
  original->setHeader(HeaderId::MaxForwards, "1");
  EXPECT_EQ(copy.maxForwards().valueOr(0), 70u);
  original.reset();  // the copy owns its bytes
  EXPECT_EQ(copy.header("X-Added")->value, "value");
  EXPECT_EQ(copy.requestUri().number(), "+15551234567");
  EXPECT_EQ(copy.body(), "v=0\n");
  expectRoundTrip(copy);

  auto from = copy.from();
  ASSERT_TRUE(from);
  const NameAddr* before = &*from;
  Message moved(std::move(copy));
  EXPECT_EQ(&*moved.from(), before);  // references survive a move
  EXPECT_EQ(before->tag, "as1");

  Message assigned;
  assigned = moved;
  EXPECT_EQ(assigned.serialize(), moved.serialize());

  // The moved-from message reads as empty and can be reused.
  EXPECT_TRUE(copy.headers().empty());  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(copy.from().error(), ParseError::Missing);
  copy = Message::createResponse(200);
  EXPECT_EQ(copy.statusCode(), 200);
}

TEST(MakeResponse, Rfc3261Section8_2_6) {
  Message req = parsed(sampleInvite());
  Message r = makeResponse(req, 180, {}, "totag1");
  EXPECT_EQ(r.statusCode(), 180);
  EXPECT_EQ(r.reasonPhrase(), "Ringing");
  ASSERT_EQ(r.headerCount(HeaderId::Via), 2u);  // both fields, in order
  ASSERT_TRUE(r.vias());
  ASSERT_EQ(r.vias()->size(), 3u);
  EXPECT_EQ((*r.vias())[0].branch, "z9hG4bK-1");
  EXPECT_EQ((*r.vias())[2].branch, "z9hG4bK-x");
  EXPECT_EQ(r.from()->tag, "as1");
  EXPECT_EQ(r.to()->tag, "totag1");
  EXPECT_EQ(r.callId().valueOr({}), "3c26b1a2@10.0.0.5");
  EXPECT_EQ(r.cseq()->number, 102u);
  EXPECT_EQ(r.header(HeaderId::Timestamp), nullptr);
  EXPECT_EQ(r.header(HeaderId::Contact), nullptr);
  EXPECT_EQ(r.contentLength().valueOr(99), 0u);
  auto back = parseDatagram(r.serialize());
  ASSERT_TRUE(back.ok()) << toString(back.error);
  EXPECT_EQ(back.message->to()->tag, "totag1");

  Message trying = makeResponse(req, 100);
  EXPECT_EQ(trying.reasonPhrase(), "Trying");
  ASSERT_NE(trying.header(HeaderId::Timestamp), nullptr);
  EXPECT_EQ(trying.header(HeaderId::Timestamp)->value, "54.2");
  EXPECT_TRUE(trying.to()->tag.empty());
}

TEST(MakeResponse, KeepsExistingToTag) {
  Message req = parsed(
      "BYE sip:a@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:b@h>;tag=1\r\n"
      "To: <sip:a@h>;tag=existing\r\nCall-ID: c\r\nCSeq: 5 BYE\r\nl: 0\r\n\r\n");
  Message r = makeResponse(req, 200, "OK", "other");
  EXPECT_EQ(r.to()->tag, "existing");
  EXPECT_EQ(r.headerCount(HeaderId::To), 1u);
}

TEST(ReasonPhrases, Defaults) {
  EXPECT_EQ(defaultReasonPhrase(200), "OK");
  EXPECT_EQ(defaultReasonPhrase(420), "Bad Extension");
  EXPECT_EQ(defaultReasonPhrase(483), "Too Many Hops");
  EXPECT_EQ(defaultReasonPhrase(503), "Service Unavailable");
  EXPECT_EQ(defaultReasonPhrase(603), "Decline");
  EXPECT_EQ(defaultReasonPhrase(499), "Request Failure");
  for (int code = 100; code < 700; ++code) EXPECT_FALSE(defaultReasonPhrase(code).empty()) << code;
}

}  // namespace
}  // namespace sbc::sip

#include <gtest/gtest.h>

#include <string>

#include "sbc/sip/validate.h"

namespace sbc::sip {
namespace {

std::string request(std::string_view method, std::string_view extra, std::string_view body = {}) {
  std::string s;
  s.append(method).append(" sip:a@example.com SIP/2.0\r\n");
  s.append("Via: SIP/2.0/UDP h.example.com;branch=z9hG4bK1\r\n");
  s.append("Max-Forwards: 70\r\nFrom: <sip:b@example.com>;tag=1\r\nTo: <sip:a@example.com>\r\n");
  s.append("Call-ID: v1@h\r\nCSeq: 1 ").append(method).append("\r\n");
  s.append(extra);
  s.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n\r\n").append(body);
  return s;
}

ValidationResult validate(const std::string& bytes, const ValidationPolicy& policy = {}) {
  auto r = parseDatagram(bytes);
  EXPECT_TRUE(r.message.has_value()) << toString(r.error);
  if (!r.message) return {};
  return validateRequest(*r.message, policy);
}

TEST(Validate, AcceptsAPlainRequest) {
  EXPECT_TRUE(validate(request("OPTIONS", "")).ok());
  EXPECT_TRUE(
      validate(request("INVITE", "Content-Type: application/sdp\r\nRequire: 100rel\r\n", "v=0\r\n"))
          .ok());
}

TEST(Validate, MethodNotAllowedAndNotImplemented) {
  auto v = validate(request("SUBSCRIBE", ""));
  EXPECT_EQ(v.status, 405);
  ASSERT_EQ(v.extra.size(), 1u);
  EXPECT_EQ(v.extra[0].id, HeaderId::Allow);
  EXPECT_NE(v.extra[0].value.find("INVITE"), std::string::npos);
  auto u = validate(request("FROB", ""));
  EXPECT_EQ(u.status, 501);
  EXPECT_EQ(u.extra[0].id, HeaderId::Allow);
  ValidationPolicy p;
  p.allowed_methods.push_back(Method::Subscribe);
  EXPECT_TRUE(validate(request("SUBSCRIBE", ""), p).ok());
}

TEST(Validate, RequireIsNotCheckedOnCancelOrAck) {
  EXPECT_EQ(validate(request("INVITE", "Require: foo\r\n")).status, 420);
  EXPECT_TRUE(validate(request("CANCEL", "Require: foo\r\n")).ok());
  EXPECT_TRUE(validate(request("ACK", "Require: foo\r\n")).ok());
}

TEST(Validate, BodyRules) {
  EXPECT_EQ(validate(request("INVITE", "", "v=0\r\n")).status, 400);  // body without Content-Type
  auto v = validate(request("INVITE", "Content-Type: text/html\r\n", "<p>"));
  EXPECT_EQ(v.status, 415);
  EXPECT_EQ(v.extra[0].id, HeaderId::Accept);
  // An empty body is not checked against the accepted types.
  EXPECT_TRUE(validate(request("INVITE", "Content-Type: text/html\r\n")).ok());
  ValidationPolicy p;
  p.accepted_content_types = {"text/html"};
  EXPECT_TRUE(validate(request("INVITE", "Content-Type: text/html\r\n", "<p>"), p).ok());
}

TEST(Validate, AcceptMustAllowSdpForInvite) {
  EXPECT_TRUE(validate(request("INVITE", "Accept: */*\r\n")).ok());
  EXPECT_TRUE(validate(request("INVITE", "Accept: application/*, text/plain\r\n")).ok());
  EXPECT_EQ(validate(request("INVITE", "Accept: text/plain\r\n")).status, 406);
  EXPECT_EQ(validate(request("INVITE", "Accept:\r\n")).status, 406);
  EXPECT_TRUE(validate(request("OPTIONS", "Accept: text/plain\r\n")).ok());
}

TEST(Validate, MalformedOptionalHeadersAre400) {
  for (std::string_view extra :
       {"Max-Forwards: 70\r\n", "Expires: 1e3\r\n", "Expires: 4294967296\r\n",
        "Session-Expires: x\r\n", "Min-SE: -1\r\n", "RSeq: 0\r\n", "RAck: 1 INVITE\r\n",
        "Contact: <sip:a@b\r\n", "Route: sip:a@b\r\n", "Record-Route: <sip:a b>\r\n",
        "Content-Type: text\r\n", "Supported: a b\r\n", "P-Asserted-Identity: <sip:a@b\r\n",
        "Privacy: a b\r\n", "Reason: ;cause=1\r\n", "Contact: <sip:a@b>;expires=99999999999\r\n",
        "Contact: <sip:a@b>;q=1.5\r\n", "Contact: *, <sip:a@b>\r\n"}) {
    auto v = validate(request("INVITE", extra));
    EXPECT_EQ(v.status, 400) << extra << " -> " << toString(v.error);
  }
  EXPECT_EQ(validate(request("INVITE", "Max-Forwards: 256\r\n")).status, 400);
}

TEST(Validate, MaxForwards) {
  std::string zero = request("OPTIONS", "");
  zero.replace(zero.find("Max-Forwards: 70"), 16, "Max-Forwards: 00");
  EXPECT_EQ(validate(zero).status, 483);
  std::string missing = request("OPTIONS", "");
  missing.erase(missing.find("Max-Forwards: 70\r\n"), 18);
  EXPECT_TRUE(validate(missing).ok());
  ValidationPolicy strict;
  strict.accept_missing_max_forwards = false;
  auto v = validate(missing, strict);
  EXPECT_EQ(v.status, 400);
  EXPECT_EQ(v.error, ParseError::MissingHeader);
}

TEST(Validate, ResponsesAreNotRequests) {
  auto r = parseDatagram(
      "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:b@h>;tag=1\r\n"
      "To: <sip:a@h>;tag=2\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(validateRequest(*r.message, {}).ok());
}

TEST(Validate, RejectionResponseCarriesExtraHeaders) {
  auto r = parseDatagram(request("INVITE", "Require: foo, 100rel, bar\r\n"));
  ASSERT_TRUE(r.ok());
  auto v = validateRequest(*r.message, {});
  ASSERT_EQ(v.status, 420);
  Message resp = makeResponse(*r.message, v, "tt");
  EXPECT_EQ(resp.statusCode(), 420);
  EXPECT_EQ(resp.reasonPhrase(), "Bad Extension");
  ASSERT_TRUE(resp.unsupported());
  ASSERT_EQ(resp.unsupported()->size(), 2u);
  EXPECT_EQ((*resp.unsupported())[1], "bar");
  EXPECT_EQ(resp.to()->tag, "tt");
}

}  // namespace
}  // namespace sbc::sip

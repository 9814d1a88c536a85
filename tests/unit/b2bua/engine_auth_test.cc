// Digest client (RFC 2617 / RFC 7616 vectors) and carrier challenges on the
// B leg, for the INVITE and for in-dialog requests.
#include <gtest/gtest.h>

#include "sbc/b2bua/digest_client.h"
#include "support_engine_harness.h"

namespace sbc::b2bua::testing {
namespace {

sip::AuthHeader authOf(const sip::Message& m, sip::HeaderId id) {
  auto h = m.auth(id);
  EXPECT_TRUE(h.ok() && !h->empty());
  return h.ok() && !h->empty() ? h->front() : sip::AuthHeader{};
}

std::string param(const sip::AuthHeader& h, std::string_view name) {
  auto v = h.params.get(name);
  return v ? std::string(*v) : std::string();
}

TEST(DigestClient, Rfc2617Md5QopAuthVector) {
  DigestChallenge ch;
  ch.realm = "testrealm@host.com";
  ch.nonce = "dcd98b7102dd2f0e8b11d0f600bfb0c093";
  ch.opaque = "5ccc069c403ebaf9f0171e9517f40e41";
  ch.has_opaque = true;
  ch.qop_auth = true;
  cfg::Credentials cred;
  cred.username = "Mufasa";
  cred.password = "Circle Of Life";
  DigestInput in;
  in.method = "GET";
  in.uri = "/dir/index.html";
  in.nc = 1;
  in.cnonce = "0a4f113b";
  const std::string v = digestAuthorization(ch, cred, in);
  EXPECT_NE(v.find("response=\"6629fae49393a05397450978507c4ef1\""), std::string::npos) << v;
  EXPECT_NE(v.find("nc=00000001"), std::string::npos);
  EXPECT_NE(v.find("qop=auth"), std::string::npos);
  EXPECT_NE(v.find("opaque=\"5ccc069c403ebaf9f0171e9517f40e41\""), std::string::npos);
}

TEST(DigestClient, Rfc7616Sha256AndMd5Vectors) {
  cfg::Credentials cred;
  cred.username = "Mufasa";
  cred.password = "Circle of Life";
  DigestInput in;
  in.method = "GET";
  in.uri = "/dir/index.html";
  in.nc = 1;
  in.cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
  DigestChallenge ch;
  ch.realm = "http-auth@example.org";
  ch.nonce = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
  ch.qop_auth = true;
  ch.algorithm = DigestAlgorithm::Sha256;
  EXPECT_NE(
      digestAuthorization(ch, cred, in)
          .find("response=\"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1\""),
      std::string::npos);
  ch.algorithm = DigestAlgorithm::Md5;
  EXPECT_NE(digestAuthorization(ch, cred, in).find("response=\"8ca523f5e9506fed4657c9700eebdbec\""),
            std::string::npos);
}

TEST(DigestClient, PicksSha256OverMd5AndRejectsUnknown) {
  sip::Message m = parse(
      "SIP/2.0 401 Unauthorized\r\n"
      "Via: SIP/2.0/UDP 203.0.113.5;branch=z9hG4bK1\r\n"
      "From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n"
      "WWW-Authenticate: Digest realm=\"r\", nonce=\"n1\", algorithm=MD5, qop=\"auth\"\r\n"
      "WWW-Authenticate: Digest realm=\"r\", nonce=\"n2\", algorithm=SHA-256, "
      "qop=\"auth,auth-int\"\r\n"
      "WWW-Authenticate: Digest realm=\"r\", nonce=\"n3\", algorithm=SHA-512-256\r\n"
      "Content-Length: 0\r\n\r\n");
  auto picked = pickChallenge(*m.auth(sip::HeaderId::WWWAuthenticate));
  ASSERT_TRUE(picked.has_value());
  EXPECT_EQ(picked->nonce, "n2");
  EXPECT_EQ(picked->algorithm, DigestAlgorithm::Sha256);
  EXPECT_TRUE(picked->qop_auth);
}

TEST(EngineAuth, CarrierChallengeOnInviteIsAnswered) {
  Harness h;
  h.fromPbx(pbxInvite());
  sip::Message inv = h.expect(h.carrier.address, "INVITE");
  ResponseSpec r;
  r.extra =
      "Proxy-Authenticate: Digest realm=\"carrier.example\", nonce=\"abc123\", qop=\"auth\", "
      "algorithm=MD5, opaque=\"op\"\r\n";
  h.fromCarrier(respond(inv, 407, r));
  h.expect(h.carrier.address, "ACK");
  sip::Message again = h.expect(h.carrier.address, "INVITE");
  EXPECT_EQ(*again.callId(), *inv.callId());
  EXPECT_EQ(again.from()->tag, inv.from()->tag);
  EXPECT_EQ(again.cseq()->number, inv.cseq()->number + 1);
  EXPECT_NE(again.topVia()->branch, inv.topVia()->branch);
  EXPECT_EQ(again.body(), inv.body());
  const sip::AuthHeader a = authOf(again, sip::HeaderId::ProxyAuthorization);
  EXPECT_EQ(param(a, "username"), "sbcuser");
  EXPECT_EQ(param(a, "realm"), "carrier.example");
  EXPECT_EQ(param(a, "uri"), std::string(again.requestUriText()));
  EXPECT_EQ(param(a, "opaque"), "op");
  // Recompute the response independently.
  const std::string ha1 = md5Hex("sbcuser:carrier.example:secret");
  const std::string ha2 = md5Hex("INVITE:" + std::string(again.requestUriText()));
  const std::string expected =
      md5Hex(ha1 + ":abc123:" + param(a, "nc") + ":" + param(a, "cnonce") + ":auth:" + ha2);
  EXPECT_EQ(param(a, "response"), expected);
  EXPECT_TRUE(h.none(h.pbx.address, "SIP/2.0 407"));
  EXPECT_EQ(h.engine->stats().auth_retries, 1u);

  ResponseSpec ok;
  ok.body = kCarrierSdp;
  h.fromCarrier(respond(again, 200, ok));
  sip::Message ack = h.expect(h.carrier.address, "ACK");
  EXPECT_EQ(ack.cseq()->number, again.cseq()->number);
  EXPECT_NE(ack.header(sip::HeaderId::ProxyAuthorization), nullptr);
  h.expect(h.pbx.address, "SIP/2.0 200");
}

TEST(EngineAuth, SecondChallengeFailsTheCallWithoutLeakingIt) {
  HarnessOptions o;
  o.gateways = 1;
  Harness h(o);
  h.fromPbx(pbxInvite());
  sip::Message inv = h.expect(h.carrier.address, "INVITE");
  ResponseSpec r;
  r.extra =
      "WWW-Authenticate: Digest realm=\"carrier.example\", nonce=\"n1\", algorithm=SHA-256\r\n";
  h.fromCarrier(respond(inv, 401, r));
  sip::Message again = h.expect(h.carrier.address, "INVITE");
  const sip::AuthHeader a = authOf(again, sip::HeaderId::Authorization);
  EXPECT_EQ(param(a, "algorithm"), "SHA-256");
  h.fromCarrier(respond(again, 401, r));
  sip::Message fail = h.expect(h.pbx.address, "SIP/2.0 403");
  EXPECT_EQ(fail.header(sip::HeaderId::WWWAuthenticate), nullptr);
  EXPECT_EQ(h.count(h.carrier.address, "INVITE"), 0u);
  EXPECT_EQ(h.limits.held(), 0u);
}

TEST(EngineAuth, ChallengedByeIsResentWithCredentials) {
  Harness h;
  h.establish();
  h.fromPbx(h.pbx_dialog.request("BYE"));
  h.expect(h.pbx.address, "SIP/2.0 200");
  sip::Message bye = h.expect(h.carrier.address, "BYE");
  ResponseSpec r;
  r.extra = "WWW-Authenticate: Digest realm=\"carrier.example\", nonce=\"n9\", qop=\"auth\"\r\n";
  h.fromCarrier(respond(bye, 401, r));
  sip::Message again = h.expect(h.carrier.address, "BYE");
  EXPECT_EQ(again.cseq()->number, bye.cseq()->number + 1);
  EXPECT_NE(again.header(sip::HeaderId::Authorization), nullptr);
  h.fromCarrier(respond(again, 200));
  EXPECT_EQ(h.limits.held(), 0u);
}

TEST(EngineAuth, ChallengedReInviteIsResentAndAnswerRelayed) {
  Harness h;
  h.establish();
  std::string sdp = kPbxSdp;
  sdp.replace(sdp.find("111 1 "), 6, "111 2 ");
  h.fromPbx(h.pbx_dialog.request("INVITE", {}, sdp));
  sip::Message reinv = h.expect(h.carrier.address, "INVITE");
  ResponseSpec r;
  r.extra = "Proxy-Authenticate: Digest realm=\"carrier.example\", nonce=\"n7\"\r\n";
  h.fromCarrier(respond(reinv, 407, r));
  h.expect(h.carrier.address, "ACK");
  sip::Message again = h.expect(h.carrier.address, "INVITE");
  EXPECT_NE(again.header(sip::HeaderId::ProxyAuthorization), nullptr);
  EXPECT_TRUE(h.none(h.pbx.address, "SIP/2.0 407"));
  ResponseSpec ok;
  ok.body = kCarrierSdp;
  h.fromCarrier(respond(again, 200, ok));
  h.expect(h.pbx.address, "SIP/2.0 200");
}

}  // namespace
}  // namespace sbc::b2bua::testing

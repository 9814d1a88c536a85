#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "sbc/b2bua/digest.h"
#include "sbc/b2bua/digest_client.h"
#include "tests/unit/b2bua/policy_fixtures.h"

namespace sbc::b2bua {
namespace {

using namespace std::chrono_literals;
using testing::parseSip;

constexpr std::string_view kRealm = "sbc.example";
constexpr std::string_view kNonce = "000000000036ee808045710712a650a31d6f56d873436e27";
constexpr std::string_view kUri = "sip:+14155550100@sbc.example.com";

DigestServer::Key fixedKey() {
  DigestServer::Key k;
  k.fill(0x11);
  return k;
}

const txn::TimePoint kT0 = txn::TimePoint{} + 1h;

cfg::Credentials creds() {
  cfg::Credentials c;
  c.username = "pbx1";
  c.password = "s3cret";
  return c;
}

std::string invite(std::string_view auth_header) {
  return testing::request("INVITE", kUri, "pbx1", "+14155550100",
                          std::string(auth_header) + "\r\n");
}

std::string authValue(std::string_view alg, std::string_view response,
                      std::string_view user = "pbx1", std::string_view nonce = kNonce) {
  return "Digest username=\"" + std::string(user) + "\", realm=\"sbc.example\", nonce=\"" +
         std::string(nonce) + "\", uri=\"" + std::string(kUri) + "\", response=\"" +
         std::string(response) + "\", algorithm=" + std::string(alg) +
         ", cnonce=\"0a4f113b\", qop=auth, nc=00000001";
}

TEST(DigestServer, NonceIsTimestampPlusHmac) {
  DigestServer s({}, fixedKey());
  EXPECT_EQ(s.makeNonce(kRealm, kT0), kNonce);  // computed independently (Python hmac)
  EXPECT_EQ(s.checkNonce(kNonce, kRealm, kT0 + 299s), DigestServer::Check::Ok);
  EXPECT_EQ(s.checkNonce(kNonce, kRealm, kT0 + 301s), DigestServer::Check::Stale);
  EXPECT_EQ(s.checkNonce(kNonce, "other.realm", kT0), DigestServer::Check::BadNonce);
  std::string tampered(kNonce);
  tampered[15] = '1';  // move the timestamp
  EXPECT_EQ(s.checkNonce(tampered, kRealm, kT0), DigestServer::Check::BadNonce);
  EXPECT_EQ(s.checkNonce("", kRealm, kT0), DigestServer::Check::BadNonce);
  EXPECT_EQ(s.checkNonce(std::string(48, 'Z'), kRealm, kT0), DigestServer::Check::BadNonce);
  DigestServer other_key{DigestServerOptions{}};
  EXPECT_EQ(other_key.checkNonce(kNonce, kRealm, kT0), DigestServer::Check::BadNonce);
}

TEST(DigestServer, ChallengeOffersSha256ThenMd5) {
  DigestServer s({}, fixedKey());
  sip::Message req = parseSip(testing::request("REGISTER", "sip:sbc.example.com"));
  sip::Message resp = sip::makeResponse(req, 401);
  s.challenge(resp, kRealm, false, kT0);
  auto ch = resp.auth(sip::HeaderId::WWWAuthenticate);
  ASSERT_TRUE(ch.ok());
  ASSERT_EQ(ch->size(), 2u);
  auto first = parseChallenge((*ch)[0]);
  auto second = parseChallenge((*ch)[1]);
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->algorithm, DigestAlgorithm::Sha256);
  EXPECT_EQ(second->algorithm, DigestAlgorithm::Md5);
  EXPECT_EQ(first->realm, kRealm);
  EXPECT_EQ(first->nonce, kNonce);
  EXPECT_TRUE(first->qop_auth);
  EXPECT_FALSE(first->stale);

  sip::Message proxy = sip::makeResponse(req, 407);
  s.challenge(proxy, kRealm, true, kT0);
  EXPECT_EQ(proxy.headerCount(sip::HeaderId::WWWAuthenticate), 0u);
  auto pch = proxy.auth(sip::HeaderId::ProxyAuthenticate);
  ASSERT_TRUE(pch.ok());
  ASSERT_EQ(pch->size(), 2u);
  EXPECT_TRUE(parseChallenge((*pch)[0])->stale);
}

TEST(DigestServer, VerifiesKnownAnswers) {
  DigestServer s({}, fixedKey());
  // Responses computed independently (Python hashlib) for this request.
  sip::Message md5 = parseSip(
      invite("Proxy-Authorization: " + authValue("MD5", "8f1810a3bccccc996a2e870e99058cb3")));
  EXPECT_EQ(s.verify(md5, true, kRealm, creds(), kT0 + 1s), DigestServer::Check::Ok);
  sip::Message sha = parseSip(invite("Proxy-Authorization: " +
                                     authValue("SHA-256",
                                               "f343a05a14c683371f73f382180674a72559deb4c99b575e255"
                                               "d444a37ab4bb5")));
  EXPECT_EQ(s.verify(sha, true, kRealm, creds(), kT0 + 1s), DigestServer::Check::Ok);
  // Upper-case hex from a sloppy client is still the same digest.
  sip::Message upper = parseSip(
      invite("Proxy-Authorization: " + authValue("MD5", "8F1810A3BCCCCC996A2E870E99058CB3")));
  EXPECT_EQ(s.verify(upper, true, kRealm, creds(), kT0 + 1s), DigestServer::Check::Ok);
  // Looking in the wrong header finds nothing.
  EXPECT_EQ(s.verify(md5, false, kRealm, creds(), kT0), DigestServer::Check::Missing);
}

TEST(DigestServer, RejectsWrongAnswers) {
  DigestServer s({}, fixedKey());
  auto check = [&](const std::string& header, txn::TimePoint at = kT0 + 1s) {
    return s.verify(parseSip(invite(header)), true, kRealm, creds(), at);
  };
  const std::string good =
      "Proxy-Authorization: " + authValue("MD5", "8f1810a3bccccc996a2e870e99058cb3");
  EXPECT_EQ(check(good), DigestServer::Check::Ok);
  EXPECT_EQ(check(good, kT0 + 10min), DigestServer::Check::Stale);
  EXPECT_EQ(check("Proxy-Authorization: " + authValue("MD5", "00000000000000000000000000000000")),
            DigestServer::Check::Failed);
  EXPECT_EQ(
      check("Proxy-Authorization: " + authValue("MD5", "8f1810a3bccccc996a2e870e99058cb3", "pbx2")),
      DigestServer::Check::Failed);
  // Same digest claimed as SHA-256.
  EXPECT_EQ(
      check("Proxy-Authorization: " + authValue("SHA-256", "8f1810a3bccccc996a2e870e99058cb3")),
      DigestServer::Check::Failed);
  EXPECT_EQ(check("Proxy-Authorization: " + authValue("SHA-512-256", "8f18")),
            DigestServer::Check::Failed);
  EXPECT_EQ(check("Proxy-Authorization: " +
                  authValue("MD5", "8f1810a3bccccc996a2e870e99058cb3", "pbx1",
                            "000000000036ee80ffffffffffffffffffffffffffffffff")),
            DigestServer::Check::BadNonce);
  // RFC 2069 style (no qop) is a downgrade we do not accept.
  EXPECT_EQ(check("Proxy-Authorization: Digest username=\"pbx1\", realm=\"sbc.example\", nonce=\"" +
                  std::string(kNonce) + "\", uri=\"" + std::string(kUri) +
                  "\", response=\"8f1810a3bccccc996a2e870e99058cb3\""),
            DigestServer::Check::Failed);
  // Credentials for another realm, or another scheme, are not ours.
  EXPECT_EQ(check("Proxy-Authorization: Digest username=\"pbx1\", realm=\"carrier\", nonce=\"x\", "
                  "uri=\"sip:a@b\", response=\"00\""),
            DigestServer::Check::Missing);
  EXPECT_EQ(check("Proxy-Authorization: Basic cGJ4MTpzM2NyZXQ="), DigestServer::Check::Missing);
}

TEST(DigestServer, UriMustNameTheRequest) {
  DigestServer s({}, fixedKey());
  // A valid digest for another Request-URI, replayed on this one.
  std::string other = "sip:+14155550199@sbc.example.com";
  cfg::Credentials c = creds();
  DigestChallenge ch;
  ch.realm = kRealm;
  ch.nonce = kNonce;
  ch.qop_auth = true;
  DigestInput in;
  in.method = "INVITE";
  in.uri = other;
  in.cnonce = "abcdef";
  std::string value = digestAuthorization(ch, c, in);
  sip::Message replay = parseSip(invite("Proxy-Authorization: " + value));
  EXPECT_EQ(s.verify(replay, true, kRealm, c, kT0), DigestServer::Check::Failed);
}

// The engine's client answers our own challenge: both sides agree.
TEST(DigestServer, RoundTripWithTheClient) {
  DigestServer s({}, fixedKey());
  sip::Message reg = parseSip(testing::request("REGISTER", "sip:sbc.example.com", "pbx1", "pbx1"));
  sip::Message resp = sip::makeResponse(reg, 401);
  s.challenge(resp, kRealm, false, kT0);
  auto ch = pickChallenge(*resp.auth(sip::HeaderId::WWWAuthenticate));
  ASSERT_TRUE(ch);
  EXPECT_EQ(ch->algorithm, DigestAlgorithm::Sha256);
  for (bool md5 : {false, true}) {
    DigestChallenge use = *ch;
    if (md5) use.algorithm = DigestAlgorithm::Md5;
    DigestInput in;
    in.method = "REGISTER";
    in.uri = "sip:sbc.example.com";
    in.cnonce = "c0ffee";
    std::string value = digestAuthorization(use, creds(), in);
    sip::Message again = parseSip(testing::request("REGISTER", "sip:sbc.example.com", "pbx1",
                                                   "pbx1", "Authorization: " + value + "\r\n"));
    EXPECT_EQ(s.verify(again, false, kRealm, creds(), kT0 + 5s), DigestServer::Check::Ok) << md5;
    cfg::Credentials wrong = creds();
    wrong.password = "guess";
    EXPECT_EQ(s.verify(again, false, kRealm, wrong, kT0 + 5s), DigestServer::Check::Failed);
  }
}

TEST(DigestServer, ConstantTimeEquals) {
  EXPECT_TRUE(constantTimeEquals("", ""));
  EXPECT_TRUE(constantTimeEquals("abc", "abc"));
  EXPECT_FALSE(constantTimeEquals("abc", "abd"));
  EXPECT_FALSE(constantTimeEquals("abc", "abcd"));
}

}  // namespace
}  // namespace sbc::b2bua

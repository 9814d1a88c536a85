#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "sbc/b2bua/digest_client.h"
#include "sbc/b2bua/policy_default.h"
#include "sbc/txn/fake_timer_service.h"
#include "tests/unit/b2bua/policy_fixtures.h"

namespace sbc::b2bua {
namespace {

using namespace std::chrono_literals;
using testing::parseSip;
using Verdict = Identity::Verdict;

constexpr std::uint32_t kInside = 0, kOutside = 1;

class IdentifyTest : public ::testing::Test {
 protected:
  IdentifyTest() : policy_(timers_, options()) {
    cfg::Trunk carrier = testing::carrier(10, "carrier");
    carrier.acl.push_back(testing::cidr("198.51.100.0/24"));
    snap_.trunks.push_back(carrier);

    cfg::Trunk acl = testing::pbx(1, "pbx-acl");
    acl.acl.push_back(testing::cidr("10.0.0.0/24"));
    snap_.trunks.push_back(acl);

    cfg::Trunk reg = testing::pbx(2, "pbx-reg", cfg::AuthMode::Register);
    reg.inbound = {"pbx2", "pw2", ""};
    snap_.trunks.push_back(reg);

    cfg::Trunk acl_digest = testing::pbx(3, "pbx-acl-digest", cfg::AuthMode::Digest);
    acl_digest.acl.push_back(testing::cidr("10.1.0.0/24"));
    acl_digest.inbound = {"pbx3", "pw3", ""};
    snap_.trunks.push_back(acl_digest);

    cfg::Trunk digest = testing::pbx(4, "pbx-digest", cfg::AuthMode::Digest);
    digest.inbound = {"pbx4", "pw4", "pbx4.example"};
    snap_.trunks.push_back(digest);

    cfg::Trunk off = testing::pbx(5, "pbx-off", cfg::AuthMode::Digest);
    off.inbound = {"pbx5", "pw5", ""};
    off.enabled = false;
    snap_.trunks.push_back(off);
    snap_.generation = 1;
    snap_.index();
  }

  static PolicyOptions options() {
    PolicyOptions o;
    o.node_name = "sbc-node";
    o.listener_realms = {"inside", "outside"};
    o.flood.rate = 1;
    o.flood.burst = 20;
    o.make_tag = [] { return std::string("ptag"); };
    return o;
  }

  static txn::Peer peer(std::string address, std::uint16_t port, std::uint32_t listener) {
    txn::Peer p;
    p.address = std::move(address);
    p.port = port;
    p.listener = listener;
    return p;
  }

  Identity identify(const sip::Message& m, const txn::Peer& from) {
    return policy_.identify(m, from, snap_);
  }

  // Answers the challenge in `challenged` with these credentials.
  static sip::Message answer(std::string_view method, std::string_view ruri,
                             std::string_view from_user, std::string_view to_user,
                             const Identity& challenged, const cfg::Credentials& creds) {
    EXPECT_TRUE(challenged.response.has_value());
    const bool proxy = challenged.response->statusCode() == 407;
    auto hdrs = challenged.response->auth(proxy ? sip::HeaderId::ProxyAuthenticate
                                                : sip::HeaderId::WWWAuthenticate);
    EXPECT_TRUE(hdrs.ok());
    auto ch = pickChallenge(*hdrs);
    EXPECT_TRUE(ch.has_value());
    DigestInput in;
    in.method = method;
    in.uri = ruri;
    in.cnonce = "12345678";
    std::string value = digestAuthorization(*ch, creds, in);
    std::string header = proxy ? "Proxy-Authorization: " : "Authorization: ";
    return parseSip(testing::request(method, ruri, from_user, to_user, header + value + "\r\n"));
  }

  txn::FakeTimerService timers_;
  DefaultPolicy policy_;
  cfg::Snapshot snap_;
};

TEST_F(IdentifyTest, CarrierByAclOnlyInItsRealm) {
  sip::Message inv = parseSip(testing::request("INVITE", "sip:+14155550100@sbc"));
  Identity id = identify(inv, peer("198.51.100.7", 5060, kOutside));
  EXPECT_EQ(id.verdict, Verdict::Accept);
  ASSERT_NE(id.trunk, nullptr);
  EXPECT_EQ(id.trunk->id, 10);
  EXPECT_FALSE(id.response.has_value());
  // Same address on the inside listener: nobody we know.
  id = identify(inv, peer("198.51.100.7", 5060, kInside));
  EXPECT_EQ(id.verdict, Verdict::Drop);
  EXPECT_EQ(id.cause, RejectCause::UnknownSource);
  EXPECT_FALSE(id.response.has_value());
  // A listener the app did not describe.
  id = identify(inv, peer("198.51.100.7", 5060, 7));
  EXPECT_EQ(id.verdict, Verdict::Drop);
  id = identify(inv, peer("not-an-ip", 5060, kOutside));
  EXPECT_EQ(id.verdict, Verdict::Drop);
}

TEST_F(IdentifyTest, PbxByAcl) {
  sip::Message inv = parseSip(testing::request("INVITE", "sip:+14155550100@sbc"));
  Identity id = identify(inv, peer("10.0.0.9", 5060, kInside));
  EXPECT_EQ(id.verdict, Verdict::Accept);
  EXPECT_EQ(id.trunk->id, 1);
  EXPECT_EQ(policy_.stats().accepted_acl, 1u);
}

TEST_F(IdentifyTest, AclPlusDigest) {
  const std::string ruri = "sip:+14155550100@sbc";
  sip::Message inv = parseSip(testing::request("INVITE", ruri, "whoever"));
  txn::Peer src = peer("10.1.0.3", 5060, kInside);
  Identity id = identify(inv, src);
  ASSERT_EQ(id.verdict, Verdict::Challenge);
  EXPECT_EQ(id.cause, RejectCause::Auth);
  ASSERT_TRUE(id.response);
  EXPECT_EQ(id.response->statusCode(), 407);
  EXPECT_EQ(id.response->to()->tag, "ptag");
  auto ch = id.response->auth(sip::HeaderId::ProxyAuthenticate);
  ASSERT_TRUE(ch.ok());
  ASSERT_EQ(ch->size(), 2u);
  EXPECT_EQ(parseChallenge((*ch)[0])->realm, "sbc-node");  // no trunk realm: node name
  EXPECT_EQ(parseChallenge((*ch)[0])->algorithm, DigestAlgorithm::Sha256);

  // OPTIONS keepalives from the ACL are not challenged.
  EXPECT_EQ(identify(parseSip(testing::request("OPTIONS", "sip:sbc")), src).verdict,
            Verdict::Accept);

  Identity ok = identify(answer("INVITE", ruri, "whoever", "x", id, {"pbx3", "pw3", ""}), src);
  EXPECT_EQ(ok.verdict, Verdict::Accept);
  EXPECT_EQ(ok.trunk->id, 3);
  Identity bad = identify(answer("INVITE", ruri, "whoever", "x", id, {"pbx3", "nope", ""}), src);
  EXPECT_EQ(bad.verdict, Verdict::Reject);
  ASSERT_TRUE(bad.response);
  EXPECT_EQ(bad.response->statusCode(), 403);
  EXPECT_EQ(policy_.stats().auth_failures, 1u);
}

TEST_F(IdentifyTest, DigestFromAnywhereByFromUser) {
  const std::string ruri = "sip:+442079460000@sbc";
  txn::Peer src = peer("192.0.2.99", 40000, kInside);
  Identity id = identify(parseSip(testing::request("INVITE", ruri, "pbx4")), src);
  ASSERT_EQ(id.verdict, Verdict::Challenge);
  EXPECT_EQ(id.response->statusCode(), 407);
  EXPECT_EQ(parseChallenge((*id.response->auth(sip::HeaderId::ProxyAuthenticate))[0])->realm,
            "pbx4.example");
  Identity ok = identify(answer("INVITE", ruri, "pbx4", "x", id, {"pbx4", "pw4", ""}), src);
  EXPECT_EQ(ok.verdict, Verdict::Accept);
  EXPECT_EQ(ok.trunk->id, 4);
  EXPECT_EQ(policy_.stats().accepted_digest, 1u);

  // Five minutes later the nonce is stale: a new challenge saying so, not 403.
  timers_.advance(301s);
  Identity stale = identify(answer("INVITE", ruri, "pbx4", "x", id, {"pbx4", "pw4", ""}), src);
  ASSERT_EQ(stale.verdict, Verdict::Challenge);
  EXPECT_TRUE(parseChallenge((*stale.response->auth(sip::HeaderId::ProxyAuthenticate))[0])->stale);

  // Unknown From user, or a disabled trunk's user: dropped, nothing sent.
  EXPECT_EQ(identify(parseSip(testing::request("INVITE", ruri, "admin")), src).verdict,
            Verdict::Drop);
  EXPECT_EQ(identify(parseSip(testing::request("INVITE", ruri, "pbx5")), src).verdict,
            Verdict::Drop);
  // The right user on the outside listener: not its realm.
  EXPECT_EQ(identify(parseSip(testing::request("INVITE", ruri, "pbx4")),
                     peer("192.0.2.99", 40000, kOutside))
                .verdict,
            Verdict::Drop);
  // CANCEL cannot be challenged: it only touches a transaction already identified.
  EXPECT_EQ(identify(parseSip(testing::request("CANCEL", ruri, "pbx4")), src).verdict,
            Verdict::Accept);
}

TEST_F(IdentifyTest, RegisterThenCallFromRegisteredContact) {
  const std::string ruri = "sip:sbc.example.com";
  txn::Peer nat = peer("203.0.113.50", 61000, kInside);
  const std::string contact = "Contact: <sip:pbx2@192.168.0.10:5060>\r\n";
  Identity id =
      identify(parseSip(testing::request("REGISTER", ruri, "pbx2", "pbx2", contact)), nat);
  ASSERT_EQ(id.verdict, Verdict::Challenge);
  EXPECT_EQ(id.response->statusCode(), 401);
  EXPECT_EQ(id.response->headerCount(sip::HeaderId::WWWAuthenticate), 2u);

  // From user is irrelevant for REGISTER: the To user (the AOR) picks the trunk.
  sip::Message reg = answer("REGISTER", ruri, "pbx2", "pbx2", id, {"pbx2", "pw2", ""});
  std::string wire = reg.serialize();
  wire.insert(wire.size() - 2, contact);
  reg = parseSip(std::move(wire));
  Identity ok = identify(reg, nat);
  ASSERT_EQ(ok.verdict, Verdict::Accept);
  EXPECT_EQ(ok.trunk->id, 2);
  sip::Message resp = policy_.handleRegister(reg, nat, *ok.trunk);
  EXPECT_EQ(resp.statusCode(), 200);
  EXPECT_EQ(policy_.registrar().contactsOf(2).size(), 1u);

  // An INVITE from the registered address:port needs no credentials...
  Identity call =
      identify(parseSip(testing::request("INVITE", "sip:+14155550100@sbc", "2000")), nat);
  EXPECT_EQ(call.verdict, Verdict::Accept);
  EXPECT_EQ(call.trunk->id, 2);
  EXPECT_EQ(policy_.stats().accepted_registered, 1u);
  // ...from another port it does (matched by From user), and an unknown user is dropped.
  txn::Peer other = nat;
  other.port = 61001;
  EXPECT_EQ(
      identify(parseSip(testing::request("INVITE", "sip:+14155550100@sbc", "pbx2")), other).verdict,
      Verdict::Challenge);
  EXPECT_EQ(
      identify(parseSip(testing::request("INVITE", "sip:+14155550100@sbc", "2000")), other).verdict,
      Verdict::Drop);
}

TEST_F(IdentifyTest, RegisterRefusedForTrunksThatDoNotRegister) {
  sip::Message reg =
      parseSip(testing::request("REGISTER", "sip:sbc", "x", "x", "Contact: <sip:x@10.0.0.9>\r\n"));
  sip::Message r = policy_.handleRegister(reg, peer("10.0.0.9", 5060, kInside), *snap_.trunk(1));
  EXPECT_EQ(r.statusCode(), 403);
  EXPECT_EQ(policy_.registrar().size(), 0u);
}

TEST_F(IdentifyTest, UnknownSourcesAreDroppedAndFloodIsCounted) {
  txn::Peer scanner = peer("192.0.2.200", 5070, kInside);
  sip::Message probe = parseSip(testing::request("OPTIONS", "sip:100@sbc", "100"));
  int unknown = 0, flood = 0;
  for (int i = 0; i < 50; ++i) {
    Identity id = identify(probe, scanner);
    EXPECT_EQ(id.verdict, Verdict::Drop);
    EXPECT_FALSE(id.response.has_value());
    if (id.cause == RejectCause::UnknownSource) ++unknown;
    if (id.cause == RejectCause::Flood) ++flood;
  }
  EXPECT_EQ(unknown, 20);  // the burst
  EXPECT_EQ(flood, 30);
  EXPECT_EQ(policy_.stats().dropped_unknown, 20u);
  EXPECT_EQ(policy_.stats().dropped_flood, 30u);
  // Even a real user behind that address is throttled now...
  EXPECT_EQ(identify(parseSip(testing::request("INVITE", "sip:1@sbc", "pbx4")), scanner).cause,
            RejectCause::Flood);
  // ...but ACL trunks never are.
  sip::Message inv = parseSip(testing::request("INVITE", "sip:+14155550100@sbc"));
  for (int i = 0; i < 50; ++i)
    EXPECT_EQ(identify(inv, peer("198.51.100.7", 5060, kOutside)).verdict, Verdict::Accept);
}

TEST_F(IdentifyTest, NewSnapshotRebuildsUserIndex) {
  txn::Peer src = peer("192.0.2.99", 40000, kInside);
  sip::Message inv = parseSip(testing::request("INVITE", "sip:1@sbc", "pbx4"));
  EXPECT_EQ(identify(inv, src).verdict, Verdict::Challenge);
  snap_.trunks[4].inbound.username = "renamed";
  snap_.generation = 2;
  snap_.index();
  EXPECT_EQ(identify(inv, src).verdict, Verdict::Drop);
}

}  // namespace
}  // namespace sbc::b2bua

// Header policy towards the far trunk (RFC 3325 trust, privacy, strip and
// X- allow lists, product string) and the late-offer flow.
#include <gtest/gtest.h>

#include "support_engine_harness.h"

namespace sbc::b2bua::testing {
namespace {

cfg::Trunk& mutableTrunk(const cfg::Trunk* t) {
  return const_cast<cfg::Trunk&>(*t);
}

TEST(EngineTopology, UntrustedCarrierGetsNoAssertedIdentity) {
  Harness h;
  mutableTrunk(h.carrier_trunk).headers.pai = cfg::PaiTrust::Untrusted;
  InviteSpec spec;
  spec.extra =
      "P-Asserted-Identity: <sip:+12125550199@10.0.0.5>\r\nP-Preferred-Identity: "
      "<sip:x@10.0.0.5>\r\n";
  h.fromPbx(pbxInvite(spec));
  sip::Message inv = h.expect(h.carrier.address, "INVITE");
  EXPECT_EQ(inv.header(sip::HeaderId::PAssertedIdentity), nullptr);
  EXPECT_EQ(inv.header(sip::HeaderId::PPreferredIdentity), nullptr);
  EXPECT_EQ(inv.from()->uri.user, "+12125550199");  // no privacy asked: caller shown
}

TEST(EngineTopology, PrivacyIdTowardsUntrustedHidesTheCaller) {
  Harness h;
  mutableTrunk(h.carrier_trunk).headers.pai = cfg::PaiTrust::Untrusted;
  InviteSpec spec;
  spec.extra = "P-Asserted-Identity: <sip:+12125550199@10.0.0.5>\r\nPrivacy: id\r\n";
  h.fromPbx(pbxInvite(spec));
  sip::Message inv = h.expect(h.carrier.address, "INVITE");
  EXPECT_EQ(inv.header(sip::HeaderId::PAssertedIdentity), nullptr);
  EXPECT_EQ(inv.from()->uri.user, "anonymous");
  EXPECT_EQ(inv.from()->displayName(), "Anonymous");
  EXPECT_EQ(inv.serialize().find("12125550199"), std::string::npos);
}

TEST(EngineTopology, PrivacyIdTowardsTrustedKeepsPaiAndPrivacy) {
  Harness h;
  InviteSpec spec;
  spec.extra = "P-Asserted-Identity: <sip:+12125550199@10.0.0.5>\r\nPrivacy: id\r\n";
  h.fromPbx(pbxInvite(spec));
  sip::Message inv = h.expect(h.carrier.address, "INVITE");
  ASSERT_NE(inv.header(sip::HeaderId::PAssertedIdentity), nullptr);
  EXPECT_EQ(inv.pAssertedIdentities()->front().uri.user, "+12125550199");
  EXPECT_NE(inv.header(sip::HeaderId::Privacy), nullptr);
  assertNoLeak(inv, kPbxSecrets);
}

TEST(EngineTopology, IdentityFromAnUntrustedSourceIsNotPassed) {
  Harness h;
  mutableTrunk(h.pbx_trunk).headers.pai = cfg::PaiTrust::Untrusted;
  InviteSpec spec;
  spec.extra = "P-Asserted-Identity: <sip:+19999999999@10.0.0.5>\r\n";
  h.fromPbx(pbxInvite(spec));
  sip::Message inv = h.expect(h.carrier.address, "INVITE");
  EXPECT_EQ(inv.header(sip::HeaderId::PAssertedIdentity), nullptr);
}

TEST(EngineTopology, StripAndXAllowListsAndProduct) {
  Harness h;
  auto& headers = mutableTrunk(h.carrier_trunk).headers;
  headers.strip = {"Subject"};
  headers.allow_x = {"X-Account-Code"};
  headers.product = "CarrierFacing/1";
  InviteSpec spec;
  spec.extra =
      "Subject: private\r\nX-Account-Code: 42\r\nX-Other: no\r\nCall-Info: "
      "<http://10.0.0.5/photo>\r\n"
      "Diversion: <sip:+12125550100@10.0.0.5>;reason=unconditional\r\n";
  h.fromPbx(pbxInvite(spec));
  sip::Message inv = h.expect(h.carrier.address, "INVITE");
  assertNoLeak(inv, kPbxSecrets);
  EXPECT_EQ(inv.header(sip::HeaderId::Subject), nullptr);
  ASSERT_NE(inv.header("X-Account-Code"), nullptr);
  EXPECT_EQ(inv.header("X-Account-Code")->value, "42");
  EXPECT_EQ(inv.header("X-Other"), nullptr);
  EXPECT_EQ(inv.header(sip::HeaderId::CallInfo), nullptr);
  ASSERT_NE(inv.header(sip::HeaderId::Diversion), nullptr);
  EXPECT_NE(inv.header(sip::HeaderId::Diversion)->value.find("@203.0.113.5"),
            std::string_view::npos);
  EXPECT_EQ(inv.header(sip::HeaderId::UserAgent)->value, "CarrierFacing/1");

  headers.product = "";  // explicitly none
  InviteSpec second;
  second.call_id = "pbx-call-2@10.0.0.5";
  second.branch = "z9hG4bKpbx2";
  h.fromPbx(pbxInvite(second));
  sip::Message inv2 = h.expect(h.carrier.address, "INVITE");
  EXPECT_EQ(inv2.header(sip::HeaderId::UserAgent), nullptr);
}

TEST(EngineTopology, LateOfferAnswerTravelsInTheAcks) {
  Harness h;
  InviteSpec spec;
  spec.body.clear();
  h.fromPbx(pbxInvite(spec));
  sip::Message inv = h.expect(h.carrier.address, "INVITE");
  EXPECT_TRUE(inv.body().empty());
  ResponseSpec ok;
  ok.body = kCarrierSdp;  // the offer
  h.fromCarrier(respond(inv, 200, ok));
  EXPECT_TRUE(h.none(h.carrier.address, "ACK"));  // its ACK must carry the answer
  sip::Message ok_a = h.expect(h.pbx.address, "SIP/2.0 200");
  assertNoLeak(ok_a, kCarrierSecrets);
  EXPECT_FALSE(ok_a.body().empty());
  PeerDialog a = h.pbxDialogFrom(ok_a);
  h.fromPbx(a.request("ACK", {}, kPbxSdp, 10));
  sip::Message ack = h.expect(h.carrier.address, "ACK");
  assertNoLeak(ack, kPbxSecrets);
  EXPECT_NE(ack.body().find("m=audio 10000"), std::string_view::npos);
  EXPECT_NE(ack.body().find("o=- "), std::string_view::npos);
  // B's 2xx retransmission is now re-ACKed with the same ACK.
  h.fromCarrier(respond(inv, 200, ok));
  EXPECT_EQ(h.expect(h.carrier.address, "ACK").body(), ack.body());
}

TEST(EngineTopology, RejectedReInviteLeavesTheSessionAsItWas) {
  HarnessOptions o;
  o.session_expires = 120;
  Harness h(o);
  h.fromPbx(pbxInvite());
  sip::Message inv = h.expect(h.carrier.address, "INVITE");
  ResponseSpec ok;
  ok.body = kCarrierSdp;
  h.fromCarrier(respond(inv, 200, ok));
  h.expect(h.carrier.address, "ACK");
  sip::Message ok_a = h.expect(h.pbx.address, "SIP/2.0 200");
  h.ackFromPbx(ok_a);
  PeerDialog a = h.pbxDialogFrom(ok_a);
  std::string hold = kPbxSdp;
  hold.replace(hold.find("111 1 "), 6, "111 2 ");
  hold.replace(hold.find("a=sendrecv"), 10, "a=sendonly");
  h.fromPbx(a.request("INVITE", {}, hold));
  sip::Message reinv = h.expect(h.carrier.address, "INVITE");
  h.fromCarrier(respond(reinv, 488));
  h.expect(h.pbx.address, "SIP/2.0 488");
  // The next refresh towards the carrier re-sends the session it accepted.
  h.clock.advance(60s);
  sip::Message refresh = h.expect(h.carrier.address, "INVITE");
  EXPECT_NE(refresh.body().find("a=sendrecv"), std::string_view::npos);
  EXPECT_EQ(refresh.body().find("a=sendonly"), std::string_view::npos);
}

}  // namespace
}  // namespace sbc::b2bua::testing

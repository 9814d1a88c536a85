// Requests inside an established call: re-INVITE and UPDATE (hold, resume,
// glare), locally answered refreshes, INFO/OPTIONS relays, REFER refusal,
// dialog matching, CSeq order, requests after the end.
#include <gtest/gtest.h>

#include "support_engine_harness.h"

namespace sbc::b2bua::testing {
namespace {

std::string pbxSdp(int version, std::string_view direction) {
  std::string s = kPbxSdp;
  const std::string from = "o=pbxuser 111 1 ";
  s.replace(s.find(from), from.size(), "o=pbxuser 111 " + std::to_string(version) + " ");
  s.replace(s.find("a=sendrecv"), 10, "a=" + std::string(direction));
  return s;
}

std::string carrierSdp(int version, std::string_view direction) {
  std::string s = kCarrierSdp;
  const std::string from = "o=carrieruser 999 5 ";
  s.replace(s.find(from), from.size(), "o=carrieruser 999 " + std::to_string(version) + " ");
  s.replace(s.find("a=sendrecv"), 10, "a=" + std::string(direction));
  return s;
}

std::uint64_t originVersion(std::string_view body) {
  auto parsed = sdp::parse(body, sdp::kLenient);
  if (!parsed.ok()) return 0;
  return parsed->origin().sessionVersionNumber().value_or(0);
}

TEST(EngineDialog, HoldFromCallerIsRelayedAsTheCalleesOwnReInvite) {
  Harness h;
  sip::Message b_invite = h.establish();
  const std::uint64_t v0 = originVersion(b_invite.body());

  h.fromPbx(h.pbx_dialog.request("INVITE", {}, pbxSdp(2, "sendonly")));
  sip::Message reinv = h.expect(h.carrier.address, "INVITE");
  assertNoLeak(reinv, kPbxSecrets);
  EXPECT_EQ(*reinv.callId(), *b_invite.callId());
  EXPECT_EQ(reinv.from()->tag, b_invite.from()->tag);
  EXPECT_EQ(reinv.to()->tag, "cartag1");
  EXPECT_EQ(reinv.requestUriText(), "sip:carrier@198.51.100.10:5060");
  EXPECT_GT(reinv.cseq()->number, b_invite.cseq()->number);
  EXPECT_NE(reinv.body().find("a=sendonly"), std::string_view::npos);
  EXPECT_EQ(originVersion(reinv.body()), v0 + 1);

  ResponseSpec ok;
  ok.body = carrierSdp(6, "recvonly");
  h.fromCarrier(respond(reinv, 200, ok));
  EXPECT_TRUE(h.none(h.carrier.address, "ACK"));  // waits for A's ACK
  sip::Message ok_a = h.expect(h.pbx.address, "SIP/2.0 200");
  assertNoLeak(ok_a, kCarrierSecrets);
  EXPECT_NE(ok_a.body().find("a=recvonly"), std::string_view::npos);
  EXPECT_EQ(ok_a.to()->tag, h.pbx_200.to()->tag);

  h.fromPbx(h.pbx_dialog.request("ACK", {}, {}, ok_a.cseq()->number));
  sip::Message ack = h.expect(h.carrier.address, "ACK");
  EXPECT_EQ(ack.cseq()->number, reinv.cseq()->number);
  assertNoLeak(ack, kPbxSecrets);

  // Resume: the version goes up again.
  h.fromPbx(h.pbx_dialog.request("INVITE", {}, pbxSdp(3, "sendrecv")));
  sip::Message resume = h.expect(h.carrier.address, "INVITE");
  EXPECT_EQ(originVersion(resume.body()), v0 + 2);
  EXPECT_GT(resume.cseq()->number, reinv.cseq()->number);
}

TEST(EngineDialog, ReInviteFromCalleeIsRelayedToCaller) {
  Harness h;
  h.establish();
  h.fromCarrier(h.carrier_dialog.request("INVITE", {}, carrierSdp(6, "sendonly")), h.carrier);
  sip::Message reinv = h.expect(h.pbx.address, "INVITE");
  assertNoLeak(reinv, kCarrierSecrets);
  EXPECT_EQ(*reinv.callId(), "pbx-call-1@10.0.0.5");
  EXPECT_EQ(reinv.from()->tag, h.pbx_200.to()->tag);
  EXPECT_EQ(reinv.to()->tag, "pbxtag");
  EXPECT_EQ(reinv.requestUriText(), "sip:alice@10.0.0.5:5060");
  ResponseSpec ok;
  ok.to_tag = "pbxtag";
  ok.contact = "<sip:alice@10.0.0.5:5060>";
  ok.body = pbxSdp(2, "recvonly");
  h.fromPbx(respond(reinv, 200, ok));
  sip::Message ok_b = h.expect(h.carrier.address, "SIP/2.0 200");
  assertNoLeak(ok_b, kPbxSecrets);
  h.fromCarrier(h.carrier_dialog.request("ACK", {}, {}, ok_b.cseq()->number), h.carrier);
  sip::Message ack = h.expect(h.pbx.address, "ACK");
  EXPECT_EQ(ack.cseq()->number, reinv.cseq()->number);
}

TEST(EngineDialog, GlareGets491AndA491IsMappedBack) {
  Harness h;
  h.establish();
  h.fromPbx(h.pbx_dialog.request("INVITE", {}, pbxSdp(2, "sendonly")));
  sip::Message reinv = h.expect(h.carrier.address, "INVITE");
  // The carrier's own re-INVITE crosses ours.
  h.fromCarrier(h.carrier_dialog.request("INVITE", {}, carrierSdp(6, "sendonly")), h.carrier);
  h.expect(h.carrier.address, "SIP/2.0 491");
  EXPECT_TRUE(h.none(h.pbx.address, "INVITE"));
  // And the carrier answers ours with 491 too.
  h.fromCarrier(respond(reinv, 491));
  h.expect(h.pbx.address, "SIP/2.0 491");
  EXPECT_EQ(h.engine->stats().glare_491, 1u);
  // After that, a new offer goes through.
  h.fromPbx(h.pbx_dialog.request("UPDATE", {}, pbxSdp(3, "sendonly")));
  h.expect(h.carrier.address, "UPDATE");
}

TEST(EngineDialog, UpdateWithSdpIsRelayedAndAnswered) {
  Harness h;
  h.establish();
  h.fromCarrier(h.carrier_dialog.request("UPDATE", {}, carrierSdp(6, "sendrecv")), h.carrier);
  sip::Message upd = h.expect(h.pbx.address, "UPDATE");
  assertNoLeak(upd, kCarrierSecrets);
  ResponseSpec ok;
  ok.to_tag = "pbxtag";
  ok.contact = "<sip:alice@10.0.0.5:5060>";
  ok.body = pbxSdp(2, "sendrecv");
  h.fromPbx(respond(upd, 200, ok));
  sip::Message ok_b = h.expect(h.carrier.address, "SIP/2.0 200");
  assertNoLeak(ok_b, kPbxSecrets);
  EXPECT_EQ(ok_b.cseq()->method, sip::Method::Update);
  EXPECT_FALSE(ok_b.body().empty());
}

TEST(EngineDialog, RefreshWithUnchangedSdpIsAnsweredLocally) {
  Harness h;
  h.establish();
  h.fromPbx(h.pbx_dialog.request("INVITE", {}, kPbxSdp));  // same o= version as the first
  sip::Message ok = h.expect(h.pbx.address, "SIP/2.0 200");
  EXPECT_TRUE(h.none(h.carrier.address, "INVITE"));
  EXPECT_EQ(ok.body(), h.pbx_200.body());  // same SDP, same version
  h.fromPbx(h.pbx_dialog.request("ACK", {}, {}, ok.cseq()->number));
  EXPECT_TRUE(h.none(h.carrier.address, "ACK"));
  h.fromCarrier(h.carrier_dialog.request("UPDATE"), h.carrier);
  h.expect(h.carrier.address, "SIP/2.0 200");
  EXPECT_TRUE(h.none(h.pbx.address, "UPDATE"));
  EXPECT_EQ(h.engine->stats().session_refreshes_answered, 2u);
}

TEST(EngineDialog, InfoIsRelayedBothWaysWithBody) {
  Harness h;
  h.establish();
  const std::string dtmf = "Signal=5\r\nDuration=160\r\n";
  h.fromPbx(h.pbx_dialog.request("INFO", "Content-Type: application/dtmf-relay\r\n", dtmf));
  sip::Message info = h.expect(h.carrier.address, "INFO");
  assertNoLeak(info, kPbxSecrets);
  EXPECT_EQ(info.body(), dtmf);
  EXPECT_TRUE(info.contentType()->is("application", "dtmf-relay"));
  h.fromCarrier(respond(info, 200));
  h.expect(h.pbx.address, "SIP/2.0 200");

  h.fromCarrier(h.carrier_dialog.request("OPTIONS"), h.carrier);
  sip::Message opt = h.expect(h.pbx.address, "OPTIONS");
  ResponseSpec r;
  r.to_tag = "pbxtag";
  h.fromPbx(respond(opt, 200, r));
  h.expect(h.carrier.address, "SIP/2.0 200");
}

TEST(EngineDialog, ReferIsRefused) {
  Harness h;
  h.establish();
  h.fromPbx(h.pbx_dialog.request("REFER", "Refer-To: <sip:2002@10.0.0.5>\r\n"));
  h.expect(h.pbx.address, "SIP/2.0 403");
  EXPECT_TRUE(h.none(h.carrier.address, "REFER"));
}

TEST(EngineDialog, WrongTagsGet481) {
  Harness h;
  h.establish();
  PeerDialog forged = h.carrier_dialog;
  forged.local = std::string(h.carrier_invite.header(sip::HeaderId::To)->value) + ";tag=guess";
  h.fromCarrier(forged.request("BYE"), h.carrier);
  h.expect(h.carrier.address, "SIP/2.0 481");
  EXPECT_TRUE(h.none(h.pbx.address, "BYE"));
  EXPECT_EQ(h.engine->activeCalls().size(), 1u);
}

TEST(EngineDialog, CSeqOutOfOrderGets500) {
  Harness h;
  h.establish();
  h.fromPbx(h.pbx_dialog.request("INFO", {}, {}, 5));
  h.expect(h.pbx.address, "SIP/2.0 500");
}

TEST(EngineDialog, ByeCrossingByeAndRequestsAfterTheEnd) {
  Harness h;
  h.establish();
  h.fromPbx(h.pbx_dialog.request("BYE"));
  h.expect(h.pbx.address, "SIP/2.0 200");
  h.expect(h.carrier.address, "BYE");
  // The carrier hung up at the same moment.
  h.fromCarrier(h.carrier_dialog.request("BYE"), h.carrier);
  h.expect(h.carrier.address, "SIP/2.0 200");
  EXPECT_TRUE(h.none(h.pbx.address, "BYE"));
  h.fromCarrier(h.carrier_dialog.request("INFO"), h.carrier);
  h.expect(h.carrier.address, "SIP/2.0 481");
  EXPECT_EQ(h.cdrs.size(), 1u);
  EXPECT_EQ(h.limits.held(), 0u);
  // Long after: the call is gone entirely, still 481.
  h.clock.advance(60s);
  EXPECT_EQ(h.engine->callCount(), 0u);
  h.fromCarrier(h.carrier_dialog.request("INFO"), h.carrier);
  h.expect(h.carrier.address, "SIP/2.0 481");
}

// An ended call's own state goes T4 after its BYEs are answered (its
// transactions absorb retransmissions for their full 64*T1 on their own);
// while a BYE of ours is unanswered it stays, T4 at a time, up to 64*T1.
// hangUpFromPbx(): an established call, the PBX's BYE answered, ours to the
// carrier returned (not yet answered).
sip::Message hangUpFromPbx(Harness& h) {
  h.establish();
  h.fromPbx(h.pbx_dialog.request("BYE"));
  h.expect(h.pbx.address, "SIP/2.0 200");
  return h.expect(h.carrier.address, "BYE");
}

TEST(EngineDialog, AnEndedCallGoesT4AfterItsByeIsAnswered) {
  Harness h;
  sip::Message bye = hangUpFromPbx(h);
  h.fromCarrier(respond(bye, 200));
  EXPECT_EQ(h.engine->callCount(), 1u);
  h.clock.advance(4s);
  EXPECT_EQ(h.engine->callCount(), 1u);
  // A BYE that crossed ours, late but within T4: still 200.
  h.fromCarrier(h.carrier_dialog.request("BYE"), h.carrier);
  h.expect(h.carrier.address, "SIP/2.0 200");
  h.clock.advance(2s);
  EXPECT_EQ(h.engine->callCount(), 0u);
  EXPECT_EQ(h.cdrs.size(), 1u);
  EXPECT_EQ(h.limits.held(), 0u);
  // After that the dialog is unknown: 481, as for any other.
  h.fromCarrier(h.carrier_dialog.request("BYE"), h.carrier);
  h.expect(h.carrier.address, "SIP/2.0 481");
}

TEST(EngineDialog, AnEndedCallStaysWhileItsByeIsUnanswered) {
  Harness h;
  sip::Message bye = hangUpFromPbx(h);
  // The carrier is slow: nothing for 12 s (the BYE retransmits meanwhile).
  h.clock.advance(12s);
  EXPECT_EQ(h.engine->callCount(), 1u);
  h.fromCarrier(respond(bye, 200));
  h.clock.advance(6s);
  EXPECT_EQ(h.engine->callCount(), 0u);
}

TEST(EngineDialog, AnEndedCallWhoseByeIsNeverAnsweredGoesAfter64T1) {
  Harness h;
  hangUpFromPbx(h);
  h.clock.advance(30s);
  EXPECT_EQ(h.engine->callCount(), 1u);
  h.clock.advance(10s);  // Timer F (64*T1) ended the BYE; the call follows
  EXPECT_EQ(h.engine->callCount(), 0u);
  EXPECT_EQ(h.limits.held(), 0u);
}

TEST(EngineDialog, ReInviteAnswered481EndsTheCall) {
  Harness h;
  h.establish();
  h.fromPbx(h.pbx_dialog.request("INVITE", {}, pbxSdp(2, "sendonly")));
  sip::Message reinv = h.expect(h.carrier.address, "INVITE");
  h.fromCarrier(respond(reinv, 481));
  h.expect(h.pbx.address, "SIP/2.0 481");
  h.expect(h.pbx.address, "BYE");
  EXPECT_TRUE(h.none(h.carrier.address, "BYE"));
  EXPECT_EQ(h.limits.held(), 0u);
}

}  // namespace
}  // namespace sbc::b2bua::testing

namespace sbc::b2bua::testing {
namespace {

TEST(EngineDialog, CancelOfAReInviteIsRelayed) {
  Harness h;
  h.establish();
  std::string sdp = kPbxSdp;
  sdp.replace(sdp.find("111 1 "), 6, "111 2 ");
  const std::string reinvite = h.pbx_dialog.request("INVITE", {}, sdp);
  h.fromPbx(reinvite);
  sip::Message reinv = h.expect(h.carrier.address, "INVITE");
  h.fromCarrier(respond(reinv, 100));
  // CANCEL: same Request-URI, Via, Call-ID, From, To and CSeq number.
  sip::Message orig = parse(reinvite);
  std::string cancel = "CANCEL " + std::string(orig.requestUriText()) + " SIP/2.0\r\n";
  cancel += "Via: " + std::string(orig.header(sip::HeaderId::Via)->value) + "\r\n";
  cancel += "Max-Forwards: 70\r\n";
  cancel += "From: " + std::string(orig.header(sip::HeaderId::From)->value) + "\r\n";
  cancel += "To: " + std::string(orig.header(sip::HeaderId::To)->value) + "\r\n";
  cancel += "Call-ID: " + std::string(*orig.callId()) + "\r\n";
  cancel += "CSeq: " + std::to_string(orig.cseq()->number) + " CANCEL\r\n";
  cancel += "Content-Length: 0\r\n\r\n";
  h.fromPbx(cancel);
  h.expect(h.pbx.address, "SIP/2.0 200");
  sip::Message c = h.expect(h.carrier.address, "CANCEL");
  EXPECT_EQ(c.topVia()->branch, reinv.topVia()->branch);
  h.fromCarrier(respond(c, 200));
  h.fromCarrier(respond(reinv, 487));
  h.expect(h.pbx.address, "SIP/2.0 487");
  EXPECT_EQ(h.engine->activeCalls().size(), 1u);  // the call itself goes on
}

}  // namespace
}  // namespace sbc::b2bua::testing

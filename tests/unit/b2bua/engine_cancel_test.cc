// CANCEL from the caller and its races with the callee's responses.
#include <gtest/gtest.h>

#include "support_engine_harness.h"

namespace sbc::b2bua::testing {
namespace {

std::string cancelOf(const InviteSpec& spec = {}) {
  std::string t = "CANCEL " + spec.ruri + " SIP/2.0\r\n";
  t += "Via: SIP/2.0/UDP 10.0.0.5:5060;branch=" + spec.branch + ";rport\r\n";
  t += "Max-Forwards: 70\r\n";
  t += "From: " + spec.from + "\r\n";
  t += "To: " + spec.to + "\r\n";
  t += "Call-ID: " + spec.call_id + "\r\n";
  t += "CSeq: " + std::to_string(spec.cseq) + " CANCEL\r\n";
  t += "Reason: Q.850;cause=16\r\n";
  t += "Content-Length: 0\r\n\r\n";
  return t;
}

TEST(EngineCancel, AfterRingingWaitsForCallee487) {
  Harness h;
  h.fromPbx(pbxInvite());
  sip::Message inv = h.expect(h.carrier.address, "INVITE");
  h.fromCarrier(respond(inv, 180));
  sip::Message ringing = h.expect(h.pbx.address, "SIP/2.0 180");

  h.fromPbx(cancelOf());
  sip::Message ok = h.expect(h.pbx.address, "SIP/2.0 200");
  EXPECT_EQ(ok.cseq()->method, sip::Method::Cancel);
  EXPECT_EQ(ok.to()->tag, ringing.to()->tag);
  sip::Message cancel = h.expect(h.carrier.address, "CANCEL");
  assertNoLeak(cancel, kPbxSecrets);
  EXPECT_EQ(*cancel.callId(), *inv.callId());
  EXPECT_EQ(cancel.topVia()->branch, inv.topVia()->branch);
  EXPECT_TRUE(h.none(h.pbx.address, "SIP/2.0 487"));

  h.fromCarrier(respond(cancel, 200));
  h.fromCarrier(respond(inv, 487));
  h.expect(h.carrier.address, "ACK");
  h.expect(h.pbx.address, "SIP/2.0 487");
  EXPECT_EQ(h.limits.held(), 0u);
  ASSERT_EQ(h.cdrs.size(), 1u);
  EXPECT_EQ(h.cdrs[0].final_code, 487);
  EXPECT_EQ(h.cdrs[0].ended_by, EndedBy::Caller);
  EXPECT_EQ(h.cdrs[0].ended_reason, "cancel");
  EXPECT_EQ(h.cdrs[0].q850_cause, 16);
}

TEST(EngineCancel, BeforeAnyProvisionalGoesOutWithTheFirst) {
  Harness h;
  h.fromPbx(pbxInvite());
  sip::Message inv = h.expect(h.carrier.address, "INVITE");
  h.fromPbx(cancelOf());
  h.expect(h.pbx.address, "SIP/2.0 200");
  EXPECT_TRUE(h.none(h.carrier.address, "CANCEL"));  // RFC 3261 9.1: not before a 1xx
  h.fromCarrier(respond(inv, 100));
  sip::Message cancel = h.expect(h.carrier.address, "CANCEL");
  h.fromCarrier(respond(cancel, 200));
  h.fromCarrier(respond(inv, 487));
  h.expect(h.pbx.address, "SIP/2.0 487");
  EXPECT_EQ(h.limits.held(), 0u);
}

TEST(EngineCancel, CalleeNeverAnswersThenCallerGets487AfterGuard) {
  Harness h;
  h.fromPbx(pbxInvite());
  h.expect(h.carrier.address, "INVITE");
  h.fromPbx(cancelOf());
  h.expect(h.pbx.address, "SIP/2.0 200");
  h.clock.advance(31s);
  EXPECT_TRUE(h.none(h.pbx.address, "SIP/2.0 487"));
  h.clock.advance(1s);
  h.expect(h.pbx.address, "SIP/2.0 487");
  EXPECT_EQ(h.limits.held(), 0u);
  EXPECT_EQ(h.cdrs.size(), 1u);
}

TEST(EngineCancel, TwoHundredCrossingCancelIsAckedAndByed) {
  Harness h;
  h.fromPbx(pbxInvite());
  sip::Message inv = h.expect(h.carrier.address, "INVITE");
  h.fromCarrier(respond(inv, 180));
  h.fromPbx(cancelOf());
  h.expect(h.carrier.address, "CANCEL");
  ResponseSpec ok;
  ok.body = kCarrierSdp;
  h.fromCarrier(respond(inv, 200, ok));
  sip::Message ack = h.expect(h.carrier.address, "ACK");
  EXPECT_EQ(ack.to()->tag, "cartag1");
  sip::Message bye = h.expect(h.carrier.address, "BYE");
  assertNoLeak(bye, kPbxSecrets);
  h.expect(h.pbx.address, "SIP/2.0 487");
  EXPECT_TRUE(h.none(h.pbx.address, "SIP/2.0 200 OK\r\nVia"));
  EXPECT_EQ(h.limits.held(), 0u);
  ASSERT_EQ(h.cdrs.size(), 1u);
  EXPECT_EQ(h.cdrs[0].final_code, 487);
  EXPECT_FALSE(h.cdrs[0].answered());
}

TEST(EngineCancel, AfterAnswerHasNoEffect) {
  Harness h;
  h.establish();
  h.fromPbx(cancelOf());
  h.expect(h.pbx.address, "SIP/2.0 200");
  EXPECT_TRUE(h.none(h.carrier.address, "CANCEL"));
  EXPECT_TRUE(h.none(h.carrier.address, "BYE"));
  ASSERT_EQ(h.engine->activeCalls().size(), 1u);
  EXPECT_EQ(h.limits.held(), 2u);
}

TEST(EngineCancel, UnknownTransactionGets481) {
  Harness h;
  h.fromPbx(cancelOf());
  h.expect(h.pbx.address, "SIP/2.0 481");
}

TEST(EngineCancel, ByeFromCallerInEarlyDialogActsLikeCancel) {
  Harness h;
  h.fromPbx(pbxInvite());
  sip::Message inv = h.expect(h.carrier.address, "INVITE");
  h.fromCarrier(respond(inv, 180));
  sip::Message ringing = h.expect(h.pbx.address, "SIP/2.0 180");
  PeerDialog a;
  a.call_id = "pbx-call-1@10.0.0.5";
  a.local = "\"Alice\" <sip:+12125550199@10.0.0.5>;tag=pbxtag";
  a.remote = std::string(ringing.header(sip::HeaderId::To)->value);
  a.target = std::string(ringing.contacts()->front().uri.text);
  a.via_host = "10.0.0.5";
  a.cseq = 10;
  h.fromPbx(a.request("BYE"));
  h.expect(h.pbx.address, "SIP/2.0 200");
  h.expect(h.pbx.address, "SIP/2.0 487");
  h.expect(h.carrier.address, "CANCEL");
  EXPECT_EQ(h.limits.held(), 0u);
}

}  // namespace
}  // namespace sbc::b2bua::testing

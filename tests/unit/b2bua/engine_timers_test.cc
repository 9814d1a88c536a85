// RFC 4028 session timers per leg, and the guards that keep a call from
// staying forever: ring timeout, maximum duration.
#include <gtest/gtest.h>

#include "support_engine_harness.h"

namespace sbc::b2bua::testing {
namespace {

TEST(EngineSessionTimer, WeOfferAndRefreshOnTheCalleeLeg) {
  HarnessOptions o;
  o.session_expires = 120;
  Harness h(o);
  h.fromPbx(pbxInvite());
  sip::Message inv = h.expect(h.carrier.address, "INVITE");
  ASSERT_TRUE(inv.sessionExpires().ok());
  EXPECT_EQ(inv.sessionExpires()->delta, 120u);
  EXPECT_EQ(inv.sessionExpires()->refresher, sip::Refresher::Uac);
  EXPECT_EQ(inv.minSE()->delta, 90u);
  EXPECT_TRUE(hasSupported(inv, "timer"));

  ResponseSpec ok;
  ok.body = kCarrierSdp;
  ok.extra = "Session-Expires: 120;refresher=uac\r\nRequire: timer\r\nSupported: timer\r\n";
  h.fromCarrier(respond(inv, 200, ok));
  h.expect(h.carrier.address, "ACK");
  sip::Message ok_a = h.expect(h.pbx.address, "SIP/2.0 200");
  h.ackFromPbx(ok_a);

  h.clock.advance(59s);
  EXPECT_TRUE(h.none(h.carrier.address, "INVITE"));
  h.clock.advance(1s);
  // The carrier did not list UPDATE in Allow: re-INVITE with our last SDP.
  sip::Message refresh = h.expect(h.carrier.address, "INVITE");
  assertNoLeak(refresh, kPbxSecrets);
  EXPECT_EQ(refresh.body(), inv.body());  // same SDP, same o= version
  EXPECT_EQ(refresh.sessionExpires()->refresher, sip::Refresher::Uac);
  EXPECT_TRUE(h.none(h.pbx.address, "INVITE"));  // not the caller's business
  h.fromCarrier(respond(refresh, 200, ok));
  sip::Message ack = h.expect(h.carrier.address, "ACK");
  EXPECT_EQ(ack.cseq()->number, refresh.cseq()->number);
  h.clock.advance(60s);
  h.expect(h.carrier.address, "INVITE");
}

TEST(EngineSessionTimer, RefreshUsesUpdateWhenAllowed) {
  HarnessOptions o;
  o.session_expires = 120;
  Harness h(o);
  h.fromPbx(pbxInvite());
  sip::Message inv = h.expect(h.carrier.address, "INVITE");
  ResponseSpec ok;
  ok.body = kCarrierSdp;
  ok.extra = "Allow: INVITE, ACK, BYE, CANCEL, UPDATE\r\nSupported: timer\r\n";
  h.fromCarrier(respond(inv, 200, ok));
  h.ackFromPbx(h.expect(h.pbx.address, "SIP/2.0 200"));
  h.clock.advance(60s);
  sip::Message upd = h.expect(h.carrier.address, "UPDATE");
  EXPECT_TRUE(upd.body().empty());
  h.fromCarrier(respond(upd, 200, ok));
}

TEST(EngineSessionTimer, CalleeRefresherThatGoesSilentEndsTheCall) {
  HarnessOptions o;
  o.session_expires = 120;
  Harness h(o);
  h.fromPbx(pbxInvite());
  sip::Message inv = h.expect(h.carrier.address, "INVITE");
  ResponseSpec ok;
  ok.body = kCarrierSdp;
  ok.extra = "Session-Expires: 120;refresher=uas\r\nRequire: timer\r\n";
  h.fromCarrier(respond(inv, 200, ok));
  h.expect(h.carrier.address, "ACK");
  h.ackFromPbx(h.expect(h.pbx.address, "SIP/2.0 200"));
  // B refreshes once in time: answered locally, the clock restarts.
  h.clock.advance(50s);
  PeerDialog c;
  c.call_id = std::string(*inv.callId());
  c.local = std::string(inv.header(sip::HeaderId::To)->value) + ";tag=cartag1";
  c.remote = std::string(inv.header(sip::HeaderId::From)->value);
  c.target = std::string(inv.contacts()->front().uri.text);
  c.via_host = "198.51.100.10";
  c.cseq = 1;
  h.fromCarrier(c.request("UPDATE", "Session-Expires: 120;refresher=uac\r\nSupported: timer\r\n"),
                h.carrier);
  sip::Message upd_ok = h.expect(h.carrier.address, "SIP/2.0 200");
  EXPECT_EQ(upd_ok.sessionExpires()->refresher, sip::Refresher::Uac);
  EXPECT_TRUE(h.none(h.pbx.address, "UPDATE"));
  h.clock.advance(87s);
  EXPECT_TRUE(h.none(h.carrier.address, "BYE"));
  h.clock.advance(1s);  // 120 - 32 after the refresh
  h.expect(h.carrier.address, "BYE");
  h.expect(h.pbx.address, "BYE");
  EXPECT_EQ(h.limits.held(), 0u);
  ASSERT_EQ(h.cdrs.size(), 1u);
  EXPECT_EQ(h.cdrs[0].ended_reason, "session-timer");
  EXPECT_EQ(h.cdrs[0].ended_by, EndedBy::Sbc);
}

TEST(EngineSessionTimer, CallerTimerHonouredAndRefreshedByCaller) {
  Harness h;
  InviteSpec spec;
  spec.extra = "Supported: timer\r\nSession-Expires: 300;refresher=uac\r\n";
  h.establish(spec);
  ASSERT_TRUE(h.pbx_200.sessionExpires().ok());
  EXPECT_EQ(h.pbx_200.sessionExpires()->delta, 300u);
  EXPECT_EQ(h.pbx_200.sessionExpires()->refresher, sip::Refresher::Uac);
  EXPECT_TRUE(listsToken(h.pbx_200, sip::HeaderId::Require, "timer"));
  h.clock.advance(150s);
  h.fromPbx(h.pbx_dialog.request(
      "INVITE", "Supported: timer\r\nSession-Expires: 300;refresher=uac\r\n", kPbxSdp));
  sip::Message ok = h.expect(h.pbx.address, "SIP/2.0 200");
  h.fromPbx(h.pbx_dialog.request("ACK", {}, {}, ok.cseq()->number));
  EXPECT_TRUE(h.none(h.carrier.address, "INVITE"));
  h.clock.advance(267s);
  EXPECT_TRUE(h.none(h.pbx.address, "BYE"));
  h.clock.advance(1s);
  h.expect(h.pbx.address, "BYE");
  h.expect(h.carrier.address, "BYE");
}

TEST(EngineSessionTimer, CallerWithoutTimerSupportIsRefreshedByUs) {
  HarnessOptions o;
  o.pbx_session_expires = 100;
  Harness h(o);
  h.establish();
  EXPECT_FALSE(h.pbx_200.sessionExpires().ok());  // A cannot understand it
  h.take(h.carrier.address);
  h.clock.advance(50s);
  // The PBX's INVITE listed UPDATE in Allow.
  sip::Message upd = h.expect(h.pbx.address, "UPDATE");
  assertNoLeak(upd, kCarrierSecrets);
  EXPECT_EQ(*upd.callId(), "pbx-call-1@10.0.0.5");
  ResponseSpec ok;
  ok.to_tag = "pbxtag";
  ok.contact = "<sip:alice@10.0.0.5:5060>";
  h.fromPbx(respond(upd, 200, ok));
}

TEST(EngineSessionTimer, TooSmallIntervalFromCallerGets422) {
  Harness h;
  InviteSpec spec;
  spec.extra = "Supported: timer\r\nSession-Expires: 30\r\n";
  h.fromPbx(pbxInvite(spec));
  sip::Message r = h.expect(h.pbx.address, "SIP/2.0 422");
  EXPECT_EQ(r.minSE()->delta, 90u);
  EXPECT_TRUE(h.none(h.carrier.address));
}

TEST(EngineSessionTimer, Callee422IsRetriedWithItsMinimum) {
  HarnessOptions o;
  o.session_expires = 120;
  Harness h(o);
  h.fromPbx(pbxInvite());
  sip::Message inv = h.expect(h.carrier.address, "INVITE");
  ResponseSpec r;
  r.extra = "Min-SE: 600\r\n";
  h.fromCarrier(respond(inv, 422, r));
  h.expect(h.carrier.address, "ACK");
  sip::Message again = h.expect(h.carrier.address, "INVITE");
  EXPECT_EQ(again.sessionExpires()->delta, 600u);
  EXPECT_EQ(*again.callId(), *inv.callId());
  EXPECT_EQ(again.from()->tag, inv.from()->tag);
  EXPECT_EQ(again.cseq()->number, inv.cseq()->number + 1);
  EXPECT_TRUE(h.none(h.pbx.address, "SIP/2.0 422"));
}

TEST(EngineGuards, MaxCallDurationByesBothLegs) {
  Harness h;
  const_cast<cfg::Trunk&>(*h.carrier_trunk).max_call_seconds = 100;
  h.establish();
  h.clock.advance(99s);
  EXPECT_TRUE(h.none(h.pbx.address, "BYE"));
  h.clock.advance(1s);
  sip::Message bye_a = h.expect(h.pbx.address, "BYE");
  sip::Message bye_b = h.expect(h.carrier.address, "BYE");
  EXPECT_NE(bye_a.header(sip::HeaderId::Reason), nullptr);
  EXPECT_NE(bye_b.header(sip::HeaderId::Reason), nullptr);
  EXPECT_EQ(h.limits.held(), 0u);
  ASSERT_EQ(h.cdrs.size(), 1u);
  EXPECT_EQ(h.cdrs[0].ended_reason, "max-duration");
  EXPECT_EQ(h.cdrs[0].duration(), std::chrono::milliseconds(100000));
}

TEST(EngineGuards, RingTimeoutCancelsCalleeAndAnswers480) {
  Harness h;
  const_cast<cfg::Trunk&>(*h.pbx_trunk).ring_timeout_seconds = 30;
  h.fromPbx(pbxInvite());
  sip::Message inv = h.expect(h.carrier.address, "INVITE");
  h.fromCarrier(respond(inv, 180));
  h.expect(h.pbx.address, "SIP/2.0 180");
  h.clock.advance(30s);
  h.expect(h.pbx.address, "SIP/2.0 480");
  h.expect(h.carrier.address, "CANCEL");
  EXPECT_EQ(h.limits.held(), 0u);
  ASSERT_EQ(h.cdrs.size(), 1u);
  EXPECT_EQ(h.cdrs[0].ended_reason, "ring-timeout");
}

}  // namespace
}  // namespace sbc::b2bua::testing

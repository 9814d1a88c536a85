// Failures from the B leg mapped to the caller, failover across targets,
// channel limits on both sides, forked and late 2xx, the no-ACK guard.
#include <gtest/gtest.h>

#include "support_engine_harness.h"

namespace sbc::b2bua::testing {
namespace {

class EngineFailureCodes : public ::testing::TestWithParam<int> {};

TEST_P(EngineFailureCodes, MappedToCallerWithoutFailover) {
  const int code = GetParam();
  Harness h;
  h.fromPbx(pbxInvite());
  sip::Message inv = h.expect(h.carrier.address, "INVITE");
  ResponseSpec spec;
  spec.extra = "Reason: Q.850;cause=17\r\nWarning: 399 ss1.carrier \"busy\"\r\n";
  h.fromCarrier(respond(inv, code, spec));
  h.expect(h.carrier.address, "ACK");  // the transaction ACKs the non-2xx
  sip::Message r = h.expect(h.pbx.address, "SIP/2.0 " + std::to_string(code));
  assertNoLeak(r, kCarrierSecrets);
  EXPECT_EQ(r.header(sip::HeaderId::Reason)->value, "Q.850;cause=17");
  EXPECT_EQ(r.header(sip::HeaderId::Warning), nullptr);
  EXPECT_TRUE(h.none(h.carrier2.address, "INVITE"));
  EXPECT_EQ(h.limits.held(), 0u);
  ASSERT_EQ(h.cdrs.size(), 1u);
  EXPECT_EQ(h.cdrs[0].final_code, code);
  EXPECT_EQ(h.cdrs[0].ended_by, EndedBy::Callee);
  EXPECT_EQ(h.cdrs[0].q850_cause, 17);
  EXPECT_FALSE(h.cdrs[0].answered());
  EXPECT_EQ(h.engine->stats().calls_failed[0], 1u);
}

INSTANTIATE_TEST_SUITE_P(Codes, EngineFailureCodes, ::testing::Values(404, 486, 603, 480, 488));

TEST(EngineFailover, On503TriesNextTargetWithFreshDialog) {
  Harness h;
  h.fromPbx(pbxInvite());
  sip::Message first = h.expect(h.carrier.address, "INVITE");
  h.fromCarrier(respond(first, 503));
  sip::Message second = h.expect(h.carrier2.address, "INVITE");
  EXPECT_NE(*second.callId(), *first.callId());
  EXPECT_NE(second.from()->tag, first.from()->tag);
  EXPECT_NE(second.topVia()->branch, first.topVia()->branch);
  EXPECT_EQ(second.requestUriText(), "sip:+14155550100@198.51.100.11:5060");
  EXPECT_TRUE(h.none(h.pbx.address, "SIP/2.0 503"));

  ResponseSpec ok;
  ok.body = kCarrierSdp;
  ok.contact = "<sip:carrier@198.51.100.11:5060>";
  h.fromCarrier(respond(second, 200, ok), h.carrier2);
  h.expect(h.carrier2.address, "ACK");
  h.expect(h.pbx.address, "SIP/2.0 200");
  EXPECT_EQ(h.limits.heldOn(2), 1u);  // the first trunk's channel went back
  EXPECT_EQ(h.engine->stats().failovers, 1u);

  h.engine->shutdown();
  ASSERT_EQ(h.cdrs.size(), 1u);
  EXPECT_EQ(h.cdrs[0].failover_attempts, 1u);
  ASSERT_EQ(h.cdrs[0].gateways_tried.size(), 2u);
  EXPECT_EQ(h.cdrs[0].gateways_tried[1], "198.51.100.11:5060");
  EXPECT_EQ(h.cdrs[0].b_call_id, std::string(*second.callId()));
  EXPECT_EQ(h.cdrs[0].ended_reason, "shutdown");
}

TEST(EngineFailover, NoProvisionalInTimeMovesOn) {
  Harness h;
  h.fromPbx(pbxInvite());
  sip::Message first = h.expect(h.carrier.address, "INVITE");
  h.clock.advance(3999ms);
  EXPECT_TRUE(h.none(h.carrier2.address, "INVITE"));
  h.clock.advance(1ms);
  sip::Message second = h.expect(h.carrier2.address, "INVITE");
  // The first attempt is abandoned: a late 1xx triggers its CANCEL, a late
  // 200 is ACKed and BYEd.
  h.fromCarrier(respond(first, 180));
  h.expect(h.carrier.address, "CANCEL");
  EXPECT_TRUE(h.none(h.pbx.address, "SIP/2.0 180"));
  ResponseSpec ok;
  ok.body = kCarrierSdp;
  h.fromCarrier(respond(first, 200, ok));
  h.expect(h.carrier.address, "ACK");
  h.expect(h.carrier.address, "BYE");
  EXPECT_TRUE(h.none(h.pbx.address, "SIP/2.0 200"));

  h.fromCarrier(respond(second, 486), h.carrier2);
  h.expect(h.pbx.address, "SIP/2.0 486");
  EXPECT_EQ(h.limits.held(), 0u);
}

TEST(EngineFailover, AllTimedOutGives408) {
  Harness h;
  h.fromPbx(pbxInvite());
  h.expect(h.carrier.address, "INVITE");
  h.clock.advance(4s);
  h.expect(h.carrier2.address, "INVITE");
  h.clock.advance(32s);  // Timer B on the last target (64*T1 after its INVITE)
  h.expect(h.pbx.address, "SIP/2.0 408");
  EXPECT_EQ(h.limits.held(), 0u);
  ASSERT_EQ(h.cdrs.size(), 1u);
  EXPECT_EQ(h.cdrs[0].final_code, 408);
  EXPECT_EQ(h.cdrs[0].ended_by, EndedBy::Sbc);
}

TEST(EngineFailover, LastFailureCodeWins) {
  Harness h;
  h.fromPbx(pbxInvite());
  h.fromCarrier(respond(h.expect(h.carrier.address, "INVITE"), 503));
  h.fromCarrier(respond(h.expect(h.carrier2.address, "INVITE"), 500), h.carrier2);
  h.expect(h.pbx.address, "SIP/2.0 500");
  EXPECT_EQ(h.limits.held(), 0u);
}

TEST(EngineFailover, RedirectIsAFailureWithoutContact) {
  Harness h;
  h.fromPbx(pbxInvite());
  sip::Message inv = h.expect(h.carrier.address, "INVITE");
  ResponseSpec spec;
  spec.extra = "Contact: <sip:+14155550100@ss1.carrier>\r\n";
  h.fromCarrier(respond(inv, 302, spec));
  sip::Message r = h.expect(h.pbx.address, "SIP/2.0 480");
  EXPECT_EQ(r.header(sip::HeaderId::Contact), nullptr);
  assertNoLeak(r, kCarrierSecrets);
  EXPECT_TRUE(h.none(h.carrier2.address, "INVITE"));
}

TEST(EngineFailover, NeverAfterA2xx) {
  Harness h;
  h.establish();
  // A late 503 retransmission or anything else cannot move the call.
  h.fromCarrier(respond(h.carrier_invite, 503));
  EXPECT_TRUE(h.none(h.carrier2.address, "INVITE"));
  EXPECT_EQ(h.engine->activeCalls().size(), 1u);
}

TEST(EngineLimits, CallerTrunkOverLimitGets503Cause34) {
  Harness h;
  h.limits.max[1] = 0;
  h.fromPbx(pbxInvite());
  sip::Message r = h.expect(h.pbx.address, "SIP/2.0 503");
  EXPECT_EQ(r.header(sip::HeaderId::Reason)->value, "Q.850;cause=34");
  EXPECT_EQ(r.header(sip::HeaderId::RetryAfter), nullptr);
  EXPECT_TRUE(h.none(h.carrier.address));
  EXPECT_EQ(h.engine->stats().rejections[static_cast<std::size_t>(RejectCause::ChannelLimit)], 1u);
  ASSERT_EQ(h.cdrs.size(), 1u);
  EXPECT_EQ(h.cdrs[0].ended_reason, "limit");
  EXPECT_EQ(h.limits.held(), 0u);
}

TEST(EngineLimits, TrunkRejectCodeAndReasonAreConfigurable) {
  Harness h;
  h.limits.max[1] = 0;
  auto& trunk = const_cast<cfg::Trunk&>(*h.pbx_trunk);
  trunk.limits.reject_code = 486;
  trunk.limits.reject_reason = "Q.850;cause=17";
  h.fromPbx(pbxInvite());
  sip::Message r = h.expect(h.pbx.address, "SIP/2.0 486");
  EXPECT_EQ(r.header(sip::HeaderId::Reason)->value, "Q.850;cause=17");
}

TEST(EngineLimits, TargetOverLimitIsSkipped) {
  Harness h;
  h.limits.max[2] = 0;
  h.fromPbx(pbxInvite());
  EXPECT_TRUE(h.none(h.carrier.address));
  sip::Message r = h.expect(h.pbx.address, "SIP/2.0 503");
  EXPECT_EQ(r.header(sip::HeaderId::Reason)->value, "Q.850;cause=34");
  EXPECT_EQ(h.limits.held(), 0u);
}

TEST(EngineLimits, UsageBackToZeroAfterManyEndings) {
  Harness h;
  for (int i = 0; i < 20; ++i) {
    InviteSpec spec;
    spec.call_id = "pbx-call-" + std::to_string(100 + i);
    spec.branch = "z9hG4bKpbxl" + std::to_string(i);
    h.fromPbx(pbxInvite(spec));
    sip::Message inv = h.expect(h.carrier.address, "INVITE");
    h.fromCarrier(respond(inv, i % 2 ? 486 : 503));
    if (i % 2 == 0) h.fromCarrier(respond(h.expect(h.carrier2.address, "INVITE"), 404), h.carrier2);
    h.take(h.pbx.address);
    h.take(h.carrier.address);
    h.take(h.carrier2.address);
  }
  EXPECT_EQ(h.limits.held(), 0u);
  EXPECT_EQ(h.limits.acquired_total, h.limits.released_total);
  EXPECT_EQ(h.cdrs.size(), 20u);
}

TEST(EngineLimits, NoRouteGets404) {
  Harness h;
  h.policy.router = [](const sip::Message&, const cfg::Trunk&, const cfg::Snapshot&) {
    RoutingDecision d;
    d.cause = RejectCause::NoRoute;
    d.reject_code = 404;
    return d;
  };
  h.fromPbx(pbxInvite());
  h.expect(h.pbx.address, "SIP/2.0 404");
  EXPECT_EQ(h.limits.held(), 0u);
  EXPECT_EQ(h.engine->stats().rejections[static_cast<std::size_t>(RejectCause::NoRoute)], 1u);
}

TEST(EngineForking, Second2xxIsAckedAndByed) {
  Harness h;
  h.fromPbx(pbxInvite());
  sip::Message inv = h.expect(h.carrier.address, "INVITE");
  ResponseSpec ok;
  ok.body = kCarrierSdp;
  h.fromCarrier(respond(inv, 200, ok));
  h.expect(h.carrier.address, "ACK");
  h.expect(h.pbx.address, "SIP/2.0 200");
  ResponseSpec fork = ok;
  fork.to_tag = "cartag2";
  fork.contact = "<sip:carrier@198.51.100.12:5060>";
  h.fromCarrier(respond(inv, 200, fork));
  sip::Message ack = h.expect(h.carrier.address, "ACK");
  EXPECT_EQ(ack.to()->tag, "cartag2");
  sip::Message bye = h.expect(h.carrier.address, "BYE");
  EXPECT_EQ(bye.to()->tag, "cartag2");
  EXPECT_EQ(h.count(h.pbx.address, "SIP/2.0 200"), 0u);
  EXPECT_EQ(h.engine->stats().forked_2xx_released, 1u);
  // A retransmission of the first 2xx is ACKed again, not BYEd.
  ResponseSpec again = ok;
  h.fromCarrier(respond(inv, 200, again));
  h.expect(h.carrier.address, "ACK");
  EXPECT_TRUE(h.none(h.carrier.address, "BYE"));
}

TEST(EngineGuards, NoAckFromCallerEndsTheCall) {
  Harness h;
  h.fromPbx(pbxInvite());
  sip::Message inv = h.expect(h.carrier.address, "INVITE");
  ResponseSpec ok;
  ok.body = kCarrierSdp;
  h.fromCarrier(respond(inv, 200, ok));
  h.expect(h.carrier.address, "ACK");
  h.clock.advance(31s);
  // 2xx retransmitted with T1 doubling capped at T2: 0.5,1.5,3.5,7.5,11.5,...
  EXPECT_GE(h.count(h.pbx.address, "SIP/2.0 200"), 8u);
  EXPECT_TRUE(h.none(h.carrier.address, "BYE"));
  h.clock.advance(1s);
  h.expect(h.carrier.address, "BYE");
  h.expect(h.pbx.address, "BYE");
  EXPECT_EQ(h.limits.held(), 0u);
  ASSERT_EQ(h.cdrs.size(), 1u);
  EXPECT_EQ(h.cdrs[0].ended_by, EndedBy::Sbc);
  EXPECT_EQ(h.cdrs[0].ended_reason, "no-ack");
}

TEST(EngineGuards, RetransmittedInviteIsAbsorbed) {
  Harness h;
  h.fromPbx(pbxInvite());
  h.fromPbx(pbxInvite());
  EXPECT_EQ(h.count(h.carrier.address, "INVITE"), 1u);
}

TEST(EngineGuards, SecondInviteWithSameCallIdIsMerged) {
  Harness h;
  h.fromPbx(pbxInvite());
  InviteSpec spec;
  spec.branch = "z9hG4bKpbxother";
  spec.cseq = 11;
  h.fromPbx(pbxInvite(spec));
  h.expect(h.pbx.address, "SIP/2.0 482");
  EXPECT_EQ(h.count(h.carrier.address, "INVITE"), 1u);
}

}  // namespace
}  // namespace sbc::b2bua::testing

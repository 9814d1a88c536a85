// The basic call: INVITE -> 100 -> B-leg INVITE built from scratch -> 18x
// -> 200/ACK on both legs -> BYE, with topology hiding checked on every
// message and the CDR at the end.
#include <gtest/gtest.h>

#include "sbc/b2bua/ids.h"
#include "support_engine_harness.h"

namespace sbc::b2bua::testing {
namespace {

TEST(EngineBasicCall, BLegInviteIsBuiltFromScratch) {
  Harness h;
  InviteSpec spec;
  spec.extra =
      "P-Asserted-Identity: \"Alice\" <sip:+12125550199@10.0.0.5>\r\n"
      "X-Secret-Internal: 1\r\n"
      "Subject: hello\r\n";
  h.fromPbx(pbxInvite(spec));
  sip::Message inv = h.expect(h.carrier.address, "INVITE");
  assertNoLeak(inv, kPbxSecrets);

  EXPECT_EQ(inv.requestUriText(), "sip:+14155550100@198.51.100.10:5060");
  EXPECT_EQ(*inv.maxForwards(), 69u);
  ASSERT_TRUE(inv.from().ok());
  EXPECT_EQ(inv.from()->uri.host, "203.0.113.5");
  EXPECT_EQ(inv.from()->uri.user, "+12125550199");
  EXPECT_EQ(inv.from()->displayName(), "Alice");
  EXPECT_FALSE(inv.from()->tag.empty());
  EXPECT_EQ(shardOf(inv.from()->tag), Shard{7});
  EXPECT_TRUE(inv.to()->tag.empty());
  EXPECT_EQ(inv.to()->uri.user, "+14155550100");
  EXPECT_EQ(inv.to()->uri.host, "198.51.100.10");
  EXPECT_NE(*inv.callId(), "pbx-call-1@10.0.0.5");
  EXPECT_EQ(shardOf(*inv.callId()), Shard{7});
  EXPECT_EQ(inv.topVia()->host, "203.0.113.5");
  EXPECT_EQ(shardOf(inv.topVia()->branch), Shard{7});
  EXPECT_EQ(inv.vias()->size(), 1u);
  EXPECT_EQ(inv.contacts()->front().uri.host, "203.0.113.5");
  EXPECT_EQ(inv.header(sip::HeaderId::UserAgent)->value, "edge-sbc");
  EXPECT_EQ(inv.headerCount(sip::HeaderId::RecordRoute), 0u);
  EXPECT_EQ(inv.headerCount(sip::HeaderId::Route), 0u);
  EXPECT_EQ(inv.header("X-Secret-Internal"), nullptr);  // not in the trunk's allow list
  ASSERT_NE(inv.header(sip::HeaderId::Subject), nullptr);
  // Trusted to trusted: PAI passes, with our host.
  ASSERT_EQ(inv.pAssertedIdentities()->size(), 1u);
  EXPECT_EQ(inv.pAssertedIdentities()->front().uri.host, "203.0.113.5");
  EXPECT_TRUE(hasSupported(inv, "100rel"));
  // SDP: o= is ours, media address kept (no anchor).
  EXPECT_NE(inv.body().find("o=- "), std::string_view::npos);
  EXPECT_NE(inv.body().find("IN IP4 203.0.113.5"), std::string_view::npos);
  EXPECT_NE(inv.body().find("c=IN IP4 10.1.1.50"), std::string_view::npos);
}

TEST(EngineBasicCall, FullCallWithByeFromCaller) {
  Harness h;
  h.fromPbx(pbxInvite());
  sip::Message inv = h.expect(h.carrier.address, "INVITE");

  // 100 Trying comes from the transaction layer.
  h.clock.advance(200ms);
  h.expect(h.pbx.address, "SIP/2.0 100");

  h.fromCarrier(respond(inv, 100));
  h.fromCarrier(respond(inv, 180));
  sip::Message ringing = h.expect(h.pbx.address, "SIP/2.0 180");
  assertNoLeak(ringing, kCarrierSecrets);
  const std::string our_tag(ringing.to()->tag);
  EXPECT_FALSE(our_tag.empty());
  EXPECT_EQ(ringing.contacts()->front().uri.host, "10.0.0.1");
  EXPECT_EQ(*ringing.callId(), "pbx-call-1@10.0.0.5");

  ResponseSpec ok;
  ok.body = kCarrierSdp;
  ok.record_route = {"<sip:ss1.carrier;lr>"};
  h.fromCarrier(respond(inv, 200, ok));
  sip::Message ack = h.expect(h.carrier.address, "ACK");
  EXPECT_EQ(ack.requestUriText(), "sip:carrier@198.51.100.10:5060");
  EXPECT_EQ(ack.cseq()->number, inv.cseq()->number);
  EXPECT_EQ(ack.to()->tag, "cartag1");
  ASSERT_EQ(ack.routes()->size(), 1u);  // the route set of B's dialog
  assertNoLeak(ack, kPbxSecrets);

  sip::Message ok_a = h.expect(h.pbx.address, "SIP/2.0 200");
  assertNoLeak(ok_a, kCarrierSecrets);
  EXPECT_EQ(ok_a.to()->tag, our_tag);  // stable tag across 18x and 2xx
  EXPECT_EQ(ok_a.contacts()->front().uri.host, "10.0.0.1");
  EXPECT_EQ(ok_a.header(sip::HeaderId::Server)->value, "edge-sbc");
  EXPECT_NE(ok_a.body().find("c=IN IP4 198.51.100.77"), std::string_view::npos);
  EXPECT_NE(ok_a.body().find("IN IP4 10.0.0.1"), std::string_view::npos);

  // Retransmitted until A's ACK: T1, then 2*T1, byte for byte the same.
  h.clock.advance(500ms);
  EXPECT_EQ(h.count(h.pbx.address, "SIP/2.0 200"), 1u);
  EXPECT_EQ(h.expect(h.pbx.address, "SIP/2.0 200").serialize(), ok_a.serialize());
  h.take(h.pbx.address);

  PeerDialog a;
  a.call_id = "pbx-call-1@10.0.0.5";
  a.local = "\"Alice\" <sip:+12125550199@10.0.0.5>;tag=pbxtag";
  a.remote = std::string(ok_a.header(sip::HeaderId::To)->value);
  a.target = std::string(ok_a.contacts()->front().uri.text);
  a.via_host = "10.0.0.5";
  a.cseq = 10;
  h.fromPbx(a.request("ACK", {}, {}, 10));
  h.clock.advance(4000ms);
  EXPECT_TRUE(h.none(h.pbx.address, "SIP/2.0 200"));
  ASSERT_EQ(h.engine->activeCalls().size(), 1u);
  EXPECT_EQ(h.engine->activeCalls().front().state, "confirmed");
  EXPECT_EQ(h.limits.held(), 2u);

  h.clock.advance(60s);
  h.fromPbx(a.request("BYE"));
  h.expect(h.pbx.address, "SIP/2.0 200");
  sip::Message bye = h.expect(h.carrier.address, "BYE");
  assertNoLeak(bye, kPbxSecrets);
  EXPECT_EQ(*bye.callId(), *inv.callId());
  EXPECT_EQ(bye.to()->tag, "cartag1");
  EXPECT_EQ(bye.from()->tag, inv.from()->tag);
  EXPECT_GT(bye.cseq()->number, inv.cseq()->number);
  ASSERT_EQ(bye.routes()->size(), 1u);
  EXPECT_NE(bye.header(sip::HeaderId::Reason), nullptr);
  h.fromCarrier(respond(bye, 200));
  EXPECT_EQ(h.limits.held(), 0u);

  ASSERT_EQ(h.cdrs.size(), 1u);
  const CallRecord& r = h.cdrs.front();
  EXPECT_EQ(r.a_call_id, "pbx-call-1@10.0.0.5");
  EXPECT_EQ(r.b_call_id, std::string(*inv.callId()));
  EXPECT_EQ(r.inbound_trunk, "pbx1");
  EXPECT_EQ(r.outbound_trunk, "carrier1");
  EXPECT_EQ(r.direction, Direction::Outbound);
  EXPECT_EQ(r.caller_in, "+12125550199");
  EXPECT_EQ(r.callee_in, "+14155550100");
  EXPECT_EQ(r.caller_out, "+12125550199");
  EXPECT_EQ(r.callee_out, "+14155550100");
  EXPECT_EQ(r.final_code, 200);
  EXPECT_EQ(r.ended_by, EndedBy::Caller);
  EXPECT_EQ(r.ended_reason, "bye");
  EXPECT_TRUE(r.answered());
  EXPECT_NE(r.ringing, CallRecord::Time{});
  EXPECT_EQ(r.duration(), std::chrono::milliseconds(64500));
  EXPECT_EQ(r.failover_attempts, 0u);
  ASSERT_EQ(r.gateways_tried.size(), 1u);
  EXPECT_EQ(r.gateways_tried.front(), "198.51.100.10:5060");
  EXPECT_EQ(h.engine->stats().calls_answered[0], 1u);
}

TEST(EngineBasicCall, ByeFromCalleeEndsBothLegs) {
  Harness h;
  h.establish();
  h.fromCarrier(h.carrier_dialog.request("BYE", "Reason: Q.850;cause=16\r\n"), h.carrier);
  h.expect(h.carrier.address, "SIP/2.0 200");
  sip::Message bye = h.expect(h.pbx.address, "BYE");
  assertNoLeak(bye, kCarrierSecrets);
  EXPECT_EQ(*bye.callId(), "pbx-call-1@10.0.0.5");
  EXPECT_EQ(bye.to()->tag, "pbxtag");
  EXPECT_EQ(bye.requestUriText(), "sip:alice@10.0.0.5:5060");
  // A's Record-Route is A's route set.
  ASSERT_EQ(bye.routes()->size(), 1u);
  EXPECT_EQ(bye.header(sip::HeaderId::Reason)->value, "Q.850;cause=16");
  EXPECT_EQ(h.limits.held(), 0u);
  ASSERT_EQ(h.cdrs.size(), 1u);
  EXPECT_EQ(h.cdrs[0].ended_by, EndedBy::Callee);
  EXPECT_EQ(h.cdrs[0].q850_cause, 16);
}

TEST(EngineBasicCall, UnknownSourceIsDroppedSilently) {
  Harness h;
  txn::Peer stranger{txn::Protocol::Udp, "192.0.2.99", 5060, 0, 1};
  h.engine->onReceived(parse(pbxInvite()), stranger);
  h.clock.advance(1s);
  EXPECT_TRUE(h.wire.sent.empty());
  EXPECT_EQ(h.engine->stats().dropped_unknown_source, 1u);
  EXPECT_EQ(h.engine->layer().size(), 0u);  // no transaction either
}

TEST(EngineBasicCall, OptionsToTheSbcGets200) {
  Harness h;
  std::string opt =
      "OPTIONS sip:10.0.0.1 SIP/2.0\r\n"
      "Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKopt1\r\n"
      "Max-Forwards: 0\r\n"
      "From: <sip:ping@10.0.0.5>;tag=o1\r\n"
      "To: <sip:10.0.0.1>\r\n"
      "Call-ID: opt-1\r\n"
      "CSeq: 1 OPTIONS\r\n"
      "Content-Length: 0\r\n\r\n";
  h.fromPbx(opt);
  sip::Message ok = h.expect(h.pbx.address, "SIP/2.0 200");
  EXPECT_NE(ok.header(sip::HeaderId::Allow), nullptr);
  EXPECT_NE(ok.header(sip::HeaderId::Accept), nullptr);
  EXPECT_NE(ok.header(sip::HeaderId::Supported), nullptr);
}

TEST(EngineBasicCall, MaxForwardsOneGets483) {
  Harness h;
  InviteSpec spec;
  spec.max_forwards = 1;
  h.fromPbx(pbxInvite(spec));
  h.expect(h.pbx.address, "SIP/2.0 483");
  EXPECT_TRUE(h.none(h.carrier.address));
}

TEST(EngineBasicCall, InDialogRequestForUnknownCallGets481) {
  Harness h;
  PeerDialog d;
  d.call_id = "nope";
  d.local = "<sip:a@10.0.0.5>;tag=x";
  d.remote = "<sip:b@10.0.0.1>;tag=y";
  d.target = "sip:10.0.0.1";
  d.via_host = "10.0.0.5";
  h.fromPbx(d.request("BYE"));
  h.expect(h.pbx.address, "SIP/2.0 481");
}

}  // namespace
}  // namespace sbc::b2bua::testing

namespace sbc::b2bua::testing {
namespace {

TEST(EngineBasicCall, RequiredExtensionWeDoNotImplementGets420) {
  Harness h;
  InviteSpec spec;
  spec.extra = "Require: replaces\r\nReplaces: abc;to-tag=1;from-tag=2\r\n";
  h.fromPbx(pbxInvite(spec));
  sip::Message r = h.expect(h.pbx.address, "SIP/2.0 420");
  EXPECT_NE(r.header(sip::HeaderId::Unsupported), nullptr);
  EXPECT_TRUE(h.none(h.carrier.address));
}

}  // namespace
}  // namespace sbc::b2bua::testing

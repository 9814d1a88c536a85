// RFC 3262 per leg: we PRACK the callee's reliable 18x ourselves, and send
// 18x with SDP reliably to a caller that supports 100rel.
#include <gtest/gtest.h>

#include "support_engine_harness.h"

namespace sbc::b2bua::testing {
namespace {

ResponseSpec reliable183(std::uint32_t rseq) {
  ResponseSpec s;
  s.extra = "Require: 100rel\r\nRSeq: " + std::to_string(rseq) + "\r\n";
  s.body = kCarrierSdp;
  return s;
}

PeerDialog earlyDialog(const sip::Message& provisional) {
  PeerDialog a;
  a.call_id = "pbx-call-1@10.0.0.5";
  a.local = "\"Alice\" <sip:+12125550199@10.0.0.5>;tag=pbxtag";
  a.remote = std::string(provisional.header(sip::HeaderId::To)->value);
  a.target = std::string(provisional.contacts()->front().uri.text);
  a.via_host = "10.0.0.5";
  a.cseq = 10;
  return a;
}

std::string prackFor(PeerDialog& a, const sip::Message& provisional,
                     std::uint32_t invite_cseq = 10) {
  return a.request("PRACK", "RAck: " + std::to_string(*provisional.rseq()) + " " +
                                std::to_string(invite_cseq) + " INVITE\r\n");
}

TEST(EnginePrack, ReliableProvisionalsOnBothLegs) {
  Harness h;
  InviteSpec spec;
  spec.extra = "Supported: 100rel, timer\r\n";
  h.fromPbx(pbxInvite(spec));
  sip::Message inv = h.expect(h.carrier.address, "INVITE");
  EXPECT_TRUE(hasSupported(inv, "100rel"));

  h.fromCarrier(respond(inv, 183, reliable183(1)));
  sip::Message prack = h.expect(h.carrier.address, "PRACK");
  assertNoLeak(prack, kPbxSecrets);
  EXPECT_EQ(prack.rack()->rseq, 1u);
  EXPECT_EQ(prack.rack()->cseq, inv.cseq()->number);
  EXPECT_EQ(prack.to()->tag, "cartag1");
  EXPECT_EQ(prack.requestUriText(), "sip:carrier@198.51.100.10:5060");
  h.fromCarrier(respond(prack, 200));

  sip::Message p183 = h.expect(h.pbx.address, "SIP/2.0 183");
  assertNoLeak(p183, kCarrierSecrets);
  EXPECT_TRUE(listsToken(p183, sip::HeaderId::Require, "100rel"));
  ASSERT_TRUE(p183.rseq().ok());
  EXPECT_FALSE(p183.body().empty());

  // Retransmitted (T1 doubling) until A's PRACK.
  h.clock.advance(500ms);
  EXPECT_EQ(h.count(h.pbx.address, "SIP/2.0 183"), 1u);
  h.clock.advance(1000ms);
  EXPECT_EQ(h.count(h.pbx.address, "SIP/2.0 183"), 2u);
  h.take(h.pbx.address);

  PeerDialog a = earlyDialog(p183);
  h.fromPbx(prackFor(a, p183));
  sip::Message ok = h.expect(h.pbx.address, "SIP/2.0 200");
  EXPECT_EQ(ok.cseq()->method, sip::Method::Prack);
  EXPECT_TRUE(h.none(h.carrier.address, "PRACK"));  // A's PRACK stays on A's leg
  h.clock.advance(10s);
  EXPECT_TRUE(h.none(h.pbx.address, "SIP/2.0 183"));

  // A retransmitted reliable 183 from B is neither relayed nor re-PRACKed
  // as a new one.
  h.fromCarrier(respond(inv, 183, reliable183(1)));
  EXPECT_TRUE(h.none(h.pbx.address, "SIP/2.0 183"));

  ResponseSpec answer;
  h.fromCarrier(respond(inv, 200, answer));
  h.expect(h.carrier.address, "ACK");
  sip::Message ok_a = h.expect(h.pbx.address, "SIP/2.0 200");
  // The answer already went in the 183: the 2xx repeats it unchanged.
  EXPECT_EQ(ok_a.body(), p183.body());
}

TEST(EnginePrack, CallerWithout100relGetsUnreliable18x) {
  Harness h;
  h.fromPbx(pbxInvite());
  sip::Message inv = h.expect(h.carrier.address, "INVITE");
  h.fromCarrier(respond(inv, 183, reliable183(7)));
  h.expect(h.carrier.address, "PRACK");
  sip::Message p183 = h.expect(h.pbx.address, "SIP/2.0 183");
  EXPECT_EQ(p183.header(sip::HeaderId::Require), nullptr);
  EXPECT_EQ(p183.header(sip::HeaderId::RSeq), nullptr);
  h.clock.advance(2s);
  EXPECT_TRUE(h.none(h.pbx.address, "SIP/2.0 183"));
}

TEST(EnginePrack, SecondReliableWaitsForThePrackOfTheFirst) {
  Harness h;
  InviteSpec spec;
  spec.extra = "Supported: 100rel\r\n";
  h.fromPbx(pbxInvite(spec));
  sip::Message inv = h.expect(h.carrier.address, "INVITE");
  h.fromCarrier(respond(inv, 183, reliable183(1)));
  h.fromCarrier(respond(inv, 180, reliable183(2)));
  EXPECT_EQ(h.count(h.carrier.address, "PRACK"), 2u);
  sip::Message first = h.expect(h.pbx.address, "SIP/2.0 183");
  EXPECT_TRUE(h.none(h.pbx.address, "SIP/2.0 180"));
  PeerDialog a = earlyDialog(first);
  h.fromPbx(prackFor(a, first));
  h.expect(h.pbx.address, "SIP/2.0 200");
  sip::Message second = h.expect(h.pbx.address, "SIP/2.0 180");
  EXPECT_EQ(*second.rseq(), *first.rseq() + 1);
}

TEST(EnginePrack, WrongRAckGets481) {
  Harness h;
  InviteSpec spec;
  spec.extra = "Supported: 100rel\r\n";
  h.fromPbx(pbxInvite(spec));
  sip::Message inv = h.expect(h.carrier.address, "INVITE");
  h.fromCarrier(respond(inv, 183, reliable183(1)));
  sip::Message p183 = h.expect(h.pbx.address, "SIP/2.0 183");
  PeerDialog a = earlyDialog(p183);
  h.fromPbx(a.request("PRACK", "RAck: 999 10 INVITE\r\n"));
  h.expect(h.pbx.address, "SIP/2.0 481");
}

TEST(EnginePrack, NoPrackFromCallerRejectsTheCall) {
  Harness h;
  InviteSpec spec;
  spec.extra = "Require: 100rel\r\n";
  h.fromPbx(pbxInvite(spec));
  sip::Message inv = h.expect(h.carrier.address, "INVITE");
  h.fromCarrier(respond(inv, 180));  // without SDP, but A requires reliability
  sip::Message p180 = h.expect(h.pbx.address, "SIP/2.0 180");
  EXPECT_TRUE(p180.rseq().ok());
  h.clock.advance(32s);  // 64*T1 after the first send
  h.expect(h.pbx.address, "SIP/2.0 504");
  h.expect(h.carrier.address, "CANCEL");
  EXPECT_EQ(h.limits.held(), 0u);
  ASSERT_EQ(h.cdrs.size(), 1u);
  EXPECT_EQ(h.cdrs[0].ended_reason, "no-prack");
}

}  // namespace
}  // namespace sbc::b2bua::testing

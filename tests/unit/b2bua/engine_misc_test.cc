// Ids, inbound calls, shutdown, REGISTER, the policy's own requests, the
// observation API, snapshot swaps, and hostile input.
#include <gtest/gtest.h>

#include <set>

#include "sbc/b2bua/ids.h"
#include "support_engine_harness.h"

namespace sbc::b2bua::testing {
namespace {

TEST(Ids, CarryTheShardAndAreUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = makeCallId(0xab);
    EXPECT_EQ(id.size(), 32u);
    EXPECT_EQ(shardOf(id), Shard{0xab});
    EXPECT_TRUE(seen.insert(id).second);
  }
  // 15 digits: within std::string's inline buffer, so a tag never allocates.
  const std::string tag = makeTag(3);
  EXPECT_EQ(tag.size(), 15u);
  EXPECT_LE(tag.size(), std::string().capacity());
  EXPECT_EQ(tag.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(shardOf(tag), Shard{3});
  std::set<std::string> tags;
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(tags.insert(makeTag(3)).second);
  EXPECT_FALSE(shardOf("0123456789abcd").has_value());  // 14 digits: not ours
  EXPECT_EQ(shardOf(makeBranch(200)), Shard{200});
  EXPECT_TRUE(makeBranch(1).starts_with("z9hG4bK01"));
  EXPECT_FALSE(shardOf("pbx-call-1@10.0.0.5").has_value());
  EXPECT_FALSE(shardOf("").has_value());
}

TEST(EngineInbound, CarrierToPbxCall) {
  Harness h;
  std::string inv =
      "INVITE sip:+14155550100@203.0.113.5 SIP/2.0\r\n"
      "Via: SIP/2.0/UDP 198.51.100.10:5060;branch=z9hG4bKcarin1\r\n"
      "Max-Forwards: 70\r\n"
      "From: <sip:+12125550199@ss1.carrier>;tag=cartagin\r\n"
      "To: <sip:+14155550100@203.0.113.5>\r\n"
      "Call-ID: carrier-call-1@ss1.carrier\r\n"
      "CSeq: 1 INVITE\r\n"
      "Contact: <sip:carrier@198.51.100.10:5060>\r\n"
      "User-Agent: Carrier-Secret/2.0\r\n"
      "Content-Type: application/sdp\r\n"
      "Content-Length: " +
      std::to_string(std::string(kCarrierSdp).size()) + "\r\n\r\n" + kCarrierSdp;
  h.fromCarrier(inv, h.carrier);
  sip::Message out = h.expect(h.pbx.address, "INVITE");
  assertNoLeak(out, kCarrierSecrets);
  EXPECT_EQ(out.requestUriText(), "sip:2001@10.0.0.5:5060");
  EXPECT_EQ(out.topVia()->host, "10.0.0.1");
  EXPECT_EQ(out.from()->uri.host, "10.0.0.1");
  ResponseSpec ok;
  ok.to_tag = "pbxtag";
  ok.contact = "<sip:alice@10.0.0.5:5060>";
  ok.body = kPbxSdp;
  h.fromPbx(respond(out, 200, ok));
  h.expect(h.pbx.address, "ACK");
  sip::Message ok_b = h.expect(h.carrier.address, "SIP/2.0 200");
  assertNoLeak(ok_b, kPbxSecrets);
  EXPECT_EQ(ok_b.contacts()->front().uri.host, "203.0.113.5");
  auto calls = h.engine->activeCalls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].direction, Direction::Inbound);
  EXPECT_EQ(calls[0].inbound_trunk, "carrier1");
  EXPECT_EQ(calls[0].outbound_trunk, "pbx1");
  EXPECT_EQ(h.engine->stats().calls_active[static_cast<std::size_t>(Direction::Inbound)], 1u);
}

TEST(EngineShutdown, EndsEveryCallAndReleases) {
  Harness h;
  h.establish();
  InviteSpec second;
  second.call_id = "pbx-call-2@10.0.0.5";
  second.branch = "z9hG4bKpbx2";
  h.fromPbx(pbxInvite(second));
  sip::Message inv2 = h.expect(h.carrier.address, "INVITE");
  ResponseSpec ringing;
  ringing.to_tag = "cartag9";
  h.fromCarrier(respond(inv2, 180, ringing));
  h.take(h.pbx.address);
  EXPECT_EQ(h.limits.held(), 4u);
  h.engine->shutdown();
  EXPECT_EQ(h.limits.held(), 0u);
  h.expect(h.pbx.address, "BYE");
  h.expect(h.carrier.address, "BYE");
  h.expect(h.pbx.address, "SIP/2.0 503");
  h.expect(h.carrier.address, "CANCEL");
  EXPECT_EQ(h.cdrs.size(), 2u);
  EXPECT_TRUE(h.engine->activeCalls().empty());
  EXPECT_EQ(h.engine->stats().calls_active[0], 0u);
  // No new calls once shutting down.
  InviteSpec third;
  third.call_id = "pbx-call-3@10.0.0.5";
  third.branch = "z9hG4bKpbx3";
  h.fromPbx(pbxInvite(third));
  h.expect(h.pbx.address, "SIP/2.0 503");
  EXPECT_TRUE(h.none(h.carrier.address, "INVITE"));
}

TEST(EngineRegister, PbxRegisterGoesToThePolicyCarrierRegisterIsRefused) {
  Harness h;
  std::string reg =
      "REGISTER sip:10.0.0.1 SIP/2.0\r\n"
      "Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKreg1\r\n"
      "Max-Forwards: 70\r\n"
      "From: <sip:2001@10.0.0.1>;tag=r1\r\n"
      "To: <sip:2001@10.0.0.1>\r\n"
      "Call-ID: reg-1\r\n"
      "CSeq: 1 REGISTER\r\n"
      "Contact: <sip:2001@10.0.0.5:5060>\r\n"
      "Expires: 300\r\n"
      "Content-Length: 0\r\n\r\n";
  h.fromPbx(reg);
  sip::Message ok = h.expect(h.pbx.address, "SIP/2.0 200");
  EXPECT_EQ(ok.to()->tag, "regtag");
  std::string creg = reg;
  creg.replace(creg.find("10.0.0.5:5060;branch"), 13, "198.51.100.10");
  h.fromCarrier(creg, h.carrier);
  h.expect(h.carrier.address, "SIP/2.0 403");
}

TEST(EngineRequestSender, PolicyOptionsPingGetsItsOutcome) {
  Harness h;
  RequestSender& rs = *h.engine;
  EXPECT_EQ(rs.advertisedHostPort("outside", txn::Protocol::Udp), "203.0.113.5:5060");
  auto made = sip::Message::createRequest(sip::Method::Options, "sip:198.51.100.10");
  ASSERT_TRUE(made.ok());
  sip::Message ping = std::move(made).value();
  ping.addHeader(sip::HeaderId::MaxForwards, "70");
  ping.addHeader(sip::HeaderId::From, "<sip:ping@203.0.113.5>;tag=" + rs.makeTag());
  ping.addHeader(sip::HeaderId::To, "<sip:198.51.100.10>");
  ping.addHeader(sip::HeaderId::CallId, rs.makeCallId());
  ping.addHeader(sip::HeaderId::CSeq, "1 OPTIONS");
  int got = 0;
  bool timed_out = false;
  txn::Destination gw{txn::Protocol::Udp, "198.51.100.10", 5060, 0, 0};
  ASSERT_TRUE(rs.sendOutOfDialog(ping, gw, "outside", [&](const RequestSender::Outcome& o) {
    got = o.response ? o.response->statusCode() : 0;
    timed_out = o.timeout;
  }));
  sip::Message sent = h.expect(h.carrier.address, "OPTIONS");
  EXPECT_EQ(sent.topVia()->host, "203.0.113.5");
  EXPECT_EQ(h.wire.sent.back().to.listener, 1u);
  h.fromCarrier(respond(sent, 200));
  EXPECT_EQ(got, 200);
  // And one that never gets an answer.
  ping.setHeader(sip::HeaderId::CallId, rs.makeCallId());
  ASSERT_TRUE(rs.sendOutOfDialog(ping, gw, "outside",
                                 [&](const RequestSender::Outcome& o) { timed_out = o.timeout; }));
  h.clock.advance(33s);
  EXPECT_TRUE(timed_out);
}

TEST(EngineSnapshot, CallKeepsItsSnapshotAcrossASwap) {
  Harness h;
  h.establish();
  auto next = std::make_shared<cfg::Snapshot>();
  next->generation = 2;
  h.engine->setSnapshot(next);  // no trunks at all any more
  // The call in progress still works with its own configuration.
  h.fromPbx(h.pbx_dialog.request("BYE"));
  h.expect(h.pbx.address, "SIP/2.0 200");
  h.expect(h.carrier.address, "BYE");
  EXPECT_EQ(h.cdrs.size(), 1u);
  EXPECT_EQ(h.cdrs[0].outbound_trunk, "carrier1");
}

TEST(EngineStats, CountsMessagesByMethodAndClass) {
  Harness h;
  h.establish();
  const EngineStats& s = h.engine->stats();
  EXPECT_EQ(s.requests_in[static_cast<std::size_t>(sip::Method::Invite)], 1u);
  EXPECT_EQ(s.requests_in[static_cast<std::size_t>(sip::Method::Ack)], 1u);
  EXPECT_EQ(s.requests_out[static_cast<std::size_t>(sip::Method::Invite)], 1u);
  EXPECT_EQ(s.requests_out[static_cast<std::size_t>(sip::Method::Ack)], 1u);
  EXPECT_EQ(s.responses_in[2], 1u);
  EXPECT_EQ(s.responses_in[1], 1u);
  EXPECT_EQ(s.responses_out[2], 1u);
  EXPECT_EQ(s.calls_total[0], 1u);
  EXPECT_EQ(s.calls_active[0], 1u);
}

TEST(EngineHostile, MalformedInDialogRequestsGetErrorsNotCrashes) {
  Harness h;
  h.establish();
  // A malformed header inside the dialog: parsed with an error, answered 400.
  std::string bad = h.pbx_dialog.request("INFO");
  bad.replace(bad.find("Max-Forwards: 70"), 16, "Max-Forwards: lots");
  sip::ParseResult pr = sip::parseDatagram(bad);
  ASSERT_FALSE(pr.discard());
  h.engine->onReceived(std::move(*pr.message), h.pbx);
  h.expect(h.pbx.address, "SIP/2.0 400");
  // Truncated garbage from a known peer: discarded by the parser, and even
  // if handed over, nothing breaks.
  sip::ParseResult junk = sip::parseDatagram("INVITE sip:x SIP/2.0\r\nVia: nonsense\r\n\r\n");
  if (!junk.discard()) h.engine->onReceived(std::move(*junk.message), h.pbx);
  // A PRACK without RAck, an unknown method, an UPDATE with a broken SDP.
  h.fromPbx(h.pbx_dialog.request("PRACK"));
  h.expect(h.pbx.address, "SIP/2.0 481");
  h.fromPbx(h.pbx_dialog.request("FOO"));
  h.expect(h.pbx.address, "SIP/2.0 501");
  h.fromPbx(h.pbx_dialog.request("UPDATE", {}, "v=0\r\ngarbage\r\n"));
  h.expect(h.pbx.address, "SIP/2.0 488");
  EXPECT_TRUE(h.none(h.carrier.address, "UPDATE"));
  EXPECT_EQ(h.engine->activeCalls().size(), 1u);
}

}  // namespace
}  // namespace sbc::b2bua::testing

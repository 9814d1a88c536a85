// The SDP rewriter (o= per leg) and the asynchronous media anchor hook.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sbc/b2bua/sdp_rewriter.h"
#include "support_engine_harness.h"

namespace sbc::b2bua::testing {
namespace {

std::string withVersion(std::string sdp, std::string_view from, std::string_view to) {
  sdp.replace(sdp.find(from), from.size(), to);
  return sdp;
}

TEST(SdpRewriter, OwnsTheOriginAndBumpsOnlyOnChange) {
  LegSdp leg;
  auto first = SdpRewriter::parse(kPbxSdp);
  ASSERT_TRUE(first.has_value());
  const std::string a = SdpRewriter::rewrite(*first, leg, "203.0.113.5");
  auto pa = sdp::parse(a);
  ASSERT_TRUE(pa.ok());
  EXPECT_EQ(pa->origin().username, "-");
  EXPECT_EQ(pa->origin().address, "203.0.113.5");
  EXPECT_EQ(a.find("pbxuser"), std::string::npos);
  EXPECT_EQ(a.find(" 111 "), std::string::npos);
  const auto v1 = *pa->origin().sessionVersionNumber();
  const auto id = *pa->origin().sessionIdNumber();

  // Same content (even with the peer's version bumped): same version.
  const std::string b = SdpRewriter::rewrite(
      *SdpRewriter::parse(withVersion(kPbxSdp, "111 1 ", "111 9 ")), leg, "203.0.113.5");
  EXPECT_EQ(b, a);
  // Changed content: version + 1, same session id.
  const std::string c = SdpRewriter::rewrite(
      *SdpRewriter::parse(withVersion(kPbxSdp, "a=sendrecv", "a=sendonly")), leg, "203.0.113.5");
  auto pc = sdp::parse(c);
  EXPECT_EQ(*pc->origin().sessionVersionNumber(), v1 + 1);
  EXPECT_EQ(*pc->origin().sessionIdNumber(), id);
  EXPECT_EQ(leg.last_sent, c);
}

// rewrite() writes the common shape in one pass; it must send exactly what
// the library's mutators produce, on first send and on a changed re-send, and
// leave the odd shapes (no s=, no t=, no o=, two o=) to them.
TEST(SdpRewriter, OnePassWriteEqualsTheEditPath) {
  auto sdp = [](std::initializer_list<std::string_view> lines) {
    std::string out;
    for (const std::string_view l : lines) out.append(l).append("\r\n");
    return out;
  };
  const std::vector<std::string> sdps = {
      std::string(kPbxSdp),
      sdp({"v=0", "o=pbx 1 2 IN IP4 10.0.0.1", "s=PBX host-7", "i=info", "c=IN IP4 10.0.0.1",
           "t=0 0", "a=sendrecv", "m=audio 4000 RTP/AVP 0 8 101",
           "a=rtpmap:101 telephone-event/8000", "m=video 0 RTP/AVP 96", "c=IN IP4 10.0.0.2"}),
      sdp({"v=0", "o=pbx 1 2 IN IP4 10.0.0.1", "c=IN IP4 10.0.0.1", "t=0 0",
           "m=audio 4000 RTP/AVP 0"}),
      sdp({"v=0", "o=pbx 1 2 IN IP4 10.0.0.1", "s=x", "c=IN IP4 10.0.0.1",
           "m=audio 4000 RTP/AVP 0"}),
      sdp({"v=0", "s=x", "c=IN IP4 10.0.0.1", "t=0 0", "m=audio 4000 RTP/AVP 0"}),
  };
  int compared = 0;
  for (const std::string& text : sdps) {
    auto parsed = SdpRewriter::parse(text);
    if (!parsed) continue;  // the lenient parser may refuse a shape: nothing to compare
    ++compared;
    for (const std::string_view address : {"203.0.113.5", "2001:db8::5"}) {
      LegSdp fast;
      LegSdp edits;
      fast.session_id = edits.session_id = 12345;
      fast.version = edits.version = 12345;
      EXPECT_EQ(SdpRewriter::rewrite(*parsed, fast, address),
                SdpRewriter::rewriteByEdits(*parsed, edits, address))
          << text;
      const std::string changed = text + "a=ptime:30\r\n";
      auto parsed2 = SdpRewriter::parse(changed);
      ASSERT_TRUE(parsed2.has_value());
      EXPECT_EQ(SdpRewriter::rewrite(*parsed2, fast, address),
                SdpRewriter::rewriteByEdits(*parsed2, edits, address))
          << changed;
      EXPECT_EQ(fast.version, 12346u);
      EXPECT_EQ(edits.version, 12346u);
    }
  }
  EXPECT_GE(compared, 4);  // the common shape and at least the edit-path shapes without s=/t=
}

TEST(SdpRewriter, NoteReceivedRecognisesAnUnchangedOffer) {
  LegSdp leg;
  EXPECT_FALSE(SdpRewriter::noteReceived(*SdpRewriter::parse(kPbxSdp), leg));
  EXPECT_TRUE(SdpRewriter::noteReceived(*SdpRewriter::parse(kPbxSdp), leg));
  EXPECT_FALSE(SdpRewriter::noteReceived(
      *SdpRewriter::parse(withVersion(kPbxSdp, "111 1 ", "111 2 ")), leg));
  EXPECT_FALSE(SdpRewriter::parse("this is not sdp").has_value());
  // The second and third o= fields are what counts, read as numbers.
  const std::string odd = withVersion(kPbxSdp, "111 1 ", "111 18446744073709551615 ");
  EXPECT_FALSE(SdpRewriter::noteReceived(*SdpRewriter::parse(odd), leg));
  EXPECT_EQ(leg.remote_session, 111u);
  EXPECT_EQ(leg.remote_version, 18446744073709551615u);
  EXPECT_TRUE(SdpRewriter::noteReceived(*SdpRewriter::parse(odd), leg));
}

TEST(EngineMedia, OfferWaitsForTheAnchorAndCarriesItsAddress) {
  HarnessOptions o;
  o.with_anchor = true;
  Harness h(o);
  h.fromPbx(pbxInvite());
  EXPECT_TRUE(h.none(h.carrier.address, "INVITE"));
  ASSERT_EQ(h.anchor.pending.size(), 1u);
  EXPECT_TRUE(h.anchor.pending.front().offer);
  EXPECT_EQ(h.anchor.pending.front().from, LegSide::A);
  h.clock.advance(100ms);
  h.anchor.completeOne();
  sip::Message inv = h.expect(h.carrier.address, "INVITE");
  EXPECT_NE(inv.body().find("c=IN IP4 192.0.2.200"), std::string_view::npos);
  EXPECT_EQ(inv.body().find("10.1.1.50"), std::string_view::npos);
  assertNoLeak(inv, kPbxSecrets);
}

TEST(EngineMedia, LaterEventsWaitInOrderBehindAPendingAnswer) {
  HarnessOptions o;
  o.with_anchor = true;
  Harness h(o);
  h.fromPbx(pbxInvite());
  h.anchor.completeOne();
  sip::Message inv = h.expect(h.carrier.address, "INVITE");
  ResponseSpec early;
  early.body = kCarrierSdp;
  h.fromCarrier(respond(inv, 183, early));
  ResponseSpec ok;
  ok.body = kCarrierSdp;
  h.fromCarrier(respond(inv, 200, ok));
  // The 200 must not overtake the 183 whose answer is still being anchored.
  EXPECT_TRUE(h.none(h.pbx.address, "SIP/2.0 183"));
  EXPECT_TRUE(h.none(h.pbx.address, "SIP/2.0 200"));
  ASSERT_EQ(h.anchor.pending.size(), 1u);
  h.anchor.completeOne();
  sip::Message p183 = h.expect(h.pbx.address, "SIP/2.0 183");
  EXPECT_NE(p183.body().find("192.0.2.200"), std::string_view::npos);
  EXPECT_TRUE(h.none(h.pbx.address, "SIP/2.0 200"));
  h.anchor.completeOne();  // the 200's answer
  sip::Message p200 = h.expect(h.pbx.address, "SIP/2.0 200");
  EXPECT_EQ(p200.body(), p183.body());
  h.expect(h.carrier.address, "ACK");
  // Order on the wire: 183 before 200.
  std::size_t i183 = 0, i200 = 0;
  for (std::size_t i = 0; i < h.wire.sent.size(); ++i) {
    if (h.wire.sent[i].startLine().starts_with("SIP/2.0 183")) i183 = i;
    if (h.wire.sent[i].startLine().starts_with("SIP/2.0 200")) i200 = i;
  }
  EXPECT_LT(i183, i200);
}

TEST(EngineMedia, AnchorFailureRejectsWith488) {
  HarnessOptions o;
  o.with_anchor = true;
  Harness h(o);
  h.fromPbx(pbxInvite());
  h.anchor.completeOne(false);
  h.expect(h.pbx.address, "SIP/2.0 488");
  EXPECT_TRUE(h.none(h.carrier.address));
  EXPECT_EQ(h.limits.held(), 0u);
  ASSERT_EQ(h.anchor.released.size(), 1u);
}

TEST(EngineMedia, AnchorThatNeverAnswersTimesOut) {
  HarnessOptions o;
  o.with_anchor = true;
  Harness h(o);
  h.fromPbx(pbxInvite());
  h.clock.advance(5s);
  h.expect(h.pbx.address, "SIP/2.0 488");
  EXPECT_EQ(h.limits.held(), 0u);
  // The late continuation is ignored.
  h.anchor.completeAll();
  EXPECT_TRUE(h.none(h.carrier.address));
}

TEST(EngineMedia, CancelWhileAnchoringAnswers487AtOnce) {
  HarnessOptions o;
  o.with_anchor = true;
  Harness h(o);
  h.fromPbx(pbxInvite());
  h.fromPbx(
      "CANCEL sip:+14155550100@10.0.0.1 SIP/2.0\r\n"
      "Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKpbx1;rport\r\n"
      "Max-Forwards: 70\r\n"
      "From: \"Alice\" <sip:+12125550199@10.0.0.5>;tag=pbxtag\r\n"
      "To: <sip:+14155550100@10.0.0.1>\r\n"
      "Call-ID: pbx-call-1@10.0.0.5\r\n"
      "CSeq: 10 CANCEL\r\n"
      "Content-Length: 0\r\n\r\n");
  h.expect(h.pbx.address, "SIP/2.0 200");
  h.expect(h.pbx.address, "SIP/2.0 487");
  h.anchor.completeAll();
  EXPECT_TRUE(h.none(h.carrier.address));
  EXPECT_EQ(h.limits.held(), 0u);
}

TEST(EngineMedia, ReInviteOfferAndAnswerGoThroughTheAnchor) {
  HarnessOptions o;
  o.with_anchor = true;
  Harness h(o);
  h.establish();
  h.fromPbx(h.pbx_dialog.request(
      "INVITE", {},
      withVersion(withVersion(kPbxSdp, "a=sendrecv", "a=sendonly"), "111 1 ", "111 2 ")));
  ASSERT_EQ(h.anchor.pending.size(), 1u);
  // An INFO arriving meanwhile waits too.
  h.fromPbx(
      h.pbx_dialog.request("INFO", "Content-Type: application/dtmf-relay\r\n", "Signal=1\r\n"));
  EXPECT_TRUE(h.none(h.carrier.address));
  h.anchor.completeOne();
  sip::Message reinv = h.expect(h.carrier.address, "INVITE");
  h.expect(h.carrier.address, "INFO");
  ResponseSpec ok;
  ok.body = kCarrierSdp;
  h.fromCarrier(respond(reinv, 200, ok));
  EXPECT_TRUE(h.none(h.pbx.address, "SIP/2.0 200"));
  h.anchor.completeOne();
  h.expect(h.pbx.address, "SIP/2.0 200");
}

TEST(EngineMedia, MediaTimeoutEndsTheCall) {
  HarnessOptions o;
  o.with_anchor = true;
  Harness h(o);
  h.anchor.synchronous = true;
  h.establish();
  ASSERT_EQ(h.engine->activeCalls().size(), 1u);
  const CallHandle call = h.engine->activeCalls().front().handle;
  EXPECT_TRUE(h.engine->endCall(call, EndReason::MediaTimeout));
  EXPECT_FALSE(h.engine->endCall(call, EndReason::MediaTimeout));
  h.expect(h.pbx.address, "BYE");
  h.expect(h.carrier.address, "BYE");
  EXPECT_EQ(h.limits.held(), 0u);
  ASSERT_EQ(h.cdrs.size(), 1u);
  EXPECT_EQ(h.cdrs[0].ended_reason, "media-timeout");
  EXPECT_EQ(h.anchor.released.size(), 1u);
}

}  // namespace
}  // namespace sbc::b2bua::testing

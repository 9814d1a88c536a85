// SIP tracing hooks of the engine (sbc/b2bua/engine_trace.cc): which calls
// report to the MessageTap, under which key, and what.
#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>

#include "sbc/b2bua/message_tap.h"
#include "support_engine_harness.h"

namespace sbc::b2bua::testing {
namespace {

struct Event {
  std::string call_id;
  LegSide leg;
  bool inbound;
  std::string local;
  std::string remote;
  std::string wire;
  std::string startLine() const { return wire.substr(0, wire.find("\r\n")); }
};

class RecordingTap final : public MessageTap {
 public:
  void onMessage(const TapEvent& e) override {
    events.push_back({std::string(e.call_id), e.leg, e.inbound,
                      std::string(e.local_host) + ":" + std::to_string(e.local_port),
                      std::string(e.remote_address) + ":" + std::to_string(e.remote_port),
                      std::string(e.wire)});
  }
  std::vector<Event> events;
};

cfg::Trunk& mutableTrunk(Harness& h, const cfg::Trunk* t) {
  for (cfg::Trunk& x : h.snapshot->trunks)
    if (x.id == t->id) return x;
  throw std::logic_error("no such trunk");
}

void hangUpFromPbx(Harness& h) {
  h.fromPbx(h.pbx_dialog.request("BYE"));
  sip::Message bye = h.expect(h.carrier.address, "BYE");
  h.fromCarrier(respond(bye, 200));
}

TEST(EngineTrace, NothingIsReportedWhenNoCallIsTraced) {
  RecordingTap tap;  // outlives the harness: its destructor ends calls
  Harness h;
  h.engine->setMessageTap(&tap);
  h.establish();
  hangUpFromPbx(h);
  EXPECT_TRUE(tap.events.empty());
}

TEST(EngineTrace, ATracedTrunkReportsBothLegsUnderTheALegCallId) {
  RecordingTap tap;  // outlives the harness: its destructor ends calls
  Harness h;
  h.engine->setMessageTap(&tap);
  mutableTrunk(h, h.pbx_trunk).sip_trace = true;
  h.establish();
  ASSERT_EQ(h.engine->activeCalls().size(), 1u);
  EXPECT_TRUE(h.engine->activeCalls().front().traced);
  EXPECT_EQ(h.engine->activeCalls().front().call_id, "pbx-call-1@10.0.0.5");
  hangUpFromPbx(h);

  ASSERT_FALSE(tap.events.empty());
  // The PBX's INVITE is the first one, though the call did not exist yet.
  EXPECT_EQ(tap.events.front().leg, LegSide::A);
  EXPECT_TRUE(tap.events.front().inbound);
  EXPECT_EQ(tap.events.front().startLine().substr(0, 7), "INVITE ");
  EXPECT_EQ(tap.events.front().remote, "10.0.0.5:5060");

  const std::string b_call_id(*h.carrier_invite.callId());
  std::vector<std::string> a_lines, b_lines;
  for (const Event& e : tap.events) {
    EXPECT_EQ(e.call_id, "pbx-call-1@10.0.0.5");
    const std::string expected_remote =
        e.leg == LegSide::A ? "10.0.0.5:5060" : "198.51.100.10:5060";
    EXPECT_EQ(e.remote, expected_remote) << e.startLine();
    (e.leg == LegSide::A ? a_lines : b_lines).push_back((e.inbound ? "< " : "> ") + e.startLine());
    if (e.leg == LegSide::B) {
      // What the carrier's side of the trace shows is the hidden topology.
      EXPECT_NE(e.wire.find(b_call_id), std::string::npos);
      if (!e.inbound) {
        EXPECT_TRUE(noLeak(e.wire, kPbxSecrets)) << e.wire;
      }
    }
  }
  auto has = [](const std::vector<std::string>& v, std::string_view prefix) {
    return std::any_of(v.begin(), v.end(),
                       [&](const std::string& s) { return s.rfind(prefix, 0) == 0; });
  };
  EXPECT_TRUE(has(a_lines, "< INVITE")) << ::testing::PrintToString(a_lines);
  EXPECT_TRUE(has(a_lines, "> SIP/2.0 180"));
  EXPECT_TRUE(has(a_lines, "> SIP/2.0 200"));
  EXPECT_TRUE(has(a_lines, "< ACK"));
  EXPECT_TRUE(has(a_lines, "< BYE"));
  EXPECT_TRUE(has(a_lines, "> SIP/2.0 200"));
  EXPECT_TRUE(has(b_lines, "> INVITE")) << ::testing::PrintToString(b_lines);
  EXPECT_TRUE(has(b_lines, "< SIP/2.0 180"));
  EXPECT_TRUE(has(b_lines, "< SIP/2.0 200"));
  EXPECT_TRUE(has(b_lines, "> ACK"));
  EXPECT_TRUE(has(b_lines, "> BYE"));

  // Every message the engine put on the wire is in the trace, byte for byte.
  std::size_t out = 0;
  for (const Event& e : tap.events) out += e.inbound ? 0 : 1;
  EXPECT_EQ(out, h.wire.sent.size());
  for (const Sent& s : h.wire.sent) {
    EXPECT_TRUE(std::any_of(tap.events.begin(), tap.events.end(), [&](const Event& e) {
      return !e.inbound && e.wire == s.wire;
    })) << s.startLine();
  }
}

TEST(EngineTrace, AnOutboundTrunkWithTracingTracesTheCallToo) {
  RecordingTap tap;  // outlives the harness: its destructor ends calls
  Harness h;
  h.engine->setMessageTap(&tap);
  mutableTrunk(h, h.carrier_trunk).sip_trace = true;
  h.establish();
  ASSERT_FALSE(tap.events.empty());
  EXPECT_EQ(tap.events.front().leg, LegSide::A);  // A's INVITE reported when B was chosen
  EXPECT_EQ(tap.events.front().startLine().substr(0, 7), "INVITE ");
}

TEST(EngineTrace, TraceCallTurnsTracingOnFromNowOnByEitherCallId) {
  RecordingTap tap;  // outlives the harness: its destructor ends calls
  Harness h;
  h.engine->setMessageTap(&tap);
  h.establish();
  EXPECT_EQ(h.engine->traceCall("no-such-call"), "");
  EXPECT_TRUE(tap.events.empty());
  const std::string b_call_id(*h.carrier_invite.callId());
  EXPECT_EQ(h.engine->traceCall(b_call_id), "pbx-call-1@10.0.0.5");
  EXPECT_TRUE(tap.events.empty());  // nothing from before
  hangUpFromPbx(h);
  ASSERT_GE(tap.events.size(), 4u);  // BYE in (A), 200 out (A), BYE out (B), 200 in (B)
  for (const Event& e : tap.events) {
    EXPECT_EQ(e.call_id, "pbx-call-1@10.0.0.5");
    EXPECT_EQ(e.startLine().find("INVITE"), std::string::npos);
  }
  // Ended calls cannot be traced any more.
  EXPECT_EQ(h.engine->traceCall("pbx-call-1@10.0.0.5"), "");
}

}  // namespace
}  // namespace sbc::b2bua::testing

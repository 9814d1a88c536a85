// Figures, not benchmarks: heap bytes an established call keeps (both legs,
// both SDPs, maps), and call setup/teardown throughput through the whole
// stack (parser, transactions, engine) in this build. Printed for the
// record. The heap bound is the target's (<= 3 KiB a call with both legs
// and their SDP, PERFORMANCE.md): a regression past it fails here.
#include <gtest/gtest.h>
#include <malloc.h>

#include <chrono>
#include <iostream>

#include "support_engine_harness.h"

#if defined(__SANITIZE_ADDRESS__)
#define SBC_ENGINE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SBC_ENGINE_ASAN 1
#endif
#endif

namespace sbc::b2bua::testing {
namespace {

InviteSpec nth(int i) {
  InviteSpec spec;
  spec.call_id = "perf-" + std::to_string(i) + "@10.0.0.5";
  spec.branch = "z9hG4bKperf" + std::to_string(i);
  return spec;
}

void establishNth(Harness& h, int i) {
  h.fromPbx(pbxInvite(nth(i)));
  std::vector<Sent> out = h.take(h.carrier.address);
  sip::Message inv = out.back().message();
  ResponseSpec ok;
  ok.body = kCarrierSdp;
  ok.to_tag = "t" + std::to_string(i);
  h.fromCarrier(respond(inv, 200, ok));
  std::vector<Sent> to_pbx = h.take(h.pbx.address);
  sip::Message ok_a = to_pbx.back().message();
  PeerDialog a = h.pbxDialogFrom(ok_a);
  a.call_id = nth(i).call_id;
  h.fromPbx(a.request("ACK", {}, {}, 10));
  h.take(h.carrier.address);
}

TEST(EnginePerf, HeapBytesPerEstablishedCall) {
#ifdef SBC_ENGINE_ASAN
  GTEST_SKIP() << "ASan replaces the allocator; measured in the plain build";
#else
  Harness h;
  establishNth(h, 0);  // warm up lazily grown tables
  h.clock.advance(40s);
  constexpr int kCalls = 400;
  h.wire.sent.clear();
  h.wire.sent.shrink_to_fit();
  h.take(h.pbx.address);
  const std::size_t before = mallinfo2().uordblks;
  for (int i = 1; i <= kCalls; ++i) {
    establishNth(h, i);
    if (i % 50 == 0) {
      h.wire.sent.clear();
      h.take(h.pbx.address);
    }
  }
  h.clock.advance(40s);  // transactions end (Timers M, L, K)
  h.wire.sent.clear();
  h.wire.sent.shrink_to_fit();
  h.take(h.pbx.address);
  const std::size_t after = mallinfo2().uordblks;
  ASSERT_EQ(h.engine->activeCalls().size(), static_cast<std::size_t>(kCalls + 1));
  EXPECT_EQ(h.engine->layer().size(), 0u);
  const double per_call = static_cast<double>(after - before) / kCalls;
  std::cout << "[ figure ] heap per established call (both legs, SDPs, maps): " << per_call
            << " bytes\n";
  RecordProperty("heap_bytes_per_call", static_cast<int>(per_call));
  EXPECT_LT(per_call, 3072.0);
#endif
}

TEST(EnginePerf, CallSetupAndTeardownRate) {
  Harness h;
  constexpr int kCalls = 300;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kCalls; ++i) {
    establishNth(h, i);
    PeerDialog a;
    a.call_id = nth(i).call_id;
    a.local = InviteSpec{}.from;
    a.target = "sip:10.0.0.1:5060";
    a.via_host = "10.0.0.5";
    a.cseq = 10;
    // The BYE only needs our tag: find it from the last 200 we sent the PBX.
    for (auto it = h.wire.sent.rbegin(); it != h.wire.sent.rend(); ++it) {
      if (it->to.address == h.pbx.address && it->startLine().starts_with("SIP/2.0 200")) {
        sip::Message ok = it->message();
        a.remote = std::string(ok.header(sip::HeaderId::To)->value);
        break;
      }
    }
    h.fromPbx(a.request("BYE"));
    for (const Sent& s : h.take(h.carrier.address)) {
      if (s.startLine().starts_with("BYE")) h.fromCarrier(respond(s.message(), 200));
    }
    h.wire.sent.clear();
    h.take(h.pbx.address);
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(h.cdrs.size(), static_cast<std::size_t>(kCalls));
  EXPECT_EQ(h.limits.held(), 0u);
  std::cout << "[ figure ] " << kCalls / secs
            << " calls/s set up and torn down (INVITE/200/ACK/BYE/200, harness parsing included)\n";
}

}  // namespace
}  // namespace sbc::b2bua::testing

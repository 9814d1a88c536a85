// SDP parse / serialize / rewrite cost on a typical PBX offer.
// Figures for docs/PERFORMANCE.md come from a RelWithDebInfo or Release build.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>

#include "sbc/sdp/sdp.h"

namespace {

using namespace sbc::sdp;  // NOLINT(google-build-using-namespace)

// An Asterisk (chan_sip) audio offer with ICE credentials, 341 bytes.
const std::string kOffer =
    "v=0\r\n"
    "o=root 1821993329 1821993329 IN IP4 192.168.1.20\r\n"
    "s=Asterisk PBX 18.10.0\r\n"
    "c=IN IP4 192.168.1.20\r\n"
    "t=0 0\r\n"
    "m=audio 14050 RTP/AVP 9 0 8 3 101\r\n"
    "a=rtpmap:9 G722/8000\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:3 GSM/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-16\r\n"
    "a=ptime:20\r\n"
    "a=maxptime:150\r\n"
    "a=ice-ufrag:7eJw\r\n"
    "a=sendrecv\r\n";

SessionDescription parsed() {
  auto r = parse(kOffer);
  if (!r.ok()) std::abort();
  return std::move(r).value();
}

Crypto ourCrypto() {
  Crypto c;
  c.tag = 1;
  c.suite = "AES_CM_128_HMAC_SHA1_80";
  c.keys.push_back({.keySalt = "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz", .lifetime = "2^31"});
  return c;
}

// What the SBC does to an offer before sending it to the far leg.
void rewrite(SessionDescription& sdp, const Crypto& crypto) {
  sdp.setOrigin(Origin{.username = "sbc",
                       .sessionId = "4242",
                       .sessionVersion = "1",
                       .netType = "IN",
                       .addrType = "IP4",
                       .address = "203.0.113.5"});
  sdp.setConnectionAddressEverywhere("203.0.113.5");
  sdp.removeIce();
  for (MediaDescription& m : sdp.media()) {
    m.setPort(40000);
    m.removeIce();
    m.setProto("RTP/SAVP");
    m.addCrypto(crypto);
  }
}

void BM_Parse(benchmark::State& state) {
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores)
    auto r = parse(kOffer);
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kOffer.size()));
  state.counters["sdp_bytes"] = static_cast<double>(kOffer.size());
}
BENCHMARK(BM_Parse);

void BM_Serialize(benchmark::State& state) {
  const SessionDescription sdp = parsed();
  std::string out;
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores)
    out.clear();
    sdp.serializeTo(out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_Serialize);

void BM_ParseSerialize(benchmark::State& state) {
  std::string out;
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores)
    auto r = parse(kOffer);
    out.clear();
    r->serializeTo(out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_ParseSerialize);

// Typed reads the rewriter and the relay set-up do once per offer.
void BM_TypedReads(benchmark::State& state) {
  const SessionDescription sdp = parsed();
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores)
    const MediaDescription& m = sdp.media()[0];
    auto maps = m.rtpmaps();
    auto c = sdp.effectiveConnection(m);
    auto d = sdp.effectiveDirection(m);
    auto fmtp = m.fmtp("101");
    benchmark::DoNotOptimize(maps);
    benchmark::DoNotOptimize(c);
    benchmark::DoNotOptimize(d);
    benchmark::DoNotOptimize(fmtp);
  }
}
BENCHMARK(BM_TypedReads);

// Address, port, remove ICE, add crypto, rewrite o=, on an already parsed offer.
void BM_Rewrite(benchmark::State& state) {
  const SessionDescription original = parsed();
  const Crypto crypto = ourCrypto();
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores)
    state.PauseTiming();
    SessionDescription sdp = original;
    state.ResumeTiming();
    rewrite(sdp, crypto);
    benchmark::DoNotOptimize(sdp);
  }
}
BENCHMARK(BM_Rewrite);

// The whole per-message job: parse, rewrite, serialize.
void BM_ParseRewriteSerialize(benchmark::State& state) {
  const Crypto crypto = ourCrypto();
  std::string out;
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores)
    auto r = parse(kOffer);
    rewrite(*r, crypto);
    out.clear();
    r->serializeTo(out);
    benchmark::DoNotOptimize(out.data());
  }
  SessionDescription kept = parsed();
  rewrite(kept, crypto);
  kept.shrinkToFit();
  state.counters["kept_heap_bytes"] = static_cast<double>(kept.memoryUsage());
}
BENCHMARK(BM_ParseRewriteSerialize);

}  // namespace

BENCHMARK_MAIN();

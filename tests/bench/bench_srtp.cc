// protect + unprotect of one 172-byte G.711 RTP packet (12 header + 160
// payload), per suite: the relay's SRTP cost per forwarded packet.
#include <benchmark/benchmark.h>

#include <vector>

#include "media-relay/srtp/context.h"
#include "media-relay/srtp/sdes.h"

namespace {

using relay::srtp::Context;
using relay::srtp::Direction;

void protectUnprotect(benchmark::State& state) {
  const auto& suite = relay::srtp::allSuites()[static_cast<std::size_t>(state.range(0))];
  state.SetLabel(std::string(suite.sdesName));
  auto key = relay::srtp::generateMasterKey(suite);
  auto tx = Context::create(suite, key->view(), Direction::kOutbound);
  auto rx = Context::create(suite, key->view(), Direction::kInbound);
  std::vector<std::uint8_t> buf(172 + suite.rtpExpansion());
  std::uint16_t seq = 0;
  for (auto _ : state) {
    buf[0] = 0x80;
    buf[1] = 0;
    buf[2] = static_cast<std::uint8_t>(seq >> 8);
    buf[3] = static_cast<std::uint8_t>(seq);
    buf[8] = 0x12;
    ++seq;
    std::size_t len = 172;
    if (tx->protectRtp(buf, len) != relay::srtp::Status::kOk ||
        rx->unprotectRtp(buf, len) != relay::srtp::Status::kOk) {
      state.SkipWithError("srtp failed");
      break;
    }
    benchmark::DoNotOptimize(buf.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(protectUnprotect)->DenseRange(0, 3);

}  // namespace

BENCHMARK_MAIN();

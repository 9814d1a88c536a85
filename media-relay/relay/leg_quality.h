// Network quality of finished legs, per leg kind (rtp, srtp): jitter and loss
// ratio histograms filled on the control thread when a session is released
// (destroyed by the SBC, expired, or stopped) from the leg's final counters,
// and read by the /metrics scrape (relay_metrics.cc). Legs that received no
// RTP are not observed (nothing to measure). Single writer (the control
// thread), relaxed atomics, so a scrape sees each value whole.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "common/relayctl/protocol.h"

namespace relay {

template <std::size_t N>
struct QualityHistogram {
  std::array<std::atomic<std::uint64_t>, N + 1> counts{};  // per bucket, not cumulative
  std::atomic<double> sum{0};

  // bounds: upper bounds, increasing; +Inf implicit.
  void observe(const std::array<double, N>& bounds, double v) {
    std::size_t i = 0;
    while (i < N && v > bounds[i]) ++i;
    constexpr auto r = std::memory_order_relaxed;
    counts[i].store(counts[i].load(r) + 1, r);
    sum.store(sum.load(r) + v, r);
  }
};

struct LegQuality {
  // Seconds: good VoIP stays under 30 ms.
  static constexpr std::array<double, 9> kJitterBounds{0.001, 0.0025, 0.005, 0.01, 0.02,
                                                       0.03,  0.05,   0.1,   0.2};
  // Lost / expected packets of the leg.
  static constexpr std::array<double, 7> kLossBounds{0.0, 0.001, 0.005, 0.01, 0.02, 0.05, 0.1};

  // [kind]: 0 plain RTP leg, 1 SRTP leg (as WorkerCounters).
  std::array<QualityHistogram<kJitterBounds.size()>, 2> jitter;
  std::array<QualityHistogram<kLossBounds.size()>, 2> loss;

  void observe(bool srtp, const sbc::relayctl::LegStats& s) {
    if (s.packetsIn == 0) return;
    const std::size_t k = srtp ? 1 : 0;
    jitter[k].observe(kJitterBounds, static_cast<double>(s.jitterUs) / 1e6);
    const double expected = static_cast<double>(s.packetsIn + s.lost);
    loss[k].observe(kLossBounds, static_cast<double>(s.lost) / expected);
  }
};

}  // namespace relay

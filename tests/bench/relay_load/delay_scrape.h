// The relay's own forward delay (relay_forward_delay_seconds, our relay's
// Prometheus histogram: kernel receive stamp to send), read from /metrics
// before and after the measured window, so the generator can print the
// relay-internal p50/p99 next to its own one-way figures. rtpengine has no
// such metric.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace bench::relay_load {

struct DelayHistogram {
  struct Bucket {
    double le = 0;  // seconds; +Inf for the last
    double cumulative = 0;
  };
  std::vector<Bucket> buckets;  // increasing le
  double count = 0;
  double sum = 0;
};

// Parses relay_forward_delay_seconds from Prometheus text; nullopt when absent.
std::optional<DelayHistogram> parseDelayHistogram(std::string_view text);

// GET http://addr/metrics and parse it; nullopt on any failure (2 s timeout).
std::optional<DelayHistogram> scrapeDelayHistogram(const sockaddr_in& addr);

// after - before, bucket by bucket (same bounds); nullopt if they differ.
std::optional<DelayHistogram> delta(const DelayHistogram& before, const DelayHistogram& after);

// The q-quantile in microseconds, linear inside the bucket (as Prometheus'
// histogram_quantile); < 0 when empty.
double quantileUs(const DelayHistogram& h, double q);

}  // namespace bench::relay_load

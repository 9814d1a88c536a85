#include "media-relay/relay/relay_metrics.h"

#include <prometheus/client_metric.h>
#include <prometheus/metric_family.h>
#include <prometheus/metric_type.h>

#include <limits>
#include <string>

#include "media-relay/relay/scheduling.h"

namespace relay {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

double load(const std::atomic<std::uint64_t>& a) {
  return static_cast<double>(a.load(std::memory_order_relaxed));
}

MetricFamily family(std::string name, std::string help, MetricType type) {
  MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

void add(MetricFamily& f, double value, std::vector<ClientMetric::Label> labels = {}) {
  ClientMetric m;
  m.label = std::move(labels);
  if (f.type == MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  f.metric.push_back(std::move(m));
}

template <std::size_t N>
void addHistogram(MetricFamily& f, const std::array<double, N>& bounds,
                  const QualityHistogram<N>& h, std::string kind) {
  ClientMetric m;
  m.label = {{"kind", std::move(kind)}};
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i <= N; ++i) {
    cumulative += h.counts[i].load(std::memory_order_relaxed);
    ClientMetric::Bucket b;
    b.cumulative_count = cumulative;
    b.upper_bound = i < N ? bounds[i] : std::numeric_limits<double>::infinity();
    m.histogram.bucket.push_back(b);
  }
  m.histogram.sample_count = cumulative;
  m.histogram.sample_sum = h.sum.load(std::memory_order_relaxed);
  f.metric.push_back(std::move(m));
}

// All workers in one histogram: the relay's added latency per forwarded packet.
MetricFamily forwardDelayFamily(const std::vector<std::shared_ptr<WorkerCounters>>& workers) {
  MetricFamily f = family("relay_forward_delay_seconds",
                          "Time from the kernel's receive stamp of a packet to the return of the "
                          "send that forwarded it",
                          MetricType::Histogram);
  std::array<std::uint64_t, ForwardDelay::kBuckets + 1> counts{};
  std::uint64_t sumNs = 0;
  for (const auto& w : workers) {
    for (std::size_t i = 0; i < counts.size(); ++i) {
      counts[i] += w->forwardDelay.counts[i].load(std::memory_order_relaxed);
    }
    sumNs += w->forwardDelay.sumNs.load(std::memory_order_relaxed);
  }
  ClientMetric m;
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    cumulative += counts[i];
    ClientMetric::Bucket b;
    b.cumulative_count = cumulative;
    b.upper_bound = i < ForwardDelay::kBuckets
                        ? static_cast<double>(ForwardDelay::upperBoundNs(i)) / 1e9
                        : std::numeric_limits<double>::infinity();
    m.histogram.bucket.push_back(b);
  }
  m.histogram.sample_count = cumulative;
  m.histogram.sample_sum = static_cast<double>(sumNs) / 1e9;
  f.metric.push_back(std::move(m));
  return f;
}

MetricFamily single(std::string name, std::string help, MetricType type, double value) {
  MetricFamily f = family(std::move(name), std::move(help), type);
  add(f, value);
  return f;
}

}  // namespace

std::vector<MetricFamily> RelayCollector::Collect() const {
  std::vector<MetricFamily> out;
  const ControlCounters& c = *control_;
  out.push_back(single("relay_sessions", "Sessions held", MetricType::Gauge, load(c.sessions)));
  out.push_back(
      single("relay_ports_free", "Free RTP/RTCP port pairs", MetricType::Gauge, load(c.portsFree)));
  out.push_back(
      single("relay_ports_total", "RTP/RTCP port pairs", MetricType::Gauge, load(c.portsTotal)));
  out.push_back(single("relay_ports_in_use", "RTP/RTCP port pairs held by sessions",
                       MetricType::Gauge, load(c.portsTotal) - load(c.portsFree)));
  out.push_back(single("relay_control_connections", "Open SBC control connections",
                       MetricType::Gauge, load(c.connections)));
  out.push_back(single("relay_sessions_created_total", "Sessions created", MetricType::Counter,
                       load(c.sessionsCreated)));
  out.push_back(single("relay_sessions_expired_total",
                       "Sessions freed after their SBC was gone for the TTL", MetricType::Counter,
                       load(c.sessionsExpired)));
  out.push_back(single("relay_control_requests_total", "Control requests handled",
                       MetricType::Counter, load(c.requests)));
  out.push_back(single("relay_control_errors_total", "Control requests answered with an error",
                       MetricType::Counter, load(c.requestErrors)));
  MetricFamily events = family("relay_events_total", "Events for the SBC", MetricType::Counter);
  add(events, load(c.eventsSent), {{"result", "sent"}});
  add(events, load(c.eventsUndelivered), {{"result", "undelivered"}});
  out.push_back(std::move(events));

  double timeouts = 0;
  std::array<double, 2> pin{}, bin{}, pout{}, bout{}, lost{};
  std::array<double, static_cast<std::size_t>(DropReason::kCount)> dropped{};
  for (const auto& w : workers_) {
    timeouts += load(w->mediaTimeouts);
    for (std::size_t k = 0; k < 2; ++k) {
      pin[k] += load(w->packetsIn[k]);
      bin[k] += load(w->bytesIn[k]);
      pout[k] += load(w->packetsOut[k]);
      bout[k] += load(w->bytesOut[k]);
      lost[k] += load(w->rtpLost[k]);
    }
    for (std::size_t r = 0; r < dropped.size(); ++r) dropped[r] += load(w->dropped[r]);
  }
  out.push_back(single("relay_media_timeouts_total", "Legs that timed out without media",
                       MetricType::Counter, timeouts));
  MetricFamily packets =
      family("relay_packets_total", "RTP and RTCP packets by leg kind", MetricType::Counter);
  MetricFamily bytes = family("relay_bytes_total", "Wire bytes by leg kind", MetricType::Counter);
  constexpr std::array<const char*, 2> kKinds{"rtp", "srtp"};
  for (std::size_t k = 0; k < 2; ++k) {
    add(packets, pin[k], {{"direction", "in"}, {"kind", kKinds[k]}});
    add(packets, pout[k], {{"direction", "out"}, {"kind", kKinds[k]}});
    add(bytes, bin[k], {{"direction", "in"}, {"kind", kKinds[k]}});
    add(bytes, bout[k], {{"direction", "out"}, {"kind", kKinds[k]}});
  }
  out.push_back(std::move(packets));
  out.push_back(std::move(bytes));
  MetricFamily lostFamily = family(
      "relay_rtp_lost_packets_total",
      "RTP packets lost on the way to the relay (sequence gaps), by leg kind", MetricType::Counter);
  MetricFamily jitter =
      family("relay_leg_jitter_seconds",
             "Interarrival jitter (RFC 3550) of finished legs, by leg kind", MetricType::Histogram);
  MetricFamily loss =
      family("relay_leg_loss_ratio", "Lost / expected RTP packets of finished legs, by leg kind",
             MetricType::Histogram);
  for (std::size_t k = 0; k < 2; ++k) {
    add(lostFamily, lost[k], {{"kind", kKinds[k]}});
    addHistogram(jitter, LegQuality::kJitterBounds, c.legQuality.jitter[k], kKinds[k]);
    addHistogram(loss, LegQuality::kLossBounds, c.legQuality.loss[k], kKinds[k]);
  }
  out.push_back(std::move(lostFamily));
  out.push_back(std::move(jitter));
  out.push_back(std::move(loss));
  MetricFamily drops =
      family("relay_dropped_total", "Packets dropped, by reason", MetricType::Counter);
  for (std::size_t r = 0; r < dropped.size(); ++r) {
    add(drops, dropped[r], {{"reason", std::string(kDropReasonNames[r])}});
  }
  out.push_back(std::move(drops));
  out.push_back(single("relay_srtp_auth_failures_total", "SRTP/SRTCP authentication failures",
                       MetricType::Counter,
                       dropped[static_cast<std::size_t>(DropReason::kSrtpAuth)]));
  out.push_back(forwardDelayFamily(workers_));
  MetricFamily sched = family("relay_worker_priority",
                              "Scheduling each packet worker thread got: its policy as a label, "
                              "its real-time priority as the value (0: the normal policy)",
                              MetricType::Gauge);
  for (std::size_t i = 0; i < workers_.size(); ++i) {
    const auto policy =
        static_cast<WorkerScheduling>(workers_[i]->schedPolicy.load(std::memory_order_relaxed));
    add(sched, workers_[i]->schedPriority.load(std::memory_order_relaxed),
        {{"policy", std::string(workerSchedulingName(policy))}, {"worker", std::to_string(i)}});
  }
  out.push_back(std::move(sched));
  return out;
}

}  // namespace relay

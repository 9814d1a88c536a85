#include "sbc/trace/trace_service.h"

#include <mutex>

#include "common/metrics/registry.h"

namespace sbc::trace {

struct TraceService::Metrics {
  metrics::CounterFamily messages, dropped, written, hep_sent, hep_failed;
  metrics::GaugeFamily depth;
  // Counters are fed by deltas from the last sample.
  std::mutex mutex;
  std::uint64_t last_accepted = 0, last_queue_full = 0, last_db_failed = 0, last_written = 0,
                last_hep_sent = 0, last_hep_failed = 0;

  explicit Metrics(metrics::Registry& r) {
    r.declare(*this, {
                         {&Metrics::messages, "sbc_trace_messages_total",
                          "SIP messages of traced calls queued for writing"},
                         {&Metrics::dropped,
                          "sbc_trace_dropped_total",
                          "Traced SIP messages lost (queue_full: SIP side; database: insert)",
                          {"reason"}},
                         {&Metrics::written, "sbc_trace_written_total",
                          "Traced SIP messages inserted into sip_traces"},
                         {&Metrics::hep_sent, "sbc_trace_hep_sent_total",
                          "HEPv3 packets sent to the capture server"},
                         {&Metrics::hep_failed, "sbc_trace_hep_failed_total",
                          "HEPv3 packets not sent (too large or send failed)"},
                         {&Metrics::depth, "sbc_trace_queue_depth",
                          "Traced SIP messages waiting for the writer"},
                     });
    dropped.with({"queue_full"});
    dropped.with({"database"});
  }
};

namespace {
void addDelta(prometheus::Counter& c, std::uint64_t now, std::uint64_t& last) {
  if (now > last) c.Increment(static_cast<double>(now - last));
  last = now;
}
}  // namespace

TraceService::TraceService(db::Pool* pool, metrics::Registry& registry, TraceWriterOptions options,
                           TraceQueueLimits limits)
    : queue_(limits),
      tap_(queue_),
      writer_(queue_, pool, std::move(options)),
      metrics_(std::make_unique<Metrics>(registry)) {}

TraceService::~TraceService() {
  stop();
}

void TraceService::start() {
  writer_.start();
}

void TraceService::stop() {
  writer_.stop();
}

void TraceService::sampleMetrics() {
  Metrics& m = *metrics_;
  const TraceWriter::Stats s = writer_.stats();
  std::lock_guard lock(m.mutex);
  addDelta(m.messages.get(), queue_.accepted(), m.last_accepted);
  addDelta(m.dropped.with({"queue_full"}), queue_.dropped(), m.last_queue_full);
  addDelta(m.dropped.with({"database"}), s.db_failed, m.last_db_failed);
  addDelta(m.written.get(), s.written, m.last_written);
  addDelta(m.hep_sent.get(), s.hep_sent, m.last_hep_sent);
  addDelta(m.hep_failed.get(), s.hep_failed, m.last_hep_failed);
  m.depth.get().Set(static_cast<double>(queue_.size()));
}

}  // namespace sbc::trace

#pragma once
// SIP tracing for one sbc process, assembled: the bounded queue, the tap the
// engines report to, the writer (database, HEP) and its metrics:
//   sbc_trace_messages_total         messages queued for writing
//   sbc_trace_dropped_total{reason}  queue_full (SIP side) / database (insert lost)
//   sbc_trace_written_total          rows inserted into sip_traces
//   sbc_trace_hep_sent_total, sbc_trace_hep_failed_total
//   sbc_trace_queue_depth
#include <memory>

#include "sbc/trace/tap.h"
#include "sbc/trace/trace_queue.h"
#include "sbc/trace/trace_writer.h"

namespace sbc::metrics {
class Registry;
}  // namespace sbc::metrics

namespace sbc::trace {

class TraceService {
 public:
  // Throws (start-up) on a bad HEP address; `pool` may be null.
  TraceService(db::Pool* pool, metrics::Registry& registry, TraceWriterOptions options,
               TraceQueueLimits limits = {});
  ~TraceService();
  TraceService(const TraceService&) = delete;
  TraceService& operator=(const TraceService&) = delete;

  b2bua::MessageTap* tap() { return &tap_; }
  void start();
  void stop();  // before the pool stops: the last batch goes through it
  // Copies the counters into the metrics (any thread, e.g. every second).
  void sampleMetrics();

 private:
  struct Metrics;
  TraceQueue queue_;
  QueueTap tap_;
  TraceWriter writer_;
  std::unique_ptr<Metrics> metrics_;
};

}  // namespace sbc::trace

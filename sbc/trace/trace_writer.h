#pragma once
// Drains the TraceQueue on a thread of its own, every `flush_interval`:
// exports each record to the HEP collector (UDP, when configured) and hands
// the batch to the database pool as one multi-row INSERT into sip_traces.
// Every `purge_interval` it also submits purge_sip_traces(retention).
// Nothing here runs on a SIP thread; a full pool queue or a failed insert
// loses that batch (counted), it is never retried: traces are diagnostics,
// not records.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sbc/trace/record.h"
#include "sbc/trace/trace_queue.h"

namespace sbc::db {
class Pool;
}  // namespace sbc::db

namespace sbc::trace {

struct TraceWriterOptions {
  std::string node;                   // sip_traces.node
  std::chrono::hours retention{168};  // 0: never purged
  std::chrono::milliseconds purge_interval{std::chrono::hours(1)};
  std::chrono::milliseconds flush_interval{250};
  std::size_t batch_max = 500;  // rows per INSERT
  std::string hep_address;      // "ip:port" or "[v6]:port"; empty: no HEP export
  std::uint32_t hep_id = 0;     // HEP capture agent id
};

class TraceWriter {
 public:
  // `pool` may be null (HEP only). Throws std::invalid_argument on a bad
  // hep_address and std::runtime_error when the HEP socket cannot be opened
  // (start-up only).
  TraceWriter(TraceQueue& queue, db::Pool* pool, TraceWriterOptions options);
  ~TraceWriter();
  TraceWriter(const TraceWriter&) = delete;
  TraceWriter& operator=(const TraceWriter&) = delete;

  void start();
  // Writes what is queued one last time (submitted to the pool: stop the
  // pool after this) and joins the thread.
  void stop();

  struct Stats {
    std::uint64_t written = 0;     // rows inserted
    std::uint64_t db_failed = 0;   // rows lost: insert failed or pool refused the batch
    std::uint64_t hep_sent = 0;    // packets
    std::uint64_t hep_failed = 0;  // not encodable (too large) or not sent
    std::uint64_t purged = 0;      // rows deleted by retention
  };
  Stats stats() const;

 private:
  void run();
  void flush(std::vector<TraceRecord>& batch);
  void sendHep(const std::vector<TraceRecord>& batch);
  void purge();

  TraceQueue& queue_;
  db::Pool* pool_;
  TraceWriterOptions options_;
  int hep_socket_ = -1;
  std::vector<unsigned char> hep_addr_;  // sockaddr storage

  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;

  std::atomic<std::uint64_t> written_{0}, db_failed_{0}, hep_sent_{0}, hep_failed_{0}, purged_{0};
};

// ---- pieces, public for tests
// `s` as PostgreSQL text: NUL bytes and invalid UTF-8 become U+FFFD, so
// that one odd message cannot make the whole batch fail.
std::string toPgText(std::string_view s);
// "2026-11-25 23:30:01.123456+00"
std::string pgTimestamp(std::chrono::system_clock::time_point t);

}  // namespace sbc::trace

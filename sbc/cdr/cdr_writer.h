#pragma once
// Writes CDRs to PostgreSQL in batches from a thread of its own. submit() is
// callable from any thread and never waits on I/O: it appends to an
// in-memory queue under a short mutex.
//
// Every `batch_interval` (or as soon as `batch_max` records are queued) the
// writer sends a batch with one COPY (half the backend CPU of a multi-row
// INSERT: no statement to parse and plan); should the COPY be refused (a
// record already there, a bad value) the batch goes again as one INSERT ...
// ON CONFLICT (uuid, start_time) DO NOTHING, and spool replays go that way
// straight away. When PostgreSQL is unreachable or the insert fails,
// the batch goes to the on-disk spool (see spool.h) instead, and the spool is
// replayed, oldest first, once the database is back; since a record's uuid is
// its idempotency key, a replay after a crash never writes a record twice.
// Rows PostgreSQL refuses on their own (a CHECK violated) are set aside in
// spool_dir/rejected/ rather than retried forever. stop() flushes the queue
// to the database or the spool: nothing submitted before stop() is lost.
#include <pqxx/connection>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/db/backoff.h"
#include "sbc/cdr/cdr.h"
#include "sbc/cdr/spool.h"

namespace sbc::cdr {

struct CdrWriterOptions {
  std::string dsn;
  std::filesystem::path spool_dir;
  std::size_t batch_max = 500;
  std::chrono::milliseconds batch_interval{200};
  // Beyond this, submit() refuses (and counts a drop): memory is bounded even
  // if the disk is failing too.
  std::size_t queue_capacity = 100'000;
  db::BackoffPolicy backoff{};
  int connect_timeout_s = 3;
  // Nice value of the writer thread (Linux, per thread): a SIP thread that
  // wants the CPU should not wait behind CDR formatting. 0 leaves it alone.
  int thread_nice = 10;
};

class CdrWriter {
 public:
  // Opens (creates) the spool directory; throws if it cannot.
  explicit CdrWriter(CdrWriterOptions options);
  ~CdrWriter();
  CdrWriter(const CdrWriter&) = delete;
  CdrWriter& operator=(const CdrWriter&) = delete;

  void start();
  // False only when the queue is full or the writer is stopped.
  bool submit(Cdr cdr);
  // Flushes what is queued (database or spool) and joins the thread. Does not
  // wait for the spool to drain: that resumes at the next start.
  void stop();

  struct Stats {
    std::size_t queue_depth = 0;
    std::size_t spool_files = 0;
    std::size_t spool_records = 0;
    std::uint64_t written = 0;       // records inserted directly
    std::uint64_t duplicates = 0;    // records the database already had
    std::uint64_t spooled = 0;       // records written to the spool
    std::uint64_t replayed = 0;      // records moved from the spool to the database
    std::uint64_t rejected = 0;      // records the database refused (kept in rejected/)
    std::uint64_t dropped = 0;       // submit() refused: queue full
    std::uint64_t failures = 0;      // failed inserts / connects / spool writes
    std::uint64_t copy_retried = 0;  // batches whose COPY was refused, sent again as INSERT
    bool connected = false;
  };
  Stats stats() const;

 private:
  void run();
  void flush(std::deque<Cdr>& batch, bool stopping);
  // Connects unless the backoff says not yet; true when a connection is up.
  bool ensureConnected();
  void dropConnection();
  // Inserts rows; false if the connection is lost (the caller spools them;
  // any already inserted become duplicates at replay). Rows refused for
  // another reason go to rejected/ one by one and count as done.
  // `may_repeat`: the rows may already be in the table (a spool replay), so
  // skip the COPY, which a single duplicate would fail.
  bool insert(const std::vector<std::string>& columns, const std::vector<Row>& rows,
              std::uint64_t& inserted, bool may_repeat);
  enum class CopyResult : std::uint8_t { kDone, kRefused, kConnectionLost };
  CopyResult copyRows(const std::vector<Row>& rows);
  // One COPY of `text` (rows in COPY text format joined by newlines).
  CopyResult copyText(const std::string& text, std::size_t records);
  // Replays spool files oldest first; false when the database went away.
  bool replaySpool();
  void spoolRows(std::vector<Row>& rows, bool stopping);
  void ensurePartitions(const std::vector<std::string>& columns, const std::vector<Row>& rows);
  void ensurePartitions(const std::deque<Cdr>& batch);
  void ensurePartition(const std::string& month);  // "YYYY-MM"

  CdrWriterOptions options_;
  std::string dsn_;
  Spool spool_;
  std::vector<std::string> columns_;

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Cdr> queue_;
  bool stopping_ = false;
  std::thread thread_;

  // Writer thread only.
  std::unique_ptr<pqxx::connection> conn_;
  db::Backoff backoff_;
  std::chrono::steady_clock::time_point next_connect_{};
  std::set<std::string> known_months_;
  std::vector<Row> unsaved_;  // neither inserted nor spooled (disk failing)
  std::string copy_text_;     // a batch's COPY data, its capacity kept between batches

  std::atomic<std::size_t> spool_files_{0}, spool_records_{0};
  std::atomic<std::uint64_t> written_{0}, duplicates_{0}, spooled_{0}, replayed_{0}, rejected_{0},
      dropped_{0}, failures_{0}, copy_retried_{0};
  std::atomic<bool> connected_{false};
};

}  // namespace sbc::cdr

#include "sbc/cdr/cdr_writer.h"

#include <pthread.h>
#include <pqxx/pqxx>
#include <pqxx/tablewriter>

#include <spdlog/spdlog.h>

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "common/db/dsn.h"
#include "common/db/pool.h"

namespace sbc::cdr {
namespace {

std::vector<std::string_view> views(const std::vector<std::string>& v) {
  return {v.begin(), v.end()};
}

// An escape string literal, right whatever standard_conforming_strings says.
// libpq's quote() cost an allocation or three per value, 42 values a row.
// Rows hold no NUL (toRow cleans them); one from a damaged spool file
// becomes '?' rather than ending the literal.
void appendQuoted(std::string& sql, std::string_view value) {
  sql += "E'";
  for (const char c : value) {
    if (c == '\\' || c == '\'') sql += c;
    sql += c == '\0' ? '?' : c;
  }
  sql += '\'';
}

}  // namespace

CdrWriter::CdrWriter(CdrWriterOptions options)
    : options_(std::move(options)),
      dsn_(db::dsnWithDefaults(options_.dsn, options_.connect_timeout_s, "sbc-cdr")),
      spool_(options_.spool_dir),
      backoff_(options_.backoff) {
  for (auto c : columns()) columns_.emplace_back(c);
  if (options_.batch_max == 0) options_.batch_max = 1;
  std::size_t records = 0;
  auto files = spool_.list();
  for (const auto& e : files) records += e.records;
  spool_files_ = files.size();
  spool_records_ = records;
  if (!files.empty())
    spdlog::info("cdr: {} spooled records in {} files to replay", records, files.size());
}

CdrWriter::~CdrWriter() {
  stop();
}

void CdrWriter::start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "sbc-cdr");  // top -H, perf
    run();
  });
}

bool CdrWriter::submit(Cdr cdr) {
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || queue_.size() >= options_.queue_capacity) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    queue_.push_back(std::move(cdr));
    wake = queue_.size() == options_.batch_max;
  }
  if (wake) cv_.notify_one();
  return true;
}

void CdrWriter::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  conn_.reset();
  connected_ = false;
}

CdrWriter::Stats CdrWriter::stats() const {
  Stats s;
  {
    std::lock_guard lock(mutex_);
    s.queue_depth = queue_.size();
  }
  s.spool_files = spool_files_.load();
  s.spool_records = spool_records_.load();
  s.written = written_.load();
  s.duplicates = duplicates_.load();
  s.spooled = spooled_.load();
  s.replayed = replayed_.load();
  s.rejected = rejected_.load();
  s.dropped = dropped_.load();
  s.failures = failures_.load();
  s.copy_retried = copy_retried_.load();
  s.connected = connected_.load();
  return s;
}

void CdrWriter::run() {
  if (options_.thread_nice != 0) {
    // Best effort: a failure (no permission to lower it again) changes nothing.
    ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), options_.thread_nice);
  }
  std::unique_lock lock(mutex_);
  for (;;) {
    cv_.wait_for(lock, options_.batch_interval,
                 [this] { return stopping_ || queue_.size() >= options_.batch_max; });
    const bool stopping = stopping_;
    // Keep the lock short (submit() waits on it): take the whole queue in
    // O(1) when it fits in one batch.
    std::deque<Cdr> batch;
    if (queue_.size() <= options_.batch_max) {
      batch.swap(queue_);
    } else {
      for (std::size_t i = 0; i < options_.batch_max; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    lock.unlock();
    if (!batch.empty()) {
      flush(batch, stopping);
    } else if (!stopping && spool_files_.load() > 0 && ensureConnected()) {
      replaySpool();
    }
    lock.lock();
    if (stopping && queue_.empty()) break;
  }
}

bool CdrWriter::ensureConnected() {
  if (conn_) return true;
  const auto now = std::chrono::steady_clock::now();
  if (now < next_connect_) return false;
  try {
    conn_ = std::make_unique<pqxx::connection>(dsn_);
    connected_ = true;
    if (backoff_.attempts() > 0) spdlog::info("cdr: database reachable again");
    backoff_.reset();
    return true;
  } catch (const std::exception& e) {
    failures_.fetch_add(1, std::memory_order_relaxed);
    auto delay = backoff_.next();
    next_connect_ = now + delay;
    if (backoff_.attempts() == 1 || backoff_.attempts() % 10 == 0)
      spdlog::warn("cdr: cannot connect ({}); spooling, next attempt in {} ms", e.what(),
                   delay.count());
    return false;
  }
}

void CdrWriter::dropConnection() {
  conn_.reset();
  connected_ = false;
  next_connect_ = std::chrono::steady_clock::now() + backoff_.next();
}

void CdrWriter::flush(std::deque<Cdr>& batch, bool stopping) {
  // Older records (the spool) go first, so records reach the database in
  // the order they were produced.
  bool db_ok = ensureConnected();
  if (db_ok && spool_files_.load() > 0) db_ok = replaySpool();
  bool copy_refused = false;
  if (db_ok && unsaved_.empty() && !batch.empty()) {
    // The common case: the batch goes out as COPY text written straight from
    // the records; the Rows below are built only if that fails.
    ensurePartitions(batch);
    if (!conn_) {
      db_ok = false;
    } else {
      copy_text_.clear();
      for (std::size_t i = 0; i < batch.size(); ++i) {
        if (i) copy_text_.push_back('\n');
        appendCopyRow(copy_text_, batch[i]);
      }
      switch (copyText(copy_text_, batch.size())) {
        case CopyResult::kDone:
          written_.fetch_add(batch.size(), std::memory_order_relaxed);
          return;
        case CopyResult::kConnectionLost:
          db_ok = false;
          break;
        case CopyResult::kRefused:
          copy_refused = true;
          break;
      }
    }
  }

  std::vector<Row> rows = std::move(unsaved_);
  unsaved_.clear();
  rows.reserve(rows.size() + batch.size());
  for (const auto& c : batch) rows.push_back(toRow(c));
  if (db_ok) {
    std::uint64_t inserted = 0;
    if (insert(columns_, rows, inserted, /*may_repeat=*/copy_refused)) {
      written_.fetch_add(inserted, std::memory_order_relaxed);
      duplicates_.fetch_add(rows.size() - std::min<std::uint64_t>(inserted, rows.size()),
                            std::memory_order_relaxed);
      return;
    }
  }
  spoolRows(rows, stopping);
}

void CdrWriter::spoolRows(std::vector<Row>& rows, bool stopping) {
  std::string error;
  if (spool_.write(views(columns_), rows, &error)) {
    spooled_.fetch_add(rows.size(), std::memory_order_relaxed);
    spool_files_.fetch_add(1);
    spool_records_.fetch_add(rows.size());
    return;
  }
  failures_.fetch_add(1, std::memory_order_relaxed);
  if (stopping) {
    spdlog::critical("cdr: {} records LOST at shutdown: database unreachable and spool failed: {}",
                     rows.size(), error);
    return;
  }
  // Keep them for the next round rather than lose them; bounded like the queue.
  spdlog::error("cdr: spool write failed ({}); keeping {} records in memory", error, rows.size());
  if (rows.size() > options_.queue_capacity) {
    dropped_.fetch_add(rows.size() - options_.queue_capacity, std::memory_order_relaxed);
    rows.erase(rows.begin(),
               rows.begin() + static_cast<std::ptrdiff_t>(rows.size() - options_.queue_capacity));
  }
  unsaved_ = std::move(rows);
}

void CdrWriter::ensurePartitions(const std::vector<std::string>& columns,
                                 const std::vector<Row>& rows) {
  auto it = std::find(columns.begin(), columns.end(), "start_time");
  if (it == columns.end() || !conn_) return;
  const auto idx = static_cast<std::size_t>(it - columns.begin());
  for (const auto& row : rows) {
    if (idx >= row.size() || !row[idx] || row[idx]->size() < 7) continue;
    ensurePartition(row[idx]->substr(0, 7));  // "YYYY-MM"
    if (!conn_) return;
  }
}

void CdrWriter::ensurePartitions(const std::deque<Cdr>& batch) {
  // Calls of one batch nearly always share a month: format only when the
  // start time leaves the range of the month last seen.
  Cdr::Time lo = Cdr::Time::max();
  Cdr::Time hi = Cdr::Time::min();
  for (const auto& c : batch) {
    if (c.start_time >= lo && c.start_time < hi) continue;
    const std::string month = formatTimestamp(c.start_time).substr(0, 7);
    ensurePartition(month);
    if (!conn_) return;
    // [first day of the month, first day of the next) in UTC: at least a
    // 28-day window around any start time of that month is safe to skip.
    const auto day = std::chrono::floor<std::chrono::days>(c.start_time);
    const std::chrono::year_month_day ymd{day};
    const std::chrono::sys_days first{ymd.year() / ymd.month() / 1};
    lo = first;
    hi = std::chrono::sys_days{(ymd.year() / ymd.month() / 1) + std::chrono::months{1}};
  }
}

void CdrWriter::ensurePartition(const std::string& month) {
  if (known_months_.count(month)) return;
  try {
    pqxx::work tx(*conn_, "cdr-partition");
    tx.exec_params("SELECT create_cdr_partition($1::timestamptz)", month + "-01 00:00:00+00");
    tx.commit();
    known_months_.insert(month);
  } catch (const std::exception& e) {
    if (db::isConnectionLoss(e, conn_.get())) {
      dropConnection();
      return;
    }
    // Not fatal: the default partition takes the rows.
    spdlog::warn("cdr: cannot create the partition for {}: {}", month, e.what());
    known_months_.insert(month);
  }
}

CdrWriter::CopyResult CdrWriter::copyRows(const std::vector<Row>& rows) {
  copy_text_.clear();
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const Row& row = rows[r];
    if (r) copy_text_ += '\n';
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (i) copy_text_ += '\t';
      if (row[i])
        appendCopyText(copy_text_, *row[i]);
      else
        copy_text_ += "\\N";
    }
  }
  return copyText(copy_text_, rows.size());
}

CdrWriter::CopyResult CdrWriter::copyText(const std::string& text, std::size_t records) {
  try {
    pqxx::work tx(*conn_, "cdr-copy");
    // libpqxx 6.4 has no other COPY writer for rows whose width is known
    // only at run time (its stream_to takes tuples); 7.x would replace this
    // with stream_to::write_row.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    pqxx::tablewriter writer(tx, "cdrs", columns_.begin(), columns_.end());
#pragma GCC diagnostic pop
    // COPY data is a byte stream: the whole batch in one write (libpqxx adds
    // the last newline and copies each line it is given once more).
    writer.write_raw_line(text);
    writer.complete();
    tx.commit();
    return CopyResult::kDone;
  } catch (const std::exception& e) {
    if (db::isConnectionLoss(e, conn_.get())) {
      failures_.fetch_add(1, std::memory_order_relaxed);
      spdlog::warn("cdr: connection lost while copying {} records: {}", records, e.what());
      dropConnection();
      return CopyResult::kConnectionLost;
    }
    copy_retried_.fetch_add(1, std::memory_order_relaxed);
    spdlog::info("cdr: COPY of {} records refused ({}); inserting them instead", records, e.what());
    return CopyResult::kRefused;
  }
}

bool CdrWriter::insert(const std::vector<std::string>& columns, const std::vector<Row>& rows,
                       std::uint64_t& inserted, bool may_repeat) {
  inserted = 0;
  if (rows.empty()) return true;
  ensurePartitions(columns, rows);
  if (!conn_) return false;
  if (!may_repeat) {
    switch (copyRows(rows)) {
      case CopyResult::kDone:
        inserted = rows.size();
        return true;
      case CopyResult::kConnectionLost:
        return false;
      case CopyResult::kRefused:
        break;  // the INSERT below skips duplicates and finds a bad row
    }
  }

  std::string head = "INSERT INTO cdrs (";
  for (std::size_t i = 0; i < columns.size(); ++i) {
    if (i) head += ',';
    head += conn_->quote_name(columns[i]);
  }
  head += ") VALUES ";
  const std::string tail = " ON CONFLICT (uuid, start_time) DO NOTHING";
  auto values = [&](std::string& sql, const Row& row) {
    sql += '(';
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (i) sql += ',';
      if (row[i])
        appendQuoted(sql, *row[i]);
      else
        sql += "NULL";
    }
    sql += ')';
  };

  try {
    std::string sql = head;
    sql.reserve(head.size() + rows.size() * 400);
    for (std::size_t r = 0; r < rows.size(); ++r) {
      if (r) sql += ',';
      values(sql, rows[r]);
    }
    sql += tail;
    pqxx::work tx(*conn_, "cdr-insert");
    auto res = tx.exec(sql);
    tx.commit();
    inserted = res.affected_rows();
    return true;
  } catch (const std::exception& e) {
    failures_.fetch_add(1, std::memory_order_relaxed);
    if (db::isConnectionLoss(e, conn_.get())) {
      spdlog::warn("cdr: connection lost while inserting {} records: {}", rows.size(), e.what());
      dropConnection();
      return false;
    }
    spdlog::error("cdr: batch of {} refused ({}); inserting one by one", rows.size(), e.what());
  }

  // Some row is refused by the database itself: find it, keep the rest.
  std::vector<Row> refused;
  for (const auto& row : rows) {
    try {
      std::string sql = head;
      values(sql, row);
      sql += tail;
      pqxx::work tx(*conn_, "cdr-insert-one");
      auto res = tx.exec(sql);
      tx.commit();
      inserted += res.affected_rows();
    } catch (const std::exception& e) {
      if (db::isConnectionLoss(e, conn_.get())) {
        // Rows already inserted are duplicates when the batch is replayed.
        dropConnection();
        return false;
      }
      spdlog::error("cdr: record {} refused: {}", row.empty() || !row[0] ? "?" : *row[0], e.what());
      refused.push_back(row);
    }
  }
  if (!refused.empty()) {
    rejected_.fetch_add(refused.size(), std::memory_order_relaxed);
    if (!spool_.reject(columns, refused))
      spdlog::error("cdr: cannot keep {} refused records in {}/rejected", refused.size(),
                    spool_.dir().string());
  }
  return true;
}

bool CdrWriter::replaySpool() {
  for (const auto& entry : spool_.list()) {
    std::string error;
    auto batch = Spool::read(entry.path, &error);
    if (!batch) {
      spdlog::error("cdr: unreadable spool file moved to bad/: {}", error);
      failures_.fetch_add(1, std::memory_order_relaxed);
      spool_.quarantine(entry);
    } else {
      std::uint64_t inserted = 0;
      if (!insert(batch->columns, batch->rows, inserted, /*may_repeat=*/true)) return false;
      replayed_.fetch_add(batch->rows.size(), std::memory_order_relaxed);
      duplicates_.fetch_add(
          batch->rows.size() - std::min<std::uint64_t>(inserted, batch->rows.size()),
          std::memory_order_relaxed);
      spool_.remove(entry);
    }
    spool_files_.fetch_sub(1);
    spool_records_.fetch_sub(std::min(entry.records, spool_records_.load()));
  }
  return true;
}

}  // namespace sbc::cdr

#include "sbc/trace/trace_writer.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <pqxx/pqxx>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <stdexcept>

#include "common/db/pool.h"
#include "sbc/trace/hep.h"

namespace sbc::trace {
namespace {

// "ip:port" / "[v6]:port" into a sockaddr; empty on error.
std::vector<unsigned char> resolveNumeric(const std::string& s) {
  std::string host, port;
  if (!s.empty() && s.front() == '[') {
    auto close = s.find(']');
    if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':') return {};
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string::npos || s.find(':') != colon) return {};
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
  }
  unsigned p = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc{} || end != port.data() + port.size() || p == 0 || p > 65535) return {};
  std::vector<unsigned char> out;
  sockaddr_in v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4.sin_addr) == 1) {
    v4.sin_family = AF_INET;
    v4.sin_port = htons(static_cast<std::uint16_t>(p));
    out.resize(sizeof v4);
    std::memcpy(out.data(), &v4, sizeof v4);
    return out;
  }
  sockaddr_in6 v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6.sin6_addr) == 1) {
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(static_cast<std::uint16_t>(p));
    out.resize(sizeof v6);
    std::memcpy(out.data(), &v6, sizeof v6);
  }
  return out;
}

// Length of the valid UTF-8 sequence at s[i], 0 if invalid.
std::size_t utf8Length(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  std::size_t n = 0;
  std::uint32_t cp = 0;
  if (c < 0x80) return c == 0 ? 0 : 1;
  if ((c & 0xe0) == 0xc0) {
    n = 2;
    cp = c & 0x1f;
  } else if ((c & 0xf0) == 0xe0) {
    n = 3;
    cp = c & 0x0f;
  } else if ((c & 0xf8) == 0xf0) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (s.size() - i < n) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    const auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3f);
  }
  // Overlong forms, surrogates, beyond U+10FFFF.
  if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
      (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
    return 0;
  return n;
}

}  // namespace

std::string toPgText(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = utf8Length(s, i);
    if (n == 0) {
      out += "\xef\xbf\xbd";
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

std::string pgTimestamp(std::chrono::system_clock::time_point t) {
  const auto us =
      std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(us / 1'000'000);
  long frac = static_cast<long>(us % 1'000'000);
  if (frac < 0) {
    frac += 1'000'000;
    --secs;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d.%06ld+00", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
  return buf;
}

TraceWriter::TraceWriter(TraceQueue& queue, db::Pool* pool, TraceWriterOptions options)
    : queue_(queue), pool_(pool), options_(std::move(options)) {
  if (options_.batch_max == 0) options_.batch_max = 1;
  if (!options_.hep_address.empty()) {
    hep_addr_ = resolveNumeric(options_.hep_address);
    if (hep_addr_.empty())
      throw std::invalid_argument("trace.hep_address: expected ip:port, got '" +
                                  options_.hep_address + "'");
    const int family = reinterpret_cast<const sockaddr*>(hep_addr_.data())->sa_family;
    hep_socket_ = ::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (hep_socket_ < 0)
      throw std::runtime_error(std::string("trace: HEP socket: ") + std::strerror(errno));
  }
}

TraceWriter::~TraceWriter() {
  stop();
  if (hep_socket_ >= 0) ::close(hep_socket_);
}

void TraceWriter::start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "sbc-trace");  // top -H, perf
    run();
  });
}

void TraceWriter::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

TraceWriter::Stats TraceWriter::stats() const {
  Stats s;
  s.written = written_.load();
  s.db_failed = db_failed_.load();
  s.hep_sent = hep_sent_.load();
  s.hep_failed = hep_failed_.load();
  s.purged = purged_.load();
  return s;
}

void TraceWriter::run() {
  auto next_purge = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  std::vector<TraceRecord> batch;
  std::unique_lock lock(mutex_);
  for (;;) {
    cv_.wait_for(lock, options_.flush_interval, [this] { return stopping_; });
    const bool stopping = stopping_;
    lock.unlock();
    batch.clear();
    queue_.drainTo(batch);
    if (!batch.empty()) {
      sendHep(batch);
      flush(batch);
    }
    if (!stopping && std::chrono::steady_clock::now() >= next_purge) {
      purge();
      next_purge = std::chrono::steady_clock::now() + options_.purge_interval;
    }
    lock.lock();
    if (stopping) break;
  }
}

void TraceWriter::sendHep(const std::vector<TraceRecord>& batch) {
  if (hep_socket_ < 0) return;
  for (const TraceRecord& r : batch) {
    HepResult h = encodeHep3(r, options_.hep_id);
    if (!h.ok()) {
      hep_failed_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    const ssize_t n = ::sendto(hep_socket_, h.bytes.data(), h.bytes.size(), 0,
                               reinterpret_cast<const sockaddr*>(hep_addr_.data()),
                               static_cast<socklen_t>(hep_addr_.size()));
    if (n == static_cast<ssize_t>(h.bytes.size()))
      hep_sent_.fetch_add(1, std::memory_order_relaxed);
    else
      hep_failed_.fetch_add(1, std::memory_order_relaxed);
  }
}

void TraceWriter::flush(std::vector<TraceRecord>& batch) {
  if (!pool_) return;
  for (std::size_t start = 0; start < batch.size(); start += options_.batch_max) {
    const std::size_t end = std::min(batch.size(), start + options_.batch_max);
    // Built here, quoted on the pool thread (quoting needs the connection).
    auto rows = std::make_shared<std::vector<TraceRecord>>(
        std::make_move_iterator(batch.begin() + static_cast<std::ptrdiff_t>(start)),
        std::make_move_iterator(batch.begin() + static_cast<std::ptrdiff_t>(end)));
    const std::size_t n = rows->size();
    auto job = [this, rows, node = options_.node](pqxx::connection& conn) {
      std::string sql =
          "INSERT INTO sip_traces (call_id, leg, direction, at, node, transport, local, remote, "
          "message) VALUES ";
      std::size_t bytes = 0;
      for (const TraceRecord& r : *rows) bytes += r.message.size() + 200;
      sql.reserve(sql.size() + bytes);
      const std::string q_node = conn.quote(node);
      bool first = true;
      for (const TraceRecord& r : *rows) {
        if (!first) sql += ',';
        first = false;
        sql += '(';
        sql += conn.quote(toPgText(r.call_id));
        sql += ",'";
        sql += toString(r.leg);
        sql += "','";
        sql += toString(r.direction);
        sql += "','";
        sql += pgTimestamp(r.at);
        sql += "',";
        sql += q_node;
        sql += ",'";
        sql += toString(r.transport);
        sql += "',";
        sql += conn.quote(toPgText(hostPort(r.local_address, r.local_port)));
        sql += ',';
        sql += conn.quote(toPgText(hostPort(r.remote_address, r.remote_port)));
        sql += ',';
        sql += conn.quote(toPgText(r.message));
        sql += ')';
      }
      pqxx::work tx(conn, "sip-trace");
      tx.exec(sql);
      tx.commit();
      written_.fetch_add(rows->size(), std::memory_order_relaxed);
    };
    auto on_error = [this, n](std::string_view error) {
      db_failed_.fetch_add(n, std::memory_order_relaxed);
      spdlog::warn("trace: {} messages not written: {}", n, error);
    };
    if (!pool_->submit(std::move(job), std::move(on_error))) {
      db_failed_.fetch_add(n, std::memory_order_relaxed);
    }
  }
}

void TraceWriter::purge() {
  if (!pool_ || options_.retention.count() <= 0) return;
  const auto hours = options_.retention.count();
  pool_->submit(
      [this, hours](pqxx::connection& conn) {
        pqxx::work tx(conn, "sip-trace-purge");
        auto r = tx.exec_params("SELECT purge_sip_traces(make_interval(hours => $1))",
                                static_cast<int>(hours));
        tx.commit();
        const auto n = r.empty() || r[0][0].is_null() ? 0 : r[0][0].as<std::int64_t>();
        purged_.fetch_add(static_cast<std::uint64_t>(n), std::memory_order_relaxed);
        if (n > 0) spdlog::info("trace: purged {} messages older than {} h", n, hours);
      },
      [](std::string_view error) { spdlog::warn("trace: purge failed: {}", error); });
}

}  // namespace sbc::trace

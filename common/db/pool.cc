#include "common/db/pool.h"

#include <pthread.h>
#include <pqxx/except>

#include <spdlog/spdlog.h>

#include "common/db/dsn.h"

namespace sbc::db {

bool isConnectionLoss(const std::exception& e, const pqxx::connection* conn) {
  if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr) return true;
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
    // 08: connection exception; 57P01..03: admin shutdown, crash, cannot connect now.
    const std::string& state = sql->sqlstate();
    if (state.starts_with("08") || state.starts_with("57P")) return true;
  }
  if (dynamic_cast<const pqxx::in_doubt_error*>(&e) != nullptr) return true;
  return conn != nullptr && !conn->is_open();
}

Pool::Pool(PoolOptions options)
    : options_(std::move(options)),
      dsn_(dsnWithDefaults(options_.dsn, options_.connect_timeout_s, options_.application_name)) {
  if (options_.threads == 0) options_.threads = 1;
  if (options_.queue_capacity == 0) options_.queue_capacity = 1;
}

Pool::~Pool() {
  stop();
}

void Pool::start() {
  std::lock_guard lock(mutex_);
  if (started_) return;
  started_ = true;
  for (unsigned i = 0; i < options_.threads; ++i)
    threads_.emplace_back([this, i] {
      pthread_setname_np(pthread_self(), "db-pool");
      run(i);
    });
}

bool Pool::submit(Job job, ErrorHandler on_error) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || queue_.size() >= options_.queue_capacity) {
      rejected_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    queue_.push_back(Item{std::move(job), std::move(on_error)});
  }
  cv_.notify_one();
  return true;
}

void Pool::stop() {
  std::deque<Item> orphans;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    orphans.swap(queue_);
  }
  cv_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
  for (auto& item : orphans) fail(item, "pool stopped");
}

Pool::Stats Pool::stats() const {
  Stats s;
  {
    std::lock_guard lock(mutex_);
    s.queued = queue_.size();
  }
  s.connected = connected_.load();
  s.completed = completed_.load();
  s.failed = failed_.load();
  s.retried = retried_.load();
  s.rejected = rejected_.load();
  s.connects = connects_.load();
  s.connect_failures = connect_failures_.load();
  return s;
}

void Pool::fail(Item& item, std::string_view error) {
  if (!item.on_error) return;
  try {
    item.on_error(error);
  } catch (const std::exception& e) {
    spdlog::error("db pool: error handler threw: {}", e.what());
  }
}

bool Pool::waitFor(std::chrono::milliseconds d) {
  std::unique_lock lock(mutex_);
  return !cv_.wait_for(lock, d, [this] { return stopping_; });
}

bool Pool::connect(std::unique_ptr<pqxx::connection>& conn, Backoff& backoff) {
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return false;
    }
    try {
      auto c = std::make_unique<pqxx::connection>(dsn_);
      if (options_.on_connect) options_.on_connect(*c);
      conn = std::move(c);
      connects_.fetch_add(1, std::memory_order_relaxed);
      connected_.fetch_add(1);
      if (backoff.attempts() > 0) spdlog::info("db pool: reconnected to {}", redactDsn(dsn_));
      backoff.reset();
      return true;
    } catch (const std::exception& e) {
      connect_failures_.fetch_add(1, std::memory_order_relaxed);
      auto delay = backoff.next();
      // Log the first failure and then every tenth, not every attempt.
      if (backoff.attempts() == 1 || backoff.attempts() % 10 == 0)
        spdlog::warn("db pool: cannot connect to {} (attempt {}, next in {} ms): {}",
                     redactDsn(dsn_), backoff.attempts(), delay.count(), e.what());
      if (!waitFor(delay)) return false;
    }
  }
}

void Pool::run(unsigned index) {
  std::unique_ptr<pqxx::connection> conn;
  Backoff backoff(options_.backoff);
  auto drop = [&] {
    if (conn) {
      conn.reset();
      connected_.fetch_sub(1);
    }
  };
  connect(conn, backoff);
  for (;;) {
    Item item;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) break;
      item = std::move(queue_.front());
      queue_.pop_front();
    }
    bool retried = false;
    for (;;) {
      if (!conn && !connect(conn, backoff)) {
        fail(item, "pool stopped");
        break;
      }
      try {
        item.job(*conn);
        completed_.fetch_add(1, std::memory_order_relaxed);
        break;
      } catch (const std::exception& e) {
        const bool lost = isConnectionLoss(e, conn.get());
        if (lost) drop();
        if (lost && !retried) {
          retried = true;
          retried_.fetch_add(1, std::memory_order_relaxed);
          spdlog::warn("db pool[{}]: connection lost ({}); retrying the job after reconnect", index,
                       e.what());
          continue;
        }
        failed_.fetch_add(1, std::memory_order_relaxed);
        fail(item, e.what());
        break;
      } catch (...) {
        failed_.fetch_add(1, std::memory_order_relaxed);
        fail(item, "job threw a non-standard exception");
        break;
      }
    }
  }
  drop();
}

}  // namespace sbc::db

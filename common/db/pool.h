#pragma once
// A small PostgreSQL executor: N worker threads, each with its own
// connection, fed from one bounded queue. Callers on event-loop threads
// submit() and never wait: a full queue is refused, not queued behind.
// Results travel inside the job itself (typically the job ends by posting its
// result back to the caller's io_context); the pool knows nothing of Asio.
//
// Threading: submit(), stats() and stop() may be called from any thread.
// Jobs run on the pool's threads, one at a time per connection.
#include <pqxx/connection>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/db/backoff.h"

namespace sbc::db {

struct PoolOptions {
  std::string dsn;  // dsnWithDefaults() is applied
  unsigned threads = 2;
  std::size_t queue_capacity = 1024;
  BackoffPolicy backoff{};
  int connect_timeout_s = 5;
  std::string application_name = "sbc";
  // Runs on every new connection before any job (prepare statements, SET...).
  // Throwing counts as a failed connect.
  std::function<void(pqxx::connection&)> on_connect;
};

class Pool {
 public:
  using Job = std::function<void(pqxx::connection&)>;
  // Called (on a pool thread) when the job failed for good: an SQL error, a
  // second broken connection, or the pool stopping before it ran.
  using ErrorHandler = std::function<void(std::string_view error)>;

  explicit Pool(PoolOptions options);
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // Starts the workers; they connect in the background (a down server is not
  // an error here: jobs wait in the queue until a connection is up).
  void start();
  // Never blocks on I/O. False when the queue is full or the pool stopped;
  // the job is then dropped without its error handler being called.
  bool submit(Job job, ErrorHandler on_error = {});
  // Jobs in hand finish; queued ones fail with "pool stopped"; joins workers.
  // Bounded by the connect timeout when a worker is connecting.
  void stop();

  struct Stats {
    std::size_t queued = 0;
    unsigned connected = 0;  // workers with a live connection
    std::uint64_t completed = 0;
    std::uint64_t failed = 0;
    std::uint64_t retried = 0;   // broken connection, run again after reconnect
    std::uint64_t rejected = 0;  // submit() returned false
    std::uint64_t connects = 0;  // successful (re)connects
    std::uint64_t connect_failures = 0;
  };
  Stats stats() const;

 private:
  struct Item {
    Job job;
    ErrorHandler on_error;
  };
  void run(unsigned index);
  // Connects, waiting with backoff between attempts; false when stopping.
  bool connect(std::unique_ptr<pqxx::connection>& conn, Backoff& backoff);
  bool waitFor(std::chrono::milliseconds d);  // false when stopping
  static void fail(Item& item, std::string_view error);

  PoolOptions options_;
  std::string dsn_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  bool stopping_ = false;
  bool started_ = false;
  std::vector<std::thread> threads_;

  std::atomic<unsigned> connected_{0};
  std::atomic<std::uint64_t> completed_{0}, failed_{0}, retried_{0}, rejected_{0}, connects_{0},
      connect_failures_{0};
};

// True when an exception from a job means the connection is gone (the server
// went away, was restarted, or the network broke) rather than an SQL error.
bool isConnectionLoss(const std::exception& e, const pqxx::connection* conn);

}  // namespace sbc::db

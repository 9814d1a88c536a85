#pragma once
// LISTEN on PostgreSQL channels from a thread and connection of its own.
// libpq's asynchronous API is used directly so that stop() interrupts any
// wait at once, even a connect to an unreachable server.
//
// When the connection is lost, the listener reconnects with backoff, LISTENs
// again and then reports one synthetic notification with resync = true:
// notifications sent while it was away are lost, so whoever keeps state
// derived from the database must reload it.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/db/backoff.h"

namespace sbc::db {

struct Notification {
  std::string channel;  // empty for a resync
  std::string payload;
  bool resync = false;
  int backend_pid = 0;  // of the notifying session
};

struct NotifyListenerOptions {
  std::string dsn;
  std::vector<std::string> channels;
  BackoffPolicy backoff{};
  std::chrono::milliseconds connect_timeout{5000};
  std::string application_name = "sbc-listen";
  // Runs on the listener's thread; keep it short (flag work, post it).
  std::function<void(const Notification&)> on_notify;
};

class NotifyListener {
 public:
  explicit NotifyListener(NotifyListenerOptions options);
  ~NotifyListener();
  NotifyListener(const NotifyListener&) = delete;
  NotifyListener& operator=(const NotifyListener&) = delete;

  void start();
  void stop();  // prompt: wakes the thread whatever it waits on, joins it

  bool listening() const { return listening_.load(); }
  // Waits until LISTEN is in effect (true) or the timeout passes (false).
  bool waitListening(std::chrono::milliseconds timeout) const;

  std::uint64_t notifications() const { return notifications_.load(); }
  std::uint64_t reconnects() const { return reconnects_.load(); }

 private:
  void run();
  void deliver(const Notification& n);
  void setListening(bool on);
  bool sleepFor(std::chrono::milliseconds d);  // false when stopping

  NotifyListenerOptions options_;
  std::string dsn_;
  int wake_fd_ = -1;  // eventfd: stop() writes, the thread polls it with the socket
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  std::atomic<bool> listening_{false};
  mutable std::mutex mutex_;
  mutable std::condition_variable cv_;
  std::atomic<std::uint64_t> notifications_{0};
  std::atomic<std::uint64_t> reconnects_{0};
};

}  // namespace sbc::db

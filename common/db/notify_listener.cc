#include "common/db/notify_listener.h"

#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <memory>
#include <stdexcept>

#include "common/db/dsn.h"

namespace sbc::db {
namespace {

struct PgConnFree {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using ConnPtr = std::unique_ptr<PGconn, PgConnFree>;

enum class Wait { Ready, Timeout, Stop, Error };

// Waits for the socket (read or write) or the wake fd.
Wait waitSocket(int sock, bool for_write, int wake_fd, std::chrono::milliseconds timeout) {
  pollfd fds[2] = {{sock, static_cast<short>(for_write ? POLLOUT : POLLIN), 0},
                   {wake_fd, POLLIN, 0}};
  int ms = static_cast<int>(std::max<std::int64_t>(0, timeout.count()));
  for (;;) {
    int n = ::poll(fds, 2, ms);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Wait::Error;
    if (n == 0) return Wait::Timeout;
    if (fds[1].revents != 0) return Wait::Stop;
    return Wait::Ready;
  }
}

std::string connError(PGconn* c) {
  std::string msg = c ? PQerrorMessage(c) : "out of memory";
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  return msg;
}

}  // namespace

NotifyListener::NotifyListener(NotifyListenerOptions options)
    : options_(std::move(options)),
      // libpq's connect_timeout is not applied by PQconnectPoll; the listener
      // enforces options_.connect_timeout itself. Keepalives still matter.
      dsn_(dsnWithDefaults(
          options_.dsn,
          static_cast<int>(std::max<std::int64_t>(
              2,
              std::chrono::duration_cast<std::chrono::seconds>(options_.connect_timeout).count())),
          options_.application_name)) {
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) throw std::runtime_error("NotifyListener: eventfd failed");
}

NotifyListener::~NotifyListener() {
  stop();
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void NotifyListener::start() {
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "db-notify");  // top -H, perf
    run();
  });
}

void NotifyListener::stop() {
  stopping_ = true;
  std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
  { std::lock_guard lock(mutex_); }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  // Reset the eventfd so that a later start() does not stop at once.
  std::uint64_t drain = 0;
  [[maybe_unused]] auto m = ::read(wake_fd_, &drain, sizeof drain);
}

bool NotifyListener::waitListening(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  return cv_.wait_for(lock, timeout, [this] { return listening_.load() || stopping_.load(); }) &&
         listening_.load();
}

void NotifyListener::setListening(bool on) {
  {
    std::lock_guard lock(mutex_);
    listening_ = on;
  }
  cv_.notify_all();
}

bool NotifyListener::sleepFor(std::chrono::milliseconds d) {
  pollfd fd{wake_fd_, POLLIN, 0};
  auto deadline = std::chrono::steady_clock::now() + d;
  while (!stopping_) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return true;
    int n = ::poll(&fd, 1, static_cast<int>(left.count()));
    if (n > 0) return false;
  }
  return false;
}

void NotifyListener::deliver(const Notification& n) {
  if (!options_.on_notify) return;
  try {
    options_.on_notify(n);
  } catch (const std::exception& e) {
    spdlog::error("db listen: notification handler threw: {}", e.what());
  }
}

void NotifyListener::run() {
  Backoff backoff(options_.backoff);
  bool ever_listened = false;
  auto retry = [&](const std::string& why) {
    auto delay = backoff.next();
    if (backoff.attempts() == 1 || backoff.attempts() % 10 == 0)
      spdlog::warn("db listen: {} (attempt {}, next in {} ms)", why, backoff.attempts(),
                   delay.count());
    return sleepFor(delay);
  };

  while (!stopping_) {
    // Connect without blocking: PQconnectStart + PQconnectPoll.
    ConnPtr conn(PQconnectStart(dsn_.c_str()));
    if (!conn || PQstatus(conn.get()) == CONNECTION_BAD) {
      if (!retry("cannot connect: " + connError(conn.get()))) break;
      continue;
    }
    const auto deadline = std::chrono::steady_clock::now() + options_.connect_timeout;
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    bool stop = false;
    while (st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      Wait w = waitSocket(PQsocket(conn.get()), st == PGRES_POLLING_WRITING, wake_fd_, left);
      if (w == Wait::Stop) {
        stop = true;
        break;
      }
      if (w == Wait::Timeout || w == Wait::Error) break;
      st = PQconnectPoll(conn.get());
    }
    if (stop) break;
    if (st != PGRES_POLLING_OK) {
      std::string why = st == PGRES_POLLING_FAILED ? connError(conn.get()) : "connect timed out";
      if (!retry("cannot connect: " + why)) break;
      continue;
    }
    if (PQsetnonblocking(conn.get(), 1) != 0) {
      if (!retry("cannot set non-blocking: " + connError(conn.get()))) break;
      continue;
    }

    // LISTEN on every channel in one round trip.
    std::string sql;
    for (const auto& ch : options_.channels) {
      char* quoted = PQescapeIdentifier(conn.get(), ch.data(), ch.size());
      if (!quoted) continue;
      sql += "LISTEN ";
      sql += quoted;
      sql += ";";
      PQfreemem(quoted);
    }
    bool ok = PQsendQuery(conn.get(), sql.c_str()) == 1;
    while (ok && PQflush(conn.get()) == 1) {
      ok =
          waitSocket(PQsocket(conn.get()), true, wake_fd_, options_.connect_timeout) == Wait::Ready;
    }
    // Collect the LISTEN results.
    while (ok) {
      if (PQconsumeInput(conn.get()) != 1) {
        ok = false;
        break;
      }
      if (PQisBusy(conn.get())) {
        Wait w = waitSocket(PQsocket(conn.get()), false, wake_fd_, options_.connect_timeout);
        if (w != Wait::Ready) ok = false;
        continue;
      }
      PGresult* res = PQgetResult(conn.get());
      if (!res) break;
      const auto status = PQresultStatus(res);
      if (status != PGRES_COMMAND_OK && status != PGRES_EMPTY_QUERY) ok = false;
      PQclear(res);
    }
    if (stopping_) break;
    if (!ok) {
      if (!retry("LISTEN failed: " + connError(conn.get()))) break;
      continue;
    }

    setListening(true);
    if (ever_listened) {
      reconnects_.fetch_add(1);
      spdlog::info("db listen: reconnected; reporting a resync");
      deliver(Notification{{}, {}, true, 0});
    }
    ever_listened = true;
    backoff.reset();

    // Wait for notifications until the connection breaks or stop().
    for (;;) {
      Wait w = waitSocket(PQsocket(conn.get()), false, wake_fd_, std::chrono::seconds(30));
      if (w == Wait::Stop || stopping_) break;
      if (w == Wait::Error) break;
      if (PQconsumeInput(conn.get()) != 1) break;
      while (PGnotify* n = PQnotifies(conn.get())) {
        Notification note{n->relname ? n->relname : "", n->extra ? n->extra : "", false, n->be_pid};
        PQfreemem(n);
        notifications_.fetch_add(1);
        deliver(note);
      }
      // Discard results of nothing we sent (e.g. a server's error on shutdown).
      while (!PQisBusy(conn.get())) {
        PGresult* res = PQgetResult(conn.get());
        if (!res) break;
        PQclear(res);
      }
      if (PQstatus(conn.get()) == CONNECTION_BAD) break;
    }
    setListening(false);
    if (stopping_) break;
    if (!retry("connection lost: " + connError(conn.get()))) break;
  }
  setListening(false);
}

}  // namespace sbc::db

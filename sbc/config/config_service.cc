#include "sbc/config/config_service.h"

#include <pthread.h>
#include <pqxx/except>

#include <spdlog/spdlog.h>

#include <stdexcept>

#include "common/db/dsn.h"
#include "common/db/pool.h"

namespace sbc::cfg {

ConfigService::ConfigService(ConfigServiceOptions options)
    : options_(std::move(options)),
      listener_(db::NotifyListenerOptions{options_.dsn,
                                          {options_.channel},
                                          options_.backoff,
                                          options_.connect_timeout,
                                          "sbc-config-listen",
                                          [this](const db::Notification& n) { onNotify(n); }}) {}

ConfigService::~ConfigService() {
  stop();
}

SnapshotPtr ConfigService::start() {
  // LISTEN first, so that no change between the load and the LISTEN is lost.
  listener_.start();
  listener_.waitListening(options_.connect_timeout);
  if (!load(true)) {
    listener_.stop();
    throw std::runtime_error("configuration: first load from " + db::redactDsn(options_.dsn) +
                             " failed; see the log");
  }
  {
    std::lock_guard lock(mutex_);
    stopping_ = false;
  }
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "sbc-config");  // top -H, perf
    run();
  });
  return current();
}

void ConfigService::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  listener_.stop();
  if (thread_.joinable()) thread_.join();
  conn_.reset();
}

SnapshotPtr ConfigService::current() const {
  std::lock_guard lock(mutex_);
  return current_;
}

void ConfigService::requestReload() {
  {
    std::lock_guard lock(mutex_);
    dirty_ = true;
    full_reload_ = true;
  }
  cv_.notify_all();
}

ConfigService::Stats ConfigService::stats() const {
  std::lock_guard lock(mutex_);
  Stats s = stats_;
  s.listening = listener_.listening();
  s.notifications = listener_.notifications();
  return s;
}

void ConfigService::onNotify(const db::Notification& n) {
  {
    std::lock_guard lock(mutex_);
    dirty_ = true;
    // Only a change of ported_numbers needs the (large) table read again;
    // a resync may hide any change.
    if (n.resync || n.payload.empty() || n.payload == "ported_numbers") full_reload_ = true;
  }
  cv_.notify_all();
}

bool ConfigService::load(bool full) {
  const auto t0 = std::chrono::steady_clock::now();
  std::uint64_t generation;
  SnapshotPtr previous;
  {
    std::lock_guard lock(mutex_);
    generation = stats_.generation + 1;
    previous = current_;
  }
  try {
    if (!conn_) {
      conn_ = std::make_unique<pqxx::connection>(db::dsnWithDefaults(
          options_.dsn,
          static_cast<int>(std::max<std::int64_t>(
              1,
              std::chrono::duration_cast<std::chrono::seconds>(options_.connect_timeout).count())),
          "sbc-config"));
    }
    LoadOptions lo;
    if (!full && previous) lo.reuse_ported = &previous->ported;
    LoadStats ls;
    SnapshotPtr snap = loadSnapshot(*conn_, options_.key, generation, lo, &ls);
    {
      std::lock_guard lock(mutex_);
      current_ = snap;
      stats_.generation = generation;
      stats_.last_load_at = snap->loaded_at;
      stats_.last_load_duration = std::chrono::duration_cast<std::chrono::microseconds>(
          std::chrono::steady_clock::now() - t0);
      stats_.loads++;
      stats_.last = ls;
    }
    spdlog::info(
        "config: generation {} loaded in {} ms: {} trunks, {} DIDs, {} routes, {} ported{}",
        generation, ls.duration.count() / 1000, ls.trunks, ls.dids, ls.routes, ls.ported,
        ls.ported_reused ? " (reused)" : "");
    if (previous && options_.on_snapshot) options_.on_snapshot(snap);
    return true;
  } catch (const std::exception& e) {
    {
      std::lock_guard lock(mutex_);
      stats_.failures++;
    }
    if (db::isConnectionLoss(e, conn_.get())) conn_.reset();
    spdlog::warn("config: load failed, keeping generation {}: {}", generation - 1, e.what());
    return false;
  }
}

void ConfigService::run() {
  db::Backoff backoff(options_.backoff);
  std::unique_lock lock(mutex_);
  for (;;) {
    cv_.wait(lock, [this] { return stopping_ || dirty_; });
    if (stopping_) break;
    // Coalesce: let the rest of a burst arrive, then load once.
    if (cv_.wait_for(lock, options_.coalesce, [this] { return stopping_; })) break;
    const bool full = full_reload_;
    dirty_ = false;
    full_reload_ = false;
    lock.unlock();
    const bool ok = load(full);
    lock.lock();
    if (ok) {
      backoff.reset();
      continue;
    }
    // Try again later; a notification or resync meanwhile also wakes us, but
    // not before the backoff delay (the database is likely down).
    dirty_ = true;
    full_reload_ = full_reload_ || full;
    if (cv_.wait_for(lock, backoff.next(), [this] { return stopping_; })) break;
  }
}

}  // namespace sbc::cfg

#pragma once
// Keeps the SBC's configuration snapshot current: loads it at start, then
// LISTENs on 'sbc_config' (every table the snapshot reads NOTIFYs per
// statement) and reloads on its own thread, handing each new snapshot to a
// callback. Bursts are coalesced: the first notification opens a short window
// (~75 ms), then one load covers everything in it.
//
// PostgreSQL down: the last snapshot stays in force, the listener reconnects
// with backoff, and its resync after reconnecting triggers a reload.
//
// Threading: start()/stop() from the owner's thread; current() and stats()
// from any thread; on_snapshot runs on the service's thread (post it to the
// SIP threads from there, never block in it).
#include <pqxx/connection>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "common/crypto/secret_box.h"
#include "common/db/backoff.h"
#include "common/db/notify_listener.h"
#include "sbc/config/loader.h"
#include "sbc/config/snapshot.h"

namespace sbc::cfg {

struct ConfigServiceOptions {
  std::string dsn;
  crypto::SecretKey key{};
  std::string channel = "sbc_config";
  std::chrono::milliseconds coalesce{75};
  std::chrono::milliseconds connect_timeout{5000};
  db::BackoffPolicy backoff{};
  std::function<void(SnapshotPtr)> on_snapshot;
};

class ConfigService {
 public:
  explicit ConfigService(ConfigServiceOptions options);
  ~ConfigService();
  ConfigService(const ConfigService&) = delete;
  ConfigService& operator=(const ConfigService&) = delete;

  // Loads the first snapshot (returned, not passed to on_snapshot) and starts
  // watching. Throws std::runtime_error when that first load fails (the
  // database is unreachable): the application decides whether to wait, retry
  // or run on a snapshot of its own.
  SnapshotPtr start();
  void stop();

  SnapshotPtr current() const;
  // Schedules a full reload (e.g. from the mgmt API).
  void requestReload();

  struct Stats {
    std::uint64_t generation = 0;
    std::chrono::system_clock::time_point last_load_at{};
    std::chrono::microseconds last_load_duration{};
    std::uint64_t loads = 0;
    std::uint64_t failures = 0;
    std::uint64_t notifications = 0;
    bool listening = false;
    LoadStats last{};
  };
  Stats stats() const;

 private:
  void run();
  void onNotify(const db::Notification& n);
  // One load attempt; false on failure (counted, connection dropped).
  bool load(bool full);

  ConfigServiceOptions options_;
  db::NotifyListener listener_;
  std::thread thread_;
  std::unique_ptr<pqxx::connection> conn_;  // the service thread's own

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool dirty_ = false;
  bool full_reload_ = false;  // a resync, or ported_numbers changed
  SnapshotPtr current_;
  Stats stats_;
};

}  // namespace sbc::cfg

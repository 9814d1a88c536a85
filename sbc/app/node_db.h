#pragma once
// The sbc's own database work besides configuration and CDRs, all through the
// common/db Pool (never on the SIP thread): this node's row in sbc_nodes
// (start-up, heartbeat, stop), PBX registrations written as they change and
// read back at start-up.
//
// Threading: every member may be called from any thread; completion
// callbacks run on a pool thread (post them where they belong).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "common/db/pool.h"
#include "sbc/app/sip_node.h"
#include "sbc/b2bua/registrar.h"

namespace sbc::app {

class NodeRegistry {
 public:
  NodeRegistry(db::Pool& pool, std::string node_name, std::string version);

  // Inserts or refreshes this node's row (mgmt "host:port", started now,
  // stopped_at cleared).
  void announce(std::string mgmt_address);
  // Refreshes heartbeat_at; skipped while the previous one is still queued
  // (PostgreSQL down: one waiting heartbeat is enough). Clears a stopped_at
  // left by a previous run (when announce() failed).
  void heartbeat();
  // Marks the node stopped (mgmt_address emptied, heartbeat_at and
  // stopped_at = now) and waits for it up to `timeout`; false if it did not
  // happen in time.
  bool markStopped(std::chrono::milliseconds timeout);
  // When this node's row last committed (announce or heartbeat); the epoch
  // until then. Read by the metrics sampler on another thread.
  std::chrono::system_clock::time_point lastHeartbeat() const {
    return std::chrono::system_clock::time_point(
        std::chrono::system_clock::duration(last_heartbeat_.load(std::memory_order_relaxed)));
  }

  // Reads this node's unexpired registrations; `done` runs on a pool thread.
  void loadRegistrations(std::function<void(std::vector<StoredBinding>)> done);

 private:
  db::Pool& pool_;
  std::string name_;
  std::string version_;
  std::string mgmt_address_;
  std::chrono::system_clock::time_point started_at_;
  std::atomic<bool> heartbeat_queued_{false};
  std::atomic<bool> announced_{false};
  std::atomic<std::chrono::system_clock::rep> last_heartbeat_{0};

  void noteHeartbeat() {
    last_heartbeat_.store(std::chrono::system_clock::now().time_since_epoch().count(),
                          std::memory_order_relaxed);
  }
};

// Writes registrar events to the registrations table in the order they
// happened: one drain job at a time takes the events queued so far, applies
// them in one transaction (each row in a savepoint, so one refused row does
// not lose the rest) and removes them only once committed, so a job the pool
// retries after a lost connection writes the same events again.
class RegistrationWriter final : public b2bua::RegistrationSink {
 public:
  RegistrationWriter(db::Pool& pool, std::string node_name, std::size_t capacity = 10000);
  void onBindingEvent(const b2bua::BindingEvent& event) override;

  std::uint64_t written() const { return written_.load(); }
  std::uint64_t dropped() const { return dropped_.load(); }
  std::uint64_t failed() const { return failed_.load(); }
  std::size_t queued() const;

 private:
  struct Row {
    bool remove = false;
    std::int64_t trunk = 0;
    std::string aor, contact, address, transport, user_agent;
    std::uint16_t port = 0;
    double expires_epoch = 0;
  };
  void submitDrain();
  void drain(pqxx::connection& conn);

  db::Pool& pool_;
  std::string node_;
  std::size_t capacity_;
  mutable std::mutex mutex_;
  std::deque<Row> queue_;
  bool in_flight_ = false;
  std::size_t front_dropped_ = 0;  // popped for capacity while a drain ran
  std::atomic<std::uint64_t> written_{0}, dropped_{0}, failed_{0};
};

}  // namespace sbc::app

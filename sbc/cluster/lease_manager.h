#pragma once
// Keeps this node's channel leases (lease_math.h) in step with PostgreSQL
// (lease_store.h) and with the local limits (b2bua::SharedChannelLimits).
//
// A call setup never waits on the database: it checks the local lease in
// SharedChannelLimits (atomics, any SIP thread). This class runs one sync job
// at a time on the database pool: refresh this node's leases (the lease
// heartbeat; dead nodes' leases are deleted), read the other nodes' view,
// then grow or give back per trunk. A sync runs every sync_interval and when
// the limits report a lease running low (poke()).
//
// Threading: every public member may be called from any thread. The sync
// state (what is held, which trunks want more) is touched only by the sync
// job, which holds job_mu_ (pool thread); leases reach the SIP threads
// through SharedChannelLimits::setLease() (atomics), not by posting, because
// the limits object is shared by all SIP threads anyway.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "common/db/pool.h"
#include "sbc/b2bua/limits.h"
#include "sbc/cluster/cluster_metrics.h"
#include "sbc/cluster/cluster_options.h"
#include "sbc/cluster/lease_store.h"
#include "sbc/config/snapshot.h"

namespace sbc::cluster {

class LeaseManager {
 public:
  LeaseManager(db::Pool& pool, b2bua::SharedChannelLimits& limits, std::string node,
               ClusterOptions options, ClusterMetrics* metrics = nullptr);
  ~LeaseManager();
  LeaseManager(const LeaseManager&) = delete;
  LeaseManager& operator=(const LeaseManager&) = delete;

  // Turns lease gating on in the limits (before any SIP traffic) and queues
  // the first sync (which also deletes a previous run's leases).
  void start();
  // The configuration new calls use: its limited trunks are leased.
  void setSnapshot(cfg::SnapshotPtr snapshot);
  // Periodic: a sync, and the fence check. Call every options().sync_interval.
  void tick();
  // A lease runs low or a call was refused for want of one: sync soon.
  void poke();
  // Gives every lease back in the database and stops syncing; waits up to
  // `timeout`. False if that did not happen in time.
  bool releaseAll(std::chrono::milliseconds timeout);

  const ClusterOptions& options() const { return options_; }
  b2bua::SharedChannelLimits::Lease leaseOf(cfg::TrunkId trunk) const {
    return limits_.leaseOf(trunk);
  }
  struct Stats {
    std::uint64_t syncs = 0, sync_failures = 0;
    std::uint64_t granted = 0, partial = 0, refused = 0, released = 0;
    bool fenced = false;
  };
  Stats stats() const;

 private:
  void trySubmit();
  void sync(pqxx::connection& c);
  void syncFailed(std::string_view error);
  void publish(const cfg::Snapshot* snap, const std::unordered_map<TrunkId, PeerView>& peers);
  cfg::SnapshotPtr snapshot() const;

  db::Pool& pool_;
  b2bua::SharedChannelLimits& limits_;
  ClusterOptions options_;
  LeaseStore store_;
  ClusterMetrics* metrics_;

  mutable std::mutex snap_mu_;
  cfg::SnapshotPtr snapshot_;

  std::atomic<bool> in_flight_{false}, dirty_{false}, stopping_{false}, fenced_{false};
  std::atomic<std::int64_t> last_start_ns_{0};  // steady clock
  std::atomic<std::int64_t> last_ok_ns_{0};     // start of the last successful refresh

  // Sync state: job_mu_ only.
  std::mutex job_mu_;
  bool cleaned_ = false;  // a previous run's leases deleted
  std::unordered_map<TrunkId, Held> held_;
  std::unordered_set<TrunkId> wanting_;

  std::atomic<std::uint64_t> syncs_{0}, sync_failures_{0}, granted_{0}, partial_{0}, refused_{0},
      released_{0};
};

}  // namespace sbc::cluster

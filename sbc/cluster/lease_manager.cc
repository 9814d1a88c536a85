#include "sbc/cluster/lease_manager.h"

#include <spdlog/spdlog.h>

#include <future>
#include <vector>

namespace sbc::cluster {
namespace {

using Lease = b2bua::SharedChannelLimits::Lease;
using SteadyClock = std::chrono::steady_clock;

// A poke within this long of the last sync's start waits for the next tick:
// a trunk at its cluster-wide limit refuses calls, each refusal pokes, and
// each sync is a few statements; this bounds them.
constexpr std::chrono::milliseconds kMinPokeGap{50};

std::int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now().time_since_epoch())
      .count();
}

bool limited(const cfg::Limits& l) {
  return l.max_calls != 0 || l.max_inbound != 0 || l.max_outbound != 0;
}

Lease toLease(const Held& h) {
  return Lease{h.calls, h.inbound, h.outbound};
}

}  // namespace

LeaseManager::LeaseManager(db::Pool& pool, b2bua::SharedChannelLimits& limits, std::string node,
                           ClusterOptions options, ClusterMetrics* metrics)
    : pool_(pool),
      limits_(limits),
      options_(options),
      store_(std::move(node), options.expiry),
      metrics_(metrics) {}

LeaseManager::~LeaseManager() {
  stopping_ = true;
}

void LeaseManager::start() {
  limits_.enableLeases(options_.low_water, [this](cfg::TrunkId) { poke(); });
  last_ok_ns_ = nowNs();  // the fence counts from start-up
  dirty_ = true;
  trySubmit();
}

void LeaseManager::setSnapshot(cfg::SnapshotPtr snapshot) {
  {
    std::lock_guard lock(snap_mu_);
    snapshot_ = std::move(snapshot);
  }
  dirty_ = true;
  trySubmit();
}

cfg::SnapshotPtr LeaseManager::snapshot() const {
  std::lock_guard lock(snap_mu_);
  return snapshot_;
}

void LeaseManager::tick() {
  if (stopping_) return;
  if (options_.fence && !fenced_) {
    const auto since_ok = std::chrono::nanoseconds(nowNs() - last_ok_ns_.load());
    if (since_ok > options_.expiry / 2) {
      // Other nodes will soon treat this one as dead and lease its channels:
      // admit nothing new on limited trunks until a refresh succeeds.
      fenced_ = true;
      if (auto snap = snapshot()) {
        for (const cfg::Trunk& t : snap->trunks) {
          if (limited(t.limits)) limits_.setLease(t.id, Lease{}, t.limits);
        }
      }
      if (metrics_) metrics_->fenced.get().Set(1);
      spdlog::warn("cluster: no lease refresh for {} ms: new calls on limited trunks refused",
                   std::chrono::duration_cast<std::chrono::milliseconds>(since_ok).count());
    }
  }
  dirty_ = true;
  trySubmit();
}

void LeaseManager::poke() {
  if (stopping_ || dirty_.load(std::memory_order_relaxed)) return;
  if (std::chrono::nanoseconds(nowNs() - last_start_ns_.load(std::memory_order_relaxed)) <
      kMinPokeGap)
    return;  // the next tick
  dirty_ = true;
  trySubmit();
}

void LeaseManager::trySubmit() {
  if (stopping_) return;
  // One sync at a time: a request while one runs leaves dirty_ set, and the
  // running one resubmits when it ends.
  if (in_flight_.exchange(true)) return;
  dirty_ = false;
  last_start_ns_ = nowNs();
  const bool ok = pool_.submit([this](pqxx::connection& c) { sync(c); },
                               [this](std::string_view err) { syncFailed(err); });
  if (!ok) {
    in_flight_ = false;
    ++sync_failures_;
    if (metrics_) metrics_->sync_failures.get().Increment();
  }
}

void LeaseManager::syncFailed(std::string_view error) {
  ++sync_failures_;
  if (metrics_) metrics_->sync_failures.get().Increment();
  spdlog::warn("cluster: lease sync failed: {}", error);
  in_flight_ = false;
  // The next tick retries (no immediate resubmit: the database is likely away).
}

void LeaseManager::sync(pqxx::connection& c) {
  {
    std::lock_guard lock(job_mu_);
    if (stopping_) {
      in_flight_ = false;
      return;
    }
    const cfg::SnapshotPtr snap = snapshot();
    const std::int64_t started = nowNs();
    if (!cleaned_) {
      store_.releaseAll(c);  // rows a previous run of this node left
      cleaned_ = true;
    }
    std::vector<TrunkId> wanting(wanting_.begin(), wanting_.end());
    const std::uint64_t expired_before = store_.expiredDeleted();
    std::unordered_map<TrunkId, Held> db = store_.refresh(c, wanting);
    if (metrics_ && store_.expiredDeleted() > expired_before)
      metrics_->expired_deleted.get().Increment(
          static_cast<double>(store_.expiredDeleted() - expired_before));
    last_ok_ns_ = started;
    if (fenced_.exchange(false)) {
      spdlog::info("cluster: leases refreshed again, fence lifted");
      if (metrics_) metrics_->fenced.get().Set(0);
    }
    // The database is the truth: a row another node deleted (this one looked
    // dead) is gone; a change that failed after lowering locally is undone.
    auto limitsOf = [&](TrunkId id) {
      const cfg::Trunk* t = snap ? snap->trunk(id) : nullptr;
      return t ? t->limits : cfg::Limits{};
    };
    for (const auto& [id, h] : held_) {
      if (!db.contains(id) && !h.empty()) {
        spdlog::warn("cluster: the lease of trunk {} was taken away (expired)", id);
        limits_.setLease(id, Lease{}, limitsOf(id));
      }
    }
    for (const auto& [id, h] : db) {
      if (!(limits_.leaseOf(id) == toLease(h))) limits_.setLease(id, toLease(h), limitsOf(id));
    }
    held_ = std::move(db);

    std::unordered_map<TrunkId, PeerView> peers = store_.peers(c);
    const LeaseParams params{options_.lease_block, options_.low_water};
    std::unordered_set<TrunkId> seen;
    if (snap) {
      for (const cfg::Trunk& t : snap->trunks) {
        if (!limited(t.limits)) continue;
        seen.insert(t.id);
        const Held held = held_.contains(t.id) ? held_[t.id] : Held{};
        const b2bua::ChannelLimits::Usage u = limits_.usageOf(t.id);
        const PeerView view = peers.contains(t.id) ? peers[t.id] : PeerView{};
        const LeaseDecision dc =
            decideLease({t.limits.max_calls, held.calls, u.inbound + u.outbound}, view, params);
        const LeaseDecision di =
            decideLease({t.limits.max_inbound, held.inbound, u.inbound}, view, params);
        const LeaseDecision dout =
            decideLease({t.limits.max_outbound, held.outbound, u.outbound}, view, params);
        const bool grow = dc.action == LeaseAction::Grow || di.action == LeaseAction::Grow ||
                          dout.action == LeaseAction::Grow;
        const bool shrink = dc.action == LeaseAction::Shrink || di.action == LeaseAction::Shrink ||
                            dout.action == LeaseAction::Shrink;
        if (!grow && !shrink) {
          wanting_.erase(t.id);
          continue;
        }
        auto pick = [](const LeaseDecision& d, std::uint32_t h) {
          return d.action == LeaseAction::Keep ? h : d.target;
        };
        // Give back locally first (never below what is in use), then in the
        // database; grow in the database first, then locally.
        Lease pre{dc.action == LeaseAction::Shrink ? dc.target : held.calls,
                  di.action == LeaseAction::Shrink ? di.target : held.inbound,
                  dout.action == LeaseAction::Shrink ? dout.target : held.outbound};
        Lease kept = shrink ? limits_.setLease(t.id, pre, t.limits) : toLease(held);
        Held ask{dc.action == LeaseAction::Shrink ? kept.calls : pick(dc, held.calls),
                 di.action == LeaseAction::Shrink ? kept.inbound : pick(di, held.inbound),
                 dout.action == LeaseAction::Shrink ? kept.outbound : pick(dout, held.outbound)};
        ChangeResult r = store_.change(c, t.id, ask);
        held_[t.id] = r.held;
        if (!fenced_) limits_.setLease(t.id, toLease(r.held), t.limits);
        if (r.fell_short) {
          wanting_.insert(t.id);
        } else {
          wanting_.erase(t.id);
        }
        const bool got_more = r.held.calls > held.calls || r.held.inbound > held.inbound ||
                              r.held.outbound > held.outbound;
        std::atomic<std::uint64_t>& counter =
            grow ? (r.fell_short ? (got_more ? partial_ : refused_) : granted_) : released_;
        ++counter;
        if (metrics_) {
          const char* result =
              grow ? (r.fell_short ? (got_more ? "partial" : "refused") : "granted") : "released";
          metrics_->lease_requests.with({result}).Increment();
        }
        if (grow && !r.fell_short) {
          spdlog::debug("cluster: trunk {} lease {}/{}/{}", t.name, r.held.calls, r.held.inbound,
                        r.held.outbound);
        }
      }
    }
    // Trunks deleted or no longer limited: give their rows back.
    std::vector<TrunkId> stale;
    for (const auto& [id, h] : held_) {
      if (!seen.contains(id)) stale.push_back(id);
    }
    for (TrunkId id : stale) {
      limits_.setLease(id, Lease{}, cfg::Limits{});
      store_.change(c, id, Held{});
      held_.erase(id);
      wanting_.erase(id);
      ++released_;
      if (metrics_) metrics_->lease_requests.with({"released"}).Increment();
    }
    ++syncs_;
    publish(snap.get(), peers);
    in_flight_ = false;
  }
  if (dirty_.load()) trySubmit();
}

void LeaseManager::publish(const cfg::Snapshot* snap,
                           const std::unordered_map<TrunkId, PeerView>& peers) {
  if (!metrics_ || !snap) return;
  for (const cfg::Trunk& t : snap->trunks) {
    if (!limited(t.limits)) continue;
    const Lease l = limits_.leaseOf(t.id);
    metrics_->leased.with({t.name, "calls"}).Set(l.calls);
    metrics_->leased.with({t.name, "inbound"}).Set(l.inbound);
    metrics_->leased.with({t.name, "outbound"}).Set(l.outbound);
    auto it = peers.find(t.id);
    metrics_->peers.with({t.name}).Set(it == peers.end() ? 0 : it->second.peers);
  }
}

bool LeaseManager::releaseAll(std::chrono::milliseconds timeout) {
  stopping_ = true;
  auto done = std::make_shared<std::promise<bool>>();
  auto result = done->get_future();
  const bool ok = pool_.submit(
      [this, done](pqxx::connection& c) {
        std::lock_guard lock(job_mu_);  // after a sync in progress, never during
        store_.releaseAll(c);
        held_.clear();
        done->set_value(true);
      },
      [done](std::string_view) {
        try {
          done->set_value(false);
        } catch (const std::future_error&) {
          // set by the job already
        }
      });
  if (!ok) return false;
  return result.wait_for(timeout) == std::future_status::ready && result.get();
}

LeaseManager::Stats LeaseManager::stats() const {
  Stats s;
  s.syncs = syncs_;
  s.sync_failures = sync_failures_;
  s.granted = granted_;
  s.partial = partial_;
  s.refused = refused_;
  s.released = released_;
  s.fenced = fenced_;
  return s;
}

}  // namespace sbc::cluster

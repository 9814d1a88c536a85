#pragma once
// Channel and call-rate limits shared by every SIP thread of a node.
//
// Locking rules (read before touching the state below):
// - Per-trunk state lives in a fixed-capacity open-addressing table whose
//   slots are claimed once with a CAS on the key and never freed, so a slot
//   pointer stays valid for the object's lifetime and lookups take no lock.
// - The channel counts of a trunk are one 64-bit atomic (inbound in the low
//   half, outbound in the high half), changed with a CAS loop that checks
//   total and per-direction limits in the same step: a count can never pass a
//   limit and never go below zero.
// - The call-rate bucket is GCRA (a token bucket as one "theoretical arrival
//   time" atomic), also a CAS loop.
// - The (trunk, call key) set that makes acquire/release idempotent is the
//   only locked part: 64 shards, each a mutex around an unordered_map; the
//   critical section is one hash lookup plus the count CAS, so contention
//   between SIP threads is negligible. A per-thread set was the alternative,
//   but release(trunk, key) must work from whichever thread ends the call
//   (management hang-up, media timeout posted from elsewhere), and the
//   ChannelLimits interface is one object shared by all.
// - Cluster mode (sbc/cluster/) adds a lease per trunk and kind (calls,
//   inbound, outbound): the channels this node may use of a limit shared with
//   other nodes. A limited kind then also needs `count < lease`. Leases change
//   from another thread at any time; an acquire checks the lease again after
//   its count CAS and undoes the increment if the lease shrank meanwhile, and
//   setLease() stores a smaller lease before it reads the counts (both
//   seq_cst). So either the acquire sees the new lease, or setLease() sees
//   the call and keeps the lease at the channels in use: a call is never
//   admitted beyond what the node holds in the database.
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sbc/b2bua/policy.h"

namespace sbc::b2bua {

class SharedChannelLimits final : public ChannelLimits {
 public:
  using Clock = std::chrono::steady_clock;
  using NowFn = std::function<Clock::time_point()>;

  // `max_trunks`: capacity of the per-trunk table (trunk ids ever seen);
  // beyond it new trunks are refused with ChannelLimit and counted in
  // tableFull(). `now` is the clock of the call-rate buckets (tests inject).
  explicit SharedChannelLimits(std::size_t max_trunks = 4096, NowFn now = {});
  ~SharedChannelLimits() override;
  SharedChannelLimits(const SharedChannelLimits&) = delete;
  SharedChannelLimits& operator=(const SharedChannelLimits&) = delete;

  RejectCause tryAcquire(const cfg::Trunk& trunk, Direction direction,
                         std::string_view call_key) override;
  void release(cfg::TrunkId trunk, std::string_view call_key) override;
  std::vector<Usage> usage() const override;

  // Current counts of one trunk (zeros if never seen).
  Usage usageOf(cfg::TrunkId trunk) const;
  // Calls currently held (all trunks), from the key set.
  std::size_t activeKeys() const;
  std::uint64_t tableFull() const { return table_full_.load(std::memory_order_relaxed); }

  // ---- Cluster mode: leased channels.
  struct Lease {
    std::uint32_t calls = 0, inbound = 0, outbound = 0;
    bool operator==(const Lease&) const = default;
  };
  // Turns lease gating on (once, before any traffic): from then on a trunk
  // with a limit admits calls only within its lease, 0 until setLease().
  // `on_low` runs on the calling SIP thread (must be cheap and thread-safe)
  // when an admitted call leaves `low_water` or fewer leased channels free in
  // some limited kind, and when a call is refused for want of a lease.
  void enableLeases(std::uint32_t low_water, std::function<void(cfg::TrunkId)> on_low);
  bool leasesEnabled() const { return leases_enabled_; }
  // Sets the lease of `trunk` (any thread). A kind limited in `limits` never
  // goes below the channels in use at that moment: the result is what was
  // stored, and the caller must hold at least that much in the database.
  // Unlimited kinds are stored as given (they gate nothing). {} when the
  // trunk table is full.
  Lease setLease(cfg::TrunkId trunk, Lease want, const cfg::Limits& limits);
  Lease leaseOf(cfg::TrunkId trunk) const;
  // Calls refused for want of a lease (counted in usage().rejected_limit too).
  std::uint64_t leaseRejections(cfg::TrunkId trunk) const;

 private:
  struct TrunkState;
  struct Shard {
    mutable std::mutex mu;
    // key: 8 bytes of trunk id + call key; value: direction
    std::unordered_map<std::string, Direction> keys;
  };
  static constexpr std::size_t kShards = 64;

  TrunkState* find(cfg::TrunkId id) const;
  TrunkState* findOrCreate(cfg::TrunkId id);
  bool takeToken(TrunkState& s, const cfg::Limits& limits);
  static std::string makeKey(cfg::TrunkId trunk, std::string_view call_key);
  Shard& shardFor(std::string_view key);

  std::size_t capacity_;
  std::unique_ptr<TrunkState[]> table_;
  std::array<Shard, kShards> shards_;
  NowFn now_;
  Clock::time_point epoch_;
  std::atomic<std::uint64_t> table_full_{0};
  bool leases_enabled_ = false;
  std::uint32_t low_water_ = 0;
  std::function<void(cfg::TrunkId)> on_low_;
};

}  // namespace sbc::b2bua

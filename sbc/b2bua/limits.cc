#include "sbc/b2bua/limits.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace sbc::b2bua {
namespace {

constexpr cfg::TrunkId kEmpty = std::numeric_limits<cfg::TrunkId>::min();

std::uint64_t mix(std::uint64_t x) {
  // splitmix64 finalizer: trunk ids are small consecutive integers.
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

std::uint32_t inboundOf(std::uint64_t packed) {
  return static_cast<std::uint32_t>(packed);
}
std::uint32_t outboundOf(std::uint64_t packed) {
  return static_cast<std::uint32_t>(packed >> 32);
}

}  // namespace

struct SharedChannelLimits::TrunkState {
  std::atomic<cfg::TrunkId> id{kEmpty};
  std::atomic<std::uint64_t> counts{0};  // inbound | outbound << 32
  // GCRA theoretical arrival time, nanoseconds since epoch_.
  std::atomic<std::int64_t> tat{0};
  std::atomic<std::uint64_t> rejected_limit{0};
  std::atomic<std::uint64_t> rejected_rate{0};
  // Cluster mode only (see limits.h): channels leased per kind.
  std::atomic<std::uint32_t> lease_calls{0}, lease_in{0}, lease_out{0};
  std::atomic<std::uint64_t> rejected_lease{0};
};

SharedChannelLimits::SharedChannelLimits(std::size_t max_trunks, NowFn now)
    : capacity_(std::max<std::size_t>(16, max_trunks * 2)),
      table_(std::make_unique<TrunkState[]>(capacity_)),
      now_(now ? std::move(now) : NowFn([] { return Clock::now(); })),
      epoch_(now_()) {}

SharedChannelLimits::~SharedChannelLimits() = default;

SharedChannelLimits::TrunkState* SharedChannelLimits::find(cfg::TrunkId id) const {
  std::size_t i = mix(static_cast<std::uint64_t>(id)) % capacity_;
  for (std::size_t probe = 0; probe < capacity_; ++probe, i = (i + 1) % capacity_) {
    cfg::TrunkId k = table_[i].id.load(std::memory_order_acquire);
    if (k == id) return &table_[i];
    if (k == kEmpty) return nullptr;
  }
  return nullptr;
}

SharedChannelLimits::TrunkState* SharedChannelLimits::findOrCreate(cfg::TrunkId id) {
  // Half the slots at most: keeps probe sequences short.
  std::size_t i = mix(static_cast<std::uint64_t>(id)) % capacity_;
  for (std::size_t probe = 0; probe < capacity_ / 2; ++probe, i = (i + 1) % capacity_) {
    cfg::TrunkId k = table_[i].id.load(std::memory_order_acquire);
    if (k == id) return &table_[i];
    if (k == kEmpty) {
      if (table_[i].id.compare_exchange_strong(k, id, std::memory_order_acq_rel)) return &table_[i];
      if (k == id) return &table_[i];  // another thread claimed it for the same trunk
    }
  }
  table_full_.fetch_add(1, std::memory_order_relaxed);
  return nullptr;
}

std::string SharedChannelLimits::makeKey(cfg::TrunkId trunk, std::string_view call_key) {
  std::string key(sizeof(trunk) + call_key.size(), '\0');
  std::memcpy(key.data(), &trunk, sizeof(trunk));
  std::memcpy(key.data() + sizeof(trunk), call_key.data(), call_key.size());
  return key;
}

SharedChannelLimits::Shard& SharedChannelLimits::shardFor(std::string_view key) {
  return shards_[std::hash<std::string_view>{}(key) % kShards];
}

bool SharedChannelLimits::takeToken(TrunkState& s, const cfg::Limits& limits) {
  if (!(limits.cps > 0)) return true;
  // GCRA: each call moves the theoretical arrival time (TAT) on by one
  // emission interval; a call is allowed while TAT is at most `burst - 1`
  // intervals ahead of now. Equivalent to a bucket of `burst` tokens
  // refilled at cps, with one atomic instead of two.
  const double cps = std::min(limits.cps, 1e9);
  const auto interval = static_cast<std::int64_t>(1e9 / cps);
  const std::uint32_t burst = limits.cps_burst > 0
                                  ? limits.cps_burst
                                  : static_cast<std::uint32_t>(std::max(1.0, std::floor(cps)));
  const std::int64_t tolerance = interval * static_cast<std::int64_t>(burst - 1);
  const std::int64_t now =
      std::chrono::duration_cast<std::chrono::nanoseconds>(now_() - epoch_).count();
  std::int64_t tat = s.tat.load(std::memory_order_relaxed);
  for (;;) {
    std::int64_t start = std::max(tat, now);
    if (start - now > tolerance) return false;
    if (s.tat.compare_exchange_weak(tat, start + interval, std::memory_order_relaxed)) return true;
  }
}

RejectCause SharedChannelLimits::tryAcquire(const cfg::Trunk& trunk, Direction direction,
                                            std::string_view call_key) {
  TrunkState* s = findOrCreate(trunk.id);
  if (!s) return RejectCause::ChannelLimit;
  const cfg::Limits& lim = trunk.limits;
  const bool inbound = direction == Direction::Inbound;
  const std::uint32_t dir_limit = inbound ? lim.max_inbound : lim.max_outbound;
  std::atomic<std::uint32_t>& dir_lease = inbound ? s->lease_in : s->lease_out;

  std::string key = makeKey(trunk.id, call_key);
  Shard& shard = shardFor(key);
  std::lock_guard lock(shard.mu);
  if (shard.keys.contains(key)) return RejectCause::None;

  // Cheap pre-check so that a full trunk does not burn rate tokens.
  auto fits = [&](std::uint64_t packed) {
    std::uint64_t in = inboundOf(packed), out = outboundOf(packed);
    std::uint64_t mine = inbound ? in : out;
    if (lim.max_calls != 0 && in + out >= lim.max_calls) return false;
    if (dir_limit != 0 && mine >= dir_limit) return false;
    // Never wrap a 32-bit half, whatever the limits say.
    return mine < std::numeric_limits<std::uint32_t>::max();
  };
  // Whether `packed` (counts with the new call, or without it when
  // `with_call` is false) stays within the leases of the limited kinds.
  auto leased = [&](std::uint64_t packed, bool with_call) {
    if (!leases_enabled_) return true;
    const std::uint64_t extra = with_call ? 0 : 1;
    std::uint64_t in = inboundOf(packed), out = outboundOf(packed);
    std::uint64_t mine = inbound ? in : out;
    if (lim.max_calls != 0 && in + out + extra > s->lease_calls.load()) return false;
    if (dir_limit != 0 && mine + extra > dir_lease.load()) return false;
    return true;
  };
  auto refuseLease = [&] {
    s->rejected_limit.fetch_add(1, std::memory_order_relaxed);
    s->rejected_lease.fetch_add(1, std::memory_order_relaxed);
    if (on_low_) on_low_(trunk.id);
    return RejectCause::ChannelLimit;
  };
  std::uint64_t packed = s->counts.load();
  if (!fits(packed)) {
    s->rejected_limit.fetch_add(1, std::memory_order_relaxed);
    return RejectCause::ChannelLimit;
  }
  if (!leased(packed, false)) return refuseLease();
  if (!takeToken(*s, lim)) {
    s->rejected_rate.fetch_add(1, std::memory_order_relaxed);
    return RejectCause::CallRate;
  }
  const std::uint64_t one = inbound ? 1 : (std::uint64_t{1} << 32);
  for (;;) {
    if (!fits(packed)) {
      s->rejected_limit.fetch_add(1, std::memory_order_relaxed);
      return RejectCause::ChannelLimit;
    }
    if (!leased(packed, false)) return refuseLease();
    // seq_cst (with the lease loads below and the stores in setLease()): see
    // the locking rules in limits.h.
    if (s->counts.compare_exchange_weak(packed, packed + one)) break;
  }
  if (leases_enabled_) {
    const std::uint64_t now_packed = packed + one;
    if (!leased(now_packed, true)) {
      // The lease shrank between the check and the count: undo.
      s->counts.fetch_sub(one);
      return refuseLease();
    }
    if (on_low_) {
      std::uint64_t in = inboundOf(now_packed), out = outboundOf(now_packed);
      std::uint64_t mine = inbound ? in : out;
      const bool low = (lim.max_calls != 0 && in + out + low_water_ >= s->lease_calls.load()) ||
                       (dir_limit != 0 && mine + low_water_ >= dir_lease.load());
      if (low) on_low_(trunk.id);
    }
  }
  shard.keys.emplace(std::move(key), direction);
  return RejectCause::None;
}

void SharedChannelLimits::release(cfg::TrunkId trunk, std::string_view call_key) {
  std::string key = makeKey(trunk, call_key);
  Shard& shard = shardFor(key);
  Direction direction;
  {
    std::lock_guard lock(shard.mu);
    auto it = shard.keys.find(key);
    if (it == shard.keys.end()) return;
    direction = it->second;
    shard.keys.erase(it);
  }
  // Only a key that was counted gets here, once: the count cannot underflow.
  if (TrunkState* s = find(trunk)) {
    const std::uint64_t one = direction == Direction::Inbound ? 1 : (std::uint64_t{1} << 32);
    s->counts.fetch_sub(one);
  }
}

void SharedChannelLimits::enableLeases(std::uint32_t low_water,
                                       std::function<void(cfg::TrunkId)> on_low) {
  low_water_ = low_water;
  on_low_ = std::move(on_low);
  leases_enabled_ = true;
}

SharedChannelLimits::Lease SharedChannelLimits::setLease(cfg::TrunkId trunk, Lease want,
                                                         const cfg::Limits& limits) {
  TrunkState* s = findOrCreate(trunk);
  if (!s) return {};
  // Store first, then read the counts (seq_cst): an acquire that counted
  // before this read is seen here and kept; one that counts after it sees the
  // new lease in its own re-check.
  s->lease_calls.store(want.calls);
  s->lease_in.store(want.inbound);
  s->lease_out.store(want.outbound);
  const std::uint64_t packed = s->counts.load();
  const std::uint32_t in = inboundOf(packed), out = outboundOf(packed);
  const std::uint64_t total = std::uint64_t{in} + out;
  Lease got = want;
  if (limits.max_calls != 0 && total > want.calls)
    got.calls = static_cast<std::uint32_t>(
        std::min<std::uint64_t>(total, std::numeric_limits<std::uint32_t>::max()));
  if (limits.max_inbound != 0) got.inbound = std::max(want.inbound, in);
  if (limits.max_outbound != 0) got.outbound = std::max(want.outbound, out);
  if (got.calls != want.calls) s->lease_calls.store(got.calls);
  if (got.inbound != want.inbound) s->lease_in.store(got.inbound);
  if (got.outbound != want.outbound) s->lease_out.store(got.outbound);
  return got;
}

SharedChannelLimits::Lease SharedChannelLimits::leaseOf(cfg::TrunkId trunk) const {
  Lease l;
  if (const TrunkState* s = find(trunk)) {
    l.calls = s->lease_calls.load();
    l.inbound = s->lease_in.load();
    l.outbound = s->lease_out.load();
  }
  return l;
}

std::uint64_t SharedChannelLimits::leaseRejections(cfg::TrunkId trunk) const {
  const TrunkState* s = find(trunk);
  return s ? s->rejected_lease.load(std::memory_order_relaxed) : 0;
}

ChannelLimits::Usage SharedChannelLimits::usageOf(cfg::TrunkId trunk) const {
  Usage u;
  u.trunk = trunk;
  if (const TrunkState* s = find(trunk)) {
    std::uint64_t packed = s->counts.load(std::memory_order_acquire);
    u.inbound = inboundOf(packed);
    u.outbound = outboundOf(packed);
    u.rejected_limit = s->rejected_limit.load(std::memory_order_relaxed);
    u.rejected_rate = s->rejected_rate.load(std::memory_order_relaxed);
  }
  return u;
}

std::vector<ChannelLimits::Usage> SharedChannelLimits::usage() const {
  std::vector<Usage> out;
  for (std::size_t i = 0; i < capacity_; ++i) {
    cfg::TrunkId id = table_[i].id.load(std::memory_order_acquire);
    if (id == kEmpty) continue;
    out.push_back(usageOf(id));
  }
  std::sort(out.begin(), out.end(),
            [](const Usage& a, const Usage& b) { return a.trunk < b.trunk; });
  return out;
}

std::size_t SharedChannelLimits::activeKeys() const {
  std::size_t n = 0;
  for (const Shard& s : shards_) {
    std::lock_guard lock(s.mu);
    n += s.keys.size();
  }
  return n;
}

}  // namespace sbc::b2bua

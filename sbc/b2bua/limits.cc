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
  const std::uint32_t dir_limit =
      direction == Direction::Inbound ? lim.max_inbound : lim.max_outbound;

  std::string key = makeKey(trunk.id, call_key);
  Shard& shard = shardFor(key);
  std::lock_guard lock(shard.mu);
  if (shard.keys.contains(key)) return RejectCause::None;

  // Cheap pre-check so that a full trunk does not burn rate tokens.
  auto fits = [&](std::uint64_t packed) {
    std::uint64_t in = inboundOf(packed), out = outboundOf(packed);
    std::uint64_t mine = direction == Direction::Inbound ? in : out;
    if (lim.max_calls != 0 && in + out >= lim.max_calls) return false;
    if (dir_limit != 0 && mine >= dir_limit) return false;
    // Never wrap a 32-bit half, whatever the limits say.
    return mine < std::numeric_limits<std::uint32_t>::max();
  };
  std::uint64_t packed = s->counts.load(std::memory_order_acquire);
  if (!fits(packed)) {
    s->rejected_limit.fetch_add(1, std::memory_order_relaxed);
    return RejectCause::ChannelLimit;
  }
  if (!takeToken(*s, lim)) {
    s->rejected_rate.fetch_add(1, std::memory_order_relaxed);
    return RejectCause::CallRate;
  }
  const std::uint64_t one = direction == Direction::Inbound ? 1 : (std::uint64_t{1} << 32);
  for (;;) {
    if (!fits(packed)) {
      s->rejected_limit.fetch_add(1, std::memory_order_relaxed);
      return RejectCause::ChannelLimit;
    }
    if (s->counts.compare_exchange_weak(packed, packed + one, std::memory_order_acq_rel)) break;
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
    s->counts.fetch_sub(one, std::memory_order_acq_rel);
  }
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

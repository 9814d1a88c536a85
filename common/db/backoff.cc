#include "common/db/backoff.h"

#include <algorithm>
#include <random>

namespace sbc::db {

Backoff::Backoff(BackoffPolicy policy) : policy_(policy), rng_(std::random_device{}() | 1) {}

std::chrono::milliseconds Backoff::next() {
  const auto initial = std::max<std::int64_t>(1, policy_.initial.count());
  const auto cap = std::max<std::int64_t>(initial, policy_.max.count());
  std::int64_t delay = initial;
  for (unsigned i = 0; i < attempt_ && delay < cap; ++i) delay *= 2;
  delay = std::min(delay, cap);
  ++attempt_;
  // xorshift: cheap and good enough for jitter.
  rng_ ^= rng_ << 13;
  rng_ ^= rng_ >> 7;
  rng_ ^= rng_ << 17;
  const std::int64_t jitter =
      delay / 5 == 0 ? 0 : static_cast<std::int64_t>(rng_ % (delay / 5 + 1));
  return std::chrono::milliseconds(delay - jitter);
}

}  // namespace sbc::db

#include "admin-ui/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace sbc::admin {

RateLimiter::RateLimiter(double per_minute, double burst, std::size_t max_keys)
    : per_second_(per_minute / 60.0), burst_(std::max(1.0, burst)), max_keys_(max_keys) {}

double RateLimiter::refill(const Bucket& b, Clock::time_point now) const {
  double elapsed = std::chrono::duration<double>(now - b.last).count();
  return std::min(burst_, b.tokens + std::max(0.0, elapsed) * per_second_);
}

void RateLimiter::prune(Clock::time_point now) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    if (refill(it->second, now) >= burst_) {
      it = buckets_.erase(it);
    } else {
      ++it;
    }
  }
}

bool RateLimiter::allow(std::string_view key, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto it = buckets_.find(std::string(key));
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_keys_) {
      prune(now);
      // Everyone is busy: an attacker spraying keys must not grow us without bound.
      if (buckets_.size() >= max_keys_) return false;
    }
    it = buckets_.emplace(std::string(key), Bucket{burst_, now}).first;
  }
  Bucket& b = it->second;
  b.tokens = refill(b, now);
  b.last = now;
  if (b.tokens < 1.0) return false;
  b.tokens -= 1.0;
  return true;
}

int RateLimiter::retryAfter(std::string_view key, Clock::time_point now) const {
  std::lock_guard lock(mutex_);
  auto it = buckets_.find(std::string(key));
  if (it == buckets_.end()) return 0;
  double tokens = refill(it->second, now);
  if (tokens >= 1.0) return 0;
  return static_cast<int>(std::ceil((1.0 - tokens) / per_second_));
}

std::size_t RateLimiter::size() const {
  std::lock_guard lock(mutex_);
  return buckets_.size();
}

}  // namespace sbc::admin

#pragma once
// Token buckets keyed by a string (client IP, username), for login attempts.
// Thread-safe; bounded: when the table is full, idle (refilled) buckets are
// dropped, and if none is idle the new key is refused rather than grown.
#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace sbc::admin {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  RateLimiter(double per_minute, double burst, std::size_t max_keys = 100'000);

  // Takes a token for `key`; false when it has none left.
  bool allow(std::string_view key, Clock::time_point now = Clock::now());
  // Seconds until `key` has a token again (0 when it has one).
  int retryAfter(std::string_view key, Clock::time_point now = Clock::now()) const;
  std::size_t size() const;

 private:
  struct Bucket {
    double tokens;
    Clock::time_point last;
  };
  double refill(const Bucket& b, Clock::time_point now) const;
  void prune(Clock::time_point now);

  double per_second_;
  double burst_;
  std::size_t max_keys_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace sbc::admin

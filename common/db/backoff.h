#pragma once
// Exponential reconnect backoff with jitter, so that a fleet of SBC nodes does
// not reconnect in lock step after a PostgreSQL restart.
#include <chrono>
#include <cstdint>

namespace sbc::db {

struct BackoffPolicy {
  std::chrono::milliseconds initial{250};
  std::chrono::milliseconds max{10'000};
};

class Backoff {
 public:
  explicit Backoff(BackoffPolicy policy = {});
  // The delay before the next attempt: initial, then doubling up to max, each
  // with up to -20% jitter.
  std::chrono::milliseconds next();
  void reset() { attempt_ = 0; }
  unsigned attempts() const { return attempt_; }

 private:
  BackoffPolicy policy_;
  unsigned attempt_ = 0;
  std::uint64_t rng_;
};

}  // namespace sbc::db

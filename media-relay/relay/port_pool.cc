#include "media-relay/relay/port_pool.h"

namespace relay {

PortPool::PortPool(std::uint16_t min, std::uint16_t max)
    : min_(static_cast<std::uint16_t>(min & ~1u)) {
  for (std::uint32_t p = min_; p + 1 <= max; p += 2) free_.push_back(static_cast<std::uint16_t>(p));
  inUse_.assign(free_.size(), false);
}

std::optional<std::uint16_t> PortPool::acquire() {
  if (free_.empty()) return std::nullopt;
  std::uint16_t p = free_.front();
  free_.pop_front();
  inUse_[(p - min_) / 2] = true;
  return p;
}

void PortPool::release(std::uint16_t rtpPort) {
  if (rtpPort < min_ || rtpPort % 2 != 0) return;
  std::size_t i = (rtpPort - min_) / 2;
  if (i >= inUse_.size() || !inUse_[i]) return;
  inUse_[i] = false;
  free_.push_back(rtpPort);
}

}  // namespace relay

#include "common/relayctl/idempotency_cache.h"

namespace sbc::relayctl {

const std::string* IdempotencyCache::find(std::string_view id) {
  auto it = index_.find(id);
  if (it == index_.end()) return nullptr;
  entries_.splice(entries_.begin(), entries_, it->second);
  return &it->second->second;
}

void IdempotencyCache::insert(std::string id, std::string response) {
  if (auto it = index_.find(id); it != index_.end()) {
    it->second->second = std::move(response);
    entries_.splice(entries_.begin(), entries_, it->second);
    return;
  }
  if (entries_.size() >= capacity_) {
    index_.erase(std::string_view(entries_.back().first));
    entries_.pop_back();
  }
  entries_.emplace_front(std::move(id), std::move(response));
  index_.emplace(std::string_view(entries_.front().first), entries_.begin());
}

}  // namespace sbc::relayctl

// Answers a retransmitted request (same id on the same connection) with the
// response already sent, so that a create/destroy never runs twice. Bounded
// LRU: the oldest entry goes first once `capacity` ids are held.
#pragma once

#include <cstddef>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace sbc::relayctl {

class IdempotencyCache {
 public:
  explicit IdempotencyCache(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  // The encoded response for `id`, or null; a hit makes `id` most recent. The
  // pointer is valid until the next insert().
  const std::string* find(std::string_view id);
  // Stores (or replaces) the response for `id`, evicting the least recent.
  void insert(std::string id, std::string response);

  std::size_t size() const { return entries_.size(); }
  std::size_t capacity() const { return capacity_; }

 private:
  using Entry = std::pair<std::string, std::string>;  // id, response
  std::size_t capacity_;
  std::list<Entry> entries_;  // most recent first; nodes never move, so views stay valid
  std::unordered_map<std::string_view, std::list<Entry>::iterator> index_;
};

}  // namespace sbc::relayctl

// The control thread's index of sessions: call id -> owner and expiry. A
// session belongs to the control connection that created or last adopted it;
// when that connection drops, the session keeps running for the TTL and any
// connection that names its call id (update/query/destroy) adopts it. Time is
// passed in, so the TTL rules are tested with a fake clock.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace relay {

using ConnectionId = std::uint64_t;  // 0: no connection
inline constexpr ConnectionId kNoConnection = 0;

template <typename Payload>
class SessionTable {
 public:
  using Clock = std::chrono::steady_clock;

  struct Entry {
    ConnectionId owner = kNoConnection;
    std::string ownerIp;  // where the owner connected from: a reconnect from there is "back"
    std::optional<Clock::time_point> expiresAt;  // set while orphaned
    Payload payload;
  };

  // False when the call id exists already.
  bool insert(std::string callId, ConnectionId owner, std::string ownerIp, Payload payload) {
    auto [it, added] = map_.try_emplace(std::move(callId),
                                        Entry{owner, std::move(ownerIp), {}, std::move(payload)});
    return added;
  }

  Entry* find(std::string_view callId) {
    auto it = map_.find(std::string(callId));
    return it == map_.end() ? nullptr : &it->second;
  }

  // `conn` takes the session over; an orphan's expiry is cancelled.
  static void adopt(Entry& e, ConnectionId conn, std::string_view ip) {
    e.owner = conn;
    if (e.ownerIp != ip) e.ownerIp = std::string(ip);
    e.expiresAt.reset();
  }

  std::optional<Payload> erase(std::string_view callId) {
    auto it = map_.find(std::string(callId));
    if (it == map_.end()) return std::nullopt;
    Payload p = std::move(it->second.payload);
    map_.erase(it);
    return p;
  }

  // Every session of `conn` becomes an orphan expiring at now + ttl.
  std::size_t orphan(ConnectionId conn, Clock::time_point now, Clock::duration ttl) {
    std::size_t n = 0;
    for (auto& [id, e] : map_) {
      if (e.owner != conn) continue;
      e.owner = kNoConnection;
      e.expiresAt = now + ttl;
      ++n;
    }
    return n;
  }

  // Removes and returns the orphans whose TTL has run out.
  std::vector<std::pair<std::string, Entry>> expire(Clock::time_point now) {
    std::vector<std::pair<std::string, Entry>> out;
    for (auto it = map_.begin(); it != map_.end();) {
      if (it->second.expiresAt && *it->second.expiresAt <= now) {
        out.emplace_back(it->first, std::move(it->second));
        it = map_.erase(it);
      } else {
        ++it;
      }
    }
    return out;
  }

  std::size_t size() const { return map_.size(); }
  std::size_t orphans() const {
    std::size_t n = 0;
    for (const auto& [id, e] : map_) n += e.expiresAt ? 1 : 0;
    return n;
  }

 private:
  std::unordered_map<std::string, Entry> map_;
};

}  // namespace relay

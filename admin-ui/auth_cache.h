#pragma once
// Validated sessions and API tokens, in memory, so that an authenticated
// request does not touch PostgreSQL (see docs/ARCHITECTURE.md, console).
//
// Keyed by the hex SHA-256 of the secret (what the database stores). An entry
// holds what the auth middleware needs (user, role, CSRF token) and the
// expiry rules, checked on every hit exactly as the SQL of a miss would:
//  * absolute expiry: the row's expires_at, as the database said it;
//  * idle expiry (sessions): the last use seen here; an entry idle for longer
//    is dropped and the request goes to the database, whose last_seen_at may
//    be newer (a use on another console), never older than ours once written
//    back;
//  * revalidation: an entry the database has not confirmed for `revalidate`
//    is treated as a miss, bounding how long a change made outside any
//    console (psql) goes unseen.
// Changes made by a console are pushed: every write that affects a session or
// token clears the cache here at once and NOTIFYs admin_auth so that every
// other console clears its own (auth.cc). While that LISTEN connection is
// down the cache is bypassed (setEnabled(false)).
//
// Uses are written back lazily: takeTouches() hands out the last use of each
// entry since the previous call, for a batched UPDATE on a pool thread.
//
// Thread-safe (one mutex: lookups are a hash probe and a few compares).
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "admin-ui/api.h"

namespace sbc::admin {

struct CachedAuth {
  std::int64_t user_id = 0;   // sessions
  std::int64_t token_id = 0;  // API tokens
  std::string name;
  Role role = Role::kViewer;
  bool session = false;
  std::string csrf;         // sessions
  double expires_at = 0;    // unix seconds; tokens without expiry: a far future
  double last_seen = 0;     // unix seconds, the last use seen by this console
  double validated_at = 0;  // unix seconds, when the database last confirmed it
};

class AuthCache {
 public:
  struct Options {
    double idle_seconds = 1800;  // sessions
    double revalidate_seconds = 10;
    std::size_t max_entries = 100'000;  // beyond it, new entries are not kept
  };
  explicit AuthCache(Options options);
  ~AuthCache();
  AuthCache(const AuthCache&) = delete;
  AuthCache& operator=(const AuthCache&) = delete;

  // A live entry (and records the use at `now`), or nullopt: absent,
  // expired (then dropped), due for revalidation, or the cache is disabled.
  std::optional<CachedAuth> lookup(const std::string& hash, double now);

  // Read generation() before asking the database, pass it here: an
  // invalidation in between (a logout, a role change) makes the answer stale
  // and it is not kept.
  std::uint64_t generation() const;
  void insert(const std::string& hash, CachedAuth entry, std::uint64_t generation);

  void erase(const std::string& hash);
  void clear();
  // Disabled: lookups miss and nothing is kept. Enabling again clears.
  void setEnabled(bool enabled);
  bool enabled() const;

  struct Touches {
    std::vector<std::pair<std::string, double>> sessions;  // hash, unix seconds
    std::vector<std::pair<std::string, double>> tokens;
  };
  Touches takeTouches();
  // Drops entries past their expiry; returns how many.
  std::size_t sweep(double now);
  std::size_t size() const;

  // Clears every AuthCache of this process (for invalidateAuthCache()).
  static void clearAll();

 private:
  struct Entry {
    CachedAuth auth;
    bool touched = false;  // used since the last takeTouches()
  };
  bool expired(const CachedAuth& a, double now) const;

  Options options_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
  std::uint64_t generation_ = 0;
  bool enabled_ = true;
};

}  // namespace sbc::admin

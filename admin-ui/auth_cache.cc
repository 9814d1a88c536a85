#include "admin-ui/auth_cache.h"

#include <algorithm>

namespace sbc::admin {

namespace {

// Every cache of the process, so that invalidateAuthCache(txn, ...) can clear
// them from code that only holds a transaction.
std::mutex g_registry_mutex;
std::vector<AuthCache*>& registry() {
  static std::vector<AuthCache*> caches;
  return caches;
}

}  // namespace

AuthCache::AuthCache(Options options) : options_(options) {
  std::lock_guard lock(g_registry_mutex);
  registry().push_back(this);
}

AuthCache::~AuthCache() {
  std::lock_guard lock(g_registry_mutex);
  auto& r = registry();
  r.erase(std::remove(r.begin(), r.end(), this), r.end());
}

void AuthCache::clearAll() {
  std::lock_guard lock(g_registry_mutex);
  for (AuthCache* c : registry()) c->clear();
}

bool AuthCache::expired(const CachedAuth& a, double now) const {
  if (now >= a.expires_at) return true;
  if (a.session && now - a.last_seen >= options_.idle_seconds) return true;
  return false;
}

std::optional<CachedAuth> AuthCache::lookup(const std::string& hash, double now) {
  std::lock_guard lock(mutex_);
  if (!enabled_) return std::nullopt;
  auto it = entries_.find(hash);
  if (it == entries_.end()) return std::nullopt;
  CachedAuth& a = it->second.auth;
  if (expired(a, now)) {
    entries_.erase(it);
    return std::nullopt;
  }
  if (now - a.validated_at >= options_.revalidate_seconds) return std::nullopt;
  a.last_seen = std::max(a.last_seen, now);
  it->second.touched = true;
  return a;
}

std::uint64_t AuthCache::generation() const {
  std::lock_guard lock(mutex_);
  return generation_;
}

void AuthCache::insert(const std::string& hash, CachedAuth entry, std::uint64_t generation) {
  std::lock_guard lock(mutex_);
  if (!enabled_ || generation != generation_) return;
  auto it = entries_.find(hash);
  if (it != entries_.end()) {
    it->second.auth = std::move(entry);
    return;
  }
  if (entries_.size() >= options_.max_entries) return;
  entries_.emplace(hash, Entry{std::move(entry), false});
}

void AuthCache::erase(const std::string& hash) {
  std::lock_guard lock(mutex_);
  ++generation_;
  entries_.erase(hash);
}

void AuthCache::clear() {
  std::lock_guard lock(mutex_);
  ++generation_;
  entries_.clear();
}

void AuthCache::setEnabled(bool enabled) {
  std::lock_guard lock(mutex_);
  if (enabled == enabled_) return;
  enabled_ = enabled;
  ++generation_;
  entries_.clear();
}

bool AuthCache::enabled() const {
  std::lock_guard lock(mutex_);
  return enabled_;
}

AuthCache::Touches AuthCache::takeTouches() {
  Touches out;
  std::lock_guard lock(mutex_);
  for (auto& [hash, e] : entries_) {
    if (!e.touched) continue;
    e.touched = false;
    (e.auth.session ? out.sessions : out.tokens).emplace_back(hash, e.auth.last_seen);
  }
  return out;
}

std::size_t AuthCache::sweep(double now) {
  std::lock_guard lock(mutex_);
  return std::erase_if(entries_, [&](const auto& kv) {
    // An entry with a use not yet written back stays until takeTouches().
    return !kv.second.touched && expired(kv.second.auth, now);
  });
}

std::size_t AuthCache::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace sbc::admin

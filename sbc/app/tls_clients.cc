#include "sbc/app/tls_clients.h"

#include <spdlog/spdlog.h>

#include <string_view>

#include "sbc/config/tls_profiles.h"

namespace sbc::app {
namespace {

transport::TlsClientOptions toOptions(const cfg::TlsClientProfile& p) {
  transport::TlsClientOptions o;
  o.certificate_chain_file = p.certificate_file;
  o.private_key_file = p.private_key_file;
  o.ca_file = p.ca_file;
  o.verify_server = p.verify;
  o.server_name = p.server_name;
  return o;
}

std::string describe(const cfg::Trunk& t, const cfg::Gateway& g) {
  std::string s = "trunk '";
  s += t.name;
  s += "' gateway ";
  s += g.host;
  s += ':';
  s += std::to_string(g.port);
  return s;
}

}  // namespace

TlsClientContexts::TlsClientContexts(Clock::duration retry)
    : retry_(retry), current_(std::make_shared<const TlsClientSet>()) {}

bool TlsClientContexts::load(std::uint32_t id, Entry& entry, Clock::time_point now) {
  entry.tried = now;
  auto profile = cfg::TlsProfileRegistry::instance().get(id);
  std::string error = "unknown TLS client profile " + std::to_string(id);
  transport::TlsClientContextPtr context;
  if (profile) context = transport::loadTlsClientContext(toOptions(*profile), &error);
  if (!context) {
    ++load_errors_;
    entry.error = std::move(error);
    return false;
  }
  entry.context = std::move(context);
  entry.error.clear();
  return true;
}

TlsClientSetPtr TlsClientContexts::publish() {
  auto set = std::make_shared<TlsClientSet>();
  set->version = ++version_;
  for (const auto& [id, entry] : entries_) {
    // Profiles the snapshot no longer uses stay registered: calls still in
    // progress may send in-dialog requests with them.
    if (entry.context) set->ready.emplace(id, entry.context);
    if (entry.in_use && !entry.context) set->broken.push_back(id);
  }
  current_ = set;
  return set;
}

TlsClientSetPtr TlsClientContexts::update(const cfg::Snapshot& snapshot, Clock::time_point now) {
  const std::scoped_lock lock(mutex_);
  for (auto& [id, entry] : entries_) {
    entry.in_use = false;
    entry.users.clear();
  }
  for (const cfg::Trunk& t : snapshot.trunks) {
    for (const cfg::Gateway& g : t.gateways) {
      if (g.tls_profile == 0) continue;
      Entry& entry = entries_[g.tls_profile];
      entry.in_use = true;
      entry.users.push_back(describe(t, g));
    }
  }
  for (auto& [id, entry] : entries_) {
    if (!entry.in_use || entry.context) continue;
    if (load(id, entry, now)) continue;
    for (const std::string& user : entry.users) {
      spdlog::error("TLS client profile of {}: {}; calls to it fail over until fixed", user,
                    entry.error);
    }
  }
  return publish();
}

TlsClientSetPtr TlsClientContexts::recheck(Clock::time_point now) {
  const std::scoped_lock lock(mutex_);
  bool changed = false;
  for (auto& [id, entry] : entries_) {
    if (!entry.in_use || entry.context || now - entry.tried < retry_) continue;
    if (!load(id, entry, now)) {
      spdlog::debug("TLS client profile {} still does not load: {}", id, entry.error);
      continue;
    }
    changed = true;
    for (const std::string& user : entry.users)
      spdlog::info("TLS client profile of {}: loaded now", user);
  }
  return changed ? publish() : nullptr;
}

TlsClientSetPtr TlsClientContexts::reload(Clock::time_point now) {
  const std::scoped_lock lock(mutex_);
  for (auto& [id, entry] : entries_) {
    if (!entry.in_use) continue;
    transport::TlsClientContextPtr previous = entry.context;
    entry.context.reset();
    if (load(id, entry, now)) continue;
    entry.context = std::move(previous);
    for (const std::string& user : entry.users) {
      spdlog::error("TLS client profile of {}: {}{}", user, entry.error,
                    entry.context ? " (keeping the previous certificates)"
                                  : "; calls to it fail over until fixed");
    }
  }
  return publish();
}

TlsClientSetPtr TlsClientContexts::current() const {
  const std::scoped_lock lock(mutex_);
  return current_;
}

TlsClientStats TlsClientContexts::stats() const {
  const std::scoped_lock lock(mutex_);
  TlsClientStats s;
  s.load_errors = load_errors_;
  for (const auto& [id, entry] : entries_) {
    if (entry.context) ++s.ready;
    if (entry.in_use && !entry.context) ++s.broken;
  }
  return s;
}

bool PerKeyRateLimit::allow(const std::string& key, std::chrono::steady_clock::time_point now) {
  auto it = last_.find(key);
  if (it != last_.end()) {
    if (now - it->second < interval_) return false;
    it->second = now;
    return true;
  }
  // Bounded: forget the quiet ones first, everything if that is not enough.
  if (last_.size() >= max_keys_) {
    std::erase_if(last_, [&](const auto& kv) { return now - kv.second >= interval_; });
    if (last_.size() >= max_keys_) last_.clear();
  }
  last_.emplace(key, now);
  return true;
}

}  // namespace sbc::app

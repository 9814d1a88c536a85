#include "sbc/b2bua/dns_cache.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>

namespace sbc::b2bua {

bool isIpLiteral(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host.empty() || host.size() >= INET6_ADDRSTRLEN) return false;
  std::array<char, INET6_ADDRSTRLEN> buf{};
  std::copy(host.begin(), host.end(), buf.begin());
  in6_addr a6{};
  in_addr a4{};
  return inet_pton(AF_INET, buf.data(), &a4) == 1 || inet_pton(AF_INET6, buf.data(), &a6) == 1;
}

DnsAnswer systemResolve(const std::string& name) {
  DnsAnswer out;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  // No AI_ADDRCONFIG: it ignores loopback, so "localhost" would fail on a
  // host whose only addresses are loopback ones (containers, tests).
  addrinfo* res = nullptr;
  const int rc = getaddrinfo(name.c_str(), nullptr, &hints, &res);
  if (rc != 0) {
    out.error = gai_strerror(rc);
    return out;
  }
  std::vector<std::string> v4, v6;
  for (addrinfo* p = res; p != nullptr; p = p->ai_next) {
    std::array<char, INET6_ADDRSTRLEN> buf{};
    if (p->ai_family == AF_INET) {
      const auto* sa = reinterpret_cast<const sockaddr_in*>(p->ai_addr);
      if (inet_ntop(AF_INET, &sa->sin_addr, buf.data(), buf.size())) v4.emplace_back(buf.data());
    } else if (p->ai_family == AF_INET6) {
      const auto* sa = reinterpret_cast<const sockaddr_in6*>(p->ai_addr);
      if (inet_ntop(AF_INET6, &sa->sin6_addr, buf.data(), buf.size())) v6.emplace_back(buf.data());
    }
  }
  freeaddrinfo(res);
  for (auto* list : {&v4, &v6}) {
    for (std::string& a : *list) {
      if (std::find(out.addresses.begin(), out.addresses.end(), a) == out.addresses.end())
        out.addresses.push_back(std::move(a));
    }
  }
  if (out.addresses.empty()) out.error = "no address";
  return out;
}

ResolveFn withStaticHosts(StaticHosts hosts, ResolveFn resolve) {
  if (hosts.empty()) return resolve;
  return [hosts = std::move(hosts), resolve = std::move(resolve)](const std::string& name) {
    if (auto it = hosts.find(name); it != hosts.end() && !it->second.empty())
      return DnsAnswer{it->second, {}};
    return resolve(name);
  };
}

DnsCache::DnsCache(DnsCacheOptions options) : options_(std::move(options)) {
  if (options_.ttl.count() <= 0) options_.ttl = std::chrono::seconds(60);
  if (options_.retry.count() <= 0) options_.retry = std::chrono::seconds(2);
  options_.retry = std::min(options_.retry, options_.ttl);
  if (!options_.resolve) options_.resolve = systemResolve;
  options_.resolve = withStaticHosts(std::move(options_.hosts), std::move(options_.resolve));
  options_.hosts.clear();
}

DnsCache::~DnsCache() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void DnsCache::ensureWorker() {
  if (!options_.worker || worker_.joinable() || stopping_) return;
  worker_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "sbc-dns");  // top -H, perf
    run();
  });
}

void DnsCache::setNames(const std::vector<std::string>& names) {
  bool added = false;
  {
    std::lock_guard lock(mutex_);
    const std::uint64_t gen = ++generation_;
    for (const std::string& n : names) {
      if (n.empty() || isIpLiteral(n)) continue;
      auto [it, fresh] = entries_.try_emplace(n);
      it->second.generation = gen;
      if (fresh) {
        it->second.due = Clock::time_point::min();  // at once
        added = true;
      }
    }
    std::erase_if(entries_, [gen](const auto& kv) { return kv.second.generation != gen; });
    if (added) ensureWorker();
  }
  if (added) wake_.notify_all();
}

std::optional<std::string> DnsCache::lookup(std::string_view host) const {
  if (isIpLiteral(host)) {
    if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
    return std::string(host);
  }
  std::lock_guard lock(mutex_);
  // Heterogeneous lookup would need a transparent hash; a name is short and
  // this runs once per gateway tried, not per message.
  auto it = entries_.find(std::string(host));
  if (it == entries_.end() || it->second.addresses.empty()) {
    ++stats_.unresolved_lookups;
    return std::nullopt;
  }
  return it->second.addresses.front();
}

DnsStats DnsCache::stats() const {
  std::lock_guard lock(mutex_);
  DnsStats s = stats_;
  s.names = entries_.size();
  s.unresolved =
      static_cast<std::size_t>(std::count_if(entries_.begin(), entries_.end(), [](const auto& kv) {
        return kv.second.addresses.empty();
      }));
  return s;
}

std::size_t DnsCache::refreshDue(Clock::time_point now) {
  std::vector<std::string> due;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [name, e] : entries_)
      if (e.due <= now) due.push_back(name);
  }
  for (const std::string& name : due) {
    DnsAnswer answer = options_.resolve(name);  // may block: never under the lock
    std::lock_guard lock(mutex_);
    ++stats_.resolutions;
    if (stopping_) break;
    auto it = entries_.find(name);
    if (it == entries_.end()) continue;  // dropped meanwhile
    Entry& e = it->second;
    if (!answer.addresses.empty()) {
      if (e.addresses.empty() && e.logged_unresolved)
        spdlog::info("gateway host {} resolved to {} at last", name, answer.addresses.front());
      else if (e.addresses != answer.addresses)
        spdlog::info("gateway host {} resolves to {}", name, answer.addresses.front());
      e.addresses = std::move(answer.addresses);
      e.backoff = std::chrono::milliseconds(0);
      e.logged_unresolved = false;
      e.due = now + options_.ttl;
      continue;
    }
    ++stats_.failures;
    e.backoff = e.backoff.count() == 0 ? options_.retry : std::min(e.backoff * 2, options_.ttl);
    if (!e.addresses.empty()) {
      // Keep serving the last good answer; try again sooner than a full TTL.
      ++stats_.stale_kept;
      spdlog::warn("gateway host {}: refresh failed ({}), keeping {}", name, answer.error,
                   e.addresses.front());
    } else if (!e.logged_unresolved) {
      e.logged_unresolved = true;
      spdlog::error("gateway host {} does not resolve ({}): the gateway is unusable until it does",
                    name, answer.error);
    }
    e.due = now + e.backoff;
  }
  return due.size();
}

void DnsCache::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    auto next = Clock::time_point::max();
    for (const auto& [name, e] : entries_) next = std::min(next, e.due);
    const auto now = Clock::now();
    if (next > now) {
      if (next == Clock::time_point::max())
        wake_.wait(lock);
      else
        wake_.wait_until(lock, next);
      continue;
    }
    lock.unlock();
    refreshDue(now);
    lock.lock();
  }
}

}  // namespace sbc::b2bua

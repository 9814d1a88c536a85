#pragma once
// Gateways given by host name (trunk_gateways.host = "sip.carrier.example"):
// the names are resolved (A/AAAA) on a worker thread of this cache, never on
// a SIP thread, cached, and refreshed every `ttl`. A call only ever reads the
// cache: it never waits for DNS.
//
//  - a refresh that fails keeps the last good answer (a DNS outage does not
//    take a working gateway away);
//  - a name that never resolved has no address: lookup() says so, the router
//    skips that gateway (logged once per name, counted in stats()), and the
//    worker retries it every `retry` (doubling up to `ttl`);
//  - RFC 3263 (NAPTR/SRV, transport and port selection) is not done: the
//    gateway row gives transport and port, DNS gives the address only.
//
// getaddrinfo() reports no TTL, so `ttl` is ours (60 s by default), not the
// record's.
//
// Threading: setNames(), lookup() and stats() may be called from any thread;
// the resolve function runs on the worker thread only, without the lock held.
// The worker starts with the first name (no thread while every gateway is an
// IP literal) and is joined by the destructor.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

namespace sbc::b2bua {

// What one resolution gave: addresses (IP literals, no brackets), or none and
// an error text.
struct DnsAnswer {
  std::vector<std::string> addresses;
  std::string error;
};
using ResolveFn = std::function<DnsAnswer(const std::string& name)>;

// getaddrinfo() for SOCK_DGRAM, IPv4 answers first (what our listeners use
// most), duplicates removed.
DnsAnswer systemResolve(const std::string& name);

// True for "192.0.2.1", "2001:db8::1", "[2001:db8::1]": nothing to resolve.
bool isIpLiteral(std::string_view host);

// Static answers consulted before DNS, like /etc/hosts but per node
// (sbc TOML [dns] hosts): name -> addresses (IP literals). Lab set-ups and
// tests use it to give a gateway a name without touching the system.
using StaticHosts = std::unordered_map<std::string, std::vector<std::string>>;

// `resolve` with `hosts` in front of it (`resolve` itself when hosts is empty).
ResolveFn withStaticHosts(StaticHosts hosts, ResolveFn resolve);

struct DnsCacheOptions {
  StaticHosts hosts;
  std::chrono::milliseconds ttl{std::chrono::seconds(60)};
  std::chrono::milliseconds retry{std::chrono::seconds(2)};  // first retry of a failed name
  ResolveFn resolve = systemResolve;
  // false: no worker thread; tests drive refreshDue() themselves.
  bool worker = true;
};

struct DnsStats {
  std::uint64_t resolutions = 0;         // attempts
  std::uint64_t failures = 0;            // attempts that gave no address
  std::uint64_t stale_kept = 0;          // failed refreshes that kept the last good answer
  std::uint64_t unresolved_lookups = 0;  // lookup() of a name with no address yet
  std::size_t names = 0;
  std::size_t unresolved = 0;  // names with no address (never resolved)
};

class DnsCache {
 public:
  using Clock = std::chrono::steady_clock;

  explicit DnsCache(DnsCacheOptions options = {});
  ~DnsCache();
  DnsCache(const DnsCache&) = delete;
  DnsCache& operator=(const DnsCache&) = delete;

  // The names to keep resolved (IP literals are ignored). New names are
  // resolved at once; names no longer listed are forgotten.
  void setNames(const std::vector<std::string>& names);
  // The address to use for `host`: the literal itself for an IP literal, the
  // cached answer for a name, nullopt for a name with no address yet.
  // Never blocks on DNS (a short lock only).
  std::optional<std::string> lookup(std::string_view host) const;
  DnsStats stats() const;

  // Resolves every name due at `now` on the calling thread (the worker does
  // this itself; for tests with worker = false). Returns how many it tried.
  std::size_t refreshDue(Clock::time_point now);

 private:
  struct Entry {
    std::vector<std::string> addresses;  // last good answer
    Clock::time_point due{};             // next resolution
    std::chrono::milliseconds backoff{0};
    bool logged_unresolved = false;
    std::uint64_t generation = 0;  // setNames() round that (re)listed it
  };
  void run();
  void ensureWorker();  // with mutex_ held

  DnsCacheOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::unordered_map<std::string, Entry> entries_;
  bool stopping_ = false;
  std::uint64_t generation_ = 0;
  mutable DnsStats stats_;
  std::thread worker_;
};

}  // namespace sbc::b2bua

#pragma once
// Trunk TLS client profiles, built off the SIP threads.
//
// A trunk's TLS profile (cfg::TlsProfileRegistry id) needs its certificate,
// key and CA files read and an OpenSSL context built: disk and slow crypto
// set-up, which the SIP thread must never do. TlsClientContexts does it where
// the configuration is loaded: update() runs on the configuration service's
// thread with each new snapshot, recheck() on a background ticker, reload()
// after SIGHUP. Each returns an immutable TlsClientSet that the SIP thread
// only registers with its transport (SipNode::setTlsClients), posted together
// with the snapshot that needs it.
//
// A profile whose files are missing or bad is "broken": an error is logged
// once per snapshot for every gateway that uses it, naming the trunk, the
// gateway and the file; calls to those gateways fail over as for an
// unreachable gateway; the files are read again at the next snapshot and by
// recheck() every `retry` (10 s).
//
// Threading: every member may be called from any thread (one mutex); the
// loads run on the caller's thread.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "sbc/config/snapshot.h"
#include "sbc/transport/transport.h"

namespace sbc::app {

// What the SIP thread gets: the ready contexts by profile id, and which
// profiles are broken. `version` orders sets built on different threads.
struct TlsClientSet {
  std::uint64_t version = 0;
  std::unordered_map<std::uint32_t, transport::TlsClientContextPtr> ready;
  std::vector<std::uint32_t> broken;
};
using TlsClientSetPtr = std::shared_ptr<const TlsClientSet>;

struct TlsClientStats {
  std::size_t ready = 0;
  std::size_t broken = 0;         // profiles in use whose files do not load (a gauge)
  std::uint64_t load_errors = 0;  // failed loads, every attempt counted
};

class TlsClientContexts {
 public:
  using Clock = std::chrono::steady_clock;

  explicit TlsClientContexts(Clock::duration retry = std::chrono::seconds(10));

  // A new snapshot: loads the profiles its TLS gateways use that are new or
  // broken (good ones are kept, not read again). Never returns null.
  TlsClientSetPtr update(const cfg::Snapshot& snapshot, Clock::time_point now = Clock::now());
  // Retries the broken profiles of the last snapshot last tried `retry` ago
  // or longer. Null when nothing changed.
  TlsClientSetPtr recheck(Clock::time_point now = Clock::now());
  // Re-reads every profile in use (certificate renewal, SIGHUP). A profile
  // that no longer loads keeps its last good context (logged).
  TlsClientSetPtr reload(Clock::time_point now = Clock::now());

  TlsClientSetPtr current() const;
  TlsClientStats stats() const;

 private:
  struct Entry {
    transport::TlsClientContextPtr context;
    std::string error;  // of the last failed load; empty when it loaded
    Clock::time_point tried{};
    bool in_use = false;             // by the last snapshot's gateways
    std::vector<std::string> users;  // "trunk 'x' gateway h:p", for the log
  };

  bool load(std::uint32_t id, Entry& entry, Clock::time_point now);
  TlsClientSetPtr publish();

  const Clock::duration retry_;
  mutable std::mutex mutex_;
  std::map<std::uint32_t, Entry> entries_;
  TlsClientSetPtr current_;
  std::uint64_t version_ = 0;
  std::uint64_t load_errors_ = 0;
};

// Rate limit for warnings about one destination (failed outbound TLS
// handshakes: one per queued message would flood the log). SIP thread only.
class PerKeyRateLimit {
 public:
  explicit PerKeyRateLimit(std::chrono::steady_clock::duration interval,
                           std::size_t max_keys = 1024)
      : interval_(interval), max_keys_(max_keys) {}
  // True when `key` was not allowed within the interval before `now`.
  bool allow(const std::string& key, std::chrono::steady_clock::time_point now);

 private:
  std::chrono::steady_clock::duration interval_;
  std::size_t max_keys_;
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> last_;
};

}  // namespace sbc::app

#pragma once
// The registrar for PBX trunks with auth mode Register (RFC 3261 10.3):
// bindings AOR -> contacts in memory, each remembering the address, port,
// transport and connection the REGISTER came from, so that calls to the PBX
// go back through its NAT binding / flow (RFC 5626 style flow reuse).
// Persistence is the app's business through RegistrationSink (events are
// handed over on the SIP thread; the sink queues them for the database pool
// and never blocks). Single-threaded: one Registrar serves one SIP thread
// (see README.md for how several threads share registrations).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sbc/config/snapshot.h"
#include "sbc/sip/message.h"
#include "sbc/txn/timer_service.h"
#include "sbc/txn/types.h"

namespace sbc::b2bua {

struct Binding {
  cfg::TrunkId trunk = 0;
  std::string aor;      // "user@host" from the To URI (host lower-cased)
  std::string contact;  // the Contact URI as registered: the Request-URI of calls to it
  txn::Peer source;     // where the REGISTER came from: where calls go
  txn::TimePoint expires_at{};
  std::string call_id;
  std::uint32_t cseq = 0;
  std::string user_agent;
};

struct BindingEvent {
  enum class Kind : std::uint8_t { Added, Refreshed, Removed };
  Kind kind = Kind::Added;
  Binding binding;
  // Wall-clock expiry for the database row (steady time means nothing there).
  std::chrono::system_clock::time_point expires_wall{};
};

class RegistrationSink {
 public:
  virtual ~RegistrationSink() = default;
  // Called on the SIP thread: queue and return, never block.
  virtual void onBindingEvent(const BindingEvent& event) = 0;
};

struct RegistrarOptions {
  std::uint32_t min_expires = 60;        // below (and not 0): 423 with Min-Expires
  std::uint32_t max_expires = 3600;      // longer requests are shortened
  std::uint32_t default_expires = 3600;  // no Expires anywhere
  std::size_t max_contacts_per_trunk = 10;
  std::size_t max_bindings = 100000;  // whole registrar: memory bound
  std::chrono::seconds purge_interval{30};
};

struct RegistrarStats {
  std::uint64_t registers = 0;
  std::uint64_t added = 0, refreshed = 0, removed = 0, expired = 0;
  std::uint64_t rejected = 0;  // 4xx/5xx answered
};

class Registrar {
 public:
  Registrar(txn::TimerService& timers, RegistrarOptions options = {},
            RegistrationSink* sink = nullptr);
  ~Registrar();
  Registrar(const Registrar&) = delete;
  Registrar& operator=(const Registrar&) = delete;

  // A REGISTER from an identified, authenticated PBX trunk: the complete
  // response (200 with the current bindings, 400, 423, 403, 500).
  sip::Message handleRegister(const sip::Message& request, const txn::Peer& source,
                              const cfg::Trunk& trunk, std::string_view to_tag);

  // The live bindings of a trunk, most recently refreshed first.
  std::vector<const Binding*> contactsOf(cfg::TrunkId trunk) const;
  // The trunk with a live binding registered from exactly this address and
  // port (identification of requests from a registered PBX), or 0.
  cfg::TrunkId trunkBySource(std::string_view address, std::uint16_t port) const;

  // Puts back a binding loaded from the database at start-up (no event).
  void restore(Binding binding);
  // Removes expired bindings (Removed events); also runs on a timer.
  std::size_t purgeExpired();
  std::size_t size() const { return count_; }
  const RegistrarStats& stats() const { return stats_; }

 private:
  void schedulePurge();
  std::size_t purgeList(std::vector<Binding>& list, txn::TimePoint now);
  void emit(BindingEvent::Kind kind, const Binding& b);
  void indexSource(const Binding& b);
  void unindexSource(const Binding& b);
  sip::Message reject(const sip::Message& request, int code, std::string_view reason,
                      std::string_view to_tag);

  txn::TimerService& timers_;
  RegistrarOptions options_;
  RegistrationSink* sink_;
  std::unordered_map<cfg::TrunkId, std::vector<Binding>> bindings_;
  // "address|port" -> (trunk, bindings from there)
  std::unordered_map<std::string, std::pair<cfg::TrunkId, std::uint32_t>> by_source_;
  std::size_t count_ = 0;
  txn::TimerHandle purge_timer_;
  RegistrarStats stats_;
};

}  // namespace sbc::b2bua

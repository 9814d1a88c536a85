#pragma once
// Plain value types of the transaction layer: where a message came from or
// goes to, the timer configuration, and the state/timer names used in
// callbacks, logs and tests.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "sbc/txn/timer_service.h"

namespace sbc::txn {

enum class Protocol : std::uint8_t { Udp, Tcp, Tls };

// A transport-level peer: the source of a received message or the destination
// of a sent one. Free of Asio so that tests and the B2BUA can build it freely.
struct Peer {
  Protocol protocol = Protocol::Udp;
  std::string address;  // IP literal, no brackets for IPv6
  std::uint16_t port = 0;
  // The stream connection a message arrived on / should leave on; 0 means
  // "any" (UDP, or let the transport pick or open one).
  std::uint64_t connection = 0;
  // Which listener (realm) received it / should send it: the transport's index.
  std::uint32_t listener = 0;
  // Outbound TLS only: the client profile for a new connection
  // (cfg::TlsProfileRegistry id; 0: the node default).
  std::uint32_t tls_profile = 0;

  friend bool operator==(const Peer&, const Peer&) = default;
};
using Destination = Peer;

// RFC 3261 17 and RFC 6026 timer bases. The derived timers:
//   A = T1 doubling (unreliable only)     B = F = H = J(unreliable) = L = M = 64*T1
//   E, G = T1 doubling capped at T2       D = timer_d (unreliable), 0 reliable
//   I = K = T4 (unreliable), 0 reliable
struct TimerConfig {
  Duration t1{500};
  Duration t2{4000};
  Duration t4{5000};
  // RFC 3261 17.1.1.2: "at least 32 seconds" for unreliable transports.
  Duration timer_d{32000};
  // The INVITE server transaction sends 100 Trying itself when the TU has not
  // sent a provisional response by then (RFC 3261 17.2.1).
  Duration trying_delay{200};
  // Optional Timer C (RFC 3261 16.6 step 11) on INVITE client transactions in
  // Proceeding: reports TimerId::C to the TU once (which should CANCEL). Zero
  // disables it (the RFC puts it in proxies; a B2BUA usually has its own).
  Duration timer_c{0};
  // Guard on non-INVITE server transactions the TU never answers: by then
  // the client has given up (its Timer F), so the transaction is dropped and
  // the TU told via onTimeout(TimerId::ServerGuard). Zero means 64*T1 + T4,
  // which leaves a TU relaying the request time to see its own Timer F first.
  Duration server_guard{0};

  Duration timeout64() const { return 64 * t1; }
};

struct TxnId {
  std::uint64_t value = 0;
  explicit operator bool() const { return value != 0; }
  friend bool operator==(TxnId, TxnId) = default;
};

enum class TxnKind : std::uint8_t { InviteClient, NonInviteClient, InviteServer, NonInviteServer };

enum class TxnState : std::uint8_t {
  Calling,  // INVITE client
  Trying,   // non-INVITE client and server
  Proceeding,
  Completed,
  Confirmed,  // INVITE server
  Accepted,   // RFC 6026, INVITE client and server
  Terminated,
};

enum class TimerId : std::uint8_t {
  A,
  B,
  C,
  D,
  E,
  F,
  G,
  H,
  I,
  J,
  K,
  L,
  M,
  Trying100,    // automatic 100 Trying of the INVITE server transaction
  ServerGuard,  // see TimerConfig::server_guard
};

const char* toString(Protocol p);
const char* toString(TxnKind k);
const char* toString(TxnState s);
const char* toString(TimerId t);

}  // namespace sbc::txn

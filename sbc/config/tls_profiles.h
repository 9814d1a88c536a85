#pragma once
// TLS client profiles for connections to trunk gateways, as one number each.
//
// A profile is what an outbound TLS connection needs besides the address:
// client certificate and key, CA file, verify on/off, and the name sent as
// SNI and matched against the gateway's certificate. Snapshots are rebuilt
// on every configuration change while connections are made on the SIP
// threads, so profiles are interned once per process: equal profiles get the
// same id in every snapshot, the id travels with the call's destination
// (a small integer instead of five strings). The contexts are built from the
// files off the SIP threads (sbc/app/tls_clients.h) and registered, ready,
// with each SIP thread's transport.
//
// Id 0 is the node default (system trust store, verification on, no SNI).
// The table only grows; it holds one entry per distinct profile ever
// configured, which is a handful in practice.
//
// Threading: intern() and get() may be called from any thread (a mutex).
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sbc/config/snapshot.h"

namespace sbc::cfg {

struct TlsClientProfile {
  std::string certificate_file;
  std::string private_key_file;
  std::string ca_file;
  bool verify = true;
  // SNI and the name the certificate must match; empty: no SNI and the
  // certificate must match the IP address connected to.
  std::string server_name;

  friend bool operator==(const TlsClientProfile&, const TlsClientProfile&) = default;
};

// The profile of `gateway` of `trunk`: the trunk's certificate, key, CA and
// verify setting; the gateway's tls_server_name, else its host when that is
// a name (an IP literal is never sent as SNI, RFC 6066 section 3).
TlsClientProfile tlsProfileOf(const Trunk& trunk, const Gateway& gateway);

class TlsProfileRegistry {
 public:
  // The one table of the process.
  static TlsProfileRegistry& instance();

  // The id of `profile` (>= 1), adding it when new.
  std::uint32_t intern(const TlsClientProfile& profile);
  // The profile of an id from intern(); nullopt for 0 or an unknown id.
  std::optional<TlsClientProfile> get(std::uint32_t id) const;
  std::size_t size() const;

 private:
  static std::string keyOf(const TlsClientProfile& profile);

  mutable std::mutex mutex_;
  std::vector<TlsClientProfile> profiles_;  // id - 1
  std::unordered_map<std::string, std::uint32_t> ids_;
};

}  // namespace sbc::cfg

#pragma once
// The SBC's operator configuration as an immutable snapshot: trunks with
// their gateways, ACLs, credentials, limits and policies; DIDs; routes; ported
// numbers. Loaded from PostgreSQL off the SIP threads (loader.h) and handed to
// each SIP thread by posting a shared_ptr<const Snapshot>; a call keeps the
// snapshot it started with, so a reload never disturbs calls in progress.
//
// Numbers: E.164 numbers are kept as their digits without '+' ("14155550100").
#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace sbc::cfg {

using TrunkId = std::int64_t;

enum class TrunkKind : std::uint8_t { Pbx, Carrier };
enum class Transport : std::uint8_t { Udp, Tcp, Tls };

// How a new request is tied to a trunk (PBX trunks; carriers are always
// identified by source address).
enum class AuthMode : std::uint8_t {
  Acl,       // source address in the trunk's ACL
  Digest,    // digest authentication against inbound credentials (ACL optional)
  Register,  // the PBX REGISTERs to us; calls from a registered contact
};

enum class MediaPolicy : std::uint8_t { Rtp, SrtpOptional, SrtpMandatory };
// Which first RTP source the relay latches on a trunk's leg (0013): the
// signalled one (Strict), or any within the relay's window (WindowAny, for
// multi-homed PBXs). Never re-latched mid-call either way.
enum class MediaLatch : std::uint8_t { Strict, WindowAny };

// RFC 3325: whether P-Asserted-Identity from/to this trunk is trusted.
enum class PaiTrust : std::uint8_t { Trusted, Untrusted };

enum class DidStatus : std::uint8_t { Active, PortingIn, PortedOut, Reserved };

// What to do with a call to a ported_out DID.
enum class PortedOutAction : std::uint8_t { Reject404, RouteByLnp };

struct Cidr {
  bool v6 = false;
  std::array<std::uint8_t, 16> bytes{};  // network address (first 4 bytes for IPv4)
  std::uint8_t prefix_len = 0;
  // "192.0.2.0/24", "2001:db8::/32", or a bare address (/32, /128).
  static std::optional<Cidr> parse(std::string_view text);
  bool contains(bool v6_addr, const std::array<std::uint8_t, 16>& addr) const;
};

struct Gateway {
  std::int64_t id = 0;
  std::string host;  // IP literal or DNS name
  std::uint16_t port = 5060;
  Transport transport = Transport::Udp;
  int priority = 10;  // lower first
  int weight = 100;   // among equal priority
  bool enabled = true;
  bool options_ping = true;     // health-check with OPTIONS
  std::string tls_server_name;  // SNI; empty: host
  // transport Tls: the TLS client profile (tls_profiles.h) built from the
  // trunk's TlsClient and this gateway's name by Snapshot::index(); 0 otherwise.
  std::uint32_t tls_profile = 0;
};

// What we present to and accept from a trunk's TLS gateways (0012). The
// name sent as SNI and verified is per gateway (Gateway::tls_server_name).
struct TlsClient {
  std::string certificate_file;  // PEM chain; empty: no client certificate
  std::string private_key_file;  // PEM; set exactly when certificate_file is
  std::string ca_file;           // PEM; empty: the system trust store
  bool verify = true;            // verify the gateway's certificate and name
};

struct Credentials {
  std::string username;
  std::string password;  // decrypted in memory only
  std::string realm;     // empty: any / the trunk name
  bool present() const { return !username.empty(); }
};

struct Limits {
  std::uint32_t max_calls = 0;     // concurrent, both directions; 0 = unlimited
  std::uint32_t max_inbound = 0;   // calls from this trunk; 0 = unlimited
  std::uint32_t max_outbound = 0;  // calls to this trunk; 0 = unlimited
  double cps = 0;                  // new calls per second from+to the trunk; 0 = unlimited
  std::uint32_t cps_burst = 0;     // token bucket depth; 0 = max(1, cps)
  int reject_code = 503;
  std::string reject_reason = "Q.850;cause=34";  // Reason header value; empty: none
};

struct HeaderPolicy {
  std::vector<std::string> strip;    // header names removed on the way to this trunk
  std::vector<std::string> allow_x;  // X- headers passed to this trunk (others dropped)
  PaiTrust pai = PaiTrust::Untrusted;
  // Replaces User-Agent/Server towards this trunk; nullopt: the node default.
  std::optional<std::string> product;
};

// Turns what a trunk sends into E.164 digits, and E.164 into what it expects.
struct NumberFormat {
  std::string country_code = "1";            // for national numbers
  std::string national_prefix;               // e.g. "0" (UK) or "1" (NANP trunk prefix)
  std::string international_prefix = "011";  // e.g. "00"
  bool send_plus = true;                     // towards the trunk: "+1415..." vs "1415..."
};

struct Trunk {
  TrunkId id = 0;
  std::string name;
  TrunkKind kind = TrunkKind::Pbx;
  std::string realm = "inside";  // listener realm it talks through
  bool enabled = true;
  AuthMode auth = AuthMode::Acl;
  std::vector<Cidr> acl;
  std::vector<Gateway> gateways;
  Credentials inbound;             // what a PBX must present (Digest/Register)
  Credentials outbound;            // what we present when a carrier challenges or to REGISTER
  bool register_outbound = false;  // we REGISTER to the carrier
  std::uint32_t register_expires = 3600;
  std::string register_user;  // AOR user part for outbound registration
  Limits limits;
  HeaderPolicy headers;
  NumberFormat numbers;
  bool pass_lnp_params = true;  // rn/npdi towards this (carrier) trunk
  PortedOutAction ported_out = PortedOutAction::Reject404;
  MediaPolicy media = MediaPolicy::Rtp;
  MediaLatch media_latch = MediaLatch::Strict;
  TlsClient tls;                         // towards gateways with transport Tls
  std::uint32_t session_expires = 1800;  // RFC 4028; 0 disables session timers
  std::uint32_t min_se = 90;
  std::uint32_t max_call_seconds = 14400;    // hard cap
  std::uint32_t ring_timeout_seconds = 120;  // early dialog limit
  std::uint32_t failover_timeout_ms = 4000;  // no 1xx from a gateway: next one
  bool sip_trace = false;                    // trace every call through this trunk (0010)
  std::int64_t version = 0;
};

struct Did {
  std::string number;  // E.164 digits
  TrunkId trunk = 0;   // the PBX trunk it is delivered to
  DidStatus status = DidStatus::Active;
};

struct Route {
  std::string prefix;  // E.164 digits; "" matches everything
  TrunkId trunk = 0;   // a carrier trunk
  int priority = 10;   // lower first
  int weight = 100;
};

// number -> routing number, both E.164 digits packed as integers (at most
// 15 digits fit easily in 64 bits). Sorted by number; 16 bytes an entry, so a
// million ported numbers cost 16 MB and load in one pass.
struct PortedEntry {
  std::uint64_t number = 0;
  std::uint64_t routing_number = 0;
};

class Snapshot {
 public:
  std::uint64_t generation = 0;  // increases with every load
  std::chrono::system_clock::time_point loaded_at{};

  std::vector<Trunk> trunks;
  std::unordered_map<std::string, Did> dids;  // by number
  std::vector<Route> routes;                  // any order; see routesFor()
  std::vector<PortedEntry> ported;            // sorted by number

  // Builds the lookup indexes and the TLS gateways' client profiles (an
  // interning table shared by the process, see tls_profiles.h); call once
  // after filling the vectors, off the SIP threads.
  void index();

  const Trunk* trunk(TrunkId id) const;
  const Trunk* trunkByName(std::string_view name) const;
  // The enabled trunk whose ACL contains the address (longest prefix wins;
  // ties: lowest trunk id), optionally restricted to a realm.
  const Trunk* trunkByAddress(bool v6, const std::array<std::uint8_t, 16>& addr,
                              std::string_view realm = {}) const;
  const Did* did(std::string_view e164_digits) const;
  // Routes of the longest matching prefix that has any enabled trunk, sorted
  // by priority; the caller orders equal priorities by weight.
  std::vector<const Route*> routesFor(std::string_view e164_digits) const;
  // Routing number of a ported number, if it is ported.
  std::optional<std::uint64_t> routingNumber(std::uint64_t number) const;

 private:
  std::unordered_map<TrunkId, std::size_t> by_id_;
  // prefix -> indexes into routes, sorted by priority
  std::unordered_map<std::string, std::vector<std::size_t>> by_prefix_;
  std::size_t max_prefix_len_ = 0;
};

using SnapshotPtr = std::shared_ptr<const Snapshot>;

// "+14155550100" / "14155550100" -> packed digits; nullopt if not 1..15 digits.
std::optional<std::uint64_t> packE164(std::string_view digits);
std::string unpackE164(std::uint64_t packed);

}  // namespace sbc::cfg

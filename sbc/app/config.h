#pragma once
// Static per-node settings, read once at start from a TOML file. Everything an
// operator edits day to day lives in PostgreSQL instead (see BRIEF.md).
//
// Relative file paths (certificates, keys, the secret key file, the CDR
// spool) are taken relative to the directory of the configuration file, so
// that a config and its files can move together.
#include <chrono>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "sbc/cluster/cluster_options.h"
#include "sbc/common/thread_scheduling.h"

namespace sbc::app {

enum class ListenProtocol { Udp, Tcp, Tls };

struct ListenConfig {
  std::string realm;  // "inside" (PBXs) or "outside" (carriers)
  ListenProtocol protocol = ListenProtocol::Udp;
  std::string address;  // IPv4 or IPv6 literal to bind
  uint16_t port = 5060;
  // The address put in Via/Contact/SDP o= for this listener; empty: the bind
  // address (required when that is a wildcard such as 0.0.0.0).
  std::string advertise;
  // TLS only.
  std::string certificate;  // PEM chain, leaf first
  std::string private_key;
  std::string ca;  // CA bundle for client verification
  bool verify_client = false;

  const std::string& advertisedHost() const { return advertise.empty() ? address : advertise; }
};

struct DatabaseConfig {
  std::string dsn;  // libpq connection string; required
  // 64 hex digits (or base64 of 32 bytes) that decrypt trunk credentials;
  // empty: credentials stay unusable (a warning is logged at start).
  std::string secret_key_file;
  unsigned pool_threads = 2;
  bool migrate = false;  // apply the embedded migrations at start
};

// One media relay ([[relay]]); none configured: media is not anchored.
struct RelayConfig {
  std::string address;  // IP literal of the relay's control listener
  uint16_t port = 0;
};

// [media]: how calls use the relays.
struct MediaConfig {
  uint32_t timeout_seconds = 30;  // no RTP on a leg this long: the call ends; 0: off
  std::chrono::milliseconds request_timeout{700};  // per attempt, 3 attempts
  std::chrono::milliseconds ping_interval{2000};
  std::chrono::seconds relay_grace{5};  // relay unreachable this long: its calls end
};

// [trace]: SIP tracing (sbc/trace). Which calls are traced is per trunk
// (trunks.sip_trace) or per call (mgmt POST /api/calls/{call_id}/trace).
struct TraceConfig {
  uint32_t retention_hours = 168;  // sip_traces older than this are purged hourly; 0: never
  std::string hep_address;         // "ip:port": also export HEPv3 over UDP; empty: off
  uint32_t hep_id = 0;             // HEP capture agent id
};

// [dns]: gateways given by host name. `hosts` answers names before DNS (like
// /etc/hosts, for this node only): hosts = { "sip.carrier.test" = "192.0.2.7" }
// or a list of addresses per name.
struct DnsConfig {
  std::unordered_map<std::string, std::vector<std::string>> hosts;
};

struct Config {
  std::string node_name = "sbc";
  std::string log_level = "info";
  // Replaces User-Agent/Server on both legs; empty removes them.
  std::string product = "edge-sbc";
  // On SIGTERM: how long BYE/CANCEL of the calls in progress get to leave.
  std::chrono::seconds shutdown_grace{5};
  // [node] sip_scheduling / sip_priority: the SIP thread's policy (only that
  // thread: never mgmt, database, CDR or trace threads). Off by default: a
  // real-time thread outranks every normal process on its core, which is the
  // host operator's decision (docs/OPERATIONS.md, "SIP thread scheduling").
  common::SchedPolicy sip_scheduling = common::SchedPolicy::kOther;
  int sip_priority = 5;  // 1..99; below the media relay's workers (10)
  // Host names (besides the listen addresses) under which the SBC answers as
  // itself, e.g. to OPTIONS pings.
  std::vector<std::string> domains;
  size_t max_message_size = 65535;
  std::chrono::seconds idle_timeout{300};
  // [sip] presize_cps: the call rate the SIP thread's transaction, call and
  // timer tables are allocated for at start (both linger 64*T1 = 32 s after a
  // call), so that they never rehash below it: a rehash of 100k+ entries
  // holds the thread for tens of ms. 0: grow on demand.
  uint32_t presize_cps = 1000;
  std::vector<ListenConfig> listen;

  DatabaseConfig database;
  std::string cdr_spool_dir = "var/spool/cdr";  // absolute after parsing with a base dir

  std::string mgmt_address = "127.0.0.1";
  uint16_t mgmt_port = 8080;  // 0: ephemeral (the bound port is logged)

  std::vector<RelayConfig> relays;
  MediaConfig media;
  TraceConfig trace;
  DnsConfig dns;
  cluster::ClusterOptions cluster;  // [cluster]: channel leases shared with other nodes
};

// Parses a TOML document; throws std::runtime_error naming the bad key.
// `base_dir`: what relative paths are relative to (empty: left as written).
Config parseConfig(const std::string& toml_text, const std::string& origin = "config",
                   const std::string& base_dir = {});
// Reads and parses a file; relative paths become relative to its directory.
Config loadConfig(const std::string& path);

const char* toString(ListenProtocol p);

}  // namespace sbc::app

#pragma once
// Every metric of the sbc process, declared once in one table (sbc_metrics.cc),
// and the two samplers that keep them current:
//  - SipSampler runs on the SIP thread: every second it copies what lives
//    there (engine, policy, limits, gateway health, registrations, transport)
//    into the families, counters by Increment(delta), gauges by Set(); and it
//    is told about each call record as the call ends (totals, setup times).
//  - BackgroundSampler runs on the mgmt thread: configuration service, CDR
//    writer.
// Series are resolved once per label value and kept (Family::with takes the
// family's lock, which a scrape also takes): after warm-up the SIP thread only
// touches prometheus-cpp's atomics.
#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "common/metrics/registry.h"
#include "sbc/b2bua/call_record.h"
#include "sbc/b2bua/engine.h"
#include "sbc/b2bua/gateway_health.h"
#include "sbc/b2bua/outbound_registrar.h"
#include "sbc/b2bua/policy_default.h"
#include "sbc/config/snapshot.h"
#include "sbc/media/record_join.h"
#include "sbc/media/relay_anchor.h"
#include "sbc/media/relay_client.h"
#include "sbc/transport/transport.h"

namespace sbc::app {

struct SbcMetrics {
  metrics::CounterFamily sip_messages;   // {direction, method}
  metrics::CounterFamily sip_responses;  // {direction, class}
  metrics::GaugeFamily transactions_active;
  metrics::GaugeFamily calls_active;              // {trunk, direction}
  metrics::CounterFamily calls_total;             // {trunk, outbound_trunk, direction, result}
  metrics::HistogramFamily call_setup;            // {stage}
  metrics::CounterFamily rejections;              // {trunk, reason}
  metrics::CounterFamily dropped;                 // {cause}
  metrics::GaugeFamily channels_in_use;           // {trunk}
  metrics::GaugeFamily channel_limit;             // {trunk}
  metrics::GaugeFamily gateway_up;                // {trunk, gateway}
  metrics::GaugeFamily gateway_rtt;               // {trunk, gateway}
  metrics::GaugeFamily registrations;             // {trunk}
  metrics::GaugeFamily outbound_registration_up;  // {trunk}
  metrics::CounterFamily tls_handshake_failures;
  metrics::CounterFamily tls_handshakes;       // {direction, result}
  metrics::CounterFamily tls_client_failures;  // {reason}: outbound handshakes (tls_clients.h)
  metrics::GaugeFamily tls_profiles_broken;    // trunk TLS profiles whose files do not load
  metrics::CounterFamily tls_profile_errors;   // failed loads of trunk TLS profiles
  metrics::CounterFamily tls_certificate_reload_failures;  // SIGHUP: listener files refused
  metrics::GaugeFamily connections_open;
  metrics::CounterFamily transport_messages;     // {protocol, direction}
  metrics::CounterFamily transport_bytes;        // {protocol, direction}
  metrics::CounterFamily transport_connections;  // {kind}
  metrics::CounterFamily transport_errors;       // {kind}
  metrics::CounterFamily b2bua_events;           // {event}
  metrics::CounterFamily identifications;        // {method}
  metrics::CounterFamily auth;                   // {result}
  metrics::GaugeFamily cdr_queue_depth;
  metrics::GaugeFamily cdr_spool_records;
  metrics::CounterFamily cdr_dropped;
  metrics::GaugeFamily config_generation;
  metrics::CounterFamily config_reloads;
  metrics::CounterFamily config_reload_failures;
  metrics::GaugeFamily config_age;
  metrics::GaugeFamily config_loaded_at;
  metrics::GaugeFamily draining;
  metrics::GaugeFamily node_heartbeat;
  metrics::GaugeFamily sip_thread_priority;  // {policy}: set once at start (main.cc)
  // Media anchoring (only when relays are configured).
  metrics::GaugeFamily relay_configured;            // {relay}
  metrics::GaugeFamily relay_healthy;               // {relay}
  metrics::CounterFamily relay_requests;            // {verb, result}
  metrics::HistogramFamily relay_request_duration;  // {verb}
  metrics::CounterFamily media_timeouts;
  metrics::CounterFamily relay_lost_calls;
  metrics::GaugeFamily anchored_calls;
  metrics::CounterFamily cdr_media;  // {outcome}: joined, timeout, failed

  explicit SbcMetrics(metrics::Registry& registry);
};

// How a finished call counts in sbc_calls_total{result}: "answered",
// "cancelled" (the caller gave up), "rejected" (refused by the SBC itself:
// limits, no route) or "failed" (every other unanswered end).
std::string_view callResult(const b2bua::CallRecord& record);

// One log line per finished call (info), key=value (docs/OPERATIONS.md, "Logs"):
//   event=call_end call_id=... b_call_id=... trunk=... outbound_trunk=...
//   direction=... result=... code=... reason=... ended_by=... caller=...
//   callee=... duration_ms=... setup_ms=... failovers=...
void logCallRecord(const b2bua::CallRecord& record);
std::string callRecordLogLine(const b2bua::CallRecord& record);

// What the SIP thread hands the sampler each second.
struct SipSample {
  const b2bua::EngineStats* engine = nullptr;
  std::size_t transactions = 0;
  const b2bua::PolicyStats* policy = nullptr;
  std::vector<b2bua::ChannelLimits::Usage> usage;
  std::vector<b2bua::GatewayStatus> gateways;
  std::vector<b2bua::OutboundStatus> outbound;
  // Live registered contacts per trunk id.
  std::vector<std::pair<cfg::TrunkId, std::size_t>> registered;
  const transport::Stats* transport = nullptr;
  const cfg::Snapshot* snapshot = nullptr;  // trunk names and limits
  // Media anchoring; all empty/null when no relay is configured.
  std::vector<media::RelayStatus> relays;
  const media::AnchorStats* anchor = nullptr;
  std::size_t anchored_calls = 0;  // relay sessions the anchor holds
  const media::RecordJoinStats* cdr_media = nullptr;
  bool draining = false;  // POST /api/drain: new calls refused
};

class SipSampler {
 public:
  explicit SipSampler(SbcMetrics& m);
  void sample(const SipSample& s);
  void onCallRecord(const b2bua::CallRecord& record);
  // Every settled relay control request (RelayClient::onRequestDone).
  void onRelayRequest(std::string_view verb, std::string_view result, double seconds);

 private:
  prometheus::Counter& counter(const metrics::CounterFamily& f,
                               std::initializer_list<std::string_view> labels);
  prometheus::Gauge& gauge(const metrics::GaugeFamily& f,
                           std::initializer_list<std::string_view> labels);
  void add(prometheus::Counter& c, std::uint64_t now, std::uint64_t& last);
  std::string trunkName(const cfg::Snapshot* snap, cfg::TrunkId id) const;

  SbcMetrics& m_;
  // Series by family and label values (a joined key), resolved once.
  std::map<std::string, prometheus::Counter*, std::less<>> counters_;
  std::map<std::string, prometheus::Gauge*, std::less<>> gauges_;
  // Last values copied, by the same key.
  std::map<std::string, std::uint64_t, std::less<>> last_;
  // Gauges set last time: those not set this time go to 0 (a trunk that has
  // gone keeps its series, showing nothing in use).
  std::vector<prometheus::Gauge*> set_last_;
  prometheus::Histogram* ringing_ = nullptr;
  prometheus::Histogram* answer_ = nullptr;
  std::map<std::string, prometheus::Histogram*, std::less<>> relay_latency_;  // by verb
  std::map<cfg::TrunkId, std::string> trunk_names_;  // names of trunks seen, for gone ones
  // sbc_calls_total series by label values, direct-mapped: a call's record
  // finds its counter without building the joined key (onCallRecord runs
  // once per call; a collision only costs the map lookup above).
  struct CallSeries {
    std::string in, out;
    b2bua::Direction direction = b2bua::Direction::Inbound;
    std::string_view result;  // one of callResult()'s literals
    prometheus::Counter* counter = nullptr;
  };
  std::array<CallSeries, 64> call_series_{};
};

struct BackgroundSample {
  std::uint64_t config_generation = 0;
  std::uint64_t config_loads = 0;
  std::uint64_t config_failures = 0;
  std::chrono::system_clock::time_point config_loaded_at{};
  std::size_t cdr_queue_depth = 0;
  std::size_t cdr_spool_records = 0;
  std::uint64_t cdr_dropped = 0;
  // When this node's sbc_nodes heartbeat last committed; the epoch (unset)
  // keeps sbc_node_heartbeat_timestamp_seconds out of the scrape, so that an
  // alert on its age never fires on a node that does not report it.
  std::chrono::system_clock::time_point node_heartbeat_at{};
  // Trunk TLS client profiles (TlsClientContexts::stats()).
  std::size_t tls_profiles_broken = 0;
  std::uint64_t tls_profile_errors = 0;
  // SIGHUP reloads of the TLS listener certificates that failed (main.cc).
  std::uint64_t tls_certificate_reload_failures = 0;
};

class BackgroundSampler {
 public:
  explicit BackgroundSampler(SbcMetrics& m) : m_(m) {}
  void sample(const BackgroundSample& s, std::chrono::system_clock::time_point now);

 private:
  SbcMetrics& m_;
  std::uint64_t loads_ = 0, failures_ = 0, cdr_dropped_ = 0, tls_profile_errors_ = 0;
  std::uint64_t tls_certificate_reload_failures_ = 0;
};

}  // namespace sbc::app

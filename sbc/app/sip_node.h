#pragma once
// One SIP worker: transport, timers, the B2BUA engine with its policy, gateway
// health and outbound registrations, all on one io_context (the SIP thread).
// Every member function must be called on that thread, except where noted;
// other threads reach it by posting (boost::asio::post) to its io_context.
// Asio stays in sip_node.cc; this header is cheap to include.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sbc/app/config.h"
#include "sbc/app/tls_clients.h"
#include "sbc/b2bua/call_record.h"
#include "sbc/b2bua/engine.h"
#include "sbc/b2bua/gateway_health.h"
#include "sbc/b2bua/limits.h"
#include "sbc/b2bua/outbound_registrar.h"
#include "sbc/b2bua/policy.h"
#include "sbc/b2bua/registrar.h"
#include "sbc/config/snapshot.h"
#include "sbc/media/relay_client.h"
#include "sbc/transport/transport.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace sbc::app {

struct SbcMetrics;

// A binding read back from the registrations table at start-up.
struct StoredBinding {
  cfg::TrunkId trunk = 0;
  std::string aor;
  std::string contact;
  std::string source_address;
  std::uint16_t source_port = 0;
  txn::Protocol protocol = txn::Protocol::Udp;
  std::string realm;  // of the trunk: picks the listener calls leave from
  std::chrono::seconds expires_in{0};
  std::string user_agent;
};

// One trunk for the management API (/api/trunks/usage).
struct TrunkUsage {
  cfg::TrunkId id = 0;
  std::string name;
  cfg::TrunkKind kind = cfg::TrunkKind::Pbx;
  bool enabled = true;
  std::uint32_t inbound = 0, outbound = 0;
  cfg::Limits limits;
  std::map<std::string, std::uint64_t> rejections;  // by cause: limit, rate, route
  std::vector<b2bua::GatewayStatus> gateways;
  std::optional<b2bua::OutboundStatus> registration;  // the SBC's own, to a carrier
  std::size_t registered_contacts = 0;                // a PBX's, to us
  // Cluster mode: channels this node holds of the trunk's limits.
  std::optional<b2bua::SharedChannelLimits::Lease> leased;
};

struct SipNodeOptions {
  b2bua::ChannelLimits* limits = nullptr;  // shared by every SIP thread; required
  SbcMetrics* metrics = nullptr;           // optional
  // Called on the SIP thread with every finished call; must not block.
  b2bua::CallRecordSink on_call_record;
  b2bua::RegistrationSink* registrations = nullptr;  // optional
  // Cluster mode: where /api/trunks/usage reads leased channels; else null.
  const b2bua::SharedChannelLimits* leases = nullptr;
  b2bua::MessageTap* trace_tap = nullptr;  // SIP tracing; optional
};

// Reads the TLS listeners' certificate, key and CA files of `config` and
// builds their contexts (SIGHUP, on the mgmt thread); nullptr and *error,
// naming the file, on failure. For SipNode::swapCertificates().
transport::TlsCertificatesPtr loadListenerCertificates(const Config& config, std::string* error);

class SipNode {
 public:
  SipNode(boost::asio::io_context& io, const Config& config, SipNodeOptions options);
  ~SipNode();
  SipNode(const SipNode&) = delete;
  SipNode& operator=(const SipNode&) = delete;

  // Binds the listeners and builds the engine on an empty snapshot (every
  // request dropped until setSnapshot()). Throws std::runtime_error.
  void start();
  // New configuration: engine (new calls), gateway health, outbound registrar.
  void setSnapshot(cfg::SnapshotPtr snapshot);
  // Trunk TLS client contexts built off this thread (TlsClientContexts):
  // registered with the transport, no file read here. Post it with (before)
  // the snapshot that needs it; an older set than the current is ignored.
  void setTlsClients(const TlsClientSetPtr& set);
  bool hasSnapshot() const;
  std::uint64_t snapshotGeneration() const;
  // Bindings from the database; those already re-registered are skipped.
  std::size_t restoreRegistrations(const std::vector<StoredBinding>& bindings);

  // BYE/CANCEL every call, unregister from carriers. The io_context must
  // keep running for the messages to leave.
  void shutdown();
  // Heuristic for the shutdown grace: every call the shutdown ended has seen
  // the final responses to its BYEs/CANCELs.
  bool shutdownSettled() const;
  void stop();  // closes the transport
  // Drain (mgmt POST /api/drain): new INVITEs get 503 + Retry-After, calls in
  // progress go on. Kept across engine rebuilds.
  void setDraining(bool draining);
  bool draining() const;
  // TLS listener certificates built off this thread by
  // loadListenerCertificates(): swapped in, no file read here.
  transport::ReloadResult swapCertificates(const transport::TlsCertificatesPtr& certificates);

  std::vector<b2bua::CallInfo> activeCalls() const;
  // The configured media relays (empty: media not anchored).
  std::vector<media::RelayStatus> relayStatus() const;
  std::size_t callCount() const;        // including calls lingering after their end
  std::size_t activeCallCount() const;  // calls not yet ended
  std::vector<TrunkUsage> trunkUsage() const;
  // Copies the SIP thread's figures into the metrics (every second).
  void sampleMetrics();
  // "txns=N calls=N timers=N": the tables that grow with the call rate, for
  // the SBC_UDP_TIMING slow-handler lines.
  std::string tableSizes() const;

  const transport::Stats& transportStats() const;
  // The bound endpoint of listener i ("127.0.0.1:5060").
  std::string boundEndpoint(std::size_t listener) const;
  b2bua::Engine* engine();
  // GET /api/route: the snapshot new calls use, what the policy's own routing
  // makes of a (synthetic) INVITE from `from` with it (nothing is sent), and
  // whether gateway health has a gateway down.
  const cfg::Snapshot& snapshot() const;
  b2bua::RoutingDecision routeProbe(const sip::Message& invite, const cfg::Trunk& from);
  bool gatewayDown(std::int64_t gateway_id) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sbc::app

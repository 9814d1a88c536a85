#include "sbc/app/sip_node.h"

#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <optional>
#include <unordered_map>

#include "sbc/app/sbc_metrics.h"
#include "sbc/b2bua/policy_default.h"
#include "sbc/config/tls_profiles.h"
#include "sbc/media/record_join.h"
#include "sbc/media/relay_anchor.h"
#include "sbc/sip/message.h"
#include "sbc/transport/work_timing.h"
#include "sbc/txn/asio_timer_service.h"

namespace sbc::app {
namespace {

// How long an anchored call's CDR waits for the relay's final media stats
// (the destroy reply normally takes milliseconds).
constexpr std::chrono::milliseconds kMediaStatsDeadline{2000};

txn::Protocol toTxn(transport::Protocol p) {
  switch (p) {
    case transport::Protocol::kUdp:
      return txn::Protocol::Udp;
    case transport::Protocol::kTcp:
      return txn::Protocol::Tcp;
    case transport::Protocol::kTls:
      return txn::Protocol::Tls;
  }
  return txn::Protocol::Udp;
}

txn::Protocol toTxn(ListenProtocol p) {
  switch (p) {
    case ListenProtocol::Udp:
      return txn::Protocol::Udp;
    case ListenProtocol::Tcp:
      return txn::Protocol::Tcp;
    case ListenProtocol::Tls:
      return txn::Protocol::Tls;
  }
  return txn::Protocol::Udp;
}

transport::Protocol toTransport(txn::Protocol p) {
  switch (p) {
    case txn::Protocol::Udp:
      return transport::Protocol::kUdp;
    case txn::Protocol::Tcp:
      return transport::Protocol::kTcp;
    case txn::Protocol::Tls:
      return transport::Protocol::kTls;
  }
  return transport::Protocol::kUdp;
}

transport::Protocol toTransport(ListenProtocol p) {
  return toTransport(toTxn(p));
}

transport::Config transportConfig(const Config& c) {
  transport::Config t;
  for (const auto& l : c.listen) {
    transport::ListenerConfig lc;
    lc.realm = l.realm;
    lc.protocol = toTransport(l.protocol);
    lc.bind_address = l.address;
    lc.port = l.port;
    lc.tls.certificate_chain_file = l.certificate;
    lc.tls.private_key_file = l.private_key;
    lc.tls.ca_file = l.ca;
    lc.tls.verify_client = l.verify_client;
    t.listeners.push_back(std::move(lc));
  }
  t.limits.max_message_size = c.max_message_size;
  t.limits.idle_timeout = c.idle_timeout;
  return t;
}

b2bua::PolicyOptions policyOptions(const Config& c) {
  b2bua::PolicyOptions p;
  p.node_name = c.node_name;
  for (const auto& l : c.listen) p.listener_realms.push_back(l.realm);
  return p;
}

cfg::SnapshotPtr emptySnapshot() {
  auto s = std::make_shared<cfg::Snapshot>();
  s->index();
  return s;
}

std::uint64_t finalsIn(const b2bua::EngineStats& s) {
  std::uint64_t n = 0;
  for (std::size_t cls = 2; cls <= 6; ++cls) n += s.responses_in[cls];
  return n;
}

}  // namespace

// Bridges the transaction layer's sender interface to the transport.
class TransportSender final : public txn::MessageSender {
 public:
  void bind(transport::Transport& t) { transport_ = &t; }

  bool send(const sip::Message&, std::string_view wire, const txn::Destination& to,
            txn::TxnId owner) override {
    auto address = transport::IpAddress::parse(to.address);
    if (!address || !transport_) return false;
    transport::SendTarget target;
    target.protocol = toTransport(to.protocol);
    target.remote = transport::Endpoint{*address, to.port};
    target.connection = to.connection;
    target.listener = to.listener;
    target.owner = owner.value;
    if (to.protocol == txn::Protocol::Tls && to.tls_profile != 0) {
      const auto it = tls_profiles_.find(to.tls_profile);
      // Broken or not built yet: the caller sees a transport error and fails
      // over; TlsClientContexts has logged why.
      if (it == tls_profiles_.end()) return false;
      target.tls_profile = it->second.index;
    }
    transport_->sendBytes(target, wire);
    return true;
  }

  // Registers the contexts of `set` (built off this thread) with the
  // transport; a profile keeps its transport index across sets, so its
  // connections stay reusable.
  void setTlsClients(const TlsClientSet& set) {
    if (!transport_ || set.version <= tls_version_) return;
    tls_version_ = set.version;
    for (const auto& [id, context] : set.ready) {
      auto it = tls_profiles_.find(id);
      if (it == tls_profiles_.end()) {
        const std::size_t index = transport_->addTlsClient(context);
        tls_profiles_.emplace(id, TlsSlot{index, context});
        if (tls_ids_.size() <= index) tls_ids_.resize(index + 1, 0);
        tls_ids_[index] = id;
      } else if (it->second.context != context) {
        transport_->replaceTlsClient(it->second.index, context);
        it->second.context = context;
      }
    }
  }

  // The TlsProfileRegistry id behind a transport profile index (0: none).
  std::uint32_t tlsProfileId(std::size_t index) const {
    return index < tls_ids_.size() ? tls_ids_[index] : 0;
  }

 private:
  struct TlsSlot {
    std::size_t index = 0;
    transport::TlsClientContextPtr context;
  };

  transport::Transport* transport_ = nullptr;
  std::unordered_map<std::uint32_t, TlsSlot> tls_profiles_;
  std::vector<std::uint32_t> tls_ids_;  // by transport profile index
  std::uint64_t tls_version_ = 0;
};

// SBC_UDP_TIMING: labels the handlers that run timers ("timers") for
// transport::WorkTiming. Each callback is wrapped (one allocation per timer),
// so it stands in front of the real service only while the diagnostic is on.
class MarkedTimers final : public txn::TimerService {
 public:
  explicit MarkedTimers(txn::TimerService& inner) : inner_(inner) {}
  txn::TimerHandle schedule(txn::Duration delay, Callback callback) override {
    return inner_.schedule(delay, [callback = std::move(callback)] {
      transport::WorkTiming::mark("timers");
      callback();
    });
  }
  void cancel(txn::TimerHandle handle) override { inner_.cancel(handle); }
  txn::TimePoint now() const override { return inner_.now(); }

 private:
  txn::TimerService& inner_;
};

// A RegistrationSink that may be absent: the policy wants a pointer for life.
class ForwardingSink final : public b2bua::RegistrationSink {
 public:
  explicit ForwardingSink(b2bua::RegistrationSink* next) : next_(next) {}
  void onBindingEvent(const b2bua::BindingEvent& e) override {
    if (next_) next_->onBindingEvent(e);
  }

 private:
  b2bua::RegistrationSink* next_;
};

struct SipNode::Impl {
  Impl(boost::asio::io_context& io_, const Config& config_, SipNodeOptions options_)
      : io(io_),
        config(config_),
        options(std::move(options_)),
        asio_timers(io_),
        marked_timers(transport::WorkTiming::enabled() ? std::make_unique<MarkedTimers>(asio_timers)
                                                       : nullptr),
        timers(marked_timers ? static_cast<txn::TimerService&>(*marked_timers) : asio_timers),
        reg_sink(options.registrations),
        policy(timers, policyOptions(config_), nullptr, &reg_sink),
        transport(
            io_, transportConfig(config_),
            transport::Callbacks{[this](transport::InboundMessage&& m) { onMessage(std::move(m)); },
                                 [this](const transport::TransportError& e) { onError(e); },
                                 {}}),
        metrics_timer(io_) {
    sender.bind(transport);
    if (options.metrics) sampler.emplace(*options.metrics);
  }

  b2bua::EngineConfig engineConfig() const {
    b2bua::EngineConfig ec;
    ec.shard = 0;
    ec.product = config.product;
    ec.local_hosts = config.domains;
    for (std::size_t i = 0; i < config.listen.size(); ++i) {
      const ListenConfig& l = config.listen[i];
      b2bua::ListenerInfo li;
      li.realm = l.realm;
      li.protocol = toTxn(l.protocol);
      li.index = static_cast<std::uint32_t>(i);
      li.host = l.advertisedHost();
      li.port = transport.localEndpoint(i).port;
      ec.listeners.push_back(std::move(li));
      if (std::find(ec.local_hosts.begin(), ec.local_hosts.end(), l.address) ==
          ec.local_hosts.end())
        ec.local_hosts.push_back(l.address);
    }
    // PBXs behind NAT often send from a port other than their Via says and
    // forget rport: answer where the request came from (RFC 3581 behaviour).
    ec.layer.symmetric_responses = true;
    return ec;
  }

  // Media anchoring only when relays are configured; without, the engine
  // rewrites o= only and media flows end to end.
  void buildAnchor() {
    if (config.relays.empty()) return;
    media::RelayClientOptions ro;
    for (const RelayConfig& r : config.relays) ro.relays.push_back({r.address, r.port});
    ro.request_timeout = config.media.request_timeout;
    ro.ping_interval = config.media.ping_interval;
    ro.grace = config.media.relay_grace;
    relay_client = std::make_unique<media::RelayClient>(io, std::move(ro));
    media::RelayAnchorOptions ao;
    ao.media_timeout_seconds = config.media.timeout_seconds;
    ao.session_prefix = media::sessionPrefix(config.node_name);
    anchor = std::make_unique<media::RelayAnchor>(*relay_client, std::move(ao));
    anchor->setEndCall([this](b2bua::CallHandle h, b2bua::EndReason why) {
      if (engine) engine->endCall(h, why);
    });
    record_join = std::make_unique<media::RecordJoin>(
        io, *anchor, kMediaStatsDeadline,
        [this](b2bua::CallRecord&& r) { deliverCallRecord(std::move(r)); });
    if (sampler) {
      relay_client->onRequestDone([this](std::size_t, std::string_view verb,
                                         std::string_view result,
                                         std::chrono::steady_clock::duration latency) {
        if (sampler)
          sampler->onRelayRequest(verb, result, std::chrono::duration<double>(latency).count());
      });
    }
    relay_client->start();
  }

  void start() {
    transport.start();
    buildAnchor();
    b2bua::EngineConfig ec = engineConfig();
    // The relay client gives up after its attempts; the engine's guard is
    // the backstop above that.
    ec.anchor_timeout = std::max(ec.anchor_timeout, config.media.request_timeout * 4);
    engine = std::make_unique<b2bua::Engine>(
        timers, sender, policy, *options.limits, std::move(ec), snapshot,
        [this](b2bua::CallRecord&& r) { onCallRecord(std::move(r)); }, anchor.get());
    engine->setAcceptingCalls(!draining);
    presize();
    engine->setMessageTap(options.trace_tap);
    b2bua::HealthOptions ho;
    ho.dns.hosts = config.dns.hosts;
    health = std::make_unique<b2bua::GatewayHealth>(*engine, timers, std::move(ho));
    policy.setHealth(health.get());
    outbound = std::make_unique<b2bua::OutboundRegistrar>(*engine, timers, health.get());
    if (sampler) scheduleSample();
  }

  // Tables sized for [sip] presize_cps, so that a busy step never rehashes
  // them (tests/bench/sip_load: 11 ms at 36k entries, 40 ms at 150k). Per
  // call: the call itself until T4 after its end (its BYEs answered), and up
  // to four transactions for 64*T1 after it (INVITE and BYE, server and
  // client; the BYE client's only T4).
  void presize() {
    const auto& tc = engine->layer().timerConfig();
    const auto seconds = [](txn::Duration d) {
      return static_cast<std::size_t>(std::chrono::duration_cast<std::chrono::seconds>(d).count());
    };
    engine->reserveCalls(std::size_t{config.presize_cps} * (seconds(tc.t4) + 1));
    const std::size_t calls = std::size_t{config.presize_cps} * (seconds(tc.timeout64()) + 1);
    engine->layer().reserve(3 * calls + std::size_t{config.presize_cps} * 5);
    // Live timers measured at 5,000 calls/s: ~20 per call/s (transactions'
    // and lingering calls'); the queue's vectors had doubled to 5-11 MB
    // copies on the SIP thread.
    asio_timers.reserve(std::size_t{config.presize_cps} * 24);
  }

  void scheduleSample() {
    metrics_timer.expires_after(std::chrono::seconds(1));
    metrics_timer.async_wait([this](const boost::system::error_code& ec) {
      if (ec || stopped) return;
      sample();
      scheduleSample();
    });
  }

  // Anchored calls' records wait for the relay's final media stats.
  void onCallRecord(b2bua::CallRecord&& r) {
    // Counted at the end itself: shutdownSettled() must not wait on the relay.
    if (shutting_down) ++ended_by_shutdown;
    if (record_join)
      record_join->onRecord(std::move(r));
    else
      deliverCallRecord(std::move(r));
  }

  void deliverCallRecord(b2bua::CallRecord&& r) {
    if (r.ended_reason == "no-route" && r.inbound_trunk_id != 0)
      ++route_rejections[r.inbound_trunk_id];
    if (sampler) sampler->onCallRecord(r);
    logCallRecord(r);
    if (options.on_call_record) options.on_call_record(std::move(r));
  }

  void onMessage(transport::InboundMessage&& in) {
    if (!engine) return;
    txn::Peer source;
    source.protocol = toTxn(in.protocol);
    source.address = in.remote.address.toString();
    source.port = in.remote.port;
    source.connection = in.connection;
    source.listener = static_cast<uint32_t>(in.listener);
    sip::ParseResult parsed = in.protocol == transport::Protocol::kUdp
                                  ? sip::parseDatagram(std::move(in.bytes))
                                  : sip::parseMessage(std::move(in.bytes));
    if (parsed.discard()) {
      ++discarded;
      spdlog::debug("discarded a message from {}: {}", in.remote.toString(),
                    sip::toString(parsed.error));
      return;
    }
    engine->onReceived(std::move(*parsed.message), source);
  }

  void onError(const transport::TransportError& e) {
    if (e.owner != 0 && engine) engine->onTransportError(txn::TxnId{e.owner});
    if (e.kind == transport::ErrorKind::kFramingError) {
      spdlog::info("framing error from {}: {}", e.remote.toString(),
                   transport::toString(e.framing));
      answerFramingError(e);
    } else if (e.tls_failure != transport::TlsFailure::kNone) {
      logTlsFailure(e);
    } else {
      spdlog::debug("transport error {} with {}: {}", transport::toString(e.kind),
                    e.remote.toString(), e.detail);
    }
  }

  // Outbound TLS handshake failures are worth a warning (a carrier's
  // certificate expired, ours refused), but once per destination and
  // kTlsWarnInterval: every queued message reports the same failure.
  void logTlsFailure(const transport::TransportError& e) {
    std::string where = e.remote.toString();
    if (!tls_warnings.allow(where, std::chrono::steady_clock::now())) return;
    const std::uint32_t id = sender.tlsProfileId(e.tls_profile);
    auto profile = cfg::TlsProfileRegistry::instance().get(id);
    spdlog::warn(
        "TLS handshake with {} failed ({}): {}; profile {} (server name '{}', client certificate "
        "'{}')",
        where, transport::toString(e.tls_failure), e.detail, id,
        profile ? profile->server_name : std::string(),
        profile ? profile->certificate_file : std::string());
  }

  // A stream message that cannot be framed (bad or missing Content-Length)
  // still gets a 400 when its head is readable; the connection then closes.
  void answerFramingError(const transport::TransportError& e) {
    if (e.head.empty()) return;
    sip::ParseResult parsed = sip::parseDatagram(std::string(e.head));
    if (parsed.discard() || !parsed.message->isRequest() ||
        parsed.message->method() == sip::Method::Ack)
      return;
    sip::Message response = sip::makeResponse(*parsed.message, 400, "Bad Content-Length");
    transport::SendTarget target;
    target.protocol = e.protocol;
    target.remote = e.remote;
    target.connection = e.connection;
    transport.send(target, response.serialize());
  }

  // The listener a restored binding's calls leave from: the trunk's realm
  // and the binding's transport.
  std::optional<std::uint32_t> listenerFor(std::string_view realm, txn::Protocol p) const {
    for (std::size_t i = 0; i < config.listen.size(); ++i) {
      if (config.listen[i].realm == realm && toTxn(config.listen[i].protocol) == p)
        return static_cast<std::uint32_t>(i);
    }
    return std::nullopt;
  }

  std::vector<std::pair<cfg::TrunkId, std::size_t>> registeredPerTrunk() const {
    std::vector<std::pair<cfg::TrunkId, std::size_t>> out;
    for (const cfg::Trunk& t : snapshot->trunks) {
      if (t.auth == cfg::AuthMode::Register)
        out.emplace_back(t.id, policy.registrar().contactsOf(t.id).size());
    }
    return out;
  }

  void sample() {
    if (!sampler || !engine) return;
    transport::WorkTiming::mark("metrics");
    SipSample s;
    s.engine = &engine->stats();
    s.transactions = engine->layer().size();
    s.policy = &policy.stats();
    s.usage = options.limits->usage();
    s.gateways = health->status();
    s.outbound = outbound->status();
    s.registered = registeredPerTrunk();
    s.transport = &transport.stats();
    s.snapshot = snapshot.get();
    if (relay_client) {
      for (std::size_t i = 0; i < relay_client->relayCount(); ++i)
        s.relays.push_back(relay_client->status(i));
    }
    if (anchor) {
      s.anchor = &anchor->stats();
      s.anchored_calls = anchor->sessionCount();
    }
    if (record_join) s.cdr_media = &record_join->stats();
    s.draining = draining;
    sampler->sample(s);
  }

  boost::asio::io_context& io;
  Config config;
  SipNodeOptions options;
  txn::AsioTimerService asio_timers;
  std::unique_ptr<MarkedTimers> marked_timers;  // SBC_UDP_TIMING only
  txn::TimerService& timers;
  TransportSender sender;
  ForwardingSink reg_sink;
  b2bua::DefaultPolicy policy;
  transport::Transport transport;
  cfg::SnapshotPtr snapshot = emptySnapshot();
  bool has_snapshot = false;
  std::optional<SipSampler> sampler;
  boost::asio::steady_timer metrics_timer;
  std::unordered_map<cfg::TrunkId, std::uint64_t> route_rejections;
  // The engine references the anchor, the anchor the client.
  std::unique_ptr<media::RelayClient> relay_client;
  std::unique_ptr<media::RelayAnchor> anchor;
  std::unique_ptr<media::RecordJoin> record_join;  // references the anchor
  // Declared last: destroyed first (they reference everything above).
  std::unique_ptr<b2bua::Engine> engine;
  std::unique_ptr<b2bua::GatewayHealth> health;
  std::unique_ptr<b2bua::OutboundRegistrar> outbound;
  uint64_t discarded = 0;
  static constexpr std::chrono::seconds kTlsWarnInterval{10};
  PerKeyRateLimit tls_warnings{kTlsWarnInterval};
  bool shutting_down = false;
  bool stopped = false;
  bool draining = false;
  std::size_t ended_by_shutdown = 0;
  std::uint64_t finals_at_shutdown = 0;
};

SipNode::SipNode(boost::asio::io_context& io, const Config& config, SipNodeOptions options)
    : impl_(std::make_unique<Impl>(io, config, std::move(options))) {}

SipNode::~SipNode() {
  // Timers of the health checker and registrar reference the engine: they go
  // first, then the engine, while the policy and transport still exist.
  impl_->outbound.reset();
  impl_->health.reset();
  impl_->policy.setHealth(nullptr);
  impl_->engine.reset();
}

void SipNode::start() {
  impl_->start();
}

void SipNode::setSnapshot(cfg::SnapshotPtr snapshot) {
  if (!snapshot) return;
  transport::WorkTiming::mark("snapshot");
  impl_->has_snapshot = true;
  if (impl_->engine) {
    impl_->engine->setSnapshot(snapshot);
    impl_->health->setSnapshot(*snapshot);
    impl_->outbound->setSnapshot(*snapshot);
  }
  // Kept after the others: gateway health and the registrar were handed a
  // reference and the sampler reads trunk names from it.
  impl_->snapshot = std::move(snapshot);
}

void SipNode::setTlsClients(const TlsClientSetPtr& set) {
  if (set) impl_->sender.setTlsClients(*set);
}

bool SipNode::hasSnapshot() const {
  return impl_->has_snapshot;
}
std::uint64_t SipNode::snapshotGeneration() const {
  return impl_->snapshot->generation;
}

std::size_t SipNode::restoreRegistrations(const std::vector<StoredBinding>& bindings) {
  b2bua::Registrar& registrar = impl_->policy.registrar();
  const txn::TimePoint now = impl_->timers.now();
  std::size_t restored = 0;
  for (const StoredBinding& s : bindings) {
    if (s.expires_in.count() <= 0) continue;
    auto listener = impl_->listenerFor(s.realm, s.protocol);
    if (!listener) {
      spdlog::warn("registration {} of trunk {}: no {} listener in realm {}, not restored", s.aor,
                   s.trunk, txn::toString(s.protocol), s.realm);
      continue;
    }
    // A PBX that registered again since start-up is fresher than the table.
    const auto live = registrar.contactsOf(s.trunk);
    if (std::any_of(live.begin(), live.end(), [&](const b2bua::Binding* b) {
          return b->aor == s.aor && b->contact == s.contact;
        }))
      continue;
    b2bua::Binding b;
    b.trunk = s.trunk;
    b.aor = s.aor;
    b.contact = s.contact;
    b.source.protocol = s.protocol;
    b.source.address = s.source_address;
    b.source.port = s.source_port;
    b.source.listener = *listener;
    b.expires_at = now + s.expires_in;
    b.user_agent = s.user_agent;
    registrar.restore(std::move(b));
    ++restored;
  }
  return restored;
}

void SipNode::shutdown() {
  impl_->shutting_down = true;
  if (!impl_->engine) return;
  impl_->finals_at_shutdown = finalsIn(impl_->engine->stats());
  impl_->engine->shutdown();
  impl_->outbound->shutdown();
}

bool SipNode::shutdownSettled() const {
  if (!impl_->engine) return true;
  // Each call ended by the shutdown sends two requests that get a final
  // response: BYE on both legs, or CANCEL (200) and its INVITE (487).
  const std::uint64_t finals = finalsIn(impl_->engine->stats()) - impl_->finals_at_shutdown;
  return finals >= 2 * impl_->ended_by_shutdown;
}

void SipNode::stop() {
  impl_->stopped = true;
  // Pending destroys fail with "stopped": their records go out without stats.
  if (impl_->relay_client) impl_->relay_client->stop();
  if (impl_->record_join) impl_->record_join->flush();
  impl_->metrics_timer.cancel();
  impl_->transport.stop();
}

void SipNode::setDraining(bool draining) {
  impl_->draining = draining;
  if (impl_->engine) impl_->engine->setAcceptingCalls(!draining);
}

bool SipNode::draining() const {
  return impl_->draining;
}

transport::TlsCertificatesPtr loadListenerCertificates(const Config& config, std::string* error) {
  return transport::loadCertificates(transportConfig(config), error);
}

transport::ReloadResult SipNode::swapCertificates(
    const transport::TlsCertificatesPtr& certificates) {
  return impl_->transport.swapCertificates(certificates);
}

std::vector<b2bua::CallInfo> SipNode::activeCalls() const {
  if (!impl_->engine) return {};
  std::vector<b2bua::CallInfo> calls = impl_->engine->activeCalls();
  if (impl_->anchor) {
    for (b2bua::CallInfo& c : calls) c.relay = impl_->anchor->relayOf(c.handle);
  }
  return calls;
}

std::vector<media::RelayStatus> SipNode::relayStatus() const {
  std::vector<media::RelayStatus> out;
  if (!impl_->relay_client) return out;
  for (std::size_t i = 0; i < impl_->relay_client->relayCount(); ++i)
    out.push_back(impl_->relay_client->status(i));
  return out;
}

std::size_t SipNode::callCount() const {
  return impl_->engine ? impl_->engine->callCount() : 0;
}

std::size_t SipNode::activeCallCount() const {
  if (!impl_->engine) return 0;
  const auto& a = impl_->engine->stats().calls_active;
  return static_cast<std::size_t>(a[0] + a[1]);
}

std::vector<TrunkUsage> SipNode::trunkUsage() const {
  std::vector<TrunkUsage> out;
  const cfg::Snapshot& snap = *impl_->snapshot;
  std::unordered_map<cfg::TrunkId, b2bua::ChannelLimits::Usage> usage;
  for (const auto& u : impl_->options.limits->usage()) usage[u.trunk] = u;
  std::vector<b2bua::GatewayStatus> gateways;
  std::vector<b2bua::OutboundStatus> outbound;
  if (impl_->engine) {
    gateways = impl_->health->status();
    outbound = impl_->outbound->status();
  }
  for (const cfg::Trunk& t : snap.trunks) {
    TrunkUsage tu;
    tu.id = t.id;
    tu.name = t.name;
    tu.kind = t.kind;
    tu.enabled = t.enabled;
    tu.limits = t.limits;
    if (impl_->options.leases) tu.leased = impl_->options.leases->leaseOf(t.id);
    if (auto it = usage.find(t.id); it != usage.end()) {
      tu.inbound = it->second.inbound;
      tu.outbound = it->second.outbound;
      tu.rejections["limit"] = it->second.rejected_limit;
      tu.rejections["rate"] = it->second.rejected_rate;
    } else {
      tu.rejections["limit"] = 0;
      tu.rejections["rate"] = 0;
    }
    auto rr = impl_->route_rejections.find(t.id);
    tu.rejections["route"] = rr == impl_->route_rejections.end() ? 0 : rr->second;
    for (const auto& g : gateways) {
      if (g.trunk == t.id) tu.gateways.push_back(g);
    }
    for (const auto& o : outbound) {
      if (o.trunk == t.id) tu.registration = o;
    }
    if (t.auth == cfg::AuthMode::Register)
      tu.registered_contacts = impl_->policy.registrar().contactsOf(t.id).size();
    out.push_back(std::move(tu));
  }
  return out;
}

void SipNode::sampleMetrics() {
  impl_->sample();
}

std::string SipNode::tableSizes() const {
  const Impl& i = *impl_;
  return "txns=" + std::to_string(i.engine ? i.engine->layer().size() : 0) +
         " calls=" + std::to_string(i.engine ? i.engine->callCount() : 0) +
         " timers=" + std::to_string(i.asio_timers.pending());
}

const transport::Stats& SipNode::transportStats() const {
  return impl_->transport.stats();
}

std::string SipNode::boundEndpoint(std::size_t listener) const {
  return impl_->transport.localEndpoint(listener).toString();
}

b2bua::Engine* SipNode::engine() {
  return impl_->engine.get();
}

const cfg::Snapshot& SipNode::snapshot() const {
  return *impl_->snapshot;
}

b2bua::RoutingDecision SipNode::routeProbe(const sip::Message& invite, const cfg::Trunk& from) {
  return impl_->policy.route(invite, from, *impl_->snapshot);
}

bool SipNode::gatewayDown(std::int64_t gateway_id) const {
  return impl_->health && impl_->health->isDown(gateway_id);
}

}  // namespace sbc::app

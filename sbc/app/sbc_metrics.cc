#include "sbc/app/sbc_metrics.h"

#include <algorithm>
#include <array>

#include <spdlog/spdlog.h>

#include "sbc/common/log.h"
#include "sbc/sip/headers.h"

namespace sbc::app {
namespace {

// Call setup times: from a few ms (a local PBX) to a minute of ringing.
const std::vector<double> kSetupBuckets = {0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120};

std::string_view directionName(b2bua::Direction d) {
  return d == b2bua::Direction::Inbound ? "inbound" : "outbound";
}

// Lower case, like every other label value here ("UDP" is for logs).
std::string_view protocolLabel(transport::Protocol p) {
  switch (p) {
    case transport::Protocol::kUdp:
      return "udp";
    case transport::Protocol::kTcp:
      return "tcp";
    case transport::Protocol::kTls:
      return "tls";
  }
  return "other";
}

std::string_view methodLabel(std::size_t i) {
  std::string_view n = sip::methodName(static_cast<sip::Method>(i));
  return n.empty() ? std::string_view("other") : n;
}

std::string key(std::string_view family, std::initializer_list<std::string_view> labels) {
  std::string k(family);
  for (std::string_view l : labels) {
    k += '\x1f';
    k += l;
  }
  return k;
}

double seconds(b2bua::CallRecord::Time from, b2bua::CallRecord::Time to) {
  return std::chrono::duration<double>(to - from).count();
}

}  // namespace

SbcMetrics::SbcMetrics(metrics::Registry& r) {
  r.declare(
      *this,
      {
          {&SbcMetrics::sip_messages,
           "sbc_sip_messages_total",
           "SIP requests received (in) and sent (out) by the B2BUA, by method",
           {"direction", "method"}},
          {&SbcMetrics::sip_responses,
           "sbc_sip_responses_total",
           "SIP responses received (in) and sent (out) by the B2BUA, by class (1xx..6xx)",
           {"direction", "class"}},
          {&SbcMetrics::transactions_active, "sbc_transactions_active",
           "SIP transactions in progress"},
          {&SbcMetrics::calls_active,
           "sbc_calls_active",
           "Calls holding a channel of the trunk, by call direction",
           {"trunk", "direction"}},
          {&SbcMetrics::calls_total,
           "sbc_calls_total",
           "Finished call attempts by the caller's trunk (trunk), the trunk the call was sent "
           "to last (outbound_trunk, empty when it never left) and result (answered, failed, "
           "cancelled, rejected)",
           {"trunk", "outbound_trunk", "direction", "result"}},
          {&SbcMetrics::call_setup,
           "sbc_call_setup_seconds",
           "Time from INVITE to the first ringing relayed and to the answer",
           {"stage"},
           kSetupBuckets},
          {&SbcMetrics::rejections,
           "sbc_rejections_total",
           "New calls or requests refused, by trunk and reason (limit, rate, route; acl, auth, "
           "forbidden, not_our_number, ported_out with trunk \"\")",
           {"trunk", "reason"}},
          {&SbcMetrics::dropped,
           "sbc_dropped_total",
           "Requests dropped without an answer (unknown_source, flood)",
           {"cause"}},
          {&SbcMetrics::channels_in_use,
           "sbc_trunk_channels_in_use",
           "Channels in use per trunk",
           {"trunk"}},
          {&SbcMetrics::channel_limit,
           "sbc_trunk_channel_limit",
           "Channel limit of the trunk (max_calls; 0 = unlimited)",
           {"trunk"}},
          {&SbcMetrics::gateway_up,
           "sbc_gateway_up",
           "1 when the gateway answers OPTIONS pings",
           {"trunk", "gateway"}},
          {&SbcMetrics::gateway_rtt,
           "sbc_gateway_rtt_seconds",
           "Round-trip time of the gateway's last answered OPTIONS ping",
           {"trunk", "gateway"}},
          {&SbcMetrics::registrations,
           "sbc_registrations",
           "Live registered contacts per PBX trunk",
           {"trunk"}},
          {&SbcMetrics::outbound_registration_up,
           "sbc_outbound_registration_up",
           "1 while the SBC's registration to the carrier trunk is in force",
           {"trunk"}},
          {&SbcMetrics::tls_handshake_failures, "sbc_tls_handshake_failures_total",
           "Failed TLS handshakes (inbound and outbound)"},
          {&SbcMetrics::tls_handshakes,
           "sbc_tls_handshakes_total",
           "TLS handshakes by direction (inbound: we are the server) and result (ok, failed)",
           {"direction", "result"}},
          {&SbcMetrics::tls_client_failures,
           "sbc_tls_client_handshake_failures_total",
           "Failed outbound TLS handshakes by reason (untrusted, name_mismatch, peer_alert, "
           "protocol, closed, timeout, other)",
           {"reason"}},
          {&SbcMetrics::tls_profiles_broken, "sbc_tls_client_profiles_broken",
           "Trunk TLS client profiles in use whose certificate, key or CA files do not load"},
          {&SbcMetrics::tls_profile_errors, "sbc_tls_client_profile_errors_total",
           "Failed loads of trunk TLS client profiles (each attempt, every 10 s while broken)"},
          {&SbcMetrics::tls_certificate_reload_failures,
           "sbc_tls_certificate_reload_failures_total",
           "SIGHUP reloads of the TLS listener certificates refused (old certificates kept)"},
          {&SbcMetrics::connections_open, "sbc_transport_connections_open",
           "Open TCP and TLS connections"},
          {&SbcMetrics::transport_messages,
           "sbc_transport_messages_total",
           "SIP messages received (in) and sent (out) by the transports, retransmissions included",
           {"protocol", "direction"}},
          {&SbcMetrics::transport_bytes,
           "sbc_transport_bytes_total",
           "Bytes received (in) and sent (out) by the transports",
           {"protocol", "direction"}},
          {&SbcMetrics::transport_connections,
           "sbc_transport_connections_total",
           "TCP/TLS connections accepted, opened (outbound attempts) and rejected (over the limit)",
           {"kind"}},
          {&SbcMetrics::transport_errors,
           "sbc_transport_errors_total",
           "Transport errors: connect_failure, framing, send_queue_overflow, send_error, "
           "datagram_dropped, idle_timeout",
           {"kind"}},
          {&SbcMetrics::b2bua_events,
           "sbc_b2bua_events_total",
           "B2BUA events: failover, glare_491, forked_2xx_released, session_refresh, auth_retry",
           {"event"}},
          {&SbcMetrics::identifications,
           "sbc_trunk_identifications_total",
           "New requests matched to a trunk, by how (acl, digest, registered)",
           {"method"}},
          {&SbcMetrics::auth,
           "sbc_auth_total",
           "Digest authentication towards the SBC: challenge, stale, failure",
           {"result"}},
          {&SbcMetrics::cdr_queue_depth, "sbc_cdr_queue_depth", "CDRs waiting for the writer"},
          {&SbcMetrics::cdr_spool_records, "sbc_cdr_spool_records",
           "CDRs in the on-disk spool, waiting for the database"},
          {&SbcMetrics::cdr_dropped, "sbc_cdr_dropped_total",
           "CDRs refused because the queue was full"},
          {&SbcMetrics::config_generation, "sbc_config_generation",
           "Generation of the configuration snapshot in force (0: none yet)"},
          {&SbcMetrics::config_reloads, "sbc_config_reloads_total",
           "Configuration reloads after the first load"},
          {&SbcMetrics::config_reload_failures, "sbc_config_reload_failures_total",
           "Configuration loads that failed (the previous snapshot stayed)"},
          {&SbcMetrics::config_age, "sbc_config_age_seconds",
           "Seconds since the configuration in force was loaded"},
          {&SbcMetrics::config_loaded_at, "sbc_config_loaded_timestamp_seconds",
           "Unix time the configuration in force was loaded (absent before the first load)"},
          {&SbcMetrics::draining, "sbc_draining",
           "1 while the node drains (POST /api/drain): new calls get 503, calls in progress go on"},
          {&SbcMetrics::node_heartbeat, "sbc_node_heartbeat_timestamp_seconds",
           "Unix time of this node's last committed heartbeat in sbc_nodes"},
          {&SbcMetrics::sip_thread_priority,
           "sbc_sip_thread_priority",
           "Scheduling the SIP thread got ([node] sip_scheduling): its policy as a label, the "
           "real-time priority as the value (0 at other)",
           {"policy"}},
          {&SbcMetrics::relay_configured,
           "sbc_media_relay_configured",
           "1 for every media relay in this node's configuration",
           {"relay"}},
          {&SbcMetrics::relay_healthy,
           "sbc_media_relay_healthy",
           "1 while the relay's control connection is up and it answers pings",
           {"relay"}},
          {&SbcMetrics::relay_requests,
           "sbc_media_relay_requests_total",
           "Relay control requests by verb and result (ok, error, timeout, stopped)",
           {"verb", "result"}},
          {&SbcMetrics::relay_request_duration,
           "sbc_media_relay_request_seconds",
           "Time from a relay request's first attempt to its settlement, by verb",
           {"verb"},
           {metrics::latencyBuckets().begin(), metrics::latencyBuckets().end()}},
          {&SbcMetrics::media_timeouts, "sbc_media_timeouts_total",
           "Calls ended because the relay reported no media"},
          {&SbcMetrics::relay_lost_calls, "sbc_media_relay_lost_calls_total",
           "Calls ended because their relay went away or expired the session"},
          {&SbcMetrics::anchored_calls, "sbc_media_anchored_calls",
           "Calls whose media is anchored on a relay"},
          {&SbcMetrics::cdr_media,
           "sbc_cdr_media_stats_total",
           "Anchored calls' CDRs by media stats outcome: joined, timeout (written without "
           "after the deadline), failed (the relay refused the destroy)",
           {"outcome"}},
      });
}

std::string_view callResult(const b2bua::CallRecord& r) {
  if (r.answered()) return "answered";
  if (r.ended_reason == "cancel") return "cancelled";
  if (r.ended_reason == "limit" || r.ended_reason == "no-route") return "rejected";
  return "failed";
}

std::string callRecordLogLine(const b2bua::CallRecord& r) {
  using common::logValue;
  const auto ms = [](b2bua::CallRecord::Time from, b2bua::CallRecord::Time to) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count();
  };
  const bool answered = r.answered();
  return fmt::format(
      "event=call_end call_id={} b_call_id={} trunk={} outbound_trunk={} direction={} result={} "
      "code={} reason={} ended_by={} caller={} callee={} duration_ms={} setup_ms={} failovers={}",
      logValue(r.a_call_id), logValue(r.b_call_id), logValue(r.inbound_trunk),
      logValue(r.outbound_trunk), directionName(r.direction), callResult(r), r.final_code,
      logValue(r.ended_reason), b2bua::toString(r.ended_by), logValue(r.caller_in),
      logValue(r.callee_in), r.duration().count(), answered ? ms(r.start, r.answer) : 0,
      r.failover_attempts);
}

void logCallRecord(const b2bua::CallRecord& r) {
  if (!spdlog::should_log(spdlog::level::info)) return;
  spdlog::info("{}", callRecordLogLine(r));
}

SipSampler::SipSampler(SbcMetrics& m) : m_(m) {
  ringing_ = &m_.call_setup.with({"ringing"});
  answer_ = &m_.call_setup.with({"answer"});
  // Series that always exist, so that dashboards see zeros rather than gaps.
  for (std::string_view dir : {"in", "out"}) {
    for (std::size_t cls = 1; cls <= 6; ++cls) {
      const std::string c = std::to_string(cls) + "xx";
      counter(m_.sip_responses, {dir, c});
    }
  }
  counter(m_.dropped, {"unknown_source"});
  counter(m_.dropped, {"flood"});
  m_.tls_handshake_failures.get();
  for (std::string_view dir : {"inbound", "outbound"}) {
    for (std::string_view result : {"ok", "failed"}) counter(m_.tls_handshakes, {dir, result});
  }
  for (std::size_t i = 1; i < transport::kTlsFailureCount; ++i)
    counter(m_.tls_client_failures, {transport::toString(static_cast<transport::TlsFailure>(i))});
  for (std::string_view reason : {"acl", "auth", "forbidden"}) counter(m_.rejections, {"", reason});
}

prometheus::Counter& SipSampler::counter(const metrics::CounterFamily& f,
                                         std::initializer_list<std::string_view> labels) {
  const std::string k = key(f.name(), labels);
  auto it = counters_.find(k);
  if (it != counters_.end()) return *it->second;
  prometheus::Counter& c = f.with(labels);
  counters_.emplace(k, &c);
  return c;
}

prometheus::Gauge& SipSampler::gauge(const metrics::GaugeFamily& f,
                                     std::initializer_list<std::string_view> labels) {
  const std::string k = key(f.name(), labels);
  auto it = gauges_.find(k);
  if (it != gauges_.end()) return *it->second;
  prometheus::Gauge& g = f.with(labels);
  gauges_.emplace(k, &g);
  return g;
}

void SipSampler::add(prometheus::Counter& c, std::uint64_t now, std::uint64_t& last) {
  if (now > last) c.Increment(static_cast<double>(now - last));
  last = now;
}

std::string SipSampler::trunkName(const cfg::Snapshot* snap, cfg::TrunkId id) const {
  if (snap) {
    if (const cfg::Trunk* t = snap->trunk(id)) return t->name;
  }
  if (auto it = trunk_names_.find(id); it != trunk_names_.end()) return it->second;
  return "trunk-" + std::to_string(id);
}

void SipSampler::sample(const SipSample& s) {
  if (s.snapshot) {
    for (const cfg::Trunk& t : s.snapshot->trunks) trunk_names_[t.id] = t.name;
  }
  std::vector<prometheus::Gauge*> set_now;
  auto setGauge = [&](prometheus::Gauge& g, double v) {
    g.Set(v);
    set_now.push_back(&g);
  };

  if (const b2bua::EngineStats* e = s.engine) {
    for (std::size_t i = 0; i < b2bua::kMethods; ++i) {
      const std::string_view method = methodLabel(i);
      if (e->requests_in[i] != 0) {
        add(counter(m_.sip_messages, {"in", method}), e->requests_in[i],
            last_[key("in", {method})]);
      }
      if (e->requests_out[i] != 0) {
        add(counter(m_.sip_messages, {"out", method}), e->requests_out[i],
            last_[key("out", {method})]);
      }
    }
    for (std::size_t cls = 1; cls <= 6; ++cls) {
      const std::string c = std::to_string(cls) + "xx";
      add(counter(m_.sip_responses, {"in", c}), e->responses_in[cls], last_[key("rin", {c})]);
      add(counter(m_.sip_responses, {"out", c}), e->responses_out[cls], last_[key("rout", {c})]);
    }
    // Rejections the engine knows no trunk for (identification): auth and
    // forbidden. Limits come per trunk from the limits, routes from records.
    const auto auth = static_cast<std::size_t>(b2bua::RejectCause::Auth);
    const auto forbidden = static_cast<std::size_t>(b2bua::RejectCause::Forbidden);
    add(counter(m_.rejections, {"", "auth"}), e->rejections[auth], last_["rej-auth"]);
    add(counter(m_.rejections, {"", "forbidden"}), e->rejections[forbidden],
        last_["rej-forbidden"]);
    const auto number = static_cast<std::size_t>(b2bua::RejectCause::NotOurNumber);
    const auto ported = static_cast<std::size_t>(b2bua::RejectCause::PortedOut);
    add(counter(m_.rejections, {"", "not_our_number"}), e->rejections[number], last_["rej-number"]);
    add(counter(m_.rejections, {"", "ported_out"}), e->rejections[ported], last_["rej-ported"]);
    add(counter(m_.b2bua_events, {"failover"}), e->failovers, last_["ev-failover"]);
    add(counter(m_.b2bua_events, {"glare_491"}), e->glare_491, last_["ev-glare"]);
    add(counter(m_.b2bua_events, {"forked_2xx_released"}), e->forked_2xx_released,
        last_["ev-forked"]);
    add(counter(m_.b2bua_events, {"session_refresh"}), e->session_refreshes_answered,
        last_["ev-refresh"]);
    add(counter(m_.b2bua_events, {"auth_retry"}), e->auth_retries, last_["ev-auth-retry"]);
  }
  if (const b2bua::PolicyStats* p = s.policy) {
    add(counter(m_.dropped, {"unknown_source"}), p->dropped_unknown, last_["drop-unknown"]);
    // A source no trunk's ACL admits: dropped without an answer, and also a
    // rejection (reason acl) so that every refusal is in one family.
    add(counter(m_.rejections, {"", "acl"}), p->dropped_unknown, last_["rej-acl"]);
    add(counter(m_.dropped, {"flood"}), p->dropped_flood, last_["drop-flood"]);
    add(counter(m_.identifications, {"acl"}), p->accepted_acl, last_["id-acl"]);
    add(counter(m_.identifications, {"digest"}), p->accepted_digest, last_["id-digest"]);
    add(counter(m_.identifications, {"registered"}), p->accepted_registered,
        last_["id-registered"]);
    add(counter(m_.auth, {"challenge"}), p->challenges, last_["auth-challenge"]);
    add(counter(m_.auth, {"stale"}), p->stale_challenges, last_["auth-stale"]);
    add(counter(m_.auth, {"failure"}), p->auth_failures, last_["auth-failure"]);
  }
  setGauge(m_.transactions_active.get(), static_cast<double>(s.transactions));
  setGauge(m_.draining.get(), s.draining ? 1.0 : 0.0);

  for (const b2bua::ChannelLimits::Usage& u : s.usage) {
    const std::string name = trunkName(s.snapshot, u.trunk);
    setGauge(gauge(m_.calls_active, {name, "inbound"}), u.inbound);
    setGauge(gauge(m_.calls_active, {name, "outbound"}), u.outbound);
    setGauge(gauge(m_.channels_in_use, {name}), static_cast<double>(u.inbound + u.outbound));
    add(counter(m_.rejections, {name, "limit"}), u.rejected_limit,
        last_[key("lim", {std::to_string(u.trunk)})]);
    add(counter(m_.rejections, {name, "rate"}), u.rejected_rate,
        last_[key("rate", {std::to_string(u.trunk)})]);
  }
  if (s.snapshot) {
    for (const cfg::Trunk& t : s.snapshot->trunks) {
      setGauge(gauge(m_.channel_limit, {t.name}), t.limits.max_calls);
    }
  }
  for (const b2bua::GatewayStatus& g : s.gateways) {
    const std::string name = trunkName(s.snapshot, g.trunk);
    const std::string gw = g.host + ":" + std::to_string(g.port);
    setGauge(gauge(m_.gateway_up, {name, gw}), g.up ? 1 : 0);
    setGauge(gauge(m_.gateway_rtt, {name, gw}), std::chrono::duration<double>(g.rtt).count());
  }
  for (const b2bua::OutboundStatus& o : s.outbound) {
    setGauge(gauge(m_.outbound_registration_up, {o.trunk_name}),
             o.state == b2bua::OutboundState::Registered ? 1 : 0);
  }
  for (const auto& [trunk, count] : s.registered) {
    setGauge(gauge(m_.registrations, {trunkName(s.snapshot, trunk)}), static_cast<double>(count));
  }
  if (const transport::Stats* t = s.transport) {
    add(m_.tls_handshake_failures.get(), t->tls_handshake_failures, last_["tls-fail"]);
    add(counter(m_.tls_handshakes, {"inbound", "ok"}), t->tls_handshakes[0], last_["tls-in-ok"]);
    add(counter(m_.tls_handshakes, {"outbound", "ok"}), t->tls_handshakes[1], last_["tls-out-ok"]);
    add(counter(m_.tls_handshakes, {"inbound", "failed"}), t->tls_handshake_failed[0],
        last_["tls-in-failed"]);
    add(counter(m_.tls_handshakes, {"outbound", "failed"}), t->tls_handshake_failed[1],
        last_["tls-out-failed"]);
    for (std::size_t i = 1; i < transport::kTlsFailureCount; ++i) {
      const std::string_view reason = transport::toString(static_cast<transport::TlsFailure>(i));
      add(counter(m_.tls_client_failures, {reason}), t->tls_client_failures[i],
          last_[key("tls-client-fail", {reason})]);
    }
    setGauge(m_.connections_open.get(), static_cast<double>(t->connections_open));
    for (std::size_t i = 0; i < transport::kProtocolCount; ++i) {
      const auto protocol = static_cast<transport::Protocol>(i);
      const transport::ProtocolCounters& c = t->of(protocol);
      const std::string_view name = protocolLabel(protocol);
      add(counter(m_.transport_messages, {name, "in"}), c.messages_in, last_[key("tmi", {name})]);
      add(counter(m_.transport_messages, {name, "out"}), c.messages_out, last_[key("tmo", {name})]);
      add(counter(m_.transport_bytes, {name, "in"}), c.bytes_in, last_[key("tbi", {name})]);
      add(counter(m_.transport_bytes, {name, "out"}), c.bytes_out, last_[key("tbo", {name})]);
    }
    add(counter(m_.transport_connections, {"accepted"}), t->connections_accepted,
        last_["conn-accepted"]);
    add(counter(m_.transport_connections, {"opened"}), t->connections_opened, last_["conn-opened"]);
    add(counter(m_.transport_connections, {"rejected"}), t->connections_rejected,
        last_["conn-rejected"]);
    add(counter(m_.transport_errors, {"connect_failure"}), t->connect_failures,
        last_["err-connect"]);
    add(counter(m_.transport_errors, {"framing"}), t->framing_errors, last_["err-framing"]);
    add(counter(m_.transport_errors, {"send_queue_overflow"}), t->send_queue_overflows,
        last_["err-overflow"]);
    add(counter(m_.transport_errors, {"send_error"}), t->send_errors, last_["err-send"]);
    add(counter(m_.transport_errors, {"datagram_dropped"}), t->datagrams_dropped,
        last_["err-datagram"]);
    add(counter(m_.transport_errors, {"idle_timeout"}), t->idle_timeouts, last_["err-idle"]);
  }
  for (const media::RelayStatus& r : s.relays) {
    setGauge(gauge(m_.relay_configured, {r.endpoint}), 1);
    setGauge(gauge(m_.relay_healthy, {r.endpoint}), r.healthy ? 1 : 0);
  }
  if (const media::AnchorStats* a = s.anchor) {
    add(m_.media_timeouts.get(), a->media_timeouts, last_["media-timeouts"]);
    add(m_.relay_lost_calls.get(), a->relay_lost_calls, last_["media-relay-lost"]);
    setGauge(m_.anchored_calls.get(), static_cast<double>(s.anchored_calls));
  }
  if (const media::RecordJoinStats* j = s.cdr_media) {
    add(counter(m_.cdr_media, {"joined"}), j->joined, last_["cdr-media-joined"]);
    add(counter(m_.cdr_media, {"timeout"}), j->timed_out, last_["cdr-media-timeout"]);
    add(counter(m_.cdr_media, {"failed"}), j->failed, last_["cdr-media-failed"]);
  }
  // A series not refreshed this time (a gateway removed, a registration gone)
  // reads 0 rather than its last value forever.
  std::sort(set_now.begin(), set_now.end());
  for (prometheus::Gauge* g : set_last_) {
    if (!std::binary_search(set_now.begin(), set_now.end(), g)) g->Set(0);
  }
  set_last_ = std::move(set_now);
}

void SipSampler::onRelayRequest(std::string_view verb, std::string_view result, double seconds) {
  counter(m_.relay_requests, {verb, result}).Increment();
  auto it = relay_latency_.find(verb);
  if (it == relay_latency_.end())
    it = relay_latency_.emplace(std::string(verb), &m_.relay_request_duration.with({verb})).first;
  it->second->Observe(seconds);
}

void SipSampler::onCallRecord(const b2bua::CallRecord& r) {
  const std::string_view trunk = r.inbound_trunk;
  const std::string_view result = callResult(r);
  const std::hash<std::string_view> hash;
  const std::size_t h = hash(trunk) * 31 + hash(r.outbound_trunk) +
                        static_cast<std::size_t>(r.direction) * 7 + result.size();
  CallSeries& cs = call_series_[h % call_series_.size()];
  if (!cs.counter || cs.direction != r.direction || cs.result != result || cs.in != trunk ||
      cs.out != r.outbound_trunk) {
    cs.counter =
        &counter(m_.calls_total, {trunk, r.outbound_trunk, directionName(r.direction), result});
    cs.in = trunk;
    cs.out = r.outbound_trunk;
    cs.direction = r.direction;
    cs.result = result;
  }
  cs.counter->Increment();
  if (r.ended_reason == "no-route") counter(m_.rejections, {trunk, "route"}).Increment();
  if (r.ringing != b2bua::CallRecord::Time{}) ringing_->Observe(seconds(r.start, r.ringing));
  if (r.answered()) answer_->Observe(seconds(r.start, r.answer));
}

void BackgroundSampler::sample(const BackgroundSample& s,
                               std::chrono::system_clock::time_point now) {
  m_.config_generation.get().Set(static_cast<double>(s.config_generation));
  // The first load is not a reload.
  const std::uint64_t reloads = s.config_loads > 0 ? s.config_loads - 1 : 0;
  if (reloads > loads_) m_.config_reloads.get().Increment(static_cast<double>(reloads - loads_));
  loads_ = std::max(loads_, reloads);
  if (s.config_failures > failures_) {
    m_.config_reload_failures.get().Increment(static_cast<double>(s.config_failures - failures_));
  }
  failures_ = std::max(failures_, s.config_failures);
  m_.config_age.get().Set(s.config_loaded_at == std::chrono::system_clock::time_point{}
                              ? 0.0
                              : std::chrono::duration<double>(now - s.config_loaded_at).count());
  if (s.config_loaded_at != std::chrono::system_clock::time_point{}) {
    m_.config_loaded_at.get().Set(
        std::chrono::duration<double>(s.config_loaded_at.time_since_epoch()).count());
  }
  m_.cdr_queue_depth.get().Set(static_cast<double>(s.cdr_queue_depth));
  m_.cdr_spool_records.get().Set(static_cast<double>(s.cdr_spool_records));
  if (s.cdr_dropped > cdr_dropped_) {
    m_.cdr_dropped.get().Increment(static_cast<double>(s.cdr_dropped - cdr_dropped_));
  }
  cdr_dropped_ = std::max(cdr_dropped_, s.cdr_dropped);
  m_.tls_profiles_broken.get().Set(static_cast<double>(s.tls_profiles_broken));
  if (s.tls_profile_errors > tls_profile_errors_) {
    m_.tls_profile_errors.get().Increment(
        static_cast<double>(s.tls_profile_errors - tls_profile_errors_));
  }
  tls_profile_errors_ = std::max(tls_profile_errors_, s.tls_profile_errors);
  if (s.tls_certificate_reload_failures > tls_certificate_reload_failures_) {
    m_.tls_certificate_reload_failures.get().Increment(
        static_cast<double>(s.tls_certificate_reload_failures - tls_certificate_reload_failures_));
  }
  tls_certificate_reload_failures_ =
      std::max(tls_certificate_reload_failures_, s.tls_certificate_reload_failures);
  if (s.node_heartbeat_at != std::chrono::system_clock::time_point{}) {
    m_.node_heartbeat.get().Set(
        std::chrono::duration<double>(s.node_heartbeat_at.time_since_epoch()).count());
  }
}

}  // namespace sbc::app

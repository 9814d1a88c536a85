// The management API's JSON and the sbc's metric table and samplers.
#include <gtest/gtest.h>
#include <boost/json/serialize.hpp>

#include "common/metrics/registry.h"
#include "sbc/app/mgmt_api.h"
#include "sbc/app/sbc_metrics.h"
#include "sbc/common/log.h"

namespace sbc::app {
namespace {

using namespace std::chrono_literals;

TEST(MgmtJson, IsoTimeIsUtcWithMilliseconds) {
  const auto t = std::chrono::system_clock::time_point(1'700'000'000'123ms);
  EXPECT_EQ(isoTime(t), "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(isoTime(std::chrono::system_clock::time_point{}), "1970-01-01T00:00:00.000Z");
}

TEST(MgmtJson, CallsCarryWhatTheConsoleShows) {
  b2bua::CallInfo c;
  c.handle = 42;
  c.direction = b2bua::Direction::Inbound;
  c.inbound_trunk = "carrier-a";
  c.outbound_trunk = "pbx-1";
  c.caller = "14155550199";
  c.callee = "14155550100";
  c.state = "confirmed";
  c.start = std::chrono::system_clock::time_point(1'700'000'000s);
  c.duration = 17s;
  const auto json = callsJson({c}, c.start + 20s);
  ASSERT_TRUE(json.is_array());
  ASSERT_EQ(json.as_array().size(), 1u);
  const auto& o = json.as_array()[0].as_object();
  EXPECT_EQ(o.at("handle").as_uint64(), 42u);
  EXPECT_EQ(o.at("direction").as_string(), "inbound");
  EXPECT_EQ(o.at("inbound_trunk").as_string(), "carrier-a");
  EXPECT_EQ(o.at("outbound_trunk").as_string(), "pbx-1");
  EXPECT_EQ(o.at("caller").as_string(), "14155550199");
  EXPECT_EQ(o.at("callee").as_string(), "14155550100");
  EXPECT_EQ(o.at("state").as_string(), "confirmed");
  EXPECT_EQ(o.at("start_time").as_string(), "2023-11-14T22:13:20.000Z");
  EXPECT_EQ(o.at("duration").as_int64(), 17);
  EXPECT_EQ(o.at("age").as_int64(), 20);
  EXPECT_EQ(boost::json::serialize(callsJson({}, c.start)), "[]");
}

TEST(MgmtJson, TrunkUsage) {
  TrunkUsage t;
  t.id = 5;
  t.name = "carrier-a";
  t.kind = cfg::TrunkKind::Carrier;
  t.inbound = 2;
  t.outbound = 3;
  t.limits.max_calls = 10;
  t.rejections = {{"limit", 4}, {"rate", 1}, {"route", 0}};
  b2bua::GatewayStatus g;
  g.gateway_id = 9;
  g.host = "192.0.2.1";
  g.port = 5060;
  g.up = false;
  g.rtt = 12ms;
  t.gateways.push_back(g);
  b2bua::OutboundStatus o;
  o.state = b2bua::OutboundState::Registered;
  o.granted_expires = 600;
  t.registration = o;
  const auto json = trunkUsageJson({t});
  const auto& j = json.as_array()[0].as_object();
  EXPECT_EQ(j.at("name").as_string(), "carrier-a");
  EXPECT_EQ(j.at("kind").as_string(), "carrier");
  EXPECT_EQ(j.at("inbound").as_uint64(), 2u);
  EXPECT_EQ(j.at("outbound").as_uint64(), 3u);
  EXPECT_EQ(j.at("total").as_uint64(), 5u);
  EXPECT_EQ(j.at("limits").at("max_calls").as_uint64(), 10u);
  // Whole rates read as integers ("cps":0, not 0E0); fractional ones stay.
  EXPECT_NE(boost::json::serialize(json).find("\"cps\":0,"), std::string::npos);
  t.limits.cps = 2.5;
  EXPECT_DOUBLE_EQ(trunkUsageJson({t}).as_array()[0].at("limits").at("cps").as_double(), 2.5);
  t.limits.cps = 20;
  EXPECT_EQ(trunkUsageJson({t}).as_array()[0].at("limits").at("cps").as_int64(), 20);
  EXPECT_EQ(j.at("rejections").at("limit").as_uint64(), 4u);
  const auto& gw = j.at("gateways").as_array()[0].as_object();
  EXPECT_EQ(gw.at("state").as_string(), "down");
  EXPECT_EQ(gw.at("rtt_ms").as_int64(), 12);
  EXPECT_EQ(j.at("outbound_registration").at("state").as_string(),
            std::string(b2bua::toString(b2bua::OutboundState::Registered)));
  t.registration.reset();
  EXPECT_TRUE(trunkUsageJson({t}).as_array()[0].at("outbound_registration").is_null());
}

std::string scrape(const metrics::Registry& r) {
  return r.serialize();
}

bool has(const std::string& text, const std::string& line) {
  return text.find(line) != std::string::npos;
}

TEST(SbcMetrics, CallResults) {
  b2bua::CallRecord r;
  r.start = std::chrono::system_clock::now();
  r.ended_reason = "cancel";
  EXPECT_EQ(callResult(r), "cancelled");
  r.ended_reason = "limit";
  EXPECT_EQ(callResult(r), "rejected");
  r.ended_reason = "no-route";
  EXPECT_EQ(callResult(r), "rejected");
  r.ended_reason = "rejected";  // the callee's error response
  EXPECT_EQ(callResult(r), "failed");
  r.answer = r.start + 1s;
  r.ended_reason = "bye";
  EXPECT_EQ(callResult(r), "answered");
}

TEST(SbcMetrics, SamplerCopiesDeltasAndGauges) {
  metrics::Registry registry(false);
  SbcMetrics m(registry);
  SipSampler sampler(m);

  cfg::Snapshot snap;
  cfg::Trunk pbx;
  pbx.id = 1;
  pbx.name = "pbx-1";
  pbx.limits.max_calls = 30;
  snap.trunks.push_back(pbx);
  snap.index();

  b2bua::EngineStats es;
  es.requests_in[static_cast<std::size_t>(sip::Method::Invite)] = 5;
  es.responses_out[2] = 4;
  b2bua::PolicyStats ps;
  ps.dropped_unknown = 7;
  transport::Stats ts;
  ts.tls_handshake_failures = 2;
  ts.connections_open = 3;

  SipSample s;
  s.engine = &es;
  s.policy = &ps;
  s.transport = &ts;
  s.snapshot = &snap;
  s.transactions = 9;
  s.usage.push_back({1, 2, 1, 3, 0});
  sampler.sample(s);
  std::string text = scrape(registry);
  EXPECT_TRUE(has(text, "sbc_sip_messages_total{direction=\"in\",method=\"INVITE\"} 5"));
  EXPECT_TRUE(has(text, "sbc_sip_responses_total{class=\"2xx\",direction=\"out\"} 4"));
  EXPECT_TRUE(has(text, "sbc_dropped_total{cause=\"unknown_source\"} 7"));
  EXPECT_TRUE(has(text, "sbc_tls_handshake_failures_total 2"));
  EXPECT_TRUE(has(text, "sbc_transport_connections_open 3"));
  EXPECT_TRUE(has(text, "sbc_transactions_active 9"));
  EXPECT_TRUE(has(text, "sbc_calls_active{direction=\"inbound\",trunk=\"pbx-1\"} 2"));
  EXPECT_TRUE(has(text, "sbc_trunk_channels_in_use{trunk=\"pbx-1\"} 3"));
  EXPECT_TRUE(has(text, "sbc_trunk_channel_limit{trunk=\"pbx-1\"} 30"));
  EXPECT_TRUE(has(text, "sbc_rejections_total{reason=\"limit\",trunk=\"pbx-1\"} 3"));

  // Counters move by the difference; gauges follow; channels released.
  es.requests_in[static_cast<std::size_t>(sip::Method::Invite)] = 8;
  s.usage = {{1, 0, 0, 3, 0}};
  sampler.sample(s);
  text = scrape(registry);
  EXPECT_TRUE(has(text, "sbc_sip_messages_total{direction=\"in\",method=\"INVITE\"} 8"));
  EXPECT_TRUE(has(text, "sbc_trunk_channels_in_use{trunk=\"pbx-1\"} 0"));
  EXPECT_TRUE(has(text, "sbc_rejections_total{reason=\"limit\",trunk=\"pbx-1\"} 3"));

  b2bua::CallRecord r;
  r.inbound_trunk = "pbx-1";
  r.outbound_trunk = "carrier-1";
  r.start = std::chrono::system_clock::now();
  r.ringing = r.start + 500ms;
  r.answer = r.start + 2s;
  r.ended_reason = "bye";
  sampler.onCallRecord(r);
  text = scrape(registry);
  EXPECT_TRUE(has(text,
                  "sbc_calls_total{direction=\"outbound\",outbound_trunk=\"carrier-1\","
                  "result=\"answered\",trunk=\"pbx-1\"} 1"));
  EXPECT_TRUE(has(text, "sbc_call_setup_seconds_count{stage=\"answer\"} 1"));
  EXPECT_TRUE(has(text, "sbc_call_setup_seconds_count{stage=\"ringing\"} 1"));
}

TEST(SbcMetrics, MediaAnchorSeries) {
  metrics::Registry registry(false);
  SbcMetrics m(registry);
  SipSampler sampler(m);
  SipSample s;
  media::RelayStatus up;
  up.endpoint = "10.0.0.9:7722";
  up.connected = up.healthy = true;
  media::RelayStatus down;
  down.endpoint = "10.0.0.10:7722";
  s.relays = {up, down};
  media::AnchorStats as;
  as.media_timeouts = 2;
  as.relay_lost_calls = 1;
  s.anchor = &as;
  s.anchored_calls = 5;
  media::RecordJoinStats js;
  js.joined = 7;
  js.timed_out = 1;
  s.cdr_media = &js;
  sampler.sample(s);
  sampler.onRelayRequest("create", "ok", 0.002);
  sampler.onRelayRequest("create", "ok", 0.004);
  sampler.onRelayRequest("destroy", "timeout", 2.1);
  std::string text = scrape(registry);
  EXPECT_TRUE(has(text, "sbc_media_relay_configured{relay=\"10.0.0.10:7722\"} 1"));
  EXPECT_TRUE(has(text, "sbc_media_relay_healthy{relay=\"10.0.0.9:7722\"} 1"));
  EXPECT_TRUE(has(text, "sbc_media_relay_healthy{relay=\"10.0.0.10:7722\"} 0"));
  EXPECT_TRUE(has(text, "sbc_media_timeouts_total 2"));
  EXPECT_TRUE(has(text, "sbc_media_relay_lost_calls_total 1"));
  EXPECT_TRUE(has(text, "sbc_media_anchored_calls 5"));
  EXPECT_TRUE(has(text, "sbc_cdr_media_stats_total{outcome=\"joined\"} 7"));
  EXPECT_TRUE(has(text, "sbc_cdr_media_stats_total{outcome=\"timeout\"} 1"));
  EXPECT_TRUE(has(text, "sbc_media_relay_requests_total{result=\"ok\",verb=\"create\"} 2"));
  EXPECT_TRUE(has(text, "sbc_media_relay_requests_total{result=\"timeout\",verb=\"destroy\"} 1"));
  EXPECT_TRUE(has(text, "sbc_media_relay_request_seconds_count{verb=\"create\"} 2"));

  // Counters move by the difference; the relay coming up shows.
  as.media_timeouts = 3;
  s.relays[1].healthy = true;
  s.anchored_calls = 0;
  sampler.sample(s);
  text = scrape(registry);
  EXPECT_TRUE(has(text, "sbc_media_timeouts_total 3"));
  EXPECT_TRUE(has(text, "sbc_media_relay_healthy{relay=\"10.0.0.10:7722\"} 1"));
  EXPECT_TRUE(has(text, "sbc_media_anchored_calls 0"));
}

TEST(SbcMetrics, BackgroundSampler) {
  metrics::Registry registry(false);
  SbcMetrics m(registry);
  BackgroundSampler b(m);
  BackgroundSample s;
  const auto now = std::chrono::system_clock::now();
  s.config_generation = 3;
  s.config_loads = 3;
  s.config_failures = 1;
  s.config_loaded_at = now - 10s;
  s.cdr_queue_depth = 4;
  s.cdr_spool_records = 12;
  s.tls_certificate_reload_failures = 2;
  b.sample(s, now);
  b.sample(s, now);  // nothing new: counters stay
  const std::string text = scrape(registry);
  EXPECT_TRUE(has(text, "sbc_config_generation 3"));
  EXPECT_TRUE(has(text, "sbc_config_reloads_total 2"));
  EXPECT_TRUE(has(text, "sbc_config_reload_failures_total 1"));
  EXPECT_TRUE(has(text, "sbc_config_age_seconds 10"));
  EXPECT_TRUE(has(text, "sbc_cdr_queue_depth 4"));
  EXPECT_TRUE(has(text, "sbc_cdr_spool_records 12"));
  EXPECT_TRUE(has(text, "sbc_tls_certificate_reload_failures_total 2"));
}

TEST(SbcMetrics, Issue6Series) {
  metrics::Registry registry(false);
  SbcMetrics m(registry);
  SipSampler sampler(m);
  std::string text = scrape(registry);
  // There from the start, so that rates and alerts see zeros, not gaps.
  EXPECT_TRUE(has(text, "sbc_tls_handshakes_total{direction=\"inbound\",result=\"failed\"} 0"));
  EXPECT_TRUE(has(text, "sbc_rejections_total{reason=\"acl\",trunk=\"\"} 0"));

  b2bua::PolicyStats ps;
  ps.dropped_unknown = 4;
  transport::Stats ts;
  ts.tls_handshakes = {5, 2};
  ts.tls_handshake_failed = {1, 3};
  ts.tls_handshake_failures = 4;
  SipSample s;
  s.policy = &ps;
  s.transport = &ts;
  s.draining = true;
  sampler.sample(s);
  text = scrape(registry);
  EXPECT_TRUE(has(text, "sbc_tls_handshakes_total{direction=\"inbound\",result=\"ok\"} 5"));
  EXPECT_TRUE(has(text, "sbc_tls_handshakes_total{direction=\"outbound\",result=\"ok\"} 2"));
  EXPECT_TRUE(has(text, "sbc_tls_handshakes_total{direction=\"inbound\",result=\"failed\"} 1"));
  EXPECT_TRUE(has(text, "sbc_tls_handshakes_total{direction=\"outbound\",result=\"failed\"} 3"));
  EXPECT_TRUE(has(text, "sbc_rejections_total{reason=\"acl\",trunk=\"\"} 4"));
  EXPECT_TRUE(has(text, "sbc_draining 1"));
  s.draining = false;
  sampler.sample(s);
  EXPECT_TRUE(has(scrape(registry), "sbc_draining 0"));

  // A call refused before routing has no outbound trunk: counted with "".
  b2bua::CallRecord r;
  r.inbound_trunk = "pbx-1";
  r.direction = b2bua::Direction::Outbound;
  r.ended_reason = "limit";
  sampler.onCallRecord(r);
  EXPECT_TRUE(has(scrape(registry),
                  "sbc_calls_total{direction=\"outbound\",outbound_trunk=\"\",result=\"rejected\","
                  "trunk=\"pbx-1\"} 1"));

  BackgroundSampler b(m);
  BackgroundSample bs;
  bs.config_loaded_at = std::chrono::system_clock::time_point(1700000000s);
  b.sample(bs, bs.config_loaded_at + 5s);
  text = scrape(registry);
  EXPECT_TRUE(has(text, "sbc_config_loaded_timestamp_seconds 1700000000"));
  EXPECT_TRUE(has(text, "sbc_config_age_seconds 5"));
}

TEST(Logs, ValuesFromTheNetworkCannotForgeKeysOrLines) {
  EXPECT_EQ(common::logValue("a84b4c76e66710@pbx.example"), "a84b4c76e66710@pbx.example");
  EXPECT_EQ(common::logValue(""), "\"\"");
  EXPECT_EQ(common::logValue("x trunk=evil"), "\"x trunk=evil\"");
  EXPECT_EQ(common::logValue("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(common::logValue("id\r\nlevel=error"), "\"id\\x0d\\x0alevel=error\"");
  EXPECT_EQ(common::logValue("\xc3\xa9"), "\"\\xc3\\xa9\"");
}

TEST(Logs, CallEndLineCarriesCallIdTrunksAndResult) {
  b2bua::CallRecord r;
  r.a_call_id = "abc@pbx";
  r.b_call_id = "sbc-1";
  r.inbound_trunk = "pbx-1";
  r.outbound_trunk = "carrier 1";  // a name with a space gets quoted
  r.direction = b2bua::Direction::Outbound;
  r.start = std::chrono::system_clock::time_point(1700000000s);
  r.answer = r.start + 850ms;
  r.end = r.answer + 62s;
  r.final_code = 200;
  r.ended_reason = "bye";
  r.ended_by = b2bua::EndedBy::Caller;
  r.caller_in = "14155550100";
  r.callee_in = "12125550123";
  EXPECT_EQ(callRecordLogLine(r),
            "event=call_end call_id=abc@pbx b_call_id=sbc-1 trunk=pbx-1 "
            "outbound_trunk=\"carrier 1\" direction=outbound result=answered code=200 reason=bye "
            "ended_by=caller caller=14155550100 callee=12125550123 duration_ms=62000 "
            "setup_ms=850 failovers=0");
}

}  // namespace
}  // namespace sbc::app

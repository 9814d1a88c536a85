#include "sbc/app/mgmt_api.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <cmath>
#include <cstdint>
#include <ctime>

#include "common/http/endpoints.h"
#include "common/http/router.h"
#include "common/metrics/registry.h"
#include "sbc/app/mgmt_drain.h"

namespace sbc::app {
namespace asio = boost::asio;
namespace json = boost::json;

std::string isoTime(std::chrono::system_clock::time_point t) {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  int frac = static_cast<int>(ms % 1000);
  if (frac < 0) {
    frac += 1000;
    --secs;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
  return buf;
}

json::value callsJson(const std::vector<b2bua::CallInfo>& calls,
                      std::chrono::system_clock::time_point now) {
  json::array out;
  out.reserve(calls.size());
  for (const b2bua::CallInfo& c : calls) {
    json::object o;
    o["handle"] = c.handle;
    o["direction"] = c.direction == b2bua::Direction::Inbound ? "inbound" : "outbound";
    o["inbound_trunk"] = c.inbound_trunk;
    o["outbound_trunk"] = c.outbound_trunk;
    o["caller"] = c.caller;
    o["callee"] = c.callee;
    o["state"] = c.state;
    o["start_time"] = isoTime(c.start);
    o["duration"] = c.duration.count();
    o["age"] = std::chrono::duration_cast<std::chrono::seconds>(now - c.start).count();
    if (!c.relay.empty()) o["relay"] = c.relay;
    o["call_id"] = c.call_id;
    o["traced"] = c.traced;
    out.push_back(std::move(o));
  }
  return out;
}

namespace {

// A rate that is a whole number (the usual case) as a JSON integer: the
// serializer writes every double in exponent form ("0E0", "1E1"), which is
// valid JSON but reads badly in curl's output.
json::value jsonNumber(double v) {
  if (std::isfinite(v) && v == std::trunc(v) && std::fabs(v) < 9.0e15) {
    return static_cast<std::int64_t>(v);
  }
  return v;
}

}  // namespace

json::value trunkUsageJson(const std::vector<TrunkUsage>& trunks) {
  json::array out;
  out.reserve(trunks.size());
  for (const TrunkUsage& t : trunks) {
    json::object o;
    o["id"] = t.id;
    o["name"] = t.name;
    o["kind"] = t.kind == cfg::TrunkKind::Pbx ? "pbx" : "carrier";
    o["enabled"] = t.enabled;
    o["inbound"] = t.inbound;
    o["outbound"] = t.outbound;
    o["total"] = t.inbound + t.outbound;
    json::object limits;
    limits["max_calls"] = t.limits.max_calls;
    limits["max_inbound"] = t.limits.max_inbound;
    limits["max_outbound"] = t.limits.max_outbound;
    limits["cps"] = jsonNumber(t.limits.cps);
    limits["cps_burst"] = t.limits.cps_burst;
    o["limits"] = std::move(limits);
    if (t.leased) {
      // Cluster mode: the channels this node may use of each limit.
      json::object leased;
      leased["max_calls"] = t.leased->calls;
      leased["max_inbound"] = t.leased->inbound;
      leased["max_outbound"] = t.leased->outbound;
      o["leased"] = std::move(leased);
    } else {
      o["leased"] = nullptr;
    }
    json::object rejections;
    for (const auto& [cause, n] : t.rejections) rejections[cause] = n;
    o["rejections"] = std::move(rejections);
    json::array gateways;
    for (const b2bua::GatewayStatus& g : t.gateways) {
      json::object go;
      go["id"] = g.gateway_id;
      go["host"] = g.host;
      go["port"] = g.port;
      go["state"] = g.up ? "up" : "down";
      go["rtt_ms"] = g.rtt.count();
      go["last_code"] = g.last_code;
      go["consecutive_failures"] = g.consecutive_failures;
      gateways.push_back(std::move(go));
    }
    o["gateways"] = std::move(gateways);
    if (t.registration) {
      json::object r;
      r["state"] = std::string(b2bua::toString(t.registration->state));
      r["gateway_id"] = t.registration->gateway_id;
      r["last_code"] = t.registration->last_code;
      r["granted_expires"] = t.registration->granted_expires;
      r["consecutive_failures"] = t.registration->consecutive_failures;
      o["outbound_registration"] = std::move(r);
    } else {
      o["outbound_registration"] = nullptr;
    }
    o["registered_contacts"] = t.registered_contacts;
    out.push_back(std::move(o));
  }
  return out;
}

json::value relaysJson(const std::vector<media::RelayStatus>& relays) {
  json::array out;
  out.reserve(relays.size());
  for (const media::RelayStatus& r : relays) {
    json::object o;
    o["endpoint"] = r.endpoint;
    o["connected"] = r.connected;
    o["healthy"] = r.healthy;
    o["sessions"] = r.sessions;
    o["ports_free"] = r.ports_free;
    o["requests"] = r.requests;
    o["retransmits"] = r.retransmits;
    o["timeouts"] = r.timeouts;
    o["connects"] = r.reconnects;
    out.push_back(std::move(o));
  }
  return out;
}

namespace {

// Runs `f` on the SIP thread and resumes on the HTTP thread with its result.
template <typename F>
auto onSipThread(asio::io_context& sip_io, F f) -> asio::awaitable<decltype(f())> {
  using R = decltype(f());
  co_return co_await asio::co_spawn(
      sip_io, [f = std::move(f)]() mutable -> asio::awaitable<R> { co_return f(); },
      asio::use_awaitable);
}

}  // namespace

std::shared_ptr<http::Router> makeMgmtRouter(const MgmtContext& ctx) {
  auto router = std::make_shared<http::Router>();
  std::shared_ptr<const DrainState> drain = addOpsRoutes(*router, ctx);  // mgmt_drain.cc
  router->addSync(http::Method::kGet, "/metrics", http::metricsHandler(ctx.registry));
  router->addSync(http::Method::kGet, "/healthz", [ctx, drain](http::Request&) {
    const NodeStatus& s = *ctx.status;
    json::object body;
    const bool has_config = s.has_config.load();
    // Draining fails readiness (503) so that load balancers and probes move
    // new work elsewhere while calls in progress finish.
    const bool stopping = s.shutting_down.load() || drain->draining.load();
    body["status"] = !has_config              ? "no configuration"
                     : s.shutting_down.load() ? "shutting down"
                     : stopping               ? "draining"
                                              : "ok";
    body["draining"] = drain->draining.load();
    body["node"] = ctx.node_name;
    body["config_generation"] = s.config_generation.load();
    body["active_calls"] = s.active_calls.load();
    if (ctx.database_connected) body["database"] = ctx.database_connected() ? "up" : "down";
    http::Response r = http::Response::json(has_config && !stopping ? 200 : 503, body);
    r.set("Cache-Control", "no-store");
    return r;
  });
  router->add(
      http::Method::kGet, "/api/calls", [ctx](http::Request&) -> asio::awaitable<http::Response> {
        SipNode* node = ctx.node;
        auto calls = co_await onSipThread(*ctx.sip_io, [node] { return node->activeCalls(); });
        http::Response r =
            http::Response::json(200, callsJson(calls, std::chrono::system_clock::now()));
        r.set("Cache-Control", "no-store");
        co_return r;
      });
  router->add(http::Method::kGet, "/api/trunks/usage",
              [ctx](http::Request&) -> asio::awaitable<http::Response> {
                SipNode* node = ctx.node;
                auto usage =
                    co_await onSipThread(*ctx.sip_io, [node] { return node->trunkUsage(); });
                http::Response r = http::Response::json(200, trunkUsageJson(usage));
                r.set("Cache-Control", "no-store");
                co_return r;
              });
  router->add(
      http::Method::kGet, "/api/relays", [ctx](http::Request&) -> asio::awaitable<http::Response> {
        SipNode* node = ctx.node;
        auto relays = co_await onSipThread(*ctx.sip_io, [node] { return node->relayStatus(); });
        http::Response r = http::Response::json(200, relaysJson(relays));
        r.set("Cache-Control", "no-store");
        co_return r;
      });
  addRouteProbe(*router, ctx);
  addTraceRoutes(*router, ctx);
  return router;
}

}  // namespace sbc::app

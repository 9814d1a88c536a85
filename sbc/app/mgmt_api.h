#pragma once
// The node's management HTTP API (loopback by default), served from its own
// thread and io_context so that it never slows SIP:
//   GET /healthz           200 {"status":"ok","config_generation":N,...}; 503 before
//                          the first configuration snapshot ("no configuration")
//   GET /metrics           Prometheus text format
//   GET /api/calls         active calls (JSON array)
//   GET /api/trunks/usage  per trunk: channels, limits, rejections, gateway
//                          health, outbound registration, leased channels
//                          (cluster mode; else null) (JSON array)
//   GET /api/relays        per configured media relay: connection, health,
//                          sessions, request counters (JSON array; [] without)
//   GET /api/route?trunk=&number=  the routing a new call would get (mgmt_route.cc)
// SIP-thread state is never read from the HTTP thread: /api/* post a job to
// the SIP io_context and await its answer; /healthz reads atomics.
#include <boost/json/value.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sbc/app/sip_node.h"
#include "sbc/b2bua/engine.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace sbc::metrics {
class Registry;
}  // namespace sbc::metrics

namespace sbc::http {
class Router;
}  // namespace sbc::http

namespace sbc::app {

// Written by whoever knows (SIP thread, samplers), read by /healthz.
struct NodeStatus {
  std::atomic<bool> has_config{false};
  std::atomic<std::uint64_t> config_generation{0};
  std::atomic<std::size_t> active_calls{0};
  std::atomic<bool> shutting_down{false};
};

struct MgmtContext {
  boost::asio::io_context* sip_io = nullptr;
  SipNode* node = nullptr;  // used on the SIP thread only
  std::shared_ptr<const metrics::Registry> registry;
  const NodeStatus* status = nullptr;
  std::string node_name;
  // Extra facts for /healthz, evaluated on the HTTP thread (must not block).
  std::function<bool()> database_connected;
};

std::shared_ptr<http::Router> makeMgmtRouter(const MgmtContext& ctx);

// The JSON the API answers, separate for tests.
std::string isoTime(std::chrono::system_clock::time_point t);
boost::json::value callsJson(const std::vector<b2bua::CallInfo>& calls,
                             std::chrono::system_clock::time_point now);
boost::json::value trunkUsageJson(const std::vector<TrunkUsage>& trunks);
boost::json::value relaysJson(const std::vector<media::RelayStatus>& relays);

// GET /api/route?trunk=<name>&number=<digits> (mgmt_route.cc): the routing a
// new call from that trunk would get now; 404 unknown trunk, 503 no snapshot.
void addRouteProbe(http::Router& router, const MgmtContext& ctx);
// POST /api/calls/{call_id}/trace (mgmt_trace.cc): SIP tracing on for a call
// in progress, from now on; either leg's Call-ID. 200 {"call_id": A-leg id}
// (the sip_traces key), 404 no such call here.
void addTraceRoutes(http::Router& router, const MgmtContext& ctx);

}  // namespace sbc::app

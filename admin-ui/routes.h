#pragma once
// One function per resource file; app.cc calls each once. A new resource
// (port orders, CSV imports...) adds its file and one line in buildApi().
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/connection>

#include "admin-ui/api.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace sbc::admin {

void registerTrunkRoutes(Api& api);    // trunk_routes.cc: trunks with gateways, ACL, credentials
void registerDidRoutes(Api& api);      // did_routes.cc
void registerRouteRoutes(Api& api);    // route_routes.cc: outbound routes
void registerUserRoutes(Api& api);     // user_routes.cc: users (admin only)
void registerTokenRoutes(Api& api);    // token_routes.cc: API tokens (admin only)
void registerAuditRoutes(Api& api);    // audit_routes.cc: audit log, read-only
void registerNodeRoutes(Api& api);     // node_routes.cc: sbc_nodes
void registerLiveRoutes(Api& api);     // live_routes.cc: live calls and trunk usage from every node
void registerOpenApiRoute(Api& api);   // openapi.cc: GET /api/v1/openapi.json
void registerPortingRoutes(Api& api);  // porting_routes.cc: port orders
void registerImportRoutes(Api& api);   // import_routes.cc: ported numbers, CSV imports
void registerCdrRoutes(Api& api);      // cdr_routes.cc: CDR search and CSV export
void registerTraceRoutes(Api& api);    // trace_routes.cc: SIP traces, tracing live calls
void registerRouteTestRoutes(Api& api);  // route_test_routes.cc: route tester via a live node
void registerDashboardRoutes(Api& api);  // dashboard_routes.cc: the last hour, sampled
void registerEventRoutes(Api& api);      // events_routes.cc: GET /api/v1/events (SSE)

// A job that needs a whole connection rather than Api::db()'s transaction:
// the porting store and the CSV import open their own transactions. Runs on a
// pool thread; the coroutine resumes on its own executor. A full queue or a
// lost database answers 503, an exception 500.
using ConnFn = std::function<http::Response(pqxx::connection&)>;
boost::asio::awaitable<http::Response> withConnection(Api& api, ConnFn fn);

// The port-order scheduler: every `period`, completeDueOrders() on a pool
// thread (a tick is skipped while the previous run is still going). Logs each
// completion and counts them in admin_port_orders_completed_total{result}.
// Returns the function that stops it (call it on shutdown, or io.run() never
// returns).
std::function<void()> startPortOrderScheduler(boost::asio::io_context& io, Api& api,
                                              std::chrono::milliseconds period);

// live_routes.cc: one request (GET, or POST without a body) to every live
// node's mgmt API at once, each within a short timeout. `failed` holds the
// answer to give when the node list could not be read.
struct NodeReply {
  std::string name;
  int status = 0;  // HTTP status; 0: no answer (see error)
  std::string error;
  std::string body;
};
struct NodeReplies {
  std::optional<http::Response> failed;
  std::vector<NodeReply> nodes;
};
boost::asio::awaitable<NodeReplies> askLiveNodes(Api& api, const std::string& target, bool post,
                                                 std::size_t body_limit);

// live_routes.cc: GET `target` on every live node's mgmt API at once, merged
// into {"items":[...],"nodes":[{name,ok,error}]} (what /api/v1/live/* answer).
boost::asio::awaitable<http::Response> gatherFromNodes(Api& api, const std::string& target);

// The dashboard sampler (dashboard_sampler.h) feeding registerDashboardRoutes'
// history every `period`. Returns the function that stops it.
std::function<void()> startDashboardSampler(boost::asio::io_context& io, Api& api,
                                            std::chrono::milliseconds period);

}  // namespace sbc::admin

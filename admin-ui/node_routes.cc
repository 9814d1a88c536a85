// SBC nodes as they register themselves in sbc_nodes (heartbeats), read-only.
#include <pqxx/pqxx>

#include "admin-ui/routes.h"

namespace sbc::admin {

namespace asio = boost::asio;
using http::Request;
using http::Response;

namespace {

// A node that has not heartbeaten for this long is shown as not alive.
constexpr int kAliveSeconds = 30;

asio::awaitable<Response> listNodes(Api* api, Request&) {
  co_return co_await api->db([](Transaction& txn) {
    std::string items =
        txn.exec_params1(
               "SELECT coalesce(jsonb_agg(to_jsonb(n) || jsonb_build_object('alive', "
               "n.stopped_at IS NULL AND n.heartbeat_at > now() - make_interval(secs => $1)) ORDER "
               "BY n.name), "
               "'[]'::jsonb)::text FROM sbc_nodes n",
               kAliveSeconds)[0]
            .as<std::string>();
    return jsonText(200, "{\"items\":" + items + "}");
  });
}

}  // namespace

void registerNodeRoutes(Api& api) {
  Api* a = &api;
  api.get("/api/v1/nodes", Access::kViewer, [a](Request& r) { return listNodes(a, r); });
}

}  // namespace sbc::admin

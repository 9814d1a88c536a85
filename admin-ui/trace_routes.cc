// SIP traces of calls (issue 6) and the console's ladder diagram's data:
//   GET  /api/v1/calls/{call_id}/trace       (viewer)   sip_traces rows of a
//        call, in time order. The key is the A-leg Call-ID: what live calls
//        show as call_id and CDRs as a_call_id.
//   POST /api/v1/live/calls/{call_id}/trace  (operator) asks every live
//        node's mgmt API (POST /api/calls/{call_id}/trace) to trace that call
//        from now on; 200 when a node has it, 404 when none does. Audited.
#include <boost/json.hpp>
#include <pqxx/pqxx>

#include <string>

#include "admin-ui/resource.h"
#include "admin-ui/routes.h"

namespace sbc::admin {

namespace asio = boost::asio;
namespace json = boost::json;
using http::Request;
using http::Response;

namespace {

constexpr std::size_t kMaxNodeBody = std::size_t{64} * 1024;
constexpr std::size_t kMaxCallId = 512;
constexpr int kMaxRows = 5000;  // a call traced for hours stays readable

std::string percentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    const bool plain = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                       c == '-' || c == '.' || c == '_' || c == '~';
    if (plain) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

asio::awaitable<Response> getTrace(Api* api, Request& req) {
  std::string call_id(req.param("call_id"));
  if (call_id.empty() || call_id.size() > kMaxCallId)
    co_return errorResponse(400, "call_id must be 1 to 512 characters", "call_id");
  co_return co_await api->db([&](Transaction& txn) {
    pqxx::result r = txn.exec_params(
        "SELECT coalesce(json_agg(json_build_object('id', id, 'leg', leg, 'direction', "
        "direction, 'at', to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), "
        "'node', node, 'transport', transport, 'local', local, 'remote', remote, 'message', "
        "message) ORDER BY at, id), '[]'::json)::text, count(*) FROM (SELECT * FROM sip_traces "
        "WHERE call_id = $1 ORDER BY at, id LIMIT $2) t",
        call_id, kMaxRows);
    json::object head{{"call_id", call_id}};
    std::string body = json::serialize(head);
    body.pop_back();  // '}'
    body += ",\"truncated\":";
    body += r[0][1].as<long>() >= kMaxRows ? "true" : "false";
    body += ",\"items\":" + r[0][0].as<std::string>() + "}";
    return jsonText(200, std::move(body));
  });
}

asio::awaitable<Response> traceLive(Api* api, Request& req) {
  std::string call_id(req.param("call_id"));
  if (call_id.empty() || call_id.size() > kMaxCallId)
    co_return errorResponse(400, "call_id must be 1 to 512 characters", "call_id");
  const std::string target = "/api/calls/" + percentEncode(call_id) + "/trace";
  NodeReplies replies = co_await askLiveNodes(*api, target, true, kMaxNodeBody);
  if (replies.failed) co_return std::move(*replies.failed);
  bool traced = false;
  json::array status;
  for (const NodeReply& n : replies.nodes) {
    json::object s{{"name", n.name}, {"ok", n.status == 200}};
    if (n.status != 0) s["status"] = n.status;
    if (n.status == 0) s["error"] = n.error.empty() ? "no answer" : n.error;
    traced = traced || n.status == 200;
    status.push_back(std::move(s));
  }
  json::object body{{"call_id", call_id}, {"traced", traced}, {"nodes", std::move(status)}};
  if (!traced) {
    json::object err{
        {"status", 404}, {"code", "not_found"}, {"message", "no live node has this call"}};
    body["error"] = std::move(err);
    co_return Response::json(404, body);
  }
  const Principal who = principalOf(req);
  const std::string ip = req.remote_address;
  const std::string after = json::serialize(json::object{{"traced", true}});
  co_await api->db([&](Transaction& txn) {
    writeAudit(txn, who, "trace", "call", call_id, "", after, ip);
    return Response::empty(200);
  });
  co_return Response::json(200, body);
}

}  // namespace

void registerTraceRoutes(Api& api) {
  Api* a = &api;
  api.get("/api/v1/calls/{call_id}/trace", Access::kViewer,
          [a](Request& r) { return getTrace(a, r); });
  api.post("/api/v1/live/calls/{call_id}/trace", Access::kOperator,
           [a](Request& r) { return traceLive(a, r); });
}

}  // namespace sbc::admin

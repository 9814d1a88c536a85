// SIP traces of calls (issue 6) and the console's ladder diagram's data:
//   GET  /api/v1/calls/{call_id}/trace       (viewer)   sip_traces rows of a
//        call, in time order. The key is the A-leg Call-ID: what live calls
//        show as call_id and CDRs as a_call_id.
//   POST /api/v1/live/calls/{call_id}/trace  (operator) asks every live
//        node's mgmt API (POST /api/calls/{call_id}/trace) to trace that call
//        from now on; 200 when a node has it, 404 when none does. Audited.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <pqxx/pqxx>

#include <chrono>
#include <memory>

#include "admin-ui/resource.h"
#include "admin-ui/routes.h"

namespace sbc::admin {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace json = boost::json;
using http::Request;
using http::Response;
using namespace std::chrono_literals;

namespace {

constexpr auto kNodeTimeout = 1500ms;
constexpr int kAliveSeconds = 30;
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

bool splitHostPort(const std::string& s, std::string& host, std::string& port) {
  if (!s.empty() && s.front() == '[') {
    auto close = s.find(']');
    if (close == std::string::npos || close + 2 > s.size() || s[close + 1] != ':') return false;
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string::npos || s.find(':') != colon) return false;
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
  }
  return !host.empty() && !port.empty();
}

struct NodeResult {
  std::string name;
  int status = 0;  // HTTP status from the node; 0: no answer
  std::string error;
};

asio::awaitable<void> postNode(std::string address, std::string target,
                               std::shared_ptr<std::vector<NodeResult>> all, std::size_t index) {
  NodeResult& out = (*all)[index];
  std::string host, port;
  if (!splitHostPort(address, host, port)) {
    out.error = "bad mgmt_address '" + address + "'";
    co_return;
  }
  try {
    auto ex = co_await asio::this_coro::executor;
    asio::ip::tcp::resolver resolver(ex);
    beast::tcp_stream stream(ex);
    stream.expires_after(kNodeTimeout);
    auto endpoints = co_await resolver.async_resolve(host, port, asio::use_awaitable);
    co_await stream.async_connect(endpoints, asio::use_awaitable);
    beast::http::request<beast::http::empty_body> req{beast::http::verb::post, target, 11};
    req.set(beast::http::field::host, address);
    req.set(beast::http::field::accept, "application/json");
    req.content_length(0);
    co_await beast::http::async_write(stream, req, asio::use_awaitable);
    beast::flat_buffer buffer;
    beast::http::response_parser<beast::http::string_body> parser;
    parser.body_limit(std::uint64_t{64} * 1024);
    co_await beast::http::async_read(stream, buffer, parser, asio::use_awaitable);
    out.status = static_cast<int>(parser.get().result_int());
    beast::error_code ignored;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  } catch (const boost::system::system_error& e) {
    out.error = e.code() == beast::error::timeout ? "timed out" : e.code().message();
  } catch (const std::exception& e) {
    out.error = e.what();
  }
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
  std::vector<std::pair<std::string, std::string>> nodes;
  Response r = co_await api->db([&](Transaction& txn) {
    pqxx::result rows = txn.exec_params(
        "SELECT name, mgmt_address FROM sbc_nodes WHERE stopped_at IS NULL AND heartbeat_at > "
        "now() - make_interval(secs => $1) ORDER BY name",
        kAliveSeconds);
    for (const auto& row : rows)
      nodes.emplace_back(row[0].as<std::string>(), row[1].as<std::string>());
    return Response::empty(200);
  });
  if (r.status >= 400) co_return r;

  const std::string target = "/api/calls/" + percentEncode(call_id) + "/trace";
  auto ex = co_await asio::this_coro::executor;
  auto results = std::make_shared<std::vector<NodeResult>>(nodes.size());
  auto pending = std::make_shared<std::size_t>(nodes.size());
  auto timer = std::make_shared<asio::steady_timer>(ex, kNodeTimeout + 500ms);
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    (*results)[i].name = nodes[i].first;
    asio::co_spawn(ex, postNode(nodes[i].second, target, results, i),
                   [pending, timer](const std::exception_ptr&) {
                     if (--*pending == 0) timer->cancel();
                   });
  }
  if (*pending > 0) {
    boost::system::error_code ec;
    co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  bool traced = false;
  json::array status;
  for (const NodeResult& n : *results) {
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

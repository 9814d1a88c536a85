// Live state gathered from every SBC node's mgmt API: GET /api/calls and
// GET /api/trunks/usage on each node whose heartbeat is recent, all at once
// with a short timeout, merged. A node that does not answer is reported in
// "nodes" with its error, never fails the request. The console's only Beast
// client lives here (askLiveNodes, also used for traces and the route tester).
#include <spdlog/spdlog.h>

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
constexpr std::size_t kMaxNodeBody = std::size_t{16} * 1024 * 1024;

// "host:port" or "[v6]:port".
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

// `all` is shared: a request that outlives the gathering (a slow name
// lookup) still writes into live memory.
asio::awaitable<void> requestNode(std::string address, std::string target, bool post,
                                  std::size_t body_limit,
                                  std::shared_ptr<std::vector<NodeReply>> all, std::size_t index) {
  NodeReply& out = (*all)[index];
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
    beast::http::request<beast::http::empty_body> req{
        post ? beast::http::verb::post : beast::http::verb::get, target, 11};
    req.set(beast::http::field::host, address);
    req.set(beast::http::field::accept, "application/json");
    if (post) req.content_length(0);
    co_await beast::http::async_write(stream, req, asio::use_awaitable);
    beast::flat_buffer buffer;
    beast::http::response_parser<beast::http::string_body> parser;
    parser.body_limit(body_limit);
    co_await beast::http::async_read(stream, buffer, parser, asio::use_awaitable);
    out.status = static_cast<int>(parser.get().result_int());
    out.body = std::move(parser.get().body());
    beast::error_code ignored;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  } catch (const boost::system::system_error& e) {
    out.error = e.code() == beast::error::timeout ? "timed out" : e.code().message();
  } catch (const std::exception& e) {
    out.error = e.what();
  }
}

asio::awaitable<Response> gather(Api* api, const std::string& target) {
  NodeReplies replies = co_await askLiveNodes(*api, target, false, kMaxNodeBody);
  if (replies.failed) co_return std::move(*replies.failed);
  json::array items;
  json::array status;
  for (NodeReply& a : replies.nodes) {
    json::value body;
    if (a.status == 200) {
      boost::system::error_code ec;
      body = json::parse(a.body, ec);
      if (ec) {
        a.status = 0;
        a.error = "invalid JSON: " + ec.message();
      }
    } else if (a.status != 0) {
      a.error = "answered " + std::to_string(a.status);
    }
    const bool ok = a.status == 200;
    json::object s{{"name", a.name}, {"ok", ok}};
    if (!ok) {
      s["error"] = a.error;
    } else if (body.is_array()) {
      for (auto& item : body.as_array()) {
        if (item.is_object()) {
          item.as_object()["node"] = a.name;
          items.push_back(std::move(item));
        } else {
          items.push_back(json::object{{"node", a.name}, {"value", std::move(item)}});
        }
      }
    } else {
      items.push_back(json::object{{"node", a.name}, {"value", std::move(body)}});
    }
    status.push_back(std::move(s));
  }
  co_return Response::json(200,
                           json::object{{"items", std::move(items)}, {"nodes", std::move(status)}});
}

}  // namespace

asio::awaitable<NodeReplies> askLiveNodes(Api& api, const std::string& target, bool post,
                                          std::size_t body_limit) {
  NodeReplies out;
  std::vector<std::pair<std::string, std::string>> nodes;  // name, mgmt address
  Response r = co_await api.db([&](Transaction& txn) {
    pqxx::result rows = txn.exec_params(
        "SELECT name, mgmt_address FROM sbc_nodes WHERE stopped_at IS NULL AND heartbeat_at > "
        "now() - make_interval(secs => $1) ORDER BY name",
        kAliveSeconds);
    for (const auto& row : rows)
      nodes.emplace_back(row[0].as<std::string>(), row[1].as<std::string>());
    return Response::empty(200);
  });
  if (r.status >= 400) {
    out.failed = std::move(r);
    co_return out;
  }

  // Every node at once, on this connection's executor (no locks needed);
  // the timer wakes us when the last one is done.
  auto ex = co_await asio::this_coro::executor;
  auto replies = std::make_shared<std::vector<NodeReply>>(nodes.size());
  auto pending = std::make_shared<std::size_t>(nodes.size());
  auto timer = std::make_shared<asio::steady_timer>(ex, kNodeTimeout + 500ms);
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    (*replies)[i].name = nodes[i].first;
    asio::co_spawn(ex, requestNode(nodes[i].second, target, post, body_limit, replies, i),
                   [pending, timer](const std::exception_ptr&) {
                     if (--*pending == 0) timer->cancel();
                   });
  }
  if (*pending > 0) {
    boost::system::error_code ec;
    co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  // A request still running here (past its deadline) counts as no answer.
  out.nodes = *replies;
  for (NodeReply& n : out.nodes)
    if (n.status == 0 && n.error.empty()) n.error = "timed out";
  co_return out;
}

// By reference: a by-value string argument inside a co_await expression is
// a temporary that gcc 12 relocates bytewise (see porting_routes.cc).
asio::awaitable<Response> gatherFromNodes(Api& api, const std::string& target) {
  return gather(&api, target);
}

void registerLiveRoutes(Api& api) {
  Api* a = &api;
  static const std::string kCalls = "/api/calls";
  static const std::string kUsage = "/api/trunks/usage";
  api.get("/api/v1/live/calls", Access::kViewer, [a](Request&) { return gather(a, kCalls); });
  api.get("/api/v1/live/usage", Access::kViewer, [a](Request&) { return gather(a, kUsage); });
}

}  // namespace sbc::admin

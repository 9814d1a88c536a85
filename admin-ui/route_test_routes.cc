// GET /api/v1/routes/test?trunk=<name>&number=<digits>: the route tester.
// The console does not re-implement routing: it asks the live SBC nodes'
// mgmt API (GET /api/route, sbc/app/mgmt_route.cc), which runs the node's own
// normalisation, LNP and routing on its current snapshot, and answers with
// the first node that replies. No node up is a 503 that says so.
#include <boost/json.hpp>
#include <pqxx/pqxx>

#include <string>
#include <string_view>

#include "admin-ui/routes.h"

namespace sbc::admin {

namespace asio = boost::asio;
namespace json = boost::json;
using http::Request;
using http::Response;

namespace {

constexpr std::size_t kMaxNumberChars = 64;
constexpr std::size_t kMaxTrunkChars = 200;

std::string queryEscape(std::string_view raw) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(raw.size() * 3);
  for (unsigned char c : raw) {
    if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string stringOf(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

asio::awaitable<Response> testRoute(Api* api, Request& request) {
  std::string trunk(request.queryParam("trunk").value_or(""));
  std::string number(request.queryParam("number").value_or(""));
  if (trunk.empty()) co_return errorResponse(422, "choose the trunk the call comes from", "trunk");
  if (trunk.size() > kMaxTrunkChars) co_return errorResponse(422, "trunk is too long", "trunk");
  if (number.find_first_not_of(" \t") == std::string::npos)
    co_return errorResponse(422, "enter a number", "number");
  if (number.size() > kMaxNumberChars)
    co_return errorResponse(422, "number is too long (at most 64 characters)", "number");

  // A name the database does not know is the operator's typo, not a node
  // problem: say so on the field.
  bool known = false;
  Response r = co_await api->db([&](Transaction& txn) {
    known = !txn.exec_params("SELECT 1 FROM trunks WHERE name = $1", trunk).empty();
    return Response::empty(200);
  });
  if (r.status >= 400) co_return r;
  if (!known) co_return errorResponse(422, "there is no trunk named '" + trunk + "'", "trunk");

  // A named local, not a temporary in the co_await (gcc 12, porting_routes.cc).
  const std::string target =
      "/api/route?trunk=" + queryEscape(trunk) + "&number=" + queryEscape(number);
  Response gathered = co_await gatherFromNodes(*api, target);
  if (gathered.status != 200) co_return gathered;
  boost::system::error_code ec;
  json::value all = json::parse(gathered.body, ec);
  if (ec || !all.is_object()) co_return errorResponse(500, "bad answer from the node gatherer");
  const json::object& top = all.as_object();
  const json::value* nodes = top.if_contains("nodes");
  const json::value* items = top.if_contains("items");
  if (!nodes || !nodes->is_array() || !items || !items->is_array())
    co_return errorResponse(500, "bad answer from the node gatherer");
  if (nodes->as_array().empty()) {
    co_return errorResponse(
        503, "No SBC node is up: the tester asks a running sbc. Start one on this database.");
  }
  for (const json::value& item : items->as_array()) {
    if (!item.is_object()) continue;
    const json::object& o = item.as_object();
    const json::value* value = o.if_contains("value");
    if (!value || !value->is_object()) continue;
    json::object out = value->as_object();
    out["node"] = stringOf(o, "node");
    out["nodes"] = *nodes;
    Response answer = Response::json(200, out);
    answer.set("Cache-Control", "no-store");
    co_return answer;
  }
  std::string why;
  for (const json::value& n : nodes->as_array()) {
    if (!n.is_object()) continue;
    if (!why.empty()) why += "; ";
    why += stringOf(n.as_object(), "name") + ": " + stringOf(n.as_object(), "error");
  }
  co_return errorResponse(502, "No SBC node answered the route test (" + why +
                                   "). A node answers 404 while it has not loaded the trunk yet.");
}

}  // namespace

void registerRouteTestRoutes(Api& api) {
  Api* a = &api;
  api.get("/api/v1/routes/test", Access::kViewer, [a](Request& r) { return testRoute(a, r); });
}

}  // namespace sbc::admin

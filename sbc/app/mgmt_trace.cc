// POST /api/calls/{call_id}/trace: turns SIP tracing on for a live call.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/object.hpp>

#include <optional>
#include <string>

#include "common/http/router.h"
#include "sbc/app/mgmt_api.h"

namespace sbc::app {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {
constexpr std::size_t kMaxCallIdChars = 512;
}  // namespace

void addTraceRoutes(http::Router& router, const MgmtContext& ctx) {
  router.add(http::Method::kPost, "/api/calls/{call_id}/trace",
             [ctx](http::Request& req) -> asio::awaitable<http::Response> {
               std::string call_id(req.param("call_id"));
               if (call_id.empty() || call_id.size() > kMaxCallIdChars)
                 co_return http::Response::error(400, "bad call id");
               SipNode* node = ctx.node;
               // The answer names the A-leg Call-ID: the key the trace is stored under.
               // A named lambda, not a temporary inside the co_await expression:
               // built with GCC 12, the temporary form (it owns a std::string)
               // aborted in free() after the reply was sent.
               auto on_sip = [node, call_id]() -> asio::awaitable<std::optional<std::string>> {
                 b2bua::Engine* engine = node->engine();
                 std::string a = engine ? engine->traceCall(call_id) : std::string{};
                 if (a.empty()) co_return std::nullopt;
                 co_return a;
               };
               std::optional<std::string> a_call_id =
                   co_await asio::co_spawn(*ctx.sip_io, std::move(on_sip), asio::use_awaitable);
               if (!a_call_id) co_return http::Response::error(404, "no such call on this node");
               http::Response r = http::Response::json(
                   200, json::object{{"call_id", *a_call_id}, {"traced", true}});
               r.set("Cache-Control", "no-store");
               co_return r;
             });
}

}  // namespace sbc::app

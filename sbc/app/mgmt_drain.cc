#include "sbc/app/mgmt_drain.h"

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/object.hpp>

#include <unistd.h>
#include <chrono>
#include <csignal>

#include "common/http/router.h"
#include "sbc/app/mgmt_api.h"
#include "sbc/common/log_http.h"

namespace sbc::app {
namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

// How often the exit watcher looks at the call count.
constexpr auto kExitPoll = 250ms;

// Runs `f` on the SIP thread and resumes on the HTTP thread with its result.
template <typename F>
auto onSipThread(asio::io_context& sip_io, F f) -> asio::awaitable<decltype(f())> {
  using R = decltype(f());
  co_return co_await asio::co_spawn(
      sip_io, [f = std::move(f)]() mutable -> asio::awaitable<R> { co_return f(); },
      asio::use_awaitable);
}

std::int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

json::object stateJson(const DrainState& d, std::size_t active_calls) {
  json::object o;
  const bool draining = d.draining.load();
  o["draining"] = draining;
  if (draining) {
    o["since"] = isoTime(
        std::chrono::system_clock::time_point(std::chrono::milliseconds(d.since_ms.load())));
  } else {
    o["since"] = nullptr;
  }
  o["exit_when_idle"] = d.exit_when_idle.load();
  o["active_calls"] = active_calls;
  return o;
}

bool truthy(std::optional<std::string_view> v) {
  return v && (*v == "1" || *v == "true" || *v == "yes");
}

// Waits on the HTTP thread until no call is left, then stops the process the
// way SIGTERM does (main's signal handler: shutdown, CDRs flushed, node marked
// stopped). Ends early when the drain or its exit is cancelled.
asio::awaitable<void> exitWhenIdle(MgmtContext ctx, std::shared_ptr<DrainState> drain) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  SipNode* node = ctx.node;
  for (;;) {
    if (!drain->draining.load() || !drain->exit_when_idle.load()) break;
    const std::size_t calls =
        co_await onSipThread(*ctx.sip_io, [node] { return node->activeCallCount(); });
    if (calls == 0 && drain->draining.load() && drain->exit_when_idle.load()) {
      spdlog::warn("event=drain_exit active_calls=0");
      ::kill(::getpid(), SIGTERM);
      break;
    }
    timer.expires_after(kExitPoll);
    co_await timer.async_wait(asio::use_awaitable);
  }
  drain->watching = false;
}

}  // namespace

std::shared_ptr<DrainState> addOpsRoutes(http::Router& router, const MgmtContext& ctx) {
  auto drain = std::make_shared<DrainState>();
  router.add(http::Method::kPost, "/api/drain",
             [ctx, drain](http::Request& r) -> asio::awaitable<http::Response> {
               if (!common::fromThisHost(r)) co_return common::thisHostOnly();
               SipNode* node = ctx.node;
               const bool exit = truthy(r.queryParam("exit"));
               if (!drain->draining.exchange(true)) drain->since_ms = nowMs();
               if (exit) drain->exit_when_idle = true;
               const std::size_t calls = co_await onSipThread(*ctx.sip_io, [node] {
                 node->setDraining(true);
                 return node->activeCallCount();
               });
               spdlog::warn("event=drain state=on exit_when_idle={} active_calls={}",
                            drain->exit_when_idle.load(), calls);
               if (drain->exit_when_idle.load() && !drain->watching.exchange(true)) {
                 asio::co_spawn(co_await asio::this_coro::executor, exitWhenIdle(ctx, drain),
                                asio::detached);
               }
               http::Response resp = http::Response::json(200, stateJson(*drain, calls));
               resp.set("Cache-Control", "no-store");
               co_return resp;
             });
  router.add(http::Method::kGet, "/api/drain",
             [ctx, drain](http::Request&) -> asio::awaitable<http::Response> {
               SipNode* node = ctx.node;
               const std::size_t calls =
                   co_await onSipThread(*ctx.sip_io, [node] { return node->activeCallCount(); });
               http::Response resp = http::Response::json(200, stateJson(*drain, calls));
               resp.set("Cache-Control", "no-store");
               co_return resp;
             });
  router.add(http::Method::kDelete, "/api/drain",
             [ctx, drain](http::Request& r) -> asio::awaitable<http::Response> {
               if (!common::fromThisHost(r)) co_return common::thisHostOnly();
               SipNode* node = ctx.node;
               drain->exit_when_idle = false;
               drain->draining = false;
               const std::size_t calls = co_await onSipThread(*ctx.sip_io, [node] {
                 node->setDraining(false);
                 return node->activeCallCount();
               });
               spdlog::warn("event=drain state=off active_calls={}", calls);
               http::Response resp = http::Response::json(200, stateJson(*drain, calls));
               resp.set("Cache-Control", "no-store");
               co_return resp;
             });
  router.add(http::Method::kGet, "/livez",
             [ctx](http::Request&) -> asio::awaitable<http::Response> {
               co_await onSipThread(*ctx.sip_io, [] { return true; });
               json::object body;
               body["status"] = "alive";
               http::Response resp = http::Response::json(200, body);
               resp.set("Cache-Control", "no-store");
               co_return resp;
             });
  common::addLogLevelRoutes(router);
  return drain;
}

}  // namespace sbc::app

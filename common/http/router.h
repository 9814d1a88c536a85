#pragma once
// Routes (method, pattern) to handlers, with a before-chain (middleware that
// may answer instead of the handler: auth, CSRF) and after-hooks (headers,
// logging). Handlers are coroutines; synchronous ones are wrapped.
//
// Patterns: literal segments and {name} parameters, plus an optional last
// {name*} that takes the rest of the path (raw, still percent-encoded, so a
// file server can check it segment by segment). "/api/v1/trunks/{id}".
// When several patterns match, the most specific wins segment by segment
// (literal over {param} over {rest*}); a path that matches only patterns of
// other methods answers 405 with Allow. HEAD uses the GET route when no HEAD
// route exists (the server sends no body for HEAD).
//
// Build the router completely before a Server uses it: it is then read-only
// and shared by every connection without locks.
#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/http/request.h"
#include "common/http/response.h"

namespace sbc::http {

using Handler = std::function<boost::asio::awaitable<Response>(Request&)>;
using SyncHandler = std::function<Response(Request&)>;
// Answers a response to stop the chain there, or nullopt to go on.
using Middleware = std::function<boost::asio::awaitable<std::optional<Response>>(Request&)>;
using SyncMiddleware = std::function<std::optional<Response>(Request&)>;
// Runs on every response the router produces, including 404/405/500.
using AfterHook = std::function<void(const Request&, Response&)>;

class Router {
 public:
  static constexpr std::size_t kNoRoute = static_cast<std::size_t>(-1);
  static constexpr std::size_t kFallbackRoute = static_cast<std::size_t>(-2);

  // Start-up only: throws std::invalid_argument for a malformed pattern or a
  // (method, pattern) registered twice.
  Router& add(Method method, std::string_view pattern, Handler handler);
  // A route whose body is not read before the handler runs: the handler
  // pulls it from request.body_reader as it arrives (request.body stays
  // empty), up to max_body_bytes (instead of the server's max_body_bytes).
  // Middleware runs first, so authentication happens before any of the body
  // is read. A handler that answers without reading all of it gets its
  // connection closed after the answer.
  Router& addStreaming(Method method, std::string_view pattern, Handler handler,
                       std::uint64_t max_body_bytes);
  Router& addSync(Method method, std::string_view pattern, SyncHandler handler);
  Router& use(Middleware middleware);
  Router& useSync(SyncMiddleware middleware);
  Router& after(AfterHook hook);
  // Answers requests no pattern matches (instead of 404), e.g. a single-page
  // app's static files. Its route label is "fallback".
  Router& fallback(Handler handler);
  Router& fallbackSync(SyncHandler handler);

  // Matches, runs the middleware, the handler and the after-hooks. Never
  // throws: an exception from a handler or middleware becomes a 500 (logged).
  boost::asio::awaitable<Response> handle(Request& request) const;

  // Only the matching step: sets request.route/route_index/params. Returns
  // the route's handler, or nullptr with `status` 404 or 405 (and `allow`).
  struct Match {
    const Handler* handler = nullptr;
    int status = 200;
    std::string allow;
  };
  Match match(Request& request) const;

  std::size_t routeCount() const { return routes_.size(); }
  bool hasStreamingRoutes() const { return streaming_routes_ > 0; }
  // The body limit of a streaming route; nullopt for the others.
  std::optional<std::uint64_t> streamingLimit(std::size_t route_index) const;
  std::string_view routePattern(std::size_t index) const;

 private:
  enum class SegmentKind : std::uint8_t { kLiteral, kParam, kRest };
  struct Segment {
    SegmentKind kind;
    std::string text;  // the literal, or the parameter's name
  };
  struct Route {
    Method method;
    std::string pattern;
    std::vector<Segment> segments;
    Handler handler;
    std::optional<std::uint64_t> stream_limit;
  };
  static std::vector<Segment> parsePattern(std::string_view pattern);
  static bool matches(const Route& route, const std::vector<std::string_view>& parts);
  static bool moreSpecific(const Route& a, const Route& b);

  std::vector<Route> routes_;
  std::vector<Middleware> before_;
  std::vector<AfterHook> after_;
  Handler fallback_;
  std::size_t streaming_routes_ = 0;
};

}  // namespace sbc::http

#include "common/http/router.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>
#include <stdexcept>

namespace sbc::http {

namespace {

// The frame of a coroutine made from a lambda refers to the lambda object;
// these free functions take what they need by value instead, so a wrapped
// handler stays valid whatever happens to the std::function holding it.
boost::asio::awaitable<Response> runSync(std::shared_ptr<const SyncHandler> handler,
                                         Request& request) {
  co_return (*handler)(request);
}

boost::asio::awaitable<std::optional<Response>> runSyncMiddleware(
    std::shared_ptr<const SyncMiddleware> middleware, Request& request) {
  co_return (*middleware)(request);
}

Handler wrap(SyncHandler handler) {
  auto shared = std::make_shared<const SyncHandler>(std::move(handler));
  return [shared](Request& request) { return runSync(shared, request); };
}

bool validName(std::string_view name) {
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// Splits "/a/b" into {"a", "b"}; "/" into {}. Views into `path`.
void splitPath(std::string_view path, std::vector<std::string_view>& parts) {
  parts.clear();
  if (path.size() <= 1) return;
  path.remove_prefix(1);
  while (true) {
    std::size_t slash = path.find('/');
    parts.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
}

constexpr std::string_view kFallbackLabel = "fallback";
constexpr std::string_view kUnmatchedLabel = "unmatched";

}  // namespace

std::vector<Router::Segment> Router::parsePattern(std::string_view pattern) {
  if (pattern.empty() || pattern.front() != '/') {
    throw std::invalid_argument("route pattern must start with '/': " + std::string(pattern));
  }
  std::vector<std::string_view> parts;
  splitPath(pattern, parts);
  std::vector<Segment> segments;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    std::string_view part = parts[i];
    if (part.empty()) throw std::invalid_argument("empty segment in route " + std::string(pattern));
    if (part.front() != '{') {
      if (part.find_first_of("{}") != std::string_view::npos) {
        throw std::invalid_argument("stray brace in route " + std::string(pattern));
      }
      segments.push_back({SegmentKind::kLiteral, std::string(part)});
      continue;
    }
    if (part.back() != '}')
      throw std::invalid_argument("unclosed '{' in route " + std::string(pattern));
    std::string_view name = part.substr(1, part.size() - 2);
    SegmentKind kind = SegmentKind::kParam;
    if (!name.empty() && name.back() == '*') {
      if (i + 1 != parts.size()) {
        throw std::invalid_argument("{name*} must be the last segment: " + std::string(pattern));
      }
      name.remove_suffix(1);
      kind = SegmentKind::kRest;
    }
    if (!validName(name))
      throw std::invalid_argument("bad parameter name in " + std::string(pattern));
    for (const Segment& s : segments) {
      if (s.kind != SegmentKind::kLiteral && s.text == name) {
        throw std::invalid_argument("duplicate parameter in " + std::string(pattern));
      }
    }
    segments.push_back({kind, std::string(name)});
  }
  return segments;
}

Router& Router::add(Method method, std::string_view pattern, Handler handler) {
  std::vector<Segment> segments = parsePattern(pattern);
  for (const Route& r : routes_) {
    if (r.method == method && r.pattern == pattern) {
      throw std::invalid_argument("route registered twice: " + std::string(methodName(method)) +
                                  " " + std::string(pattern));
    }
  }
  routes_.push_back(
      Route{method, std::string(pattern), std::move(segments), std::move(handler), std::nullopt});
  return *this;
}

Router& Router::addStreaming(Method method, std::string_view pattern, Handler handler,
                             std::uint64_t max_body_bytes) {
  add(method, pattern, std::move(handler));
  routes_.back().stream_limit = max_body_bytes;
  ++streaming_routes_;
  return *this;
}

std::optional<std::uint64_t> Router::streamingLimit(std::size_t route_index) const {
  if (route_index >= routes_.size()) return std::nullopt;
  return routes_[route_index].stream_limit;
}

Router& Router::addSync(Method method, std::string_view pattern, SyncHandler handler) {
  return add(method, pattern, wrap(std::move(handler)));
}

Router& Router::use(Middleware middleware) {
  before_.push_back(std::move(middleware));
  return *this;
}

Router& Router::useSync(SyncMiddleware middleware) {
  auto shared = std::make_shared<const SyncMiddleware>(std::move(middleware));
  before_.emplace_back([shared](Request& request) { return runSyncMiddleware(shared, request); });
  return *this;
}

Router& Router::after(AfterHook hook) {
  after_.push_back(std::move(hook));
  return *this;
}

Router& Router::fallback(Handler handler) {
  fallback_ = std::move(handler);
  return *this;
}

Router& Router::fallbackSync(SyncHandler handler) {
  return fallback(wrap(std::move(handler)));
}

std::string_view Router::routePattern(std::size_t index) const {
  if (index < routes_.size()) return routes_[index].pattern;
  return index == kFallbackRoute ? kFallbackLabel : kUnmatchedLabel;
}

bool Router::matches(const Route& route, const std::vector<std::string_view>& parts) {
  const auto& segs = route.segments;
  std::size_t i = 0;
  for (; i < segs.size(); ++i) {
    if (segs[i].kind == SegmentKind::kRest) return true;
    if (i >= parts.size()) return false;
    if (segs[i].kind == SegmentKind::kLiteral) {
      if (segs[i].text != parts[i]) return false;
    } else if (parts[i].empty()) {
      return false;  // {param} never matches an empty segment
    }
  }
  return i == parts.size();
}

bool Router::moreSpecific(const Route& a, const Route& b) {
  std::size_t n = std::min(a.segments.size(), b.segments.size());
  for (std::size_t i = 0; i < n; ++i) {
    if (a.segments[i].kind != b.segments[i].kind) return a.segments[i].kind < b.segments[i].kind;
  }
  // Same shape up to here: the one that ends (matched exactly) beats a
  // trailing {rest*} that matched nothing.
  return a.segments.size() < b.segments.size();
}

Router::Match Router::match(Request& request) const {
  Match result;
  std::string_view raw_path = request.target.substr(0, request.target.find('?'));
  thread_local std::vector<std::string_view> parts;
  splitPath(raw_path, parts);

  const Route* best = nullptr;
  const Route* best_get = nullptr;  // for HEAD without a HEAD route
  bool allowed[kMethodCount] = {};
  bool any = false;
  for (const Route& route : routes_) {
    if (!matches(route, parts)) continue;
    any = true;
    allowed[static_cast<std::size_t>(route.method)] = true;
    if (route.method == request.method) {
      if (best == nullptr || moreSpecific(route, *best)) best = &route;
    } else if (request.method == Method::kHead && route.method == Method::kGet) {
      if (best_get == nullptr || moreSpecific(route, *best_get)) best_get = &route;
    }
  }
  if (best == nullptr) best = best_get;

  request.params.clear();
  if (best == nullptr) {
    request.route = {};
    if (any) {
      request.route_index = kNoRoute;
      result.status = 405;
      if (allowed[static_cast<std::size_t>(Method::kGet)]) {
        allowed[static_cast<std::size_t>(Method::kHead)] = true;
      }
      for (std::size_t m = 0; m < kMethodCount; ++m) {
        if (!allowed[m]) continue;
        if (!result.allow.empty()) result.allow += ", ";
        result.allow += methodName(static_cast<Method>(m));
      }
    } else if (fallback_) {
      request.route_index = kFallbackRoute;
      result.handler = &fallback_;
    } else {
      request.route_index = kNoRoute;
      result.status = 404;
    }
    return result;
  }

  request.route = best->pattern;
  request.route_index = static_cast<std::size_t>(best - routes_.data());
  for (std::size_t i = 0; i < best->segments.size(); ++i) {
    const Segment& seg = best->segments[i];
    if (seg.kind == SegmentKind::kParam) {
      auto decoded = percentDecode(parts[i]);
      request.params.emplace_back(seg.text, decoded ? std::move(*decoded) : std::string(parts[i]));
    } else if (seg.kind == SegmentKind::kRest) {
      std::string_view rest;
      if (i < parts.size()) {
        rest = raw_path.substr(static_cast<std::size_t>(parts[i].data() - raw_path.data()));
      }
      request.params.emplace_back(seg.text, std::string(rest));
    }
  }
  result.handler = &best->handler;
  return result;
}

boost::asio::awaitable<Response> Router::handle(Request& request) const {
  Match m = match(request);
  std::optional<Response> response;
  try {
    for (const Middleware& middleware : before_) {
      response = co_await middleware(request);
      if (response) break;
    }
    if (!response) {
      if (m.handler != nullptr) {
        response = co_await (*m.handler)(request);
      } else if (m.status == 405) {
        response = Response::error(405, "method not allowed");
        response->set("Allow", std::move(m.allow));
      } else {
        response = Response::error(404, "not found");
      }
    }
  } catch (const std::exception& e) {
    spdlog::error("http: {} {} (route {}) failed: {}", request.method_name, request.path,
                  routePattern(request.route_index), e.what());
    response.reset();
  } catch (...) {
    spdlog::error("http: {} {} (route {}) failed with a non-standard exception",
                  request.method_name, request.path, routePattern(request.route_index));
    response.reset();
  }
  if (!response) response = Response::error(500, "internal error");
  for (const AfterHook& hook : after_) {
    try {
      hook(request, *response);
    } catch (const std::exception& e) {
      spdlog::error("http: after-hook failed on {} {}: {}", request.method_name, request.path,
                    e.what());
    }
  }
  co_return std::move(*response);
}

}  // namespace sbc::http

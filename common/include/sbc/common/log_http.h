#pragma once
// The run-time log level over HTTP, the same for every process:
//   GET /api/log-level   200 {"level":"info"}
//   PUT /api/log-level   body {"level":"debug"} (or ?level=debug):
//                        200 {"level":"debug","previous":"info"}; 400 for a
//                        missing or unknown level (trace, debug, info, warn,
//                        error, critical, off)
// The sbc and the relay serve them on their loopback mgmt listener; the
// console under /api/v1/log-level for admins only. Header-only so that
// sbc_common stays free of the HTTP and JSON libraries: whoever registers the
// routes links sbc_http and Boost::json already.
#include <spdlog/spdlog.h>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <optional>
#include <string>
#include <system_error>

#include "common/http/request.h"
#include "common/http/response.h"
#include "common/http/router.h"
#include "sbc/common/log.h"

namespace sbc::common {

// The level a PUT asks for: ?level=, else the JSON body's "level" string.
inline std::optional<std::string> requestedLogLevel(const http::Request& request) {
  if (auto q = request.queryParam("level")) return std::string(*q);
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(request.body, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const boost::json::value* level = v.as_object().if_contains("level");
  if (!level || !level->is_string()) return std::nullopt;
  return std::string(level->as_string());
}

inline http::SyncHandler logLevelGetHandler() {
  return [](http::Request&) {
    boost::json::object body;
    body["level"] = logLevel();
    http::Response r = http::Response::json(200, body);
    r.set("Cache-Control", "no-store");
    return r;
  };
}

// `who` names the caller in the log line (the console passes its user).
inline http::Response applyLogLevel(const http::Request& request, std::string_view who = {}) {
  const std::optional<std::string> level = requestedLogLevel(request);
  if (!level) {
    return http::Response::error(400, "give the level as {\"level\":\"debug\"} or ?level=debug");
  }
  const std::string previous(logLevel());
  if (!setLogLevel(*level)) {
    return http::Response::error(
        400, "unknown level (trace, debug, info, warn, error, critical, off): " + *level);
  }
  // Said at warn so that the change shows whatever the new level.
  spdlog::warn("event=log_level level={} previous={} by={}", logValue(logLevel()),
               logValue(previous), logValue(who.empty() ? std::string_view("mgmt") : who));
  boost::json::object body;
  body["level"] = logLevel();
  body["previous"] = previous;
  return http::Response::json(200, body);
}

// True when the peer is this machine: a loopback address or one of the
// host's own interface addresses (a pod on the host network reaching the
// node's address). The mgmt listeners have no authentication and may listen
// wider than loopback (for Prometheus and the console), so the requests that
// change something are taken from the machine itself only. A TCP peer cannot
// forge its source address, so this holds without a secret.
inline bool fromThisHost(const http::Request& request) {
  std::string_view a = request.remote_address;
  if (a.rfind("::ffff:", 0) == 0) a.remove_prefix(7);
  if (a.rfind("127.", 0) == 0 || a == "::1") return true;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return false;
  bool found = false;
  for (ifaddrs* i = list; i && !found; i = i->ifa_next) {
    if (!i->ifa_addr) continue;
    char buf[INET6_ADDRSTRLEN] = {};
    const int family = i->ifa_addr->sa_family;
    if (family == AF_INET) {
      ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(i->ifa_addr)->sin_addr, buf,
                  sizeof buf);
    } else if (family == AF_INET6) {
      ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(i->ifa_addr)->sin6_addr, buf,
                  sizeof buf);
    } else {
      continue;
    }
    found = a == buf;
  }
  ::freeifaddrs(list);
  return found;
}

inline http::Response thisHostOnly() {
  return http::Response::error(403, "only from the machine itself");
}

// GET and PUT /api/log-level on a mgmt router (PUT from this host only).
inline void addLogLevelRoutes(http::Router& router) {
  router.addSync(http::Method::kGet, "/api/log-level", logLevelGetHandler());
  router.addSync(http::Method::kPut, "/api/log-level", [](http::Request& r) {
    return fromThisHost(r) ? applyLogLevel(r) : thisHostOnly();
  });
}

}  // namespace sbc::common

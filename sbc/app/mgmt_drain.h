#pragma once
// Operations endpoints of the mgmt API (loopback), registered by
// makeMgmtRouter():
//   POST   /api/drain[?exit=1]  stop taking new calls: new INVITEs get 503 with
//                               Retry-After (the PBX or carrier fails over),
//                               calls in progress and in-dialog requests go on;
//                               /healthz answers 503 "draining". With exit=1 the
//                               process stops itself (as on SIGTERM) once no
//                               call is left. Idempotent. 200 + the state.
//   GET    /api/drain           the state: {"draining","since","exit_when_idle",
//                               "active_calls"}
//   DELETE /api/drain           take new calls again (also cancels exit=1)
//   GET    /api/log-level, PUT /api/log-level   (sbc/common/log_http.h)
//   GET    /livez               200 once the SIP thread has answered a no-op:
//                               liveness, unlike /healthz, stays 200 while
//                               draining (a stuck SIP thread times the probe out)
// The requests that change something (POST/DELETE /api/drain, PUT
// /api/log-level) are taken only from the machine itself (403 otherwise).
#include <atomic>
#include <cstdint>
#include <memory>

namespace sbc::http {
class Router;
}  // namespace sbc::http

namespace sbc::app {

struct MgmtContext;

// Written by the drain routes (HTTP thread), read by /healthz.
struct DrainState {
  std::atomic<bool> draining{false};
  std::atomic<bool> exit_when_idle{false};
  std::atomic<std::int64_t> since_ms{0};  // Unix ms when the drain began
  std::atomic<bool> watching{false};      // the exit watcher runs
};

std::shared_ptr<DrainState> addOpsRoutes(http::Router& router, const MgmtContext& ctx);

}  // namespace sbc::app

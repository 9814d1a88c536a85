#include "common/http/endpoints.h"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "common/metrics/registry.h"

namespace sbc::http {

SyncHandler metricsHandler(std::shared_ptr<const metrics::Registry> registry) {
  return [registry = std::move(registry)](Request&) {
    return Response::text(200, registry->serialize(), std::string(metrics::kContentType));
  };
}

void Health::addCheck(std::string name, Check check) {
  checks_.emplace_back(std::move(name), std::move(check));
}

Response Health::evaluate() const {
  boost::json::object checks;
  bool healthy = true;
  for (const auto& [name, check] : checks_) {
    std::optional<std::string> problem;
    try {
      problem = check();
    } catch (const std::exception& e) {
      problem = std::string("check failed: ") + e.what();
    }
    if (problem) {
      healthy = false;
      checks[name] = *problem;
    } else {
      checks[name] = "ok";
    }
  }
  boost::json::object body;
  body["status"] = healthy ? "ok" : "fail";
  if (!checks.empty()) body["checks"] = std::move(checks);
  Response res = Response::json(healthy ? 200 : 503, body);
  res.set("Cache-Control", "no-store");
  return res;
}

SyncHandler healthHandler(std::shared_ptr<const Health> health) {
  return [health = std::move(health)](Request&) { return health->evaluate(); };
}

void addObservabilityRoutes(Router& router, std::shared_ptr<const metrics::Registry> registry,
                            std::shared_ptr<const Health> health) {
  router.addSync(Method::kGet, "/metrics", metricsHandler(std::move(registry)));
  router.addSync(Method::kGet, "/healthz", healthHandler(std::move(health)));
}

}  // namespace sbc::http

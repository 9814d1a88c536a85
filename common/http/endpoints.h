#pragma once
// The endpoints every process serves: /metrics and /healthz.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/http/response.h"
#include "common/http/router.h"

namespace sbc::metrics {
class Registry;
}  // namespace sbc::metrics

namespace sbc::http {

// GET /metrics: the registry in the Prometheus text format.
SyncHandler metricsHandler(std::shared_ptr<const metrics::Registry> registry);

// GET /healthz: 200 {"status":"ok","checks":{...}}, or 503 with
// "status":"fail" when a check fails. Checks run on the HTTP thread at each
// request, so they must be quick and never block: report a state kept up to
// date elsewhere (e.g. "database pool has a live connection").
class Health {
 public:
  // nullopt: healthy; otherwise the reason, shown in the answer.
  using Check = std::function<std::optional<std::string>()>;

  // Add checks before serving; they are read without a lock afterwards.
  void addCheck(std::string name, Check check);
  Response evaluate() const;

 private:
  std::vector<std::pair<std::string, Check>> checks_;
};

SyncHandler healthHandler(std::shared_ptr<const Health> health);

// GET /metrics and GET /healthz on `router`.
void addObservabilityRoutes(Router& router, std::shared_ptr<const metrics::Registry> registry,
                            std::shared_ptr<const Health> health);

}  // namespace sbc::http

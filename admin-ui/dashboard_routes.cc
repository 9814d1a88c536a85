// GET /api/v1/dashboard: the sampler's last hour (see dashboard_sampler.h).
// buildApi() registers the route with a history it owns through the route;
// runServer() starts the sampler on that same history, found by the Api.
#include <boost/asio/io_context.hpp>

#include <map>
#include <mutex>

#include "admin-ui/dashboard_sampler.h"
#include "admin-ui/routes.h"

namespace sbc::admin {

namespace asio = boost::asio;
using http::Request;
using http::Response;

namespace {

// The history of each Api (one in sbc-admin; tests build several). Weak: the
// route owns it and dies with the Api's router.
std::mutex registry_mutex;
std::map<const Api*, std::weak_ptr<DashboardHistory>> registry;

asio::awaitable<Response> answer(std::shared_ptr<DashboardHistory> history) {
  co_return Response::json(200, history->toJson());
}

}  // namespace

void registerDashboardRoutes(Api& api) {
  auto history = std::make_shared<DashboardHistory>();
  {
    std::lock_guard lock(registry_mutex);
    registry[&api] = history;
  }
  api.get("/api/v1/dashboard", Access::kViewer, [history](Request&) { return answer(history); });
}

std::function<void()> startDashboardSampler(asio::io_context& io, Api& api,
                                            std::chrono::milliseconds period) {
  std::shared_ptr<DashboardHistory> history;
  {
    std::lock_guard lock(registry_mutex);
    auto it = registry.find(&api);
    if (it != registry.end()) history = it->second.lock();
  }
  if (!history) return [] {};  // no dashboard route: nothing to feed
  return startDashboardSampler(io, api, std::move(history), period);
}

}  // namespace sbc::admin

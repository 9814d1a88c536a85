#include <boost/json.hpp>

#include "admin-ui/app.h"
#include "admin-ui/routes.h"

namespace sbc::admin {

namespace {
#include "openapi_embedded.inc"
}  // namespace

std::string_view openApiDocument() {
  return kOpenApiJson;
}

void registerOpenApiRoute(Api& api) {
  api.get("/api/v1/openapi.json", Access::kPublic,
          [](http::Request&) -> boost::asio::awaitable<http::Response> {
            http::Response r = jsonText(200, std::string(kOpenApiJson));
            r.set("Cache-Control", "public, max-age=300");
            co_return r;
          });
}

}  // namespace sbc::admin

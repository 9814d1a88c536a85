// The OpenAPI document and the router must agree: every registered route is
// documented, and every documented operation exists.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <set>

#include "admin-ui/app.h"
#include "common/db/pool.h"
#include "common/http/endpoints.h"
#include "common/metrics/registry.h"

namespace sbc::admin {
namespace {

namespace json = boost::json;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::unique_ptr<Api> makeApi() {
  AdminConfig config;
  config.dsn = "host=127.0.0.1 port=1 dbname=none";
  db::PoolOptions po;
  po.dsn = config.dsn;
  auto pool = std::make_shared<db::Pool>(po);  // never started: no connection needed
  return buildApi(config, pool, std::nullopt, std::make_shared<metrics::Registry>(false),
                  std::make_shared<http::Health>());
}

TEST(OpenApi, DocumentIsValidJsonOfVersion3) {
  json::value doc = json::parse(openApiDocument());
  EXPECT_EQ(std::string_view(doc.at("openapi").as_string()).substr(0, 2), "3.");
  EXPECT_TRUE(doc.at("paths").is_object());
}

TEST(OpenApi, EveryRouteIsDocumentedAndEveryOperationExists) {
  auto api = makeApi();
  std::set<std::string> routes;
  for (const RouteInfo& r : api->routes()) {
    routes.insert(lower(http::methodName(r.method)) + " " + r.pattern);
  }
  ASSERT_EQ(routes.size(), api->router().routeCount()) << "a route bypassed Api::add";
  std::set<std::string> documented;
  const json::value doc = json::parse(openApiDocument());
  for (const auto& [path, item] : doc.at("paths").as_object()) {
    for (const auto& [method, op] : item.as_object()) {
      if (method == "parameters" || method == "summary" || method == "description") continue;
      documented.insert(std::string(method) + " " + std::string(path));
    }
  }
  for (const auto& r : routes) EXPECT_TRUE(documented.count(r)) << "not in openapi.json: " << r;
  for (const auto& d : documented) EXPECT_TRUE(routes.count(d)) << "no such route: " << d;
}

TEST(OpenApi, ReferencesResolve) {
  json::value doc = json::parse(openApiDocument());
  std::vector<const json::value*> stack{&doc};
  int refs = 0;
  while (!stack.empty()) {
    const json::value* v = stack.back();
    stack.pop_back();
    if (v->is_object()) {
      for (const auto& [k, x] : v->as_object()) {
        if (k == "$ref") {
          ++refs;
          std::string_view ref = x.as_string();
          ASSERT_EQ(ref.substr(0, 2), "#/") << ref;
          const json::value* at = &doc;
          std::string_view rest = ref.substr(2);
          while (!rest.empty()) {
            auto slash = rest.find('/');
            std::string key(rest.substr(0, slash));
            ASSERT_TRUE(at->is_object() && at->as_object().contains(key)) << "dangling " << ref;
            at = &at->as_object().at(key);
            rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
          }
        } else {
          stack.push_back(&x);
        }
      }
    } else if (v->is_array()) {
      for (const auto& x : v->as_array()) stack.push_back(&x);
    }
  }
  EXPECT_GT(refs, 20);
}

TEST(OpenApi, WritesNeedARoleAndOnlyLoginIsAPublicWrite) {
  auto api = makeApi();
  for (const RouteInfo& r : api->routes()) {
    if (r.method == http::Method::kGet) continue;
    if (r.pattern == "/api/v1/login") {
      EXPECT_EQ(r.access, Access::kPublic);
    } else {
      EXPECT_NE(r.access, Access::kPublic) << r.pattern;
    }
    if (r.pattern.rfind("/api/v1/users", 0) == 0 || r.pattern.rfind("/api/v1/tokens", 0) == 0) {
      EXPECT_EQ(r.access, Access::kAdmin) << r.pattern;
    }
  }
}

}  // namespace
}  // namespace sbc::admin

#include "common/http/router.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "tests/unit/http/test_support.h"

namespace sbc::http {
namespace {

using test::handleNow;
using test::makeRequest;

// A handler that answers which route ran and with which parameters.
SyncHandler echo(std::string name) {
  return [name](Request& r) {
    std::string body = name;
    for (const auto& [k, v] : r.params) body += " " + std::string(k) + "=" + v;
    return Response::text(200, body);
  };
}

Router apiRouter() {
  Router router;
  router.addSync(Method::kGet, "/api/v1/trunks", echo("list"));
  router.addSync(Method::kPost, "/api/v1/trunks", echo("create"));
  router.addSync(Method::kGet, "/api/v1/trunks/{id}", echo("get"));
  router.addSync(Method::kDelete, "/api/v1/trunks/{id}", echo("delete"));
  router.addSync(Method::kGet, "/api/v1/trunks/usage", echo("usage"));
  router.addSync(Method::kGet, "/api/v1/trunks/{id}/gateways/{gw}", echo("gateway"));
  router.addSync(Method::kGet, "/files/{path*}", echo("files"));
  router.addSync(Method::kGet, "/", echo("root"));
  return router;
}

Response call(const Router& router, Method method, std::string_view target) {
  Request r = makeRequest(method, target);
  return handleNow(router, r);
}

TEST(Router, LiteralAndParameterSegments) {
  Router router = apiRouter();
  EXPECT_EQ(call(router, Method::kGet, "/api/v1/trunks").body, "list");
  EXPECT_EQ(call(router, Method::kPost, "/api/v1/trunks").body, "create");
  EXPECT_EQ(call(router, Method::kGet, "/api/v1/trunks/42").body, "get id=42");
  EXPECT_EQ(call(router, Method::kGet, "/api/v1/trunks/42/gateways/gw%201").body,
            "gateway id=42 gw=gw 1");
  EXPECT_EQ(call(router, Method::kGet, "/").body, "root");
  // A parameter is decoded on its own: an encoded slash stays inside it.
  EXPECT_EQ(call(router, Method::kGet, "/api/v1/trunks/a%2Fb").body, "get id=a/b");
}

TEST(Router, LiteralBeatsParameter) {
  Router router = apiRouter();
  EXPECT_EQ(call(router, Method::kGet, "/api/v1/trunks/usage").body, "usage");
}

TEST(Router, RestParameterKeepsTheRawRemainder) {
  Router router = apiRouter();
  EXPECT_EQ(call(router, Method::kGet, "/files/a/b%20c.js").body, "files path=a/b%20c.js");
  EXPECT_EQ(call(router, Method::kGet, "/files/").body, "files path=");
}

TEST(Router, UnknownPathIs404WithJsonError) {
  Router router = apiRouter();
  Response r = call(router, Method::kGet, "/api/v1/nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("\"not_found\""), std::string::npos);
  EXPECT_EQ(call(router, Method::kGet, "/api/v1/trunks/").status, 404);  // no empty {id}
  EXPECT_EQ(call(router, Method::kGet, "/api/v1/trunks/1/extra").status, 404);
}

TEST(Router, WrongMethodIs405WithAllow) {
  Router router = apiRouter();
  Response r = call(router, Method::kPut, "/api/v1/trunks/7");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.header("Allow"), "GET, HEAD, DELETE");
  Response r2 = call(router, Method::kDelete, "/api/v1/trunks");
  EXPECT_EQ(r2.status, 405);
  EXPECT_EQ(r2.header("Allow"), "GET, HEAD, POST");
}

TEST(Router, HeadUsesTheGetRoute) {
  Router router = apiRouter();
  Request r = makeRequest(Method::kHead, "/api/v1/trunks/9");
  Response res = handleNow(router, r);
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, "get id=9");  // the server drops the body, keeping its length
  EXPECT_EQ(r.route, "/api/v1/trunks/{id}");
}

TEST(Router, MiddlewareCanShortCircuitAndSeesTheRoute) {
  Router router = apiRouter();
  std::vector<std::string> seen;
  router.useSync([&](Request& r) -> std::optional<Response> {
    seen.emplace_back(r.route);
    if (!r.header("Authorization")) return Response::error(401, "login first");
    r.attributes["user"] = "alice";
    return std::nullopt;
  });
  router.addSync(Method::kGet, "/whoami",
                 [](Request& r) { return Response::text(200, r.attributes["user"]); });

  EXPECT_EQ(call(router, Method::kGet, "/api/v1/trunks/3").status, 401);
  Request ok = makeRequest(Method::kGet, "/whoami");
  ok.headers.add("authorization", "Bearer x");
  Response res = handleNow(router, ok);
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, "alice");
  EXPECT_EQ(seen, (std::vector<std::string>{"/api/v1/trunks/{id}", "/whoami"}));
}

TEST(Router, AsyncMiddlewareAndHandler) {
  Router router;
  router.use([](Request& r) -> boost::asio::awaitable<std::optional<Response>> {
    co_await test::sleepFor(std::chrono::milliseconds(1));
    r.attributes["checked"] = "yes";
    co_return std::nullopt;
  });
  router.add(Method::kGet, "/slow", [](Request& r) -> boost::asio::awaitable<Response> {
    co_await test::sleepFor(std::chrono::milliseconds(1));
    co_return Response::text(200, r.attributes["checked"]);
  });
  EXPECT_EQ(call(router, Method::kGet, "/slow").body, "yes");
}

TEST(Router, AfterHooksSeeEveryResponse) {
  Router router = apiRouter();
  int calls = 0;
  router.after([&](const Request&, Response& res) {
    ++calls;
    res.set("X-Seen", std::to_string(res.status));
  });
  router.addSync(Method::kGet, "/boom",
                 [](Request&) -> Response { throw std::runtime_error("x"); });
  EXPECT_EQ(call(router, Method::kGet, "/api/v1/trunks").header("X-Seen"), "200");
  EXPECT_EQ(call(router, Method::kGet, "/nope").header("X-Seen"), "404");
  EXPECT_EQ(call(router, Method::kGet, "/boom").header("X-Seen"), "500");
  EXPECT_EQ(calls, 3);
}

TEST(Router, HandlerExceptionBecomes500) {
  Router router;
  router.addSync(Method::kGet, "/boom",
                 [](Request&) -> Response { throw std::runtime_error("x"); });
  router.add(Method::kGet, "/boom-async", [](Request&) -> boost::asio::awaitable<Response> {
    co_await test::sleepFor(std::chrono::milliseconds(1));
    throw 42;  // not even a std::exception
  });
  for (const char* target : {"/boom", "/boom-async"}) {
    Response r = call(router, Method::kGet, target);
    EXPECT_EQ(r.status, 500) << target;
    EXPECT_NE(r.body.find("internal_server_error"), std::string::npos);
    EXPECT_EQ(r.body.find("x\""), std::string::npos);  // no exception text leaks out
  }
}

TEST(Router, FallbackTakesUnmatchedPathsOnly) {
  Router router = apiRouter();
  router.fallbackSync([](Request& r) { return Response::text(200, "spa " + r.path); });
  EXPECT_EQ(call(router, Method::kGet, "/dashboard/calls").body, "spa /dashboard/calls");
  EXPECT_EQ(call(router, Method::kGet, "/api/v1/trunks").body, "list");
  EXPECT_EQ(call(router, Method::kPut, "/api/v1/trunks").status, 405);
}

TEST(Router, BadPatternsAndDuplicatesThrowAtStartUp) {
  Router router;
  EXPECT_THROW(router.addSync(Method::kGet, "no-slash", echo("x")), std::invalid_argument);
  EXPECT_THROW(router.addSync(Method::kGet, "/a//b", echo("x")), std::invalid_argument);
  EXPECT_THROW(router.addSync(Method::kGet, "/a/{id", echo("x")), std::invalid_argument);
  EXPECT_THROW(router.addSync(Method::kGet, "/a/{}", echo("x")), std::invalid_argument);
  EXPECT_THROW(router.addSync(Method::kGet, "/a/{x}/{x}", echo("x")), std::invalid_argument);
  EXPECT_THROW(router.addSync(Method::kGet, "/a/{rest*}/b", echo("x")), std::invalid_argument);
  EXPECT_THROW(router.addSync(Method::kGet, "/a/b{c}", echo("x")), std::invalid_argument);
  router.addSync(Method::kGet, "/a/{id}", echo("x"));
  EXPECT_THROW(router.addSync(Method::kGet, "/a/{id}", echo("y")), std::invalid_argument);
  EXPECT_NO_THROW(router.addSync(Method::kPost, "/a/{id}", echo("y")));
}

}  // namespace
}  // namespace sbc::http

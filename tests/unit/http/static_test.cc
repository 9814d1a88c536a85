#include "common/http/static_files.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "common/http/http_date.h"
#include "common/http/security_headers.h"
#include "tests/unit/http/test_support.h"

namespace sbc::http {
namespace {

using namespace std::chrono_literals;
using test::TempDir;
using test::TestClient;
using test::TestServer;

constexpr std::string_view kIndex = "<!doctype html><title>console</title>";
constexpr std::string_view kSecret = "root:x:0:0:secret";

class StaticServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.write("www/index.html", kIndex);
    dir_.write("www/assets/app.3f9a.js", "console.log(1)");
    dir_.write("www/assets/app.css", "body{}");
    dir_.write("www/docs/index.html", "docs");
    dir_.write("www/.env", "PASSWORD=1");
    dir_.write("secret.txt", kSecret);
    std::filesystem::create_symlink(dir_.file("secret.txt"), dir_.file("www/escape.txt"));
    std::filesystem::create_symlink(dir_.file("www/assets/app.css"), dir_.file("www/inside.css"));

    StaticOptions opts;
    opts.root = dir_.file("www");
    opts.spa_fallback = true;
    opts.immutable_prefix = "assets/";
    StaticFiles files(opts);
    auto router = std::make_shared<Router>();
    router->addSync(Method::kGet, "/api/ping",
                    [](Request&) { return Response::text(200, "pong"); });
    router->addSync(Method::kGet, "/static/{path*}", files.handler("path"));
    router->fallbackSync(files.fallbackHandler());
    router->after(securityHeadersHook());
    server_ = std::make_unique<TestServer>(ServerOptions{}, router);
    client_ = TestClient::connect(server_->port());
    ASSERT_TRUE(client_);
  }

  std::optional<test::ClientResponse> get(std::string_view target, std::string_view headers = {}) {
    return client_->request("GET", target, {}, headers);
  }

  TempDir dir_;
  std::unique_ptr<TestServer> server_;
  std::unique_ptr<TestClient> client_;
};

TEST_F(StaticServerTest, ServesFilesWithTypesAndCaching) {
  auto index = get("/");
  ASSERT_TRUE(index);
  EXPECT_EQ(index->status, 200);
  EXPECT_EQ(index->body, kIndex);
  EXPECT_EQ(index->header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(index->header("Cache-Control"), "no-cache");
  ASSERT_TRUE(index->header("ETag"));
  ASSERT_TRUE(index->header("Last-Modified"));

  auto js = get("/assets/app.3f9a.js");
  ASSERT_TRUE(js);
  EXPECT_EQ(js->status, 200);
  EXPECT_EQ(js->body, "console.log(1)");
  EXPECT_EQ(js->header("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(js->header("Cache-Control"), "public, max-age=31536000, immutable");

  auto mounted = get("/static/assets/app.css");
  ASSERT_TRUE(mounted);
  EXPECT_EQ(mounted->body, "body{}");
  EXPECT_EQ(mounted->header("Content-Type"), "text/css; charset=utf-8");

  auto dir_index = get("/docs/");
  ASSERT_TRUE(dir_index);
  EXPECT_EQ(dir_index->body, "docs");

  auto api = get("/api/ping");
  ASSERT_TRUE(api);
  EXPECT_EQ(api->body, "pong");  // routes win over the fallback
}

TEST_F(StaticServerTest, EtagAndIfNoneMatchGive304) {
  auto first = get("/assets/app.css");
  ASSERT_TRUE(first && first->header("ETag"));
  std::string etag = *first->header("ETag");

  auto again = get("/assets/app.css", "If-None-Match: " + etag + "\r\n");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 304);
  EXPECT_EQ(again->body, "");
  EXPECT_EQ(again->header("ETag"), etag);

  auto listed = get("/assets/app.css", "If-None-Match: \"other\", W/" + etag + "\r\n");
  ASSERT_TRUE(listed);
  EXPECT_EQ(listed->status, 304);

  auto stale = get("/assets/app.css", "If-None-Match: \"other\"\r\n");
  ASSERT_TRUE(stale);
  EXPECT_EQ(stale->status, 200);
  EXPECT_EQ(stale->body, "body{}");

  // New content, new ETag: the old one no longer matches.
  dir_.write("www/assets/app.css", "body{color:red}");
  auto changed = get("/assets/app.css", "If-None-Match: " + etag + "\r\n");
  ASSERT_TRUE(changed);
  EXPECT_EQ(changed->status, 200);
  EXPECT_EQ(changed->body, "body{color:red}");
  EXPECT_NE(changed->header("ETag"), etag);
}

TEST_F(StaticServerTest, IfModifiedSince) {
  auto first = get("/index.html");
  ASSERT_TRUE(first && first->header("Last-Modified"));
  auto same = get("/index.html", "If-Modified-Since: " + *first->header("Last-Modified") + "\r\n");
  ASSERT_TRUE(same);
  EXPECT_EQ(same->status, 304);
  auto old = get("/index.html", "If-Modified-Since: " + formatHttpDate(1000) + "\r\n");
  ASSERT_TRUE(old);
  EXPECT_EQ(old->status, 200);
}

TEST_F(StaticServerTest, HeadGivesLengthWithoutBody) {
  auto res = client_->request("HEAD", "/assets/app.css");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->header("Content-Length"), "6");
  EXPECT_EQ(res->body, "");
}

TEST_F(StaticServerTest, SinglePageAppFallback) {
  auto route = get("/calls/1234?tab=ladder");
  ASSERT_TRUE(route);
  EXPECT_EQ(route->status, 200);
  EXPECT_EQ(route->body, kIndex);
  auto missing_asset = get("/assets/missing.js");
  ASSERT_TRUE(missing_asset);
  EXPECT_EQ(missing_asset->status, 404);
}

TEST_F(StaticServerTest, TraversalAttemptsNeverLeaveTheRoot) {
  for (const char* target :
       {"/../secret.txt", "/%2e%2e/secret.txt", "/%2e%2e%2fsecret.txt", "/..%2fsecret.txt",
        "/..\\secret.txt", "/..%5csecret.txt", "/assets/../../secret.txt",
        "/static/%2e%2e/%2e%2e/secret.txt", "/static/..%2f..%2fsecret.txt", "/escape.txt", "/.env",
        "/static/.env", "/%2eenv", "/secret.txt%00.html"}) {
    auto res = get(target);
    ASSERT_TRUE(res) << target;
    EXPECT_TRUE(res->status == 400 || res->status == 404) << target << " -> " << res->status;
    EXPECT_EQ(res->body.find("secret"), std::string::npos) << target;
    EXPECT_EQ(res->body.find("PASSWORD"), std::string::npos) << target;
  }
  // A symlink that stays inside the root is fine.
  auto inside = get("/inside.css");
  ASSERT_TRUE(inside);
  EXPECT_EQ(inside->body, "body{}");
}

TEST_F(StaticServerTest, SecurityHeadersOnEveryResponse) {
  for (const char* target : {"/", "/api/ping", "/nope.js"}) {
    auto res = get(target);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->header("X-Frame-Options"), "DENY") << target;
    EXPECT_EQ(res->header("X-Content-Type-Options"), "nosniff") << target;
    EXPECT_EQ(res->header("Referrer-Policy"), "no-referrer") << target;
    auto csp = res->header("Content-Security-Policy");
    ASSERT_TRUE(csp) << target;
    EXPECT_NE(csp->find("frame-ancestors 'none'"), std::string::npos);
    EXPECT_FALSE(res->header("Strict-Transport-Security")) << "plain HTTP: no HSTS";
  }
}

TEST_F(StaticServerTest, OnlyGetAndHead) {
  auto res = client_->request("POST", "/index.html", "x");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 405);
  EXPECT_EQ(res->header("Allow"), "GET, HEAD");
}

TEST(StaticFiles, RootMustExist) {
  StaticOptions opts;
  opts.root = "/nonexistent/sbc-static-root";
  EXPECT_THROW(StaticFiles files(opts), std::invalid_argument);
}

TEST(SecurityHeaders, KeepWhatTheHandlerSetAndAddHstsOnTls) {
  SecurityHeaders h;
  h.strict_transport_security = "max-age=31536000";
  Response r;
  r.set("X-Frame-Options", "SAMEORIGIN");
  applySecurityHeaders(r, h, true);
  EXPECT_EQ(r.header("X-Frame-Options"), "SAMEORIGIN");
  EXPECT_EQ(r.header("Strict-Transport-Security"), "max-age=31536000");
  Response plain;
  applySecurityHeaders(plain, h, false);
  EXPECT_FALSE(plain.header("Strict-Transport-Security"));
}

}  // namespace
}  // namespace sbc::http

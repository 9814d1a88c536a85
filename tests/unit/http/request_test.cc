#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "common/http/http_date.h"
#include "common/http/request.h"
#include "common/http/response.h"
#include "common/http/static_files.h"

namespace sbc::http {
namespace {

TEST(Request, TargetSplitsPathAndDecodedQuery) {
  Request r;
  ASSERT_TRUE(r.setTarget("/api/v1/calls%20x?trunk=carrier%2Da&q=a+b&flag&empty=&x=1&x=2"));
  EXPECT_EQ(r.path, "/api/v1/calls x");
  EXPECT_EQ(r.queryParam("trunk"), "carrier-a");
  EXPECT_EQ(r.queryParam("q"), "a b");
  EXPECT_EQ(r.queryParam("flag"), "");
  EXPECT_EQ(r.queryParam("empty"), "");
  EXPECT_EQ(r.queryParam("x"), "1");  // the first of repeated names
  EXPECT_EQ(r.query.size(), 6u);
  EXPECT_FALSE(r.queryParam("missing").has_value());
}

TEST(Request, RejectsTargetsThatAreNotOriginFormOrBadlyEncoded) {
  Request r;
  EXPECT_FALSE(r.setTarget(""));
  EXPECT_FALSE(r.setTarget("http://example.com/"));
  EXPECT_FALSE(r.setTarget("*"));
  EXPECT_FALSE(r.setTarget("/a%zz"));
  EXPECT_FALSE(r.setTarget("/a%2"));
  EXPECT_FALSE(r.setTarget("/a%00b"));
  EXPECT_TRUE(r.setTarget("/ok?bad=%zz&good=1"));
  EXPECT_FALSE(r.queryParam("bad").has_value());  // dropped, not fatal
  EXPECT_EQ(r.queryParam("good"), "1");
}

TEST(Request, HeaderLookupIgnoresCase) {
  Request r;
  r.headers.add("Content-Type", "application/json");
  r.headers.add("X-Twice", "first");
  r.headers.add("x-twice", "second");
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_EQ(r.header("CONTENT-TYPE"), "application/json");
  EXPECT_EQ(r.header("X-TWICE"), "first");
  EXPECT_FALSE(r.header("Content-Length").has_value());
}

TEST(Request, MethodNames) {
  EXPECT_EQ(methodFromName("GET"), Method::kGet);
  EXPECT_EQ(methodFromName("DELETE"), Method::kDelete);
  EXPECT_EQ(methodFromName("get"), Method::kOther);  // methods are case-sensitive
  EXPECT_EQ(methodFromName("PROPFIND"), Method::kOther);
  EXPECT_EQ(methodName(Method::kPatch), "PATCH");
}

TEST(Response, ErrorIsJsonWithStatusCodeAndMessage) {
  Response r = Response::error(404, "no trunk \"x\"");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.content_type, "application/json");
  auto v = boost::json::parse(r.body);
  EXPECT_EQ(v.at("error").at("status").as_int64(), 404);
  EXPECT_EQ(v.at("error").at("code").as_string(), "not_found");
  EXPECT_EQ(v.at("error").at("message").as_string(), "no trunk \"x\"");
  EXPECT_EQ(boost::json::parse(Response::error(431, "x").body).at("error").at("code").as_string(),
            "request_header_fields_too_large");
}

TEST(Response, JsonTextAndHeaders) {
  Response r = Response::json(201, boost::json::value{{"id", 7}});
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(boost::json::parse(r.body).at("id").as_int64(), 7);
  r.set("X-A", "1").set("x-a", "2").add("Set-Cookie", "a=1").add("Set-Cookie", "b=2");
  EXPECT_EQ(r.header("X-A"), "2");
  EXPECT_EQ(r.headers.size(), 3u);
  Response t = Response::text(200, "hi");
  EXPECT_EQ(t.content_type, "text/plain; charset=utf-8");
  EXPECT_EQ(t.body, "hi");
}

TEST(HttpDate, FormatsAndParsesImfFixdate) {
  EXPECT_EQ(formatHttpDate(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(parseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777);
  EXPECT_FALSE(parseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT").has_value());
  EXPECT_FALSE(parseHttpDate("Sun, 06 Xyz 1994 08:49:37 GMT").has_value());
  EXPECT_FALSE(parseHttpDate("garbage").has_value());
  EXPECT_EQ(currentHttpDate().size(), 29u);
}

TEST(StaticPath, NormalizesInsideTheRoot) {
  EXPECT_EQ(normalizeStaticPath(""), "");
  EXPECT_EQ(normalizeStaticPath("a/./b.js"), "a/b.js");
  EXPECT_EQ(normalizeStaticPath("a//b.js"), "a/b.js");
  EXPECT_EQ(normalizeStaticPath("app%20v2.js"), "app v2.js");
}

TEST(StaticPath, RefusesEverythingThatCouldEscape) {
  for (const char* bad : {"..", "../etc/passwd", "a/../../etc/passwd", "%2e%2e/etc/passwd",
                          "%2E%2E%2Fetc%2Fpasswd", "a/%2e%2e", "..\\etc\\passwd", "a%5c..%5cb",
                          "a%2fb", "a%00.js", ".git/config", ".env", "a/.hidden", "%zz"}) {
    EXPECT_FALSE(normalizeStaticPath(bad).has_value()) << bad;
  }
}

TEST(StaticPath, ContentTypesByExtension) {
  EXPECT_EQ(contentTypeFor("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(contentTypeFor("assets/app.4f2a.JS"), "text/javascript; charset=utf-8");
  EXPECT_EQ(contentTypeFor("style.css"), "text/css; charset=utf-8");
  EXPECT_EQ(contentTypeFor("logo.svg"), "image/svg+xml");
  EXPECT_EQ(contentTypeFor("font.woff2"), "font/woff2");
  EXPECT_EQ(contentTypeFor("a.d/noext"), "application/octet-stream");
  EXPECT_EQ(contentTypeFor("archive.bin"), "application/octet-stream");
}

}  // namespace
}  // namespace sbc::http

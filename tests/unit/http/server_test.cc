#include "common/http/server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

#include "common/http/endpoints.h"
#include "common/http/router.h"
#include "common/metrics/registry.h"
#include "tests/unit/http/test_support.h"
#include "tests/unit/metrics/prom_text.h"

namespace sbc::http {
namespace {

using namespace std::chrono_literals;
using test::TestClient;
using test::TestServer;

std::shared_ptr<Router> makeRouter() {
  auto router = std::make_shared<Router>();
  router->addSync(Method::kGet, "/hello", [](Request&) { return Response::text(200, "hello"); });
  router->addSync(Method::kGet, "/items/{id}", [](Request& r) {
    return Response::text(200, "item " + std::string(r.param("id")) + " from " + r.remote_address);
  });
  router->addSync(Method::kPost, "/echo", [](Request& r) {
    return Response::text(200, r.body, std::string(r.header("Content-Type").value_or("none")));
  });
  router->addSync(Method::kGet, "/path/{rest*}",
                  [](Request& r) { return Response::text(200, r.path); });
  router->addSync(Method::kGet, "/boom",
                  [](Request&) -> Response { throw std::runtime_error("handler bug"); });
  router->add(Method::kGet, "/slow/{ms}", [](Request& r) -> boost::asio::awaitable<Response> {
    co_await test::sleepFor(std::chrono::milliseconds(std::stoi(std::string(r.param("ms")))));
    co_return Response::text(200, "slow done");
  });
  return router;
}

ServerOptions shortTimeouts() {
  ServerOptions o;
  o.name = "test";
  o.idle_timeout = 2s;
  o.header_timeout = 300ms;
  o.body_timeout = 300ms;
  o.write_timeout = 1s;
  return o;
}

TEST(HttpServer, RoutesWithParametersOverTheWire) {
  TestServer server(shortTimeouts(), makeRouter());
  auto client = TestClient::connect(server.port());
  ASSERT_TRUE(client);
  auto res = client->request("GET", "/items/abc%20d");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "item abc d from 127.0.0.1");
  EXPECT_EQ(res->header("Content-Type"), "text/plain; charset=utf-8");
  EXPECT_TRUE(res->header("Date").has_value());

  auto missing = client->request("GET", "/nothing/here");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(missing->header("Content-Type"), "application/json");

  auto wrong = client->request("DELETE", "/items/1");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 405);
  EXPECT_EQ(wrong->header("Allow"), "GET, HEAD");
}

TEST(HttpServer, HeadAnswersHeadersWithoutBody) {
  TestServer server(shortTimeouts(), makeRouter());
  auto client = TestClient::connect(server.port());
  ASSERT_TRUE(client);
  auto res = client->request("HEAD", "/hello");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->header("Content-Length"), "5");
  EXPECT_EQ(res->body, "");
  // Had a body been sent, this next response would not parse.
  auto next = client->request("GET", "/hello");
  ASSERT_TRUE(next);
  EXPECT_EQ(next->body, "hello");
}

TEST(HttpServer, KeepAliveServesManyRequestsOnOneConnection) {
  TestServer server(shortTimeouts(), makeRouter());
  auto client = TestClient::connect(server.port());
  ASSERT_TRUE(client);
  for (int i = 0; i < 20; ++i) {
    auto res = client->request("GET", "/items/" + std::to_string(i));
    ASSERT_TRUE(res) << i;
    EXPECT_EQ(res->body, "item " + std::to_string(i) + " from 127.0.0.1");
    EXPECT_TRUE(res->keep_alive);
  }
  EXPECT_EQ(server.server().connectionCount(), 1u);
}

TEST(HttpServer, PipelinedRequestsAreAnsweredInOrder) {
  TestServer server(shortTimeouts(), makeRouter());
  auto client = TestClient::connect(server.port());
  ASSERT_TRUE(client);
  // The slow one first: a server answering as handlers finish would reorder.
  std::string batch =
      "GET /slow/100 HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /items/2 HTTP/1.1\r\nHost: x\r\n\r\n"
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/x\r\nContent-Length: 4\r\n\r\nbody"
      "GET /items/4 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  ASSERT_TRUE(client->send(batch));
  auto r1 = client->read();
  auto r2 = client->read();
  auto r3 = client->read();
  auto r4 = client->read();
  ASSERT_TRUE(r1 && r2 && r3 && r4);
  EXPECT_EQ(r1->body, "slow done");
  EXPECT_EQ(r2->body, "item 2 from 127.0.0.1");
  EXPECT_EQ(r3->body, "body");
  EXPECT_EQ(r3->header("Content-Type"), "text/x");
  EXPECT_EQ(r4->body, "item 4 from 127.0.0.1");
  EXPECT_FALSE(r4->keep_alive);
  EXPECT_TRUE(client->closedWithin(1s));
}

TEST(HttpServer, BodyOverTheLimitIs413) {
  ServerOptions o = shortTimeouts();
  o.max_body_bytes = 1024;
  TestServer server(o, makeRouter());

  auto ok = TestClient::connect(server.port());
  ASSERT_TRUE(ok);
  auto fits = ok->request("POST", "/echo", std::string(1024, 'a'));
  ASSERT_TRUE(fits);
  EXPECT_EQ(fits->status, 200);
  EXPECT_EQ(fits->body.size(), 1024u);

  // Declared too large: refused before the body is read.
  auto big = TestClient::connect(server.port());
  ASSERT_TRUE(big);
  ASSERT_TRUE(big->send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"));
  auto res = big->read();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413);
  EXPECT_FALSE(res->keep_alive);
  EXPECT_TRUE(big->closedWithin(1s));

  // Chunked: found while reading.
  auto chunked = TestClient::connect(server.port());
  ASSERT_TRUE(chunked);
  std::string chunk(800, 'b');
  ASSERT_TRUE(
      chunked->send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "320\r\n" +
                    chunk + "\r\n320\r\n" + chunk + "\r\n0\r\n\r\n"));
  auto res2 = chunked->read();
  ASSERT_TRUE(res2);
  EXPECT_EQ(res2->status, 413);
}

TEST(HttpServer, HeaderOverTheLimitIs431) {
  ServerOptions o = shortTimeouts();
  o.max_header_bytes = 2048;
  TestServer server(o, makeRouter());
  auto client = TestClient::connect(server.port());
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->send("GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4096, 'x') +
                           "\r\n\r\n"));
  auto res = client->read();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 431);
  EXPECT_TRUE(client->closedWithin(1s));
}

TEST(HttpServer, SlowClientIsCutOffAtTheHeaderTimeout) {
  TestServer server(shortTimeouts(), makeRouter());  // header_timeout 300 ms
  auto client = TestClient::connect(server.port());
  ASSERT_TRUE(client);
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(client->send("GET /hello HTTP/1.1\r\nHost: x\r\n"));  // never finished
  EXPECT_TRUE(client->closedWithin(3s));
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed, 250ms);
  EXPECT_LT(elapsed, 1500ms);
}

TEST(HttpServer, SlowBodyIsCutOffAtTheBodyTimeout) {
  TestServer server(shortTimeouts(), makeRouter());
  auto client = TestClient::connect(server.port());
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc"));
  EXPECT_TRUE(client->closedWithin(3s));
}

TEST(HttpServer, IdleKeepAliveConnectionIsClosedAfterIdleTimeout) {
  ServerOptions o = shortTimeouts();
  o.idle_timeout = 200ms;
  TestServer server(o, makeRouter());
  auto client = TestClient::connect(server.port());
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->request("GET", "/hello"));
  EXPECT_TRUE(client->closedWithin(2s));
}

TEST(HttpServer, MalformedRequestIs400) {
  TestServer server(shortTimeouts(), makeRouter());
  auto client = TestClient::connect(server.port());
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->send("GET /hello HTTP/1.1\r\nBad Header Line\r\n\r\n"));
  auto res = client->read();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);

  auto c2 = TestClient::connect(server.port());
  ASSERT_TRUE(c2);
  auto res2 = c2->request("GET", "/a%zz");
  ASSERT_TRUE(res2);
  EXPECT_EQ(res2->status, 400);
}

TEST(HttpServer, HandlerExceptionIs500AndTheServerKeepsServing) {
  TestServer server(shortTimeouts(), makeRouter());
  auto client = TestClient::connect(server.port());
  ASSERT_TRUE(client);
  auto res = client->request("GET", "/boom");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 500);
  EXPECT_EQ(res->body.find("handler bug"), std::string::npos);
  auto same = client->request("GET", "/hello");  // same connection
  ASSERT_TRUE(same);
  EXPECT_EQ(same->status, 200);
  auto other = TestClient::connect(server.port());
  ASSERT_TRUE(other);
  EXPECT_EQ(other->request("GET", "/hello")->status, 200);
}

TEST(HttpServer, ExpectContinueGetsA100First) {
  TestServer server(shortTimeouts(), makeRouter());
  auto client = TestClient::connect(server.port());
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->send(
      "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"));
  auto interim = client->read();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(client->send("abc"));
  auto res = client->read();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body, "abc");
}

TEST(HttpServer, ConnectionsOverTheLimitAreClosed) {
  ServerOptions o = shortTimeouts();
  o.max_connections = 2;
  TestServer server(o, makeRouter());
  auto a = TestClient::connect(server.port());
  auto b = TestClient::connect(server.port());
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->request("GET", "/hello"));
  ASSERT_TRUE(b->request("GET", "/hello"));
  auto c = TestClient::connect(server.port());
  ASSERT_TRUE(c);  // the kernel accepts; the server closes at once
  EXPECT_TRUE(c->closedWithin(1s));
  a.reset();
  // Once a slot frees up, new connections are served again.
  bool served = false;
  for (int i = 0; i < 150 && !served; ++i) {
    auto d = TestClient::connect(server.port());
    auto res = d ? d->request("GET", "/hello") : std::nullopt;
    served = res && res->status == 200;
    if (!served) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(served);
}

TEST(HttpServer, GracefulStopFinishesInFlightAndClosesIdle) {
  TestServer server(shortTimeouts(), makeRouter());
  auto idle = TestClient::connect(server.port());
  ASSERT_TRUE(idle);
  ASSERT_TRUE(idle->request("GET", "/hello"));  // now idle, kept alive
  auto busy = TestClient::connect(server.port());
  ASSERT_TRUE(busy);
  ASSERT_TRUE(busy->send("GET /slow/300 HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::this_thread::sleep_for(50ms);  // let the handler start

  auto stopped = std::async(std::launch::async, [&] { return server.stopAndWait(2s); });
  EXPECT_TRUE(idle->closedWithin(1s));
  auto res = busy->read();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "slow done");
  EXPECT_FALSE(res->keep_alive);  // Connection: close during a stop
  EXPECT_TRUE(busy->closedWithin(1s));
  EXPECT_TRUE(stopped.get());
  EXPECT_EQ(server.server().connectionCount(), 0u);
  auto late = TestClient::connect(server.port());
  EXPECT_TRUE(!late || late->closedWithin(1s));
}

TEST(HttpServer, StopDeadlineClosesWhatIsLeft) {
  TestServer server(shortTimeouts(), makeRouter());
  auto busy = TestClient::connect(server.port());
  ASSERT_TRUE(busy);
  ASSERT_TRUE(busy->send("GET /slow/3000 HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::this_thread::sleep_for(50ms);
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(server.stopAndWait(200ms, 2s));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1500ms);
  EXPECT_TRUE(busy->closedWithin(1s));
}

TEST(HttpServer, CountsRequestsByRoutePatternMethodAndStatusClass) {
  auto registry = std::make_shared<metrics::Registry>();
  auto router = makeRouter();
  auto health = std::make_shared<Health>();
  addObservabilityRoutes(*router, registry, health);
  ServerOptions o = shortTimeouts();
  o.metrics = registry;
  TestServer server(o, router);

  auto client = TestClient::connect(server.port());
  ASSERT_TRUE(client);
  ASSERT_EQ(client->request("GET", "/items/1")->status, 200);
  ASSERT_EQ(client->request("GET", "/items/2")->status, 200);
  ASSERT_EQ(client->request("HEAD", "/items/3")->status, 200);
  ASSERT_EQ(client->request("GET", "/nope")->status, 404);
  ASSERT_EQ(client->request("GET", "/boom")->status, 500);
  auto scrape = client->request("GET", "/metrics");
  ASSERT_TRUE(scrape);
  EXPECT_EQ(scrape->status, 200);
  EXPECT_EQ(scrape->header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  auto samples = metrics::test::parsePrometheusText(scrape->body);
  ASSERT_TRUE(samples);
  using metrics::test::findSample;
  EXPECT_EQ(findSample(*samples, "http_requests_total",
                       {{"server", "test"},
                        {"route", "/items/{id}"},
                        {"method", "GET"},
                        {"status_class", "2xx"}}),
            2.0);
  EXPECT_EQ(findSample(*samples, "http_requests_total",
                       {{"route", "/items/{id}"}, {"method", "HEAD"}, {"status_class", "2xx"}}),
            1.0);
  EXPECT_EQ(findSample(*samples, "http_requests_total",
                       {{"route", "unmatched"}, {"status_class", "4xx"}}),
            1.0);
  EXPECT_EQ(
      findSample(*samples, "http_requests_total", {{"route", "/boom"}, {"status_class", "5xx"}}),
      1.0);
  EXPECT_EQ(findSample(*samples, "http_request_duration_seconds_count", {{"route", "/items/{id}"}}),
            3.0);
  EXPECT_EQ(findSample(*samples, "http_connections_open", {{"server", "test"}}), 1.0);
  EXPECT_TRUE(findSample(*samples, "process_resident_memory_bytes").has_value());
}

TEST(HttpServer, HealthzReportsChecks) {
  auto registry = std::make_shared<metrics::Registry>(false);
  auto health = std::make_shared<Health>();
  auto db_ok = std::make_shared<std::atomic<bool>>(true);
  health->addCheck("database", [db_ok]() -> std::optional<std::string> {
    if (db_ok->load()) return std::nullopt;
    return "no connection";
  });
  auto router = std::make_shared<Router>();
  addObservabilityRoutes(*router, registry, health);
  TestServer server(shortTimeouts(), router);
  auto client = TestClient::connect(server.port());
  ASSERT_TRUE(client);
  auto ok = client->request("GET", "/healthz");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->body, R"({"status":"ok","checks":{"database":"ok"}})");
  db_ok->store(false);
  auto bad = client->request("GET", "/healthz");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 503);
  EXPECT_EQ(bad->body, R"({"status":"fail","checks":{"database":"no connection"}})");
}

TEST(HttpServer, ServesFromSeveralThreads) {
  // The caller decides the threads: four run the same io_context here.
  auto router = makeRouter();
  TestServer server(shortTimeouts(), router, 4);
  std::atomic<int> good{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&] {
      auto c = TestClient::connect(server.port());
      for (int i = 0; c && i < 50; ++i) {
        auto res = c->request("GET", "/hello");
        if (res && res->body == "hello") ++good;
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(good.load(), 200);
}

}  // namespace
}  // namespace sbc::http

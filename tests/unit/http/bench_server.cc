// A tiny server for load tests: GET /hello answers a small fixed body,
// /metrics and /healthz as every process serves them. One thread.
//   http_bench_server [port]   then e.g.  wrk -t1 -c50 -d10s http://127.0.0.1:PORT/hello
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "common/http/endpoints.h"
#include "common/http/router.h"
#include "common/http/server.h"
#include "common/metrics/registry.h"

int main(int argc, char** argv) {
  using namespace sbc;
  boost::asio::io_context io(1);
  auto registry = std::make_shared<metrics::Registry>();
  auto router = std::make_shared<http::Router>();
  const std::string body = "hello, world\n";
  router->addSync(http::Method::kGet, "/hello", [&body](http::Request&) {
    http::Response res = http::Response::text(200, body);
    res.set("Cache-Control", "max-age=60");
    return res;
  });
  http::addObservabilityRoutes(*router, registry, std::make_shared<http::Health>());

  http::ServerOptions options;
  options.name = "bench";
  options.port = argc > 1 ? static_cast<std::uint16_t>(std::atoi(argv[1])) : 8089;
  options.metrics = registry;
  http::Server server(io, options, router);
  server.start();
  std::printf("listening on 127.0.0.1:%u\n", server.port());
  std::fflush(stdout);

  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int) {
    server.stop(std::chrono::seconds(2), [&io] { io.stop(); });
  });
  io.run();
  return 0;
}

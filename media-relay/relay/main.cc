// media-relay: the RTP/SRTP relay process.
//
// Threads: main runs the control io_context (SBC connections, session table,
// ports, oRTP session set-up, the /metrics and /healthz listener, expiry);
// `workers` packet threads each run their own io_context with the sessions
// placed on them. They talk only by posting (see worker.h).
#include <ortp/ortp.h>
#include <sys/resource.h>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <iostream>
#include <memory>
#include <vector>

#include "common/http/endpoints.h"
#include "common/http/router.h"
#include "common/http/server.h"
#include "common/metrics/registry.h"
#include "media-relay/relay/config.h"
#include "media-relay/relay/control_server.h"
#include "media-relay/relay/relay_metrics.h"
#include "media-relay/relay/worker.h"
#include "media-relay/srtp/context.h"
#include "media-relay/srtp/openssl_backend.h"
#include "sbc/common/log.h"
#include "sbc/common/log_http.h"

#ifndef RELAY_VERSION
#define RELAY_VERSION "dev"
#endif

int main(int argc, char** argv) {
  CLI::App app{"media-relay: RTP/SRTP relay driven by the SBC"};
  std::string configPath;
  app.add_option("--config", configPath, "TOML configuration file")->required();
  app.set_version_flag("--version", RELAY_VERSION);
  CLI11_PARSE(app, argc, argv);

  relay::RelayConfig config;
  try {
    config = relay::loadConfig(configPath);
  } catch (const std::exception& e) {
    std::cerr << "media-relay: " << e.what() << "\n";
    return 2;
  }
  sbc::common::initLogging("relay", config.logLevel);
  // Each call holds 4 sockets plus one connected socket per latched leg: a
  // shell's soft limit (often 1,024) would cap the relay near 170 calls.
  if (rlimit files{}; getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }

  ortp_init();
  ortp_set_log_level_mask(ORTP_LOG_DOMAIN, ORTP_ERROR | ORTP_FATAL);
  if (!relay::srtp::initLibrary()) {
    spdlog::critical("libsrtp initialisation failed");
    return 1;
  }
  if (relay::srtp::cryptoBackend() != "openssl") {
    spdlog::warn(
        "SRTP: OpenSSL's AES-CM/HMAC-SHA1 refused by libsrtp's self test; using "
        "libsrtp's built-in crypto (slower, and per packet it grows with the calls)");
  }

  boost::asio::io_context io;
  std::vector<std::unique_ptr<relay::Worker>> workers;
  workers.reserve(config.workers);
  relay::ControlServer* control = nullptr;
  for (unsigned i = 0; i < config.workers; ++i) {
    workers.push_back(std::make_unique<relay::Worker>(
        i, config.latchWindow,
        [&control](relay::SessionId id, std::string callId, std::uint8_t leg,
                   sbc::relayctl::LegStats stats) {
          control->onMediaTimeout(id, std::move(callId), leg, stats);
        },
        config.forwardDelay ? config.forwardDelaySample : 0));
    workers.back()->setScheduling(config.workerScheduling, config.workerPriority);
  }
  auto server = std::make_unique<relay::ControlServer>(io, config, workers);
  control = server.get();

  auto registry = std::make_shared<sbc::metrics::Registry>();
  std::vector<std::shared_ptr<relay::WorkerCounters>> workerCounters;
  workerCounters.reserve(workers.size());
  for (auto& w : workers) workerCounters.push_back(w->counters());
  registry->addCollectable(
      std::make_shared<relay::RelayCollector>(server->counters(), workerCounters));
  auto health = std::make_shared<sbc::http::Health>();
  health->addCheck("ports", [c = server->counters()]() -> std::optional<std::string> {
    if (c->portsFree.load(std::memory_order_relaxed) == 0) return "no free port pair";
    return std::nullopt;
  });
  auto router = std::make_shared<sbc::http::Router>();
  sbc::http::addObservabilityRoutes(*router, registry, health);
  sbc::common::addLogLevelRoutes(*router);  // GET/PUT /api/log-level
  sbc::http::ServerOptions httpOptions;
  httpOptions.name = "relay";
  httpOptions.address = config.http.address;
  httpOptions.port = config.http.port;
  auto http = std::make_unique<sbc::http::Server>(io, httpOptions, router);

  try {
    server->start();
    http->start();
  } catch (const std::exception& e) {
    spdlog::critical("cannot listen: {}", e.what());
    return 1;
  }
  for (auto& w : workers) w->start();
  spdlog::info(
      "media-relay {} ready: control {}:{} http {}:{} ports {}-{} workers {} worker_scheduling {} "
      "{}",
      RELAY_VERSION, config.control.address, server->port(), config.http.address, http->port(),
      config.portMin, config.portMax, config.workers,
      relay::workerSchedulingName(config.workerScheduling), config.workerPriority);

  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int signo) {
    if (ec) return;
    spdlog::info("signal {}: shutting down", signo);
    server->stop();
    http->stop(std::chrono::milliseconds(0));
    io.stop();
  });
  io.run();

  for (auto& w : workers) w->stop();
  http.reset();
  server.reset();  // frees the oRTP sessions (and their sockets)
  workers.clear();
  ortp_exit();
  spdlog::info("media-relay stopped");
  return 0;
}

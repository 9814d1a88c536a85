#include "admin-ui/app.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <pqxx/pqxx>

#include <chrono>
#include <iostream>
#include <thread>

#include "admin-ui/auth.h"
#include "admin-ui/password.h"
#include "admin-ui/resource.h"
#include "admin-ui/routes.h"
#include "common/db/dsn.h"
#include "common/db/migrate.h"
#include "common/db/pool.h"
#include "common/http/endpoints.h"
#include "common/http/security_headers.h"
#include "common/http/server.h"
#include "common/http/static_files.h"
#include "common/metrics/registry.h"
#include "sbc/common/log_http.h"

namespace sbc::admin {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

asio::awaitable<http::Response> runSync(std::shared_ptr<const http::SyncHandler> h,
                                        http::Request& r) {
  co_return (*h)(r);
}

void addSync(Api& api, std::string_view pattern, http::SyncHandler handler) {
  auto h = std::make_shared<const http::SyncHandler>(std::move(handler));
  api.get(pattern, Access::kPublic, [h](http::Request& r) { return runSync(h, r); });
}

// Migrations at start-up, waiting for a database that is still starting.
bool migrateWithRetry(const std::string& dsn) {
  auto deadline = std::chrono::steady_clock::now() + 60s;
  for (;;) {
    db::MigrateReport r = db::migrate(db::dsnWithDefaults(dsn, 3, "sbc-admin-migrate"));
    if (r.ok()) {
      if (!r.applied.empty())
        spdlog::info("database migrated from version {} to {}", r.version_before, r.version_after);
      return true;
    }
    if (r.error != db::MigrateError::Connection || std::chrono::steady_clock::now() > deadline) {
      spdlog::critical("database migration failed: {}", r.message);
      return false;
    }
    spdlog::warn("database unreachable ({}), retrying: {}", db::redactDsn(dsn), r.message);
    std::this_thread::sleep_for(1s);
  }
}

}  // namespace

std::unique_ptr<Api> buildApi(const AdminConfig& config, std::shared_ptr<db::Pool> pool,
                              std::optional<crypto::SecretKey> key,
                              const std::shared_ptr<metrics::Registry>& registry,
                              std::shared_ptr<const http::Health> health) {
  auto api = std::make_unique<Api>(config, std::move(pool), key, registry);
  installAuth(*api);
  registerOpenApiRoute(*api);
  addSync(*api, "/metrics", http::metricsHandler(registry));
  addSync(*api, "/healthz", http::healthHandler(std::move(health)));
  registerTrunkRoutes(*api);
  registerDidRoutes(*api);
  registerRouteRoutes(*api);
  registerUserRoutes(*api);
  registerTokenRoutes(*api);
  registerAuditRoutes(*api);
  registerNodeRoutes(*api);
  registerLiveRoutes(*api);
  registerPortingRoutes(*api);
  registerImportRoutes(*api);
  registerCdrRoutes(*api);
  registerTraceRoutes(*api);
  registerRouteTestRoutes(*api);
  registerDashboardRoutes(*api);
  registerEventRoutes(*api);
  {  // run-time log level, admins only (sbc/common/log_http.h)
    auto level = std::make_shared<const http::SyncHandler>(common::logLevelGetHandler());
    api->get("/api/v1/log-level", Access::kAdmin,
             [level](http::Request& r) { return runSync(level, r); });
    api->put("/api/v1/log-level", Access::kAdmin,
             [](http::Request& r) -> asio::awaitable<http::Response> {
               co_return common::applyLogLevel(r, principalOf(r).who());
             });
  }

  http::Router& router = api->router();
  if (!config.static_dir.empty()) {
    http::StaticOptions so;
    so.root = config.static_dir;
    so.spa_fallback = true;
    so.immutable_prefix = "assets/";
    auto files = std::make_shared<http::StaticFiles>(so);
    auto serve = std::make_shared<const http::SyncHandler>(files->fallbackHandler());
    router.fallbackSync([serve](http::Request& r) {
      // An unknown API path is a JSON 404, never the UI's index page.
      if (r.path.rfind("/api/", 0) == 0) return errorResponse(404, "not found");
      return (*serve)(r);
    });
  }
  router.after(http::securityHeadersHook());
  router.after([](const http::Request& request, http::Response& response) {
    if (request.path.rfind("/api/", 0) == 0 && !response.header("Cache-Control"))
      response.set("Cache-Control", "no-store");
  });
  return api;
}

int runServer(const AdminConfig& config) {
  std::optional<crypto::SecretKey> key;
  if (config.secret_key_file.empty()) {
    spdlog::warn("database.secret_key_file is not set: trunk credentials cannot be stored");
  } else {
    crypto::KeyResult k = crypto::loadSecretKeyFile(config.secret_key_file);
    if (!k.key) {
      std::cerr << "sbc-admin: configuration error: database.secret_key_file: " << k.error << "\n";
      return 2;
    }
    key = *k.key;
  }
  if (config.migrate && !migrateWithRetry(config.dsn)) return 1;

  auto registry = std::make_shared<metrics::Registry>();
  db::PoolOptions po;
  po.dsn = config.dsn;
  po.threads = config.pool_threads;
  po.application_name = "sbc-admin";
  po.connect_timeout_s = 3;
  auto pool = std::make_shared<db::Pool>(po);
  pool->start();

  auto health = std::make_shared<http::Health>();
  health->addCheck("database", [pool]() -> std::optional<std::string> {
    if (pool->stats().connected > 0) return std::nullopt;
    return "no database connection";
  });

  int exit_code = 0;
  {
    std::unique_ptr<Api> api;
    try {
      api = buildApi(config, pool, key, registry, health);
    } catch (const std::exception& e) {
      std::cerr << "sbc-admin: configuration error: " << e.what() << "\n";
      pool->stop();
      return 2;
    }
    asio::io_context io(static_cast<int>(config.io_threads));
    http::ServerOptions so;
    so.name = "admin";
    so.address = config.address;
    so.port = config.port;
    so.max_body_bytes = config.max_body_bytes;
    so.metrics = registry;
    if (config.tls()) so.tls = http::TlsOptions{config.certificate, config.private_key};
    http::Server server(io, so, api->sharedRouter());
    try {
      server.start();
    } catch (const std::exception& e) {
      spdlog::critical("cannot listen on {}:{}: {}", config.address, config.port, e.what());
      pool->stop();
      return 1;
    }
    std::string host =
        config.address.find(':') != std::string::npos ? "[" + config.address + "]" : config.address;
    spdlog::info("sbc-admin listening on {}://{}:{}", config.tls() ? "https" : "http", host,
                 server.port());

    // Port-ins whose confirmed FOC time has come are completed here (the
    // store claims rows with SKIP LOCKED, so several consoles may run it).
    std::function<void()> stop_scheduler = startPortOrderScheduler(io, *api, 5s);
    std::function<void()> stop_dashboard = startDashboardSampler(io, *api, 10s);

    asio::signal_set signals(io, SIGTERM, SIGINT);
    signals.async_wait([&](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      stop_scheduler();
      stop_dashboard();
      api->shutdown();  // event streams end now rather than at the grace deadline
      spdlog::info("signal {}: stopping (grace {} s)", sig, config.shutdown_grace.count());
      // Then the pool stops: jobs still queued (a database that never
      // answered) fail at once instead of holding io.run() forever.
      server.stop(config.shutdown_grace, [&pool] {
        spdlog::info("all connections closed");
        pool->stop();
      });
    });
    // io.run() returns once the server has stopped and every database job
    // in flight has answered or failed (each holds work on the io_context).
    std::vector<std::thread> threads;
    for (unsigned i = 1; i < config.io_threads; ++i) {
      threads.emplace_back([&io] {
        pthread_setname_np(pthread_self(), "admin-http");  // top -H, perf
        io.run();
      });
    }
    io.run();
    for (auto& t : threads) t.join();
  }
  pool->stop();
  spdlog::info("sbc-admin stopped");
  return exit_code;
}

int createAdmin(const AdminConfig& config, const std::string& username,
                std::optional<std::string> password) {
  bool generated = !password;
  if (generated) password = randomPassword();
  if (auto problem = passwordProblem(*password)) {
    std::cerr << "sbc-admin: the password " << *problem << "\n";
    return 2;
  }
  if (config.migrate && !migrateWithRetry(config.dsn)) return 1;
  std::optional<std::string> hash = hashPassword(*password);
  if (!hash) {
    std::cerr << "sbc-admin: password hashing failed\n";
    return 1;
  }
  try {
    pqxx::connection conn(db::dsnWithDefaults(config.dsn, 5, "sbc-admin"));
    pqxx::work txn(conn);
    pqxx::result r = txn.exec_params(
        "INSERT INTO users (username, role, password_hash) VALUES ($1, 'admin', $2) "
        "ON CONFLICT DO NOTHING RETURNING id, to_jsonb(users) - 'password_hash'",
        username, *hash);
    if (r.empty()) {
      std::cerr << "sbc-admin: a user named '" << username << "' already exists\n";
      return 1;
    }
    Principal system;
    system.name = "system";
    system.user_id = -1;  // who() is the name itself
    writeAudit(txn, system, "create", "user", r[0][0].as<std::string>(), "",
               r[0][1].as<std::string>(), "");
    txn.commit();
  } catch (const pqxx::check_violation&) {
    std::cerr << "sbc-admin: invalid username (letters, digits, _ . @ -, at most 64)\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "sbc-admin: " << e.what() << "\n";
    return 1;
  }
  if (generated) {
    std::cout << "admin user '" << username << "' created; password (shown once): " << *password
              << std::endl;
  } else {
    std::cout << "admin user '" << username << "' created" << std::endl;
  }
  return 0;
}

}  // namespace sbc::admin

// sbc: the Session Border Controller's SIP process.
//
// Threads: main runs the SIP io_context (transport, engine, policy, timers;
// the only thread [node] sip_scheduling may make real-time);
// "mgmt" runs the HTTP API's io_context; the database pool, the configuration
// service, the CDR writer and the start-up thread (migrations, first
// configuration load with retries) have threads of their own. Results reach
// the SIP thread only by boost::asio::post.
#include <malloc.h>
#include <pthread.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <condition_variable>
#include <csignal>
#include <iostream>
#include <mutex>
#include <system_error>
#include <thread>

#include "common/crypto/secret_box.h"
#include "common/db/backoff.h"
#include "common/db/dsn.h"
#include "common/db/migrate.h"
#include "common/db/pool.h"
#include "common/http/router.h"
#include "common/http/server.h"
#include "common/metrics/registry.h"
#include "sbc/app/cdr_mapping.h"
#include "sbc/app/config.h"
#include "sbc/app/mgmt_api.h"
#include "sbc/app/node_db.h"
#include "sbc/app/sbc_metrics.h"
#include "sbc/app/sip_node.h"
#include "sbc/b2bua/limits.h"
#include "sbc/cdr/cdr_writer.h"
#include "sbc/cluster/lease_manager.h"
#include "sbc/common/log.h"
#include "sbc/common/thread_scheduling.h"
#include "sbc/config/config_service.h"
#include "sbc/trace/trace_service.h"
#include "sbc/transport/work_timing.h"

#ifndef SBC_VERSION
#define SBC_VERSION "dev"
#endif

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// A periodic task on an io_context, stopped by cancel().
class Ticker {
 public:
  Ticker(asio::io_context& io, std::chrono::milliseconds every, std::function<void()> f)
      : timer_(io), every_(every), f_(std::move(f)) {}
  void start() {
    timer_.expires_after(every_);
    timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || cancelled_) return;
      f_();
      start();
    });
  }
  void cancel() {
    cancelled_ = true;
    timer_.cancel();
  }

 private:
  asio::steady_timer timer_;
  std::chrono::milliseconds every_;
  std::function<void()> f_;
  bool cancelled_ = false;
};

// Migrations (when asked) and the first configuration load, retried in the
// background while PostgreSQL is unreachable, so that the SIP side is up (on
// an empty configuration: everything dropped) from the first second.
class Starter {
 public:
  struct Hooks {
    std::function<void(sbc::cfg::SnapshotPtr)> on_first_snapshot;  // starter thread
    std::function<void(std::string)> on_fatal;                     // starter thread
  };
  Starter(const sbc::app::Config& config, sbc::cfg::ConfigService& service, Hooks hooks)
      : config_(config), service_(service), hooks_(std::move(hooks)) {}
  ~Starter() { stop(); }

  void start() {
    thread_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "sbc-start");
      run();
    });
  }
  // Waits for an attempt in progress (bounded by the connect timeout).
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  bool started() const { return started_.load(); }

 private:
  void run() {
    sbc::db::Backoff backoff(sbc::db::BackoffPolicy{500ms, 10s});
    if (config_.database.migrate && !migrate(backoff)) return;
    backoff.reset();
    for (;;) {
      if (stopping()) return;
      try {
        sbc::cfg::SnapshotPtr first = service_.start();
        started_ = true;
        hooks_.on_first_snapshot(std::move(first));
        return;
      } catch (const std::exception& e) {
        spdlog::error(
            "configuration not loaded, running without one (everything is dropped) "
            "and retrying: {}",
            e.what());
      }
      if (!sleep(backoff.next())) return;
    }
  }
  // False when stopping or when the migration failed for good (reported).
  bool migrate(sbc::db::Backoff& backoff) {
    for (;;) {
      if (stopping()) return false;
      sbc::db::MigrateReport r =
          sbc::db::migrate(sbc::db::dsnWithDefaults(config_.database.dsn, 3, "sbc-migrate"));
      if (r.ok()) {
        if (!r.applied.empty()) {
          spdlog::info("database migrated from version {} to {}", r.version_before,
                       r.version_after);
        }
        return true;
      }
      if (r.error != sbc::db::MigrateError::Connection) {
        hooks_.on_fatal("database migration failed: " + r.message);
        return false;
      }
      spdlog::error("database unreachable ({}), retrying: {}",
                    sbc::db::redactDsn(config_.database.dsn), r.message);
      if (!sleep(backoff.next())) return false;
    }
  }
  bool stopping() {
    std::lock_guard lock(mutex_);
    return stopping_;
  }
  bool sleep(std::chrono::milliseconds d) {
    std::unique_lock lock(mutex_);
    return !cv_.wait_for(lock, d, [this] { return stopping_; });
  }

  const sbc::app::Config& config_;
  sbc::cfg::ConfigService& service_;
  Hooks hooks_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::atomic<bool> started_{false};
};

// The calling (SIP) thread at [node] sip_scheduling. Refused: one warning
// and the normal policy; sbc_sip_thread_priority says what it got.
void applySipScheduling(const sbc::app::Config& config, sbc::app::SbcMetrics& metrics) {
  using sbc::common::schedPolicyName;
  if (int e = sbc::common::applyToCurrentThread(config.sip_scheduling, config.sip_priority);
      e != 0) {
    spdlog::warn(
        "sip_scheduling = \"{}\" priority {} refused ({}): the SIP thread runs at the normal "
        "policy. It needs CAP_SYS_NICE or an RLIMIT_RTPRIO of at least {} (systemd "
        "LimitRTPRIO=, docker --ulimit rtprio=)",
        schedPolicyName(config.sip_scheduling), config.sip_priority,
        std::generic_category().message(e), config.sip_priority);
  }
  const sbc::common::ThreadScheduling got = sbc::common::currentThreadScheduling();
  metrics.sip_thread_priority.with({schedPolicyName(got.policy)}).Set(got.priority);
  if (got.policy != sbc::common::SchedPolicy::kOther) {
    spdlog::info("SIP thread: scheduling {} priority {}", schedPolicyName(got.policy),
                 got.priority);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"edge-sbc: SIP trunking Session Border Controller"};
  std::string config_path;
  bool check_only = false;
  std::string log_level;
  app.add_option("-c,--config", config_path, "node configuration (TOML)")->required();
  app.add_flag("--check-config", check_only, "validate the configuration and exit");
  app.add_option("--log-level", log_level, "override node.log_level");
  CLI11_PARSE(app, argc, argv);

  sbc::app::Config config;
  try {
    config = sbc::app::loadConfig(config_path);
  } catch (const std::exception& e) {
    std::cerr << "sbc: configuration error: " << e.what() << "\n";
    return 2;
  }
  if (check_only) {
    std::cout << "sbc: " << config_path << " is valid\n";
    return 0;
  }
  if (!log_level.empty()) config.log_level = log_level;
  // glibc returns freed heap to the kernel as soon as 128 KiB sit free at
  // the top and moves its mmap threshold about; under a call-rate swing the
  // SIP thread then page-faults the same memory back in (~10% of its CPU in
  // tests/bench/sip_load). Keep what a busy minute needed.
  mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
  mallopt(M_TOP_PAD, 16 * 1024 * 1024);
  mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
  sbc::common::initLogging("sbc", config.log_level);
  spdlog::info("sbc {} starting as node {}", SBC_VERSION, config.node_name);

  sbc::crypto::SecretKey key{};
  if (config.database.secret_key_file.empty()) {
    spdlog::warn(
        "database.secret_key_file is not set: trunk credentials cannot be decrypted "
        "(digest authentication and outbound registration will fail)");
  } else {
    sbc::crypto::KeyResult k = sbc::crypto::loadSecretKeyFile(config.database.secret_key_file);
    if (!k.key) {
      std::cerr << "sbc: configuration error: database.secret_key_file: " << k.error << "\n";
      return 2;
    }
    key = *k.key;
  }

  asio::io_context sip_io(1);
  asio::io_context mgmt_io(1);
  auto registry = std::make_shared<sbc::metrics::Registry>();
  sbc::app::SbcMetrics metrics(*registry);
  sbc::app::NodeStatus status;
  int exit_code = 0;

  sbc::db::PoolOptions pool_options;
  pool_options.dsn = config.database.dsn;
  pool_options.threads = config.database.pool_threads;
  pool_options.application_name = "sbc-" + config.node_name;
  pool_options.connect_timeout_s = 3;
  sbc::db::Pool pool(pool_options);
  pool.start();
  sbc::app::NodeRegistry nodes(pool, config.node_name, SBC_VERSION);
  sbc::app::RegistrationWriter registrations(pool, config.node_name);

  std::unique_ptr<sbc::cdr::CdrWriter> cdr_writer;
  try {
    sbc::cdr::CdrWriterOptions o;
    o.dsn = sbc::db::dsnWithParam(config.database.dsn, "application_name",
                                  "sbc-cdr-" + config.node_name);
    o.spool_dir = config.cdr_spool_dir;
    cdr_writer = std::make_unique<sbc::cdr::CdrWriter>(std::move(o));
  } catch (const std::exception& e) {
    spdlog::critical("CDR spool {}: {}", config.cdr_spool_dir, e.what());
    pool.stop();
    return 1;
  }
  cdr_writer->start();

  std::unique_ptr<sbc::trace::TraceService> trace;
  try {
    sbc::trace::TraceWriterOptions o;
    o.node = config.node_name;
    o.retention = std::chrono::hours(config.trace.retention_hours);
    o.hep_address = config.trace.hep_address;
    o.hep_id = config.trace.hep_id;
    trace = std::make_unique<sbc::trace::TraceService>(&pool, *registry, std::move(o));
  } catch (const std::exception& e) {
    spdlog::critical("trace: {}", e.what());
    cdr_writer->stop();
    pool.stop();
    return 2;
  }
  trace->start();

  sbc::b2bua::SharedChannelLimits limits;
  sbc::app::SipNodeOptions node_options;
  node_options.limits = &limits;
  node_options.metrics = &metrics;
  node_options.registrations = &registrations;
  // Cluster mode: channel leases from PostgreSQL gate the limits (sbc/cluster/).
  std::unique_ptr<sbc::cluster::ClusterMetrics> cluster_metrics;
  std::unique_ptr<sbc::cluster::LeaseManager> leases;
  if (config.cluster.enabled) {
    cluster_metrics = std::make_unique<sbc::cluster::ClusterMetrics>(*registry);
    leases = std::make_unique<sbc::cluster::LeaseManager>(pool, limits, config.node_name,
                                                          config.cluster, cluster_metrics.get());
    leases->start();
    node_options.leases = &limits;
  }
  node_options.trace_tap = trace->tap();
  node_options.on_call_record = [&](sbc::b2bua::CallRecord&& r) {
    if (!cdr_writer->submit(sbc::app::toCdr(std::move(r), config.node_name))) {
      spdlog::warn("CDR dropped: the writer's queue is full");
    }
  };
  sbc::app::SipNode node(sip_io, config, std::move(node_options));
  try {
    node.start();
  } catch (const std::exception& e) {
    spdlog::critical("start-up failed: {}", e.what());
    cdr_writer->stop();
    pool.stop();
    return 1;
  }
  for (std::size_t i = 0; i < config.listen.size(); ++i) {
    const auto& l = config.listen[i];
    spdlog::info("listening: {} {} {} (advertised as {})", l.realm, sbc::app::toString(l.protocol),
                 node.boundEndpoint(i), l.advertisedHost());
  }

  // ---- management API, on its own thread
  sbc::app::MgmtContext mgmt_ctx;
  mgmt_ctx.sip_io = &sip_io;
  mgmt_ctx.node = &node;
  mgmt_ctx.registry = registry;
  mgmt_ctx.status = &status;
  mgmt_ctx.node_name = config.node_name;
  mgmt_ctx.database_connected = [&pool] { return pool.stats().connected > 0; };
  sbc::http::ServerOptions http_options;
  http_options.name = "mgmt";
  http_options.address = config.mgmt_address;
  http_options.port = config.mgmt_port;
  http_options.metrics = registry;
  sbc::http::Server mgmt(mgmt_io, http_options, sbc::app::makeMgmtRouter(mgmt_ctx));
  try {
    mgmt.start();
  } catch (const std::exception& e) {
    spdlog::critical("mgmt API on {}:{}: {}", config.mgmt_address, config.mgmt_port, e.what());
    node.stop();
    cdr_writer->stop();
    pool.stop();
    return 1;
  }
  const std::string mgmt_endpoint =
      (config.mgmt_address.find(':') != std::string::npos ? "[" + config.mgmt_address + "]"
                                                          : config.mgmt_address) +
      ":" + std::to_string(mgmt.port());
  spdlog::info("mgmt listening on {}", mgmt_endpoint);

  // ---- configuration: the first load (with migrations) in the background
  std::atomic<bool> db_ready{false};
  sbc::cfg::ConfigServiceOptions cs_options;
  cs_options.dsn = config.database.dsn;
  cs_options.key = key;
  cs_options.connect_timeout = 2s;
  // Trunk TLS client contexts are built here (the loading thread), never on
  // the SIP thread, and travel with the snapshot that needs them.
  sbc::app::TlsClientContexts tls_clients;
  // SIGHUP: failed builds of the listener certificates (mgmt thread only).
  std::uint64_t tls_certificate_reload_failures = 0;
  auto apply = [&](const sbc::cfg::SnapshotPtr& s) {
    if (leases) leases->setSnapshot(s);
    auto tls = tls_clients.update(*s);
    asio::post(sip_io, [&, s, tls] {
      node.setTlsClients(tls);
      node.setSnapshot(s);
      status.config_generation = s->generation;
      status.has_config = true;
    });
  };
  cs_options.on_snapshot = apply;
  sbc::cfg::ConfigService config_service(cs_options);

  auto requestStop = std::make_shared<std::function<void()>>();
  Starter starter(
      config, config_service,
      Starter::Hooks{[&](const sbc::cfg::SnapshotPtr& first) {
                       apply(first);
                       db_ready = true;
                       nodes.announce(mgmt_endpoint);
                       nodes.loadRegistrations([&](std::vector<sbc::app::StoredBinding> stored) {
                         asio::post(sip_io, [&, stored = std::move(stored)] {
                           const std::size_t n = node.restoreRegistrations(stored);
                           if (n > 0) spdlog::info("{} registrations restored", n);
                         });
                       });
                     },
                     [&](std::string why) {
                       spdlog::critical("{}", why);
                       asio::post(sip_io, [&] {
                         exit_code = 1;
                         (*requestStop)();
                       });
                     }});
  starter.start();

  // ---- periodic work
  Ticker heartbeat(mgmt_io, 5s, [&] {
    if (db_ready) nodes.heartbeat();
  });
  sbc::app::BackgroundSampler background(metrics);
  Ticker background_tick(mgmt_io, 1s, [&] {
    sbc::app::BackgroundSample s;
    if (starter.started()) {
      auto cs = config_service.stats();
      s.config_generation = cs.generation;
      s.config_loads = cs.loads;
      s.config_failures = cs.failures;
      s.config_loaded_at = cs.last_load_at;
    }
    auto cw = cdr_writer->stats();
    s.cdr_queue_depth = cw.queue_depth;
    s.cdr_spool_records = cw.spool_records;
    s.cdr_dropped = cw.dropped;
    s.node_heartbeat_at = nodes.lastHeartbeat();
    if (auto tls = tls_clients.recheck()) {
      asio::post(sip_io, [&, tls] { node.setTlsClients(tls); });
    }
    const auto tls_stats = tls_clients.stats();
    s.tls_profiles_broken = tls_stats.broken;
    s.tls_profile_errors = tls_stats.load_errors;
    s.tls_certificate_reload_failures = tls_certificate_reload_failures;
    trace->sampleMetrics();
    background.sample(s, std::chrono::system_clock::now());
  });
  Ticker cluster_tick(mgmt_io, config.cluster.sync_interval, [&] {
    if (leases) leases->tick();
  });
  Ticker sip_tick(sip_io, 1s, [&] { status.active_calls = node.activeCallCount(); });
  asio::post(mgmt_io, [&] {
    heartbeat.start();
    cluster_tick.start();
    background_tick.start();
  });
  sip_tick.start();
  auto mgmt_work = asio::make_work_guard(mgmt_io);
  // Named threads for top -H and perf; the SIP thread is the main thread and
  // keeps the process name (scripts find the sbc with pgrep -x sbc).
  std::thread mgmt_thread([&] {
    pthread_setname_np(pthread_self(), "sbc-mgmt");
    mgmt_io.run();
  });

  // ---- signals and shutdown
  asio::signal_set signals(sip_io, SIGINT, SIGTERM, SIGHUP);
  asio::steady_timer grace_timer(sip_io);
  asio::steady_timer safety_timer(sip_io);
  bool stopping = false;
  auto finish = [&] {
    sip_tick.cancel();
    grace_timer.cancel();
    node.stop();
    // The mgmt server stops first, so that an /api request waiting for the
    // SIP thread is answered or closed before the SIP loop ends.
    asio::post(mgmt_io, [&] {
      heartbeat.cancel();
      cluster_tick.cancel();
      background_tick.cancel();
      mgmt.stop(300ms, [&] {
        mgmt_work.reset();
        asio::post(sip_io, [&] { sip_io.stop(); });
      });
    });
    safety_timer.expires_after(2s);
    safety_timer.async_wait([&](const boost::system::error_code& ec) {
      if (!ec) sip_io.stop();
    });
  };
  const auto grace_deadline = std::make_shared<std::chrono::steady_clock::time_point>();
  std::function<void()> waitGrace = [&] {
    if (node.shutdownSettled() || std::chrono::steady_clock::now() >= *grace_deadline) {
      finish();
      return;
    }
    grace_timer.expires_after(50ms);
    grace_timer.async_wait([&](const boost::system::error_code& ec) {
      if (!ec) waitGrace();
    });
  };
  *requestStop = [&] {
    if (stopping) {
      finish();  // a second signal: no more grace
      return;
    }
    stopping = true;
    status.shutting_down = true;
    const std::size_t calls = node.activeCallCount();
    spdlog::info("shutting down: ending {} calls (grace {} s)", calls,
                 config.shutdown_grace.count());
    node.shutdown();
    *grace_deadline = std::chrono::steady_clock::now() + config.shutdown_grace;
    waitGrace();
  };
  std::function<void()> waitSignals = [&] {
    signals.async_wait([&](const boost::system::error_code& ec, int signo) {
      if (ec) return;
      if (signo == SIGHUP) {
        // Files are read and contexts built on the mgmt thread; the SIP
        // thread only swaps the ready ones in.
        asio::post(mgmt_io, [&] {
          auto tls = tls_clients.reload();
          asio::post(sip_io, [&, tls] { node.setTlsClients(tls); });
          std::string error;
          auto certificates = sbc::app::loadListenerCertificates(config, &error);
          if (!certificates) {
            ++tls_certificate_reload_failures;
            spdlog::error("SIGHUP: certificate reload failed, keeping the old ones: {}", error);
            return;
          }
          asio::post(sip_io, [&, certificates] {
            auto r = node.swapCertificates(certificates);
            if (r.ok) {
              spdlog::info("SIGHUP: TLS certificates reloaded");
            } else {
              spdlog::error("SIGHUP: certificate reload failed, keeping the old ones: {}", r.error);
            }
          });
        });
      } else {
        spdlog::info("signal {}: shutting down", signo);
        (*requestStop)();
      }
      waitSignals();
    });
  };
  waitSignals();

  // Last: every thread above started at the normal policy, and the ones this
  // thread starts later do not inherit it (SCHED_RESET_ON_FORK).
  applySipScheduling(config, metrics);
  spdlog::info("{} ready", config.node_name);
  // SBC_UDP_TIMING: every handler of the SIP thread timed (stderr).
  if (sbc::transport::WorkTiming::enabled()) {
    sbc::transport::WorkTiming::run(sip_io, [&] { return node.tableSizes(); });
  } else {
    sip_io.run();
  }

  // ---- after the SIP loop: background parts, in dependency order
  signals.cancel();
  mgmt_io.stop();
  if (mgmt_thread.joinable()) mgmt_thread.join();
  starter.stop();
  config_service.stop();
  cdr_writer->stop();
  trace->stop();  // its last batch goes through the pool
  const auto cw = cdr_writer->stats();
  spdlog::info("CDRs: {} written, {} spooled, {} in the spool", cw.written + cw.replayed,
               cw.spooled, cw.spool_records);
  if (db_ready && !nodes.markStopped(2s))
    spdlog::warn("could not mark the node stopped in sbc_nodes");
  if (leases && !leases->releaseAll(2s)) spdlog::warn("cluster: leases not given back");
  pool.stop();
  spdlog::info("stopped");
  return exit_code;
}

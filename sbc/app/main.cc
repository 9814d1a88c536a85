// sbc: the Session Border Controller's SIP process.
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <csignal>
#include <iostream>

#include "sbc/app/config.h"
#include "sbc/app/sip_node.h"
#include "sbc/common/log.h"

namespace {

void waitForSignals(boost::asio::signal_set& signals, sbc::app::SipNode& node,
                    boost::asio::io_context& io) {
  signals.async_wait([&](const boost::system::error_code& ec, int signo) {
    if (ec) return;
    if (signo == SIGHUP) {
      auto r = node.reloadCertificates();
      if (r.ok) {
        spdlog::info("SIGHUP: TLS certificates reloaded");
      } else {
        spdlog::error("SIGHUP: certificate reload failed, keeping the old ones: {}", r.error);
      }
      waitForSignals(signals, node, io);
      return;
    }
    spdlog::info("signal {}: shutting down", signo);
    node.stop();
    io.stop();
  });
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
  sbc::common::initLogging("sbc", config.log_level);

  boost::asio::io_context io(1);
  sbc::app::SipNode node(io, config);
  try {
    node.start();
  } catch (const std::exception& e) {
    spdlog::critical("start-up failed: {}", e.what());
    return 1;
  }
  for (const auto& l : config.listen) {
    spdlog::info("listening: {} {} {}:{}", l.realm, sbc::app::toString(l.protocol), l.address,
                 l.port);
  }
  boost::asio::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
  waitForSignals(signals, node, io);
  spdlog::info("{} ready", config.node_name);
  io.run();
  spdlog::info("stopped");
  return 0;
}

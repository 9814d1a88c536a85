// sbc-admin: the operator console's server (REST API + static web UI).
//   sbc-admin --config FILE
//   sbc-admin create-admin --config FILE --username NAME [--password-stdin]
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <iostream>
#include <string>

#include "admin-ui/app.h"
#include "admin-ui/config.h"
#include "sbc/common/log.h"

int main(int argc, char** argv) {
  CLI::App app{"sbc-admin: the edge-sbc operator console"};
  std::string config_path;
  bool check_only = false;
  app.add_option("-c,--config", config_path, "console configuration (TOML)");
  app.add_flag("--check-config", check_only, "validate the configuration and exit");
  CLI::App* create = app.add_subcommand("create-admin", "create an admin user");
  std::string username;
  bool password_stdin = false;
  create->add_option("-c,--config", config_path, "console configuration (TOML)");
  create->add_option("--username", username, "the new admin's user name")->required();
  create->add_flag("--password-stdin", password_stdin,
                   "read the password from stdin instead of generating one");
  CLI11_PARSE(app, argc, argv);
  if (config_path.empty()) {
    std::cerr << "sbc-admin: --config is required\n";
    return 2;
  }

  sbc::admin::AdminConfig config;
  try {
    config = sbc::admin::loadAdminConfig(config_path);
  } catch (const std::exception& e) {
    std::cerr << "sbc-admin: configuration error: " << e.what() << "\n";
    return 2;
  }
  if (check_only) {
    std::cout << "sbc-admin: " << config_path << " is valid\n";
    return 0;
  }
  sbc::common::initLogging("sbc-admin", config.log_level);
  if (*create) {
    std::optional<std::string> password;
    if (password_stdin) {
      std::string line;
      std::getline(std::cin, line);
      while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
      password = line;
    }
    return sbc::admin::createAdmin(config, username, password);
  }
  return sbc::admin::runServer(config);
}

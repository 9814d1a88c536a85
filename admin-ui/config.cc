#include "admin-ui/config.h"

#include <toml++/toml.h>

#include "sbc/common/toml_config.h"

#include <boost/asio/ip/address.hpp>

#include <stdexcept>
#include "common/http/forwarded.h"

namespace sbc::admin {
namespace {

using sbc::tomlcfg::fail;
using sbc::tomlcfg::get;
using sbc::tomlcfg::getInt;
using sbc::tomlcfg::onlyKeys;
using sbc::tomlcfg::resolvePath;
using sbc::tomlcfg::section;

}  // namespace

bool isLoopbackAddress(const std::string& address) {
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(address, ec);
  return !ec && a.is_loopback();
}

AdminConfig parseAdminConfig(const std::string& text, const std::string& origin,
                             const std::string& base_dir) {
  toml::table root = sbc::tomlcfg::parseText(text, origin);
  onlyKeys(root, {"log_level", "shutdown_grace", "http", "database", "auth"}, origin, "");
  AdminConfig c;
  c.log_level = get<std::string>(root, "log_level", c.log_level, origin, "");
  c.shutdown_grace =
      std::chrono::seconds(getInt(root, "shutdown_grace", 5, 0, 600, origin, "(top)"));

  if (auto* http = section(root, "http", origin)) {
    onlyKeys(*http,
             {"address", "port", "certificate", "private_key", "static_dir", "max_body_bytes",
              "io_threads", "max_import_bytes", "trusted_proxies", "max_event_streams"},
             origin, "http");
    c.address = get<std::string>(*http, "address", c.address, origin, "http");
    c.port = static_cast<std::uint16_t>(getInt(*http, "port", c.port, 0, 65535, origin, "http"));
    auto files = sbc::tomlcfg::getTlsServerFiles(*http, origin, "http", base_dir, false);
    c.certificate = std::move(files.certificate);
    c.private_key = std::move(files.private_key);
    c.static_dir = resolvePath(get<std::string>(*http, "static_dir", "", origin, "http"), base_dir);
    c.max_body_bytes = static_cast<std::size_t>(
        getInt(*http, "max_body_bytes", 1 << 20, 1024, 1 << 30, origin, "http"));
    c.io_threads = static_cast<unsigned>(getInt(*http, "io_threads", 1, 1, 64, origin, "http"));
    c.max_import_bytes =
        static_cast<std::uint64_t>(getInt(*http, "max_import_bytes", std::int64_t{200} << 20, 1024,
                                          std::int64_t{1} << 40, origin, "http"));
    c.max_event_streams = static_cast<std::size_t>(
        getInt(*http, "max_event_streams", 256, 0, 100000, origin, "http"));
    if (const toml::node* n = http->get("trusted_proxies")) {
      const toml::array* list = n->as_array();
      if (!list) fail(origin, "http.trusted_proxies must be an array of addresses or networks");
      for (const auto& item : *list) {
        auto v = item.value<std::string>();
        if (!v || !sbc::http::parseCidr(*v)) {
          fail(origin, "http.trusted_proxies: '" + v.value_or("?") +
                           "' is not an IP address or CIDR network");
        }
        c.trusted_proxies.push_back(*v);
      }
    }
  }
  boost::system::error_code ec;
  boost::asio::ip::make_address(c.address, ec);
  if (ec) fail(origin, "http.address must be an IP address, not '" + c.address + "'");
  if (!c.tls() && !isLoopbackAddress(c.address)) {
    fail(origin,
         "plain HTTP is allowed on a loopback address only; set http.certificate and "
         "http.private_key to listen on " +
             c.address);
  }

  const toml::table* db = section(root, "database", origin);
  if (!db) fail(origin, "[database] with dsn is required");
  onlyKeys(*db, {"dsn", "pool_threads", "migrate", "secret_key_file"}, origin, "database");
  c.dsn = get<std::string>(*db, "dsn", "", origin, "database");
  if (c.dsn.empty()) fail(origin, "database.dsn is required");
  c.pool_threads = static_cast<unsigned>(getInt(*db, "pool_threads", 2, 1, 64, origin, "database"));
  c.migrate = get<bool>(*db, "migrate", false, origin, "database");
  c.secret_key_file =
      resolvePath(get<std::string>(*db, "secret_key_file", "", origin, "database"), base_dir);

  if (auto* auth = section(root, "auth", origin)) {
    onlyKeys(
        *auth,
        {"session_idle", "session_absolute", "max_failed_logins", "lockout",
         "login_rate_per_minute", "hash_threads", "cache", "cache_revalidate", "purge_interval"},
        origin, "auth");
    c.session_idle = std::chrono::seconds(
        getInt(*auth, "session_idle", 1800, 10, std::int64_t{7} * 86400, origin, "auth"));
    c.session_absolute = std::chrono::seconds(
        getInt(*auth, "session_absolute", 43200, 10, std::int64_t{30} * 86400, origin, "auth"));
    c.max_failed_logins =
        static_cast<int>(getInt(*auth, "max_failed_logins", 5, 1, 1000, origin, "auth"));
    c.lockout = std::chrono::seconds(getInt(*auth, "lockout", 900, 1, 86400, origin, "auth"));
    c.login_rate_per_minute =
        static_cast<double>(getInt(*auth, "login_rate_per_minute", 10, 1, 100000, origin, "auth"));
    c.hash_threads = static_cast<unsigned>(getInt(*auth, "hash_threads", 1, 1, 16, origin, "auth"));
    c.auth_cache = get<bool>(*auth, "cache", true, origin, "auth");
    c.auth_cache_revalidate =
        std::chrono::seconds(getInt(*auth, "cache_revalidate", 10, 1, 3600, origin, "auth"));
    c.session_purge_interval =
        std::chrono::seconds(getInt(*auth, "purge_interval", 300, 1, 86400, origin, "auth"));
  }
  if (c.session_absolute < c.session_idle)
    fail(origin, "auth.session_absolute must not be shorter than auth.session_idle");
  return c;
}

AdminConfig loadAdminConfig(const std::string& path) {
  auto file = sbc::tomlcfg::readConfigFile(path);
  return parseAdminConfig(file.text, path, file.base_dir);
}

}  // namespace sbc::admin

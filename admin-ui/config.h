#pragma once
// sbc-admin's static settings (TOML). Everything an operator edits day to
// day lives in PostgreSQL; this file holds only where to listen, the
// certificate, the database and the secret key.
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace sbc::admin {

struct AdminConfig {
  std::string log_level = "info";
  std::chrono::seconds shutdown_grace{5};

  // [http]
  std::string address = "127.0.0.1";
  std::uint16_t port = 8443;
  std::string certificate;  // PEM chain; with private_key: HTTPS
  std::string private_key;
  std::string static_dir;  // the web UI; empty: no UI
  std::size_t max_body_bytes = std::size_t{1024} * 1024;
  unsigned io_threads = 1;
  // Streamed CSV imports have their own body limit (a million rows is ~30 MB).
  std::uint64_t max_import_bytes = std::uint64_t{200} * 1024 * 1024;
  // Reverse proxies whose X-Forwarded-For is believed (addresses or CIDR
  // networks); the client address it gives is used for the login rate
  // limiter and the audit log. Empty: the header is ignored.
  std::vector<std::string> trusted_proxies;
  // Open GET /api/v1/events streams (one per browser tab) allowed at once.
  std::size_t max_event_streams = 256;

  // [database]
  std::string dsn;
  unsigned pool_threads = 2;
  bool migrate = false;
  std::string secret_key_file;  // same format as the sbc's (common/crypto)

  // [auth]
  std::chrono::seconds session_idle{30 * 60};
  std::chrono::seconds session_absolute{12 * 3600};
  int max_failed_logins = 5;              // then the account is locked ...
  std::chrono::seconds lockout{15 * 60};  // ... for this long
  double login_rate_per_minute = 10;      // per client IP and per username
  unsigned hash_threads = 1;              // argon2 is slow on purpose: off the I/O thread
  // Sessions and API tokens validated from memory (auth_cache.h); changes
  // are pushed between consoles by NOTIFY admin_auth, and an entry is
  // re-read from the database at least every cache_revalidate.
  bool auth_cache = true;
  std::chrono::seconds auth_cache_revalidate{10};
  // Expired sessions are deleted from the table this often (and at login).
  std::chrono::seconds session_purge_interval{300};

  bool tls() const { return !certificate.empty(); }
};

// Start-up only: throws std::runtime_error naming the file and the key.
// Refuses plain HTTP on anything but a loopback address.
AdminConfig parseAdminConfig(const std::string& text, const std::string& origin,
                             const std::string& base_dir);
AdminConfig loadAdminConfig(const std::string& path);

bool isLoopbackAddress(const std::string& address);

}  // namespace sbc::admin

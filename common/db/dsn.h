#pragma once
// libpq connection strings: both "key=value ..." and "postgresql://..." URIs.
#include <string>
#include <string_view>

namespace sbc::db {

// Adds what every SBC connection needs unless the DSN says otherwise: a
// connect_timeout (so that no connect, and so no stop(), waits forever on an
// unreachable server), TCP keepalives (a dead peer is noticed within ~30 s
// instead of hours), and application_name (visible in pg_stat_activity).
std::string dsnWithDefaults(std::string_view dsn, int connect_timeout_s = 5,
                            std::string_view application_name = "sbc");

// Adds or overrides one parameter, e.g. ("dbname", "sbc_test_1").
std::string dsnWithParam(std::string_view dsn, std::string_view key, std::string_view value);

// The DSN with any password replaced by "***", for logs and errors.
std::string redactDsn(std::string_view dsn);

// True when the DSN sets `key` (key=value form or URI query parameter).
bool dsnHasParam(std::string_view dsn, std::string_view key);

}  // namespace sbc::db

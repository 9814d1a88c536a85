// sbc-migrate --dsn DSN [--status]
//
// Applies the schema migrations built into this binary (exit 0), or with
// --status shows which are applied (exit 0 when the database is usable by
// this binary, pending migrations included). Other exit codes name the
// problem: see sbc::db::exitCode() (3 connection, 4 checksum mismatch,
// 5 database newer than this binary, 6 out of order, 7 SQL error).
#include <fmt/core.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <cstdlib>

#include "common/db/migrate.h"

namespace {

void printStates(const sbc::db::MigrateReport& r) {
  for (const auto& s : r.states) {
    const char* state = !s.applied       ? "pending"
                        : !s.known       ? "UNKNOWN (newer binary?)"
                        : !s.checksum_ok ? "CHANGED after apply"
                                         : "applied";
    fmt::print("  {:04d}  {:<28} {:<24} {}\n", s.version, s.name, state, s.applied_at);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Applies the SBC's PostgreSQL schema migrations"};
  std::string dsn;
  bool status = false;
  bool quiet = false;
  app.add_option("--dsn", dsn, "libpq connection string or postgresql:// URI")
      ->envname("SBC_DB_DSN")
      ->required();
  app.add_flag("--status", status, "show the migration state; change nothing");
  app.add_flag("-q,--quiet", quiet, "print errors only");
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(quiet ? spdlog::level::warn : spdlog::level::info);

  const auto known = sbc::db::embeddedMigrations();
  if (status) {
    auto r = sbc::db::migrationStatus(dsn);
    if (r.error == sbc::db::MigrateError::Connection) {
      fmt::print(stderr, "sbc-migrate: {}\n", r.message);
      return sbc::db::exitCode(r.error);
    }
    int pending = 0;
    for (const auto& s : r.states) pending += s.applied ? 0 : 1;
    fmt::print("schema version {} (this binary knows {}), {} pending\n", r.version_before,
               known.empty() ? 0 : known.back().version, pending);
    printStates(r);
    if (!r.ok()) fmt::print(stderr, "sbc-migrate: {}\n", r.message);
    return sbc::db::exitCode(r.error);
  }

  auto r = sbc::db::migrate(dsn);
  if (!r.ok()) {
    fmt::print(stderr, "sbc-migrate: {} ({})\n", r.message, sbc::db::toString(r.error));
    if (!quiet && !r.states.empty()) printStates(r);
    return sbc::db::exitCode(r.error);
  }
  if (!quiet) {
    if (r.applied.empty())
      fmt::print("schema is up to date at version {}\n", r.version_after);
    else
      fmt::print("applied {} migration(s): version {} -> {}\n", r.applied.size(), r.version_before,
                 r.version_after);
  }
  return EXIT_SUCCESS;
}

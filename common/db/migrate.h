#pragma once
// Schema migrations: the numbered SQL files of migrations/ are compiled into
// the binary (embed_migrations.cmake generates the table with each file's
// text and SHA-256) and applied in order, each in its own transaction
// together with its schema_migrations row. Runners on several nodes are
// serialized with a PostgreSQL advisory lock. The SBC, the console and
// tools/sbc-migrate call the same migrate().
#include <pqxx/connection>

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sbc::db {

struct Migration {
  int version = 0;
  std::string_view name;  // "initial" for 0001_initial.sql
  std::string_view sql;
  std::string_view checksum;  // SHA-256 of the file, lowercase hex
};

// The migrations built into this binary, by increasing version.
std::span<const Migration> embeddedMigrations();

enum class MigrateError {
  None = 0,
  Connection,        // could not connect / connection lost
  ChecksumMismatch,  // an applied migration differs from the binary's copy
  DatabaseNewer,     // the database has versions this binary does not know
  OutOfOrder,        // a pending migration is older than an applied one
  Sql,               // a migration failed (rolled back)
  BadList,           // the binary's list is not strictly increasing
};

std::string_view toString(MigrateError e);
// Process exit code for tools: 0 for None, distinct non-zero otherwise.
int exitCode(MigrateError e);

struct MigrationState {
  int version = 0;
  std::string name;
  bool applied = false;
  bool known = true;        // the binary has this version
  bool checksum_ok = true;  // applied and known: checksums equal
  std::string applied_at;   // as PostgreSQL prints it; empty when pending
};

struct MigrateReport {
  MigrateError error = MigrateError::None;
  std::string message;  // what went wrong, naming the migration
  int version_before = 0;
  int version_after = 0;
  std::vector<int> applied;            // by this run
  std::vector<MigrationState> states;  // after the run (or as found, on error)
  bool ok() const { return error == MigrateError::None; }
};

// Applies what is pending. Safe to run concurrently and repeatedly.
MigrateReport migrate(pqxx::connection& conn,
                      std::span<const Migration> migrations = embeddedMigrations());
// Connects (with a connect timeout), then migrate(); never throws.
MigrateReport migrate(const std::string& dsn,
                      std::span<const Migration> migrations = embeddedMigrations());

// Reads the state without changing anything; error set as migrate() would
// refuse (checksum, newer database), but pending migrations are not an error.
MigrateReport migrationStatus(pqxx::connection& conn,
                              std::span<const Migration> migrations = embeddedMigrations());
MigrateReport migrationStatus(const std::string& dsn,
                              std::span<const Migration> migrations = embeddedMigrations());

}  // namespace sbc::db

#include "common/db/migrate.h"

#include <pqxx/pqxx>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>

#include "common/db/dsn.h"
#include "common/db/pool.h"

namespace sbc::db {
namespace {

// pg_advisory_lock key shared by every runner ("sbc" "migr").
constexpr std::int64_t kLockKey = 0x736263'6d696772;

struct Applied {
  std::string name;
  std::string checksum;
  std::string applied_at;
};

void ensureTable(pqxx::connection& conn) {
  pqxx::nontransaction tx(conn);
  tx.exec0(
      "CREATE TABLE IF NOT EXISTS schema_migrations ("
      " version integer PRIMARY KEY CHECK (version > 0),"
      " name text NOT NULL,"
      " checksum text NOT NULL,"
      " applied_at timestamptz NOT NULL DEFAULT now())");
}

std::map<int, Applied> readApplied(pqxx::connection& conn) {
  pqxx::nontransaction tx(conn);
  std::map<int, Applied> out;
  for (const auto& row :
       tx.exec("SELECT version, name, checksum, applied_at::text FROM schema_migrations")) {
    out[row[0].as<int>()] =
        Applied{row[1].as<std::string>(), row[2].as<std::string>(), row[3].as<std::string>()};
  }
  return out;
}

bool tableExists(pqxx::connection& conn) {
  pqxx::nontransaction tx(conn);
  return !tx.exec1("SELECT to_regclass('schema_migrations') IS NULL")[0].as<bool>();
}

// Compares the database with the binary. Fills states and version_before.
void compare(const std::map<int, Applied>& applied, std::span<const Migration> migrations,
             MigrateReport& r) {
  r.states.clear();
  std::map<int, const Migration*> known;
  for (const auto& m : migrations) known[m.version] = &m;
  const int binary_max = migrations.empty() ? 0 : migrations.back().version;
  r.version_before = applied.empty() ? 0 : applied.rbegin()->first;

  std::map<int, MigrationState> states;
  for (const auto& [v, a] : applied) {
    MigrationState s{v, a.name, true, known.count(v) != 0, true, a.applied_at};
    if (s.known && known[v]->checksum != a.checksum) s.checksum_ok = false;
    states[v] = s;
  }
  for (const auto& m : migrations)
    if (!states.count(m.version))
      states[m.version] = MigrationState{m.version, std::string(m.name), false, true, true, {}};
  for (auto& [v, s] : states) r.states.push_back(s);

  for (const auto& s : r.states) {
    if (s.applied && !s.known && s.version > binary_max) {
      r.error = MigrateError::DatabaseNewer;
      r.message = "the database is at schema version " + std::to_string(r.version_before) +
                  " but this binary knows versions up to " + std::to_string(binary_max) +
                  ": upgrade the binary (refusing to run against a newer schema)";
      return;
    }
  }
  for (const auto& s : r.states) {
    if (s.applied && !s.known) {
      r.error = MigrateError::OutOfOrder;
      r.message = "migration " + std::to_string(s.version) + " (" + s.name +
                  ") is applied but unknown to this binary";
      return;
    }
    if (s.applied && !s.checksum_ok) {
      r.error = MigrateError::ChecksumMismatch;
      r.message = "migration " + std::to_string(s.version) + " (" + s.name +
                  ") was changed after it was applied (checksum mismatch): migrations are "
                  "forward-only, add a new one instead";
      return;
    }
  }
  for (const auto& s : r.states) {
    if (!s.applied && s.version < r.version_before) {
      r.error = MigrateError::OutOfOrder;
      r.message = "migration " + std::to_string(s.version) + " (" + s.name +
                  ") is pending but version " + std::to_string(r.version_before) +
                  " is already applied: number new migrations after the last one";
      return;
    }
  }
}

bool checkList(std::span<const Migration> migrations, MigrateReport& r) {
  for (std::size_t i = 0; i < migrations.size(); ++i) {
    if (migrations[i].version <= 0 ||
        (i > 0 && migrations[i].version <= migrations[i - 1].version)) {
      r.error = MigrateError::BadList;
      r.message = "migration list is not strictly increasing at version " +
                  std::to_string(migrations[i].version);
      return false;
    }
  }
  return true;
}

MigrateReport withConnection(const std::string& dsn, std::span<const Migration> migrations,
                             MigrateReport (*fn)(pqxx::connection&, std::span<const Migration>)) {
  try {
    pqxx::connection conn(dsnWithDefaults(dsn, 10, "sbc-migrate"));
    return fn(conn, migrations);
  } catch (const std::exception& e) {
    MigrateReport r;
    r.error = MigrateError::Connection;
    r.message = "cannot connect to " + redactDsn(dsn) + ": " + e.what();
    while (!r.message.empty() && (r.message.back() == '\n' || r.message.back() == ' '))
      r.message.pop_back();
    return r;
  }
}

}  // namespace

std::string_view toString(MigrateError e) {
  switch (e) {
    case MigrateError::None:
      return "ok";
    case MigrateError::Connection:
      return "connection";
    case MigrateError::ChecksumMismatch:
      return "checksum-mismatch";
    case MigrateError::DatabaseNewer:
      return "database-newer";
    case MigrateError::OutOfOrder:
      return "out-of-order";
    case MigrateError::Sql:
      return "sql";
    case MigrateError::BadList:
      return "bad-list";
  }
  return "unknown";
}

int exitCode(MigrateError e) {
  switch (e) {
    case MigrateError::None:
      return 0;
    case MigrateError::Connection:
      return 3;
    case MigrateError::ChecksumMismatch:
      return 4;
    case MigrateError::DatabaseNewer:
      return 5;
    case MigrateError::OutOfOrder:
      return 6;
    case MigrateError::Sql:
      return 7;
    case MigrateError::BadList:
      return 8;
  }
  return 1;
}

MigrateReport migrationStatus(pqxx::connection& conn, std::span<const Migration> migrations) {
  MigrateReport r;
  if (!checkList(migrations, r)) return r;
  try {
    std::map<int, Applied> applied;
    if (tableExists(conn)) applied = readApplied(conn);
    compare(applied, migrations, r);
    r.version_after = r.version_before;
  } catch (const std::exception& e) {
    r.error = isConnectionLoss(e, &conn) ? MigrateError::Connection : MigrateError::Sql;
    r.message = e.what();
  }
  return r;
}

MigrateReport migrationStatus(const std::string& dsn, std::span<const Migration> migrations) {
  return withConnection(dsn, migrations, [](pqxx::connection& c, std::span<const Migration> m) {
    return migrationStatus(c, m);
  });
}

MigrateReport migrate(pqxx::connection& conn, std::span<const Migration> migrations) {
  MigrateReport r;
  if (!checkList(migrations, r)) return r;
  bool locked = false;
  try {
    // Session-level lock: held across the per-migration transactions below,
    // released explicitly (or by the server when the session ends).
    {
      pqxx::nontransaction tx(conn);
      tx.exec_params("SELECT pg_advisory_lock($1)", kLockKey);
      locked = true;
    }
    ensureTable(conn);
    compare(readApplied(conn), migrations, r);
    if (r.ok()) {
      for (const auto& s : r.states) {
        if (s.applied) continue;
        const auto& m = *std::find_if(migrations.begin(), migrations.end(),
                                      [&](const Migration& x) { return x.version == s.version; });
        try {
          pqxx::work tx(conn, "migration");
          tx.exec(std::string(m.sql));
          tx.exec_params(
              "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
              m.version, std::string(m.name), std::string(m.checksum));
          tx.commit();
        } catch (const std::exception& e) {
          if (isConnectionLoss(e, &conn)) throw;
          r.error = MigrateError::Sql;
          r.message = "migration " + std::to_string(m.version) + " (" + std::string(m.name) +
                      ") failed and was rolled back: " + e.what();
          break;
        }
        spdlog::info("schema migration {:04d}_{} applied", m.version, m.name);
        r.applied.push_back(m.version);
      }
      // Report the state as it now is.
      MigrateReport now;
      compare(readApplied(conn), migrations, now);
      r.states = std::move(now.states);
      r.version_after = now.version_before;
    } else {
      r.version_after = r.version_before;
    }
    pqxx::nontransaction tx(conn);
    tx.exec_params("SELECT pg_advisory_unlock($1)", kLockKey);
  } catch (const std::exception& e) {
    r.error = isConnectionLoss(e, &conn) ? MigrateError::Connection : MigrateError::Sql;
    r.message = std::string("migration run failed: ") + e.what();
    if (locked && conn.is_open()) {
      try {
        pqxx::nontransaction tx(conn);
        tx.exec_params("SELECT pg_advisory_unlock($1)", kLockKey);
      } catch (const std::exception&) {
        // The lock goes with the session anyway.
      }
    }
  }
  return r;
}

MigrateReport migrate(const std::string& dsn, std::span<const Migration> migrations) {
  return withConnection(dsn, migrations, [](pqxx::connection& c, std::span<const Migration> m) {
    return migrate(c, m);
  });
}

}  // namespace sbc::db

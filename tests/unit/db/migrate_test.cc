// Migrations against a real PostgreSQL: apply, re-run, refuse tampering and
// newer schemas, roll back failures, serialize concurrent runners.
#include <gtest/gtest.h>

#include <thread>

#include "common/db/migrate.h"
#include "tests/pg/pg_test_support.h"

namespace sbc::db {
namespace {

using testpg::TestDatabase;

int count(const TestDatabase& db, const std::string& sql) {
  return db.scalar<int>(sql);
}

TEST(Migrate, AppliesEverythingToAnEmptyDatabase) {
  TestDatabase db(/*migrate=*/false);
  const auto known = embeddedMigrations();
  ASSERT_GE(known.size(), 1u);
  auto r = migrate(db.dsn());
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(r.version_before, 0);
  EXPECT_EQ(r.version_after, known.back().version);
  EXPECT_EQ(r.applied.size(), known.size());
  EXPECT_EQ(count(db, "SELECT count(*) FROM schema_migrations"), static_cast<int>(known.size()));
  for (const auto& m : known) {
    EXPECT_EQ(db.scalar<std::string>("SELECT checksum FROM schema_migrations WHERE version = " +
                                     std::to_string(m.version)),
              std::string(m.checksum));
  }
  for (const char* table : {"trunks",
                            "trunk_gateways",
                            "trunk_acl",
                            "trunk_credentials",
                            "registrations",
                            "dids",
                            "port_orders",
                            "port_order_numbers",
                            "port_order_events",
                            "ported_numbers",
                            "routes",
                            "users",
                            "sessions",
                            "api_tokens",
                            "audit_log",
                            "cdrs",
                            "cdrs_default",
                            "sip_traces",
                            "sbc_nodes",
                            "schema_migrations"}) {
    EXPECT_FALSE(db.scalar<bool>(std::string("SELECT to_regclass('") + table + "') IS NULL"))
        << table;
  }
  // The current and next month's CDR partitions exist.
  EXPECT_EQ(count(db, "SELECT count(*) FROM pg_inherits WHERE inhparent = 'cdrs'::regclass"), 3);
}

TEST(Migrate, SecondRunIsANoOp) {
  TestDatabase db(false);
  ASSERT_TRUE(migrate(db.dsn()).ok());
  const auto before =
      db.scalar<std::string>("SELECT string_agg(applied_at::text, ',') FROM schema_migrations");
  auto r = migrate(db.dsn());
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_TRUE(r.applied.empty());
  EXPECT_EQ(r.version_before, r.version_after);
  EXPECT_EQ(
      db.scalar<std::string>("SELECT string_agg(applied_at::text, ',') FROM schema_migrations"),
      before);
}

TEST(Migrate, RefusesATamperedChecksum) {
  TestDatabase db;
  db.exec("UPDATE schema_migrations SET checksum = repeat('0', 64) WHERE version = 1");
  auto r = migrate(db.dsn());
  EXPECT_EQ(r.error, MigrateError::ChecksumMismatch);
  EXPECT_NE(r.message.find("migration 1"), std::string::npos) << r.message;
  EXPECT_EQ(exitCode(r.error), 4);
  auto s = migrationStatus(db.dsn());
  EXPECT_EQ(s.error, MigrateError::ChecksumMismatch);
  ASSERT_FALSE(s.states.empty());
  EXPECT_FALSE(s.states[0].checksum_ok);
}

TEST(Migrate, RefusesADatabaseNewerThanTheBinary) {
  TestDatabase db;
  db.exec("INSERT INTO schema_migrations (version, name, checksum) VALUES (9999, 'future', 'x')");
  auto r = migrate(db.dsn());
  EXPECT_EQ(r.error, MigrateError::DatabaseNewer);
  EXPECT_NE(r.message.find("9999"), std::string::npos) << r.message;
  EXPECT_EQ(exitCode(r.error), 5);
  EXPECT_EQ(migrationStatus(db.dsn()).error, MigrateError::DatabaseNewer);
}

TEST(Migrate, AFailingMigrationIsRolledBackWithItsRow) {
  TestDatabase db(false);
  const Migration list[] = {
      {1, "one", "CREATE TABLE m_one (x int);", "c1"},
      {2, "two", "CREATE TABLE m_two (x int); SELECT 1 / 0;", "c2"},
      {3, "three", "CREATE TABLE m_three (x int);", "c3"},
  };
  auto r = migrate(db.dsn(), list);
  EXPECT_EQ(r.error, MigrateError::Sql);
  EXPECT_NE(r.message.find("migration 2"), std::string::npos) << r.message;
  EXPECT_EQ(r.applied, std::vector<int>{1});
  EXPECT_EQ(r.version_after, 1);
  EXPECT_TRUE(db.scalar<bool>("SELECT to_regclass('m_two') IS NULL"));
  EXPECT_TRUE(db.scalar<bool>("SELECT to_regclass('m_three') IS NULL"));
  EXPECT_EQ(count(db, "SELECT count(*) FROM schema_migrations"), 1);
}

TEST(Migrate, RefusesAPendingMigrationOlderThanTheLatestApplied) {
  TestDatabase db(false);
  const Migration first[] = {{1, "one", "SELECT 1;", "c1"}, {3, "three", "SELECT 3;", "c3"}};
  ASSERT_TRUE(migrate(db.dsn(), first).ok());
  const Migration later[] = {{1, "one", "SELECT 1;", "c1"},
                             {2, "two", "SELECT 2;", "c2"},
                             {3, "three", "SELECT 3;", "c3"}};
  auto r = migrate(db.dsn(), later);
  EXPECT_EQ(r.error, MigrateError::OutOfOrder);
  const Migration unsorted[] = {{2, "two", "SELECT 2;", "c2"}, {1, "one", "SELECT 1;", "c1"}};
  EXPECT_EQ(migrate(db.dsn(), unsorted).error, MigrateError::BadList);
}

TEST(Migrate, ConcurrentRunnersApplyEachMigrationOnce) {
  TestDatabase db(false);
  constexpr int kRunners = 4;
  std::vector<MigrateReport> reports(kRunners);
  std::vector<std::thread> threads;
  for (int i = 0; i < kRunners; ++i)
    threads.emplace_back([&, i] { reports[i] = migrate(db.dsn()); });
  for (auto& t : threads) t.join();
  std::size_t applied = 0;
  for (const auto& r : reports) {
    EXPECT_TRUE(r.ok()) << r.message;
    applied += r.applied.size();
  }
  EXPECT_EQ(applied, embeddedMigrations().size());
  EXPECT_EQ(count(db, "SELECT count(*) FROM schema_migrations"),
            static_cast<int>(embeddedMigrations().size()));
}

TEST(Migrate, UnreachableServerIsAConnectionError) {
  auto r = migrate("host=127.0.0.1 port=1 dbname=x connect_timeout=2");
  EXPECT_EQ(r.error, MigrateError::Connection);
  EXPECT_EQ(exitCode(r.error), 3);
}

TEST(MigrateTool, ExitCodes) {
  TestDatabase db(false);
  const std::string bin = SBC_MIGRATE_BIN;
  const std::string dsn = "'" + db.dsn() + "'";
  EXPECT_EQ(testpg::shell(bin + " -q --dsn " + dsn), 0);
  EXPECT_EQ(testpg::shell(bin + " -q --dsn " + dsn), 0);  // again: nothing to do
  EXPECT_EQ(testpg::shell(bin + " --status --dsn " + dsn + " >/dev/null"), 0);
  db.exec("INSERT INTO schema_migrations (version, name, checksum) VALUES (9999, 'future', 'x')");
  EXPECT_EQ(testpg::shell(bin + " -q --dsn " + dsn + " 2>/dev/null"), 5);
  EXPECT_EQ(testpg::shell(bin + " -q --dsn 'host=127.0.0.1 port=1 connect_timeout=2' 2>/dev/null"),
            3);
}

}  // namespace
}  // namespace sbc::db

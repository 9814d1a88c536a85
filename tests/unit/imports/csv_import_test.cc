// CSV imports against a real PostgreSQL: merge/replace, all-or-nothing,
// per-line errors, the audit row, NOTIFY, and a generated million-row file.
#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "admin-ui/imports/csv_import.h"
#include "tests/pg/pg_test_support.h"

namespace sbc::admin::imports {
namespace {

using testpg::TestDatabase;

struct Listener : pqxx::notification_receiver {
  explicit Listener(pqxx::connection_base& c) : pqxx::notification_receiver(c, "sbc_config") {}
  void operator()(const std::string& payload, int) override { payloads.push_back(payload); }
  std::vector<std::string> payloads;
};

class CsvImportTest : public ::testing::Test {
 protected:
  ImportResult run(const std::string& csv, ImportTarget target = ImportTarget::PortedNumbers,
                   ImportOptions o = {}) {
    pqxx::connection c(db_.dsn());
    std::istringstream in(csv);
    if (o.who == "system") o.who = "alice";
    return importCsv(c, target, in, o);
  }
  std::string ported(const std::string& number) {
    auto r = db_.exec(
        "SELECT routing_number || '|' || note || '|' || source FROM ported_numbers"
        " WHERE number = '" +
        number + "'");
    return r.empty() ? "-" : r[0][0].c_str();
  }
  long count(const std::string& sql) { return db_.scalar<long>(sql); }

  TestDatabase db_;
};

TEST_F(CsvImportTest, GoodFileMergesByNumberWritesAuditAndNotifies) {
  db_.exec(
      "INSERT INTO ported_numbers (number, routing_number) VALUES"
      " ('+14155550100', '+14150000001'), ('+14155550199', '+14150000009'),"
      " ('+14155550102', '+14150000002')");
  pqxx::connection lc(db_.dsn());
  Listener listener(lc);

  ImportOptions o;
  o.source = "carrier-feed";
  const auto r =
      run("number,routing_number,note\n"
          "+14155550100,+14150000111,moved\n"  // update
          "+14155550101,+14150000222,\n"       // insert
          "+14155550102,+14150000002,\n",      // unchanged
          ImportTarget::PortedNumbers, o);
  ASSERT_EQ(r.status, ImportStatus::Imported) << r.message;
  EXPECT_EQ(r.rows_read, 3u);
  EXPECT_EQ(r.rows_valid, 3u);
  EXPECT_EQ(r.inserted, 1u);
  EXPECT_EQ(r.updated, 1u);
  EXPECT_EQ(r.unchanged, 1u);
  EXPECT_EQ(r.error_count, 0u);
  EXPECT_EQ(ported("+14155550100"), "+14150000111|moved|carrier-feed");
  EXPECT_EQ(ported("+14155550101"), "+14150000222||carrier-feed");
  EXPECT_EQ(ported("+14155550199"), "+14150000009||manual");  // merge keeps the rest

  const auto audit = db_.exec(
      "SELECT who, action, entity, after->>'inserted', after->>'updated', after->>'mode'"
      " FROM audit_log");
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_STREQ(audit[0][0].c_str(), "alice");
  EXPECT_STREQ(audit[0][1].c_str(), "import");
  EXPECT_STREQ(audit[0][2].c_str(), "ported_numbers");
  EXPECT_STREQ(audit[0][3].c_str(), "1");
  EXPECT_STREQ(audit[0][4].c_str(), "1");
  EXPECT_STREQ(audit[0][5].c_str(), "merge");

  for (int i = 0; i < 50 && listener.payloads.empty(); ++i) lc.await_notification(0, 100'000);
  ASSERT_FALSE(listener.payloads.empty());
  EXPECT_EQ(listener.payloads[0], "ported_numbers");
}

TEST_F(CsvImportTest, FileWithErrorsImportsNothingAndNamesTheLines) {
  const auto r =
      run("number,routing_number\n"
          "+14155550100,+14150000001\n"  // 2
          "4155550101,+14150000001\n"    // 3: no plus
          "+14155550102,+1415000000x\n"  // 4: bad routing number
          "+14155550103\n"               // 5: one field
          "+14155550100,+14150000002\n"  // 6: duplicate of 2
          "+14155550104,\"+1415\"x\n"    // 7: CSV syntax
          "+14155550105,+14150000001\n");
  EXPECT_EQ(r.status, ImportStatus::Refused);
  EXPECT_EQ(r.rows_read, 7u);
  EXPECT_EQ(r.error_count, 5u);
  ASSERT_EQ(r.errors.size(), 5u);
  EXPECT_EQ(r.errors[0].line, 3u);
  EXPECT_EQ(r.errors[0].field, "number");
  EXPECT_EQ(r.errors[0].rule, "missing_plus");
  EXPECT_EQ(r.errors[1].line, 4u);
  EXPECT_EQ(r.errors[1].field, "routing_number");
  EXPECT_EQ(r.errors[1].rule, "not_a_digit");
  EXPECT_NE(r.errors[1].message.find("character 12"), std::string::npos) << r.errors[1].message;
  EXPECT_EQ(r.errors[2].line, 5u);
  EXPECT_EQ(r.errors[2].rule, "field_count");
  EXPECT_EQ(r.errors[3].line, 6u);
  EXPECT_EQ(r.errors[3].rule, "duplicate");
  EXPECT_EQ(r.errors[3].message, "duplicate of line 2");
  EXPECT_EQ(r.errors[4].line, 7u);
  EXPECT_EQ(r.errors[4].rule, "csv_syntax");
  EXPECT_EQ(count("SELECT count(*) FROM ported_numbers"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM audit_log"), 0);
}

TEST_F(CsvImportTest, SkipErrorsImportsTheGoodRowsFirstOccurrenceWins) {
  ImportOptions o;
  o.skip_errors = true;
  const auto r =
      run("number,routing_number\n"
          "+14155550100,+14150000001\n"
          "bad,+14150000001\n"
          "+14155550100,+14150000002\n"
          "+14155550101,+14150000003\n",
          ImportTarget::PortedNumbers, o);
  ASSERT_EQ(r.status, ImportStatus::Imported) << r.message;
  EXPECT_EQ(r.error_count, 2u);
  EXPECT_EQ(r.rows_valid, 2u);
  EXPECT_EQ(r.inserted, 2u);
  EXPECT_EQ(ported("+14155550100"), "+14150000001||csv");
  EXPECT_EQ(count("SELECT (after->>'errors')::int FROM audit_log"), 2);
}

TEST_F(CsvImportTest, ErrorListIsCappedButCounted) {
  std::string csv = "number,routing_number\n";
  for (int i = 0; i < 50; ++i) csv += "x" + std::to_string(i) + ",+14150000001\n";
  ImportOptions o;
  o.max_reported_errors = 10;
  const auto r = run(csv, ImportTarget::PortedNumbers, o);
  EXPECT_EQ(r.status, ImportStatus::Refused);
  EXPECT_EQ(r.error_count, 50u);
  ASSERT_EQ(r.errors.size(), 10u);
  EXPECT_EQ(r.errors.front().line, 2u);
  EXPECT_EQ(r.errors.back().line, 11u);
}

TEST_F(CsvImportTest, HeaderIsRequiredAndChecked) {
  auto r = run("+14155550100,+14150000001\n");
  EXPECT_EQ(r.status, ImportStatus::Refused);
  ASSERT_FALSE(r.errors.empty());
  EXPECT_EQ(r.errors[0].line, 1u);
  EXPECT_EQ(r.errors[0].field, "header");
  r = run("");
  EXPECT_EQ(r.status, ImportStatus::Refused);
  EXPECT_EQ(r.errors.at(0).rule, "missing_header");
  ImportOptions o;
  o.skip_errors = true;  // a bad header is never skipped
  r = run("number,lrn\n+14155550100,+14150000001\n", ImportTarget::PortedNumbers, o);
  EXPECT_EQ(r.status, ImportStatus::Refused);
  EXPECT_EQ(r.errors.at(0).rule, "unknown_column");
  // Columns in any order, any case.
  r = run("Routing_Number,NUMBER\n+14150000001,+14155550100\n");
  EXPECT_EQ(r.status, ImportStatus::Imported) << r.message;
  EXPECT_EQ(ported("+14155550100"), "+14150000001||csv");
}

TEST_F(CsvImportTest, ReplaceModeDeletesNumbersNotInTheFile) {
  db_.exec(
      "INSERT INTO ported_numbers (number, routing_number) VALUES"
      " ('+14155550100', '+14150000001'), ('+14155550199', '+14150000009')");
  ImportOptions o;
  o.mode = ImportMode::Replace;
  const auto r =
      run("number,routing_number\n+14155550100,+14150000001\n", ImportTarget::PortedNumbers, o);
  ASSERT_EQ(r.status, ImportStatus::Imported) << r.message;
  EXPECT_EQ(r.deleted, 1u);
  EXPECT_EQ(r.unchanged, 1u);
  EXPECT_EQ(ported("+14155550199"), "-");
}

TEST_F(CsvImportTest, ProgressIsReportedAsRowsAreRead) {
  std::string csv = "number,routing_number\n";
  for (int i = 0; i < 2500; ++i) csv += "+1415555" + std::to_string(1000 + i) + ",+14150000001\n";
  std::vector<std::uint64_t> seen;
  ImportOptions o;
  o.progress_every = 1000;
  o.on_progress = [&](std::uint64_t n) { seen.push_back(n); };
  const auto r = run(csv, ImportTarget::PortedNumbers, o);
  ASSERT_EQ(r.status, ImportStatus::Imported) << r.message;
  EXPECT_EQ(seen, (std::vector<std::uint64_t>{1000, 2000, 2500}));
}

TEST_F(CsvImportTest, DidsByTrunkNameWithTheirRules) {
  db_.exec(
      "INSERT INTO trunks (name, kind) VALUES ('acme-pbx', 'pbx'), ('big-carrier', 'carrier')");
  db_.exec(
      "INSERT INTO dids (number, trunk_id, description) SELECT '+14155550100', id, 'keep me'"
      " FROM trunks WHERE name = 'acme-pbx'");
  auto r =
      run("number,trunk,status\n"
          "+14155550100,acme-pbx,\n"
          "+14155550101,nope,\n"
          "+14155550102,big-carrier,\n"
          "+14155550103,,active\n"
          "+14155550104,,reserved\n"
          "+14155550105,acme-pbx,dead\n",
          ImportTarget::Dids);
  EXPECT_EQ(r.status, ImportStatus::Refused);
  ASSERT_EQ(r.errors.size(), 4u);
  EXPECT_EQ(r.errors[0].rule, "unknown_trunk");
  EXPECT_EQ(r.errors[0].line, 3u);
  EXPECT_EQ(r.errors[1].rule, "not_pbx");
  EXPECT_EQ(r.errors[2].rule, "required");
  EXPECT_EQ(r.errors[2].field, "trunk");
  EXPECT_EQ(r.errors[3].rule, "invalid_status");

  r =
      run("number,trunk,status\n+14155550100,acme-pbx,\n+14155550104,,reserved\n"
          "+14155550106,acme-pbx,\n",
          ImportTarget::Dids);
  ASSERT_EQ(r.status, ImportStatus::Imported) << r.message;
  EXPECT_EQ(r.inserted, 2u);
  EXPECT_EQ(r.unchanged, 1u);
  EXPECT_EQ(db_.scalar<std::string>("SELECT status || '|' || description FROM dids"
                                    " WHERE number = '+14155550100'"),
            "active|keep me");  // no description column: kept
  EXPECT_EQ(db_.scalar<std::string>("SELECT status FROM dids WHERE number = '+14155550104'"),
            "reserved");
  EXPECT_EQ(count("SELECT count(*) FROM audit_log WHERE entity = 'dids'"), 1);
}

// A generated file of SBC_IMPORT_ROWS rows, written to disk and streamed from
// it, timed. 100,000 by default; the ctest "bench.imports.million_rows"
// (label bench) runs 1,000,000, which takes ~40 s on a loaded 2-core machine,
// ASan or not: the time is spent in PostgreSQL (the e164 domain CHECKs and
// the upsert), not in the client. Target: < 60 s, asserted in optimised builds.
TEST_F(CsvImportTest, GeneratedFileIsImportedInTime) {
  const char* env = std::getenv("SBC_IMPORT_ROWS");
  const long rows = env ? std::atol(env) : 100'000;
  namespace fs = std::filesystem;
  const auto path =
      fs::path(::testing::TempDir()) / ("sbc_import_" + std::to_string(::getpid()) + ".csv");
  {
    std::ofstream out(path);
    out << "number,routing_number,note\n";
    char line[96];
    for (long i = 0; i < rows; ++i) {
      const int n = std::snprintf(line, sizeof line, "+1%010ld,+1415%07ld,%s\n", 2'000'000'000L + i,
                                  i % 10'000'000L, i % 10 == 0 ? "batch 7" : "");
      out.write(line, n);
    }
  }
  const auto bytes = fs::file_size(path);
  pqxx::connection c(db_.dsn());
  std::ifstream in(path);
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = importCsv(c, ImportTarget::PortedNumbers, in, {});
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  fs::remove(path);
  ASSERT_EQ(r.status, ImportStatus::Imported) << r.message;
  EXPECT_EQ(r.inserted, static_cast<std::uint64_t>(rows));
  EXPECT_EQ(count("SELECT count(*) FROM ported_numbers"), rows);
  std::printf("[ figure ] imported %ld rows (%.1f MB) in %.2f s: %.0f rows/s\n", rows,
              static_cast<double>(bytes) / 1e6, s, static_cast<double>(rows) / s);
#if defined(NDEBUG)
  EXPECT_LT(s, 60.0);
#endif
}

}  // namespace
}  // namespace sbc::admin::imports

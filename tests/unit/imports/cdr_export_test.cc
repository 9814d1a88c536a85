// CDR CSV export from a server-side cursor: chunking, filters, quoting, stop.
#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include "admin-ui/imports/cdr_export.h"
#include "admin-ui/imports/csv.h"
#include "tests/pg/pg_test_support.h"

namespace sbc::admin::imports {
namespace {

using testpg::TestDatabase;
using namespace std::chrono;

class CdrExportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // 3000 CDRs one second apart from 2026-11-01T00:00:00Z: even ones
    // answered on trunk 1, odd ones 486 on trunk 2; every 100th has a reason
    // that needs quoting.
    db_.exec(
        "INSERT INTO cdrs (uuid, start_time, direction, in_trunk_id, in_trunk, caller_in,"
        " callee_in, answer_time, sip_code, sip_reason, end_reason)"
        " SELECT gen_random_uuid(), '2026-11-01T00:00:00Z'::timestamptz + i * interval '1 s',"
        " 'inbound', 1 + i % 2, 'pbx-' || (1 + i % 2), '+1212555' || lpad(i::text, 4, '0'),"
        " '+14155550100', CASE WHEN i % 2 = 0 THEN '2026-11-01T00:00:00Z'::timestamptz"
        " + i * interval '1 s' + interval '2 s' END, CASE WHEN i % 2 = 0 THEN 200 ELSE 486 END,"
        " CASE WHEN i % 2 = 0 THEN 'OK' ELSE 'Busy Here' END,"
        " CASE WHEN i % 100 = 0 THEN E'hangup, \"caller\"\\nside' ELSE 'bye' END"
        " FROM generate_series(0, 2999) AS i");
  }

  struct Out {
    CdrExportResult result;
    std::vector<std::vector<std::string>> records;
    std::size_t chunks = 0;
  };

  Out run(const CdrFilter& f, CdrExportOptions o = {}, std::size_t stop_after = 0) {
    Out out;
    CsvParser parser([&](const CsvRecord& r) {
      EXPECT_EQ(r.error, CsvError::None) << "line " << r.line;
      out.records.emplace_back(r.fields.begin(), r.fields.end());
    });
    pqxx::connection c(db_.dsn());
    out.result = exportCdrsCsv(
        c, f,
        [&](std::string_view csv) {
          ++out.chunks;
          EXPECT_EQ(csv.substr(csv.size() - 2), "\r\n");
          parser.feed(csv);
          return stop_after == 0 || out.chunks < stop_after;
        },
        o);
    parser.finish();
    return out;
  }

  static TimePoint at(int second) {
    return TimePoint(duration_cast<microseconds>(sys_days{2026y / November / 1}.time_since_epoch() +
                                                 seconds{second}));
  }

  TestDatabase db_;
};

TEST_F(CdrExportTest, EveryRowInChunksWithHeaderAndQuoting) {
  CdrExportOptions o;
  o.chunk_rows = 500;
  const auto out = run({}, o);
  ASSERT_TRUE(out.result.ok) << out.result.message;
  EXPECT_EQ(out.result.rows, 3000u);
  EXPECT_EQ(out.chunks, 6u);  // header travels with the first chunk; no empty last chunk
  ASSERT_EQ(out.records.size(), 3001u);
  EXPECT_EQ(out.records[0][0], "uuid");
  EXPECT_EQ(out.records[0].size(), out.records[1].size());
  // Ordered by start time, times in UTC.
  EXPECT_EQ(out.records[1][1], "2026-11-01T00:00:00.000Z");
  EXPECT_EQ(out.records[1][2], "2026-11-01T00:00:02.000Z");
  EXPECT_EQ(out.records[2][2], "");                           // not answered: empty, not "null"
  EXPECT_EQ(out.records[1][17], "hangup, \"caller\"\nside");  // survived quoting
  EXPECT_EQ(out.records[2][17], "bye");
}

TEST_F(CdrExportTest, FiltersNarrowTheRows) {
  CdrFilter f;
  f.from = at(100);
  f.to = at(200);
  EXPECT_EQ(run(f).result.rows, 100u);
  f.result = CdrResult::Answered;
  EXPECT_EQ(run(f).result.rows, 50u);
  CdrFilter g;
  g.trunk_id = 2;
  g.sip_code = 486;
  EXPECT_EQ(run(g).result.rows, 1500u);
  CdrFilter h;
  h.number = "+12125550042";
  const auto out = run(h);
  ASSERT_EQ(out.result.rows, 1u);
  EXPECT_EQ(out.records.at(1)[8], "+12125550042");
  // A quote in a filter value is data, not SQL.
  CdrFilter evil;
  evil.number = "x' OR '1'='1";
  const auto e = run(evil);
  EXPECT_TRUE(e.result.ok) << e.result.message;
  EXPECT_EQ(e.result.rows, 0u);
  EXPECT_EQ(e.records.size(), 1u);  // the header alone
}

TEST_F(CdrExportTest, SinkCanStopTheExport) {
  CdrExportOptions o;
  o.chunk_rows = 100;
  const auto out = run({}, o, 2);
  EXPECT_TRUE(out.result.ok);
  EXPECT_TRUE(out.result.stopped);
  EXPECT_EQ(out.chunks, 2u);
  EXPECT_EQ(out.result.rows, 200u);
}

}  // namespace
}  // namespace sbc::admin::imports

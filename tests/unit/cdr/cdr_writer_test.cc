// CdrWriter against a real PostgreSQL: batching, outage and spool replay,
// idempotency, refused rows, partitions.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <string>

#include "sbc/cdr/cdr_writer.h"
#include "tests/pg/pg_test_support.h"

namespace sbc::cdr {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testpg::eventually;
using testpg::TestDatabase;

class CdrWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spool_ = fs::path(::testing::TempDir()) /
             ("sbc_cdr_spool_" + std::to_string(::getpid()) + "_" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(spool_);
  }
  void TearDown() override { fs::remove_all(spool_); }

  CdrWriterOptions options(const std::string& dsn) const {
    CdrWriterOptions o;
    o.dsn = dsn;
    o.spool_dir = spool_;
    o.backoff = db::BackoffPolicy{50ms, 500ms};
    o.connect_timeout_s = 2;
    return o;
  }

  static Cdr make(int i) {
    Cdr c;
    c.node = "node-a";
    c.direction = i % 2 ? Direction::Inbound : Direction::Outbound;
    c.a_call_id = "a-" + std::to_string(i) + "@192.0.2.1";
    c.b_call_id = "b-" + std::to_string(i);
    c.start_time = std::chrono::system_clock::now();
    c.end_time = c.start_time + 1s;
    c.sip_code = 487;
    c.ended_by = EndedBy::Caller;
    c.end_reason = "cancel";
    return c;
  }

  static std::set<std::string> uuids(const TestDatabase& db) {
    std::set<std::string> out;
    pqxx::connection c(db.dsn());
    pqxx::nontransaction tx(c);
    for (const auto& r : tx.exec("SELECT uuid::text FROM cdrs")) out.insert(r[0].c_str());
    return out;
  }

  fs::path spool_;
};

TEST_F(CdrWriterTest, EveryFieldLandsInItsColumn) {
  TestDatabase db;
  CdrWriter w(options(db.dsn()));
  w.start();
  Cdr c;
  c.node = "node-a";
  c.direction = Direction::Outbound;
  c.a_call_id = "abc@192.0.2.1";
  c.b_call_id = "sbc-1-xyz";
  c.in_trunk_id = 3;
  c.in_trunk = "acme-pbx";
  c.out_trunk_id = 4;
  c.out_trunk = "big-carrier";
  c.caller_in = "2000";
  c.callee_in = "0014155550100";
  c.caller_out = "+442071234567";
  c.callee_out = "+14155550100";
  c.routing_number = "14150009999";
  c.start_time = Cdr::Time(1'700'000'000'250'000us);
  c.ringing_time = c.start_time + 1s;
  c.answer_time = c.start_time + 3s;
  c.end_time = c.start_time + 63s;
  c.sip_code = 200;
  c.sip_reason = "OK";
  c.q850_cause = 16;
  c.ended_by = EndedBy::Callee;
  c.end_reason = "bye";
  c.failover_attempts = 1;
  c.tried_gateways = {"198.51.100.7:5060/udp", "198.51.100.8:5061/tls"};
  c.a_media = {1000, 172000, 3, 2.5, 998, 171656, 2};
  c.b_media = {999, 171828, 0, 0.75, 1000, 172000, 0};
  c.media_relay = "10.0.0.9:7722";
  c.media_stats = true;
  const std::string id = c.uuid;
  ASSERT_TRUE(w.submit(c));
  w.stop();
  auto row = db.exec(
      "SELECT node, direction, a_call_id, b_call_id, in_trunk_id, in_trunk, out_trunk_id, "
      "out_trunk,"
      " caller_in, callee_in, caller_out, callee_out, routing_number,"
      " extract(epoch FROM start_time)::text, extract(epoch FROM ringing_time - start_time)::int,"
      " extract(epoch FROM answer_time - start_time)::int, extract(epoch FROM end_time - "
      "start_time)::int,"
      " duration_ms, sip_code, sip_reason, q850_cause, ended_by, end_reason, failover_attempts,"
      " array_to_string(tried_gateways, ' '), a_packets, a_bytes, a_packets_lost, a_jitter_ms,"
      " b_packets, b_bytes, b_packets_lost, b_jitter_ms,"
      " a_packets_out, a_bytes_out, a_srtp_failures, b_packets_out, b_bytes_out,"
      " b_srtp_failures, media_relay, media_stats FROM cdrs WHERE uuid = '" +
      id + "'");
  ASSERT_EQ(row.size(), 1u);
  const auto& r = row[0];
  EXPECT_EQ(r[0].as<std::string>(), "node-a");
  EXPECT_EQ(r[1].as<std::string>(), "outbound");
  EXPECT_EQ(r[2].as<std::string>(), "abc@192.0.2.1");
  EXPECT_EQ(r[3].as<std::string>(), "sbc-1-xyz");
  EXPECT_EQ(r[4].as<int>(), 3);
  EXPECT_EQ(r[5].as<std::string>(), "acme-pbx");
  EXPECT_EQ(r[6].as<int>(), 4);
  EXPECT_EQ(r[7].as<std::string>(), "big-carrier");
  EXPECT_EQ(r[8].as<std::string>(), "2000");
  EXPECT_EQ(r[9].as<std::string>(), "0014155550100");
  EXPECT_EQ(r[10].as<std::string>(), "+442071234567");
  EXPECT_EQ(r[11].as<std::string>(), "+14155550100");
  EXPECT_EQ(r[12].as<std::string>(), "14150009999");
  EXPECT_EQ(r[13].as<std::string>(), "1700000000.250000");
  EXPECT_EQ(r[14].as<int>(), 1);
  EXPECT_EQ(r[15].as<int>(), 3);
  EXPECT_EQ(r[16].as<int>(), 63);
  EXPECT_EQ(r[17].as<long>(), 60'000);
  EXPECT_EQ(r[18].as<int>(), 200);
  EXPECT_EQ(r[19].as<std::string>(), "OK");
  EXPECT_EQ(r[20].as<int>(), 16);
  EXPECT_EQ(r[21].as<std::string>(), "callee");
  EXPECT_EQ(r[22].as<std::string>(), "bye");
  EXPECT_EQ(r[23].as<int>(), 1);
  EXPECT_EQ(r[24].as<std::string>(), "198.51.100.7:5060/udp 198.51.100.8:5061/tls");
  EXPECT_EQ(r[25].as<long>(), 1000);
  EXPECT_EQ(r[26].as<long>(), 172000);
  EXPECT_EQ(r[27].as<long>(), 3);
  EXPECT_DOUBLE_EQ(r[28].as<double>(), 2.5);
  EXPECT_EQ(r[29].as<long>(), 999);
  EXPECT_EQ(r[32].as<double>(), 0.75);
  EXPECT_EQ(r[33].as<long>(), 998);
  EXPECT_EQ(r[34].as<long>(), 171656);
  EXPECT_EQ(r[35].as<long>(), 2);
  EXPECT_EQ(r[36].as<long>(), 1000);
  EXPECT_EQ(r[37].as<long>(), 172000);
  EXPECT_EQ(r[38].as<long>(), 0);
  EXPECT_EQ(r[39].as<std::string>(), "10.0.0.9:7722");
  EXPECT_TRUE(r[40].as<bool>());
  // A never-answered call has NULL times and no duration.
  Cdr failed = make(1);
  CdrWriter w2(options(db.dsn()));
  w2.start();
  w2.submit(failed);
  w2.stop();
  EXPECT_TRUE(
      db.scalar<bool>("SELECT answer_time IS NULL AND ringing_time IS NULL AND duration_ms = 0"
                      " AND out_trunk_id IS NULL AND q850_cause IS NULL FROM cdrs WHERE uuid = '" +
                      failed.uuid + "'"));
}

// The writer quotes values itself (E'' literals): quotes, backslashes, SQL
// and UTF-8 from the network must land byte for byte, never as SQL.
TEST_F(CdrWriterTest, QuotesBackslashesAndUtf8LandVerbatim) {
  TestDatabase db;
  CdrWriter w(options(db.dsn()));
  w.start();
  Cdr c = make(7);
  c.caller_in = "O'Brien \\ \"x\" '');DROP TABLE cdrs;--";
  c.sip_reason = "Caf\xc3\xa9 \\n \\'";
  c.tried_gateways = {"a'b", "c\\d"};
  ASSERT_TRUE(w.submit(c));
  w.stop();
  auto row = db.exec(
      "SELECT caller_in, sip_reason, array_to_string(tried_gateways, '|') FROM cdrs"
      " WHERE uuid = '" +
      c.uuid + "'");
  ASSERT_EQ(row.size(), 1u);
  EXPECT_EQ(row[0][0].as<std::string>(), c.caller_in);
  EXPECT_EQ(row[0][1].as<std::string>(), c.sip_reason);
  EXPECT_EQ(row[0][2].as<std::string>(), "a'b|c\\d");
  EXPECT_EQ(w.stats().copy_retried, 0u);  // COPY's own escaping carried them
}

TEST_F(CdrWriterTest, TenThousandRecordsInBatches) {
  TestDatabase db;
  CdrWriter w(options(db.dsn()));
  w.start();
  std::set<std::string> sent;
  std::vector<Cdr> batch;
  batch.reserve(10'000);
  for (int i = 0; i < 10'000; ++i) batch.push_back(make(i));
  std::vector<std::int64_t> ns;
  ns.reserve(batch.size());
  const auto t0 = std::chrono::steady_clock::now();
  for (auto& c : batch) {
    sent.insert(c.uuid);
    const auto s0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(w.submit(std::move(c)));
    ns.push_back((std::chrono::steady_clock::now() - s0).count());
  }
  ASSERT_TRUE(eventually([&] { return w.stats().written == 10'000; }, 30s));
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  w.stop();
  std::sort(ns.begin(), ns.end());
  std::printf("10,000 CDRs written in %lld ms; submit() median %lld ns, p99 %lld ns, max %lld us\n",
              static_cast<long long>(ms.count()), static_cast<long long>(ns[ns.size() / 2]),
              static_cast<long long>(ns[ns.size() * 99 / 100]),
              static_cast<long long>(ns.back() / 1000));
  EXPECT_EQ(uuids(db), sent);
  EXPECT_EQ(w.stats().spooled, 0u);
  EXPECT_EQ(w.stats().failures, 0u);
  EXPECT_EQ(w.stats().copy_retried, 0u);
}

TEST_F(CdrWriterTest, APostgresOutageMidStreamLosesAndDuplicatesNothing) {
  testpg::PrivateServer server(1);
  TestDatabase db(true, server.dsn());
  CdrWriter w(options(db.dsn()));
  w.start();
  std::set<std::string> sent;
  for (int i = 0; i < 10'000; ++i) {
    if (i == 3'000) server.stop();
    if (i == 7'000) server.start();
    Cdr c = make(i);
    sent.insert(c.uuid);
    ASSERT_TRUE(w.submit(std::move(c)));
    if (i % 100 == 0) std::this_thread::sleep_for(5ms);
  }
  ASSERT_TRUE(eventually(
      [&] {
        auto s = w.stats();
        return s.queue_depth == 0 && s.spool_files == 0 && s.written + s.replayed >= 10'000;
      },
      60s));
  const auto st = w.stats();
  w.stop();
  std::printf(
      "outage: written %llu directly, spooled %llu, replayed %llu, duplicates %llu, failures "
      "%llu\n",
      static_cast<unsigned long long>(st.written), static_cast<unsigned long long>(st.spooled),
      static_cast<unsigned long long>(st.replayed), static_cast<unsigned long long>(st.duplicates),
      static_cast<unsigned long long>(st.failures));
  EXPECT_GT(st.spooled, 0u);
  EXPECT_EQ(st.replayed, st.spooled);
  EXPECT_EQ(db.scalar<long>("SELECT count(*) FROM cdrs"), 10'000);
  EXPECT_EQ(uuids(db), sent);
}

TEST_F(CdrWriterTest, AWriterRestartedWithANonEmptySpoolReplaysIt) {
  TestDatabase db;
  std::set<std::string> sent;
  {
    // PostgreSQL unreachable: everything goes to the spool, stop() included.
    CdrWriter down(options("host=127.0.0.1 port=1 dbname=x connect_timeout=1"));
    down.start();
    for (int i = 0; i < 1'000; ++i) {
      Cdr c = make(i);
      sent.insert(c.uuid);
      ASSERT_TRUE(down.submit(std::move(c)));
    }
    std::this_thread::sleep_for(300ms);
    down.stop();
    EXPECT_EQ(down.stats().spooled, 1'000u);
    EXPECT_EQ(down.stats().spool_records, 1'000u);
    EXPECT_GE(down.stats().spool_files, 1u);
  }
  // Keep a copy of the spool, to replay it a second time later.
  const fs::path copy = spool_.string() + "_copy";
  fs::remove_all(copy);
  fs::copy(spool_, copy);

  {
    CdrWriter up(options(db.dsn()));
    EXPECT_EQ(up.stats().spool_records, 1'000u);  // found at open
    up.start();
    ASSERT_TRUE(eventually([&] { return up.stats().spool_files == 0; }, 20s));
    EXPECT_EQ(up.stats().replayed, 1'000u);
    EXPECT_EQ(up.stats().spool_records, 0u);
    up.stop();
  }
  EXPECT_EQ(uuids(db), sent);

  // The same records replayed again (a crash between insert and unlink) are
  // recognised by their uuid and not written twice.
  for (const auto& e : fs::directory_iterator(copy))
    fs::copy(e.path(), spool_ / e.path().filename());
  fs::remove_all(copy);
  {
    CdrWriter again(options(db.dsn()));
    again.start();
    ASSERT_TRUE(eventually([&] { return again.stats().spool_files == 0; }, 20s));
    EXPECT_EQ(again.stats().duplicates, 1'000u);
    again.stop();
  }
  EXPECT_EQ(db.scalar<long>("SELECT count(*) FROM cdrs"), 1'000);
}

TEST_F(CdrWriterTest, ARecordTheDatabaseRefusesIsSetAsideAndTheRestWritten) {
  TestDatabase db;
  CdrWriter w(options(db.dsn()));
  w.start();
  for (int i = 0; i < 10; ++i) {
    Cdr c = make(i);
    if (i == 4) c.sip_code = 42;  // violates the CHECK
    ASSERT_TRUE(w.submit(std::move(c)));
  }
  ASSERT_TRUE(eventually([&] { return w.stats().written + w.stats().rejected == 10; }, 10s));
  w.stop();
  EXPECT_EQ(w.stats().written, 9u);
  EXPECT_EQ(w.stats().rejected, 1u);
  EXPECT_GE(w.stats().copy_retried, 1u);  // the COPY refused the batch, INSERT found the row
  EXPECT_EQ(db.scalar<long>("SELECT count(*) FROM cdrs"), 9);
  ASSERT_TRUE(fs::exists(spool_ / "rejected"));
  EXPECT_FALSE(fs::is_empty(spool_ / "rejected"));
  EXPECT_EQ(w.stats().spool_files, 0u);
}

TEST_F(CdrWriterTest, RecordsOfAnOldMonthGetTheirPartition) {
  TestDatabase db;
  CdrWriter w(options(db.dsn()));
  w.start();
  Cdr c = make(0);
  c.start_time = Cdr::Time(std::chrono::sys_days(std::chrono::year(2019) / 3 / 14));
  ASSERT_TRUE(w.submit(c));
  w.stop();
  EXPECT_EQ(db.scalar<std::string>("SELECT tableoid::regclass::text FROM cdrs"), "cdrs_y2019m03");
}

TEST_F(CdrWriterTest, SubmitNeverWaitsAndRefusesBeyondCapacity) {
  testpg::SilentServer hung;
  auto o = options(hung.dsn(2));
  o.queue_capacity = 100;
  CdrWriter w(o);
  // Not started: nothing drains the queue.
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(w.submit(make(i)));
  EXPECT_FALSE(w.submit(make(100)));
  EXPECT_EQ(w.stats().dropped, 1u);
  EXPECT_EQ(w.stats().queue_depth, 100u);
  // Started against a hung server: stop() still flushes everything to the spool.
  w.start();
  std::this_thread::sleep_for(100ms);
  w.stop();
  EXPECT_EQ(w.stats().spooled, 100u);
  EXPECT_EQ(w.stats().queue_depth, 0u);
}

// The writer thread yields the CPU to the SIP threads: it runs niced.
TEST_F(CdrWriterTest, TheWriterThreadRunsAtTheNiceValueAsked) {
  testpg::SilentServer hung;
  auto o = options(hung.dsn(2));
  o.thread_nice = 7;
  const auto niced_threads = [] {
    int count = 0;
    for (const auto& task : fs::directory_iterator("/proc/self/task")) {
      std::ifstream stat(task.path() / "stat");
      std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
      // Field 19 is the nice value; fields are counted after the ")" of comm.
      std::istringstream fields(text.substr(text.rfind(')') + 2));
      std::string field;
      for (int i = 3; i <= 19 && fields >> field; ++i) {
      }
      count += field == "7" ? 1 : 0;
    }
    return count;
  };
  ASSERT_EQ(niced_threads(), 0);
  CdrWriter w(o);
  w.start();
  EXPECT_TRUE(eventually([&] { return niced_threads() == 1; }, 5s));
  w.stop();
}

}  // namespace
}  // namespace sbc::cdr

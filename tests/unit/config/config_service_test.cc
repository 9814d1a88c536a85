// ConfigService against a real server: first load, NOTIFY -> new snapshot in
// under a second, bursts coalesced, PostgreSQL down and back.
#include <gtest/gtest.h>

#include "sbc/config/config_service.h"
#include "tests/pg/pg_test_support.h"

namespace sbc::cfg {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testpg::eventually;
using testpg::TestDatabase;

struct Received {
  std::mutex m;
  std::vector<SnapshotPtr> snapshots;
  std::vector<Clock::time_point> at;
  void operator()(SnapshotPtr s) {
    std::lock_guard lock(m);
    snapshots.push_back(std::move(s));
    at.push_back(Clock::now());
  }
  std::size_t size() {
    std::lock_guard lock(m);
    return snapshots.size();
  }
  SnapshotPtr last() {
    std::lock_guard lock(m);
    return snapshots.empty() ? nullptr : snapshots.back();
  }
  Clock::time_point lastAt() {
    std::lock_guard lock(m);
    return at.back();
  }
};

ConfigServiceOptions options(const std::string& dsn, Received& r) {
  ConfigServiceOptions o;
  o.dsn = dsn;
  o.key.fill(7);
  o.connect_timeout = 2s;
  o.backoff = db::BackoffPolicy{50ms, 500ms};
  o.on_snapshot = [&r](SnapshotPtr s) { r(std::move(s)); };
  return o;
}

TEST(ConfigService, StartReturnsTheFirstSnapshot) {
  TestDatabase db;
  db.exec("INSERT INTO trunks (name, kind) VALUES ('p1', 'pbx')");
  Received r;
  ConfigService svc(options(db.dsn(), r));
  auto first = svc.start();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->generation, 1u);
  EXPECT_NE(first->trunkByName("p1"), nullptr);
  EXPECT_EQ(svc.current(), first);
  EXPECT_EQ(r.size(), 0u);  // the first one is returned, not called back
  auto st = svc.stats();
  EXPECT_EQ(st.generation, 1u);
  EXPECT_EQ(st.loads, 1u);
  EXPECT_EQ(st.failures, 0u);
  EXPECT_TRUE(st.listening);
  EXPECT_GT(st.last_load_duration.count(), 0);
}

TEST(ConfigService, StartThrowsWhenTheDatabaseIsUnreachable) {
  Received r;
  auto o = options("host=127.0.0.1 port=1 dbname=x connect_timeout=1", r);
  o.connect_timeout = 1s;
  ConfigService svc(o);
  EXPECT_THROW(svc.start(), std::runtime_error);
  EXPECT_EQ(svc.current(), nullptr);
  EXPECT_EQ(svc.stats().failures, 1u);
}

TEST(ConfigService, ATrunkEditInSqlIsInForceWithinOneSecond) {
  TestDatabase db;
  const auto id = std::to_string(db.scalar<long>(
      "INSERT INTO trunks (name, kind, max_calls) VALUES ('p1', 'pbx', 10) RETURNING id"));
  Received r;
  ConfigService svc(options(db.dsn(), r));
  svc.start();
  std::vector<double> ms;
  for (int i = 1; i <= 5; ++i) {
    const auto before = r.size();
    const auto t0 = Clock::now();
    db.exec("UPDATE trunks SET max_calls = " + std::to_string(100 + i) + " WHERE id = " + id);
    ASSERT_TRUE(eventually([&] { return r.size() > before; }, 5s)) << "edit " << i;
    const auto took = std::chrono::duration<double, std::milli>(r.lastAt() - t0).count();
    ms.push_back(took);
    EXPECT_EQ(r.last()->trunkByName("p1")->limits.max_calls, static_cast<std::uint32_t>(100 + i));
    EXPECT_LT(took, 1000.0);
  }
  std::sort(ms.begin(), ms.end());
  std::printf(
      "SQL edit -> new snapshot in force: min %.0f ms, median %.0f ms, max %.0f ms "
      "(coalescing window 75 ms)\n",
      ms.front(), ms[ms.size() / 2], ms.back());
  EXPECT_EQ(svc.current()->generation, 6u);
  // Only trunks changed: the ported numbers were reused, not re-read.
  EXPECT_TRUE(svc.stats().last.ported_reused);
}

TEST(ConfigService, ABurstOfChangesIsCoalescedIntoFewLoads) {
  TestDatabase db;
  Received r;
  ConfigService svc(options(db.dsn(), r));
  svc.start();
  // 30 separate commits sent in one round trip, so that the burst is as
  // tight as a bulk edit from the console, however loaded the machine.
  std::string burst;
  for (int i = 0; i < 30; ++i)
    burst += "BEGIN; INSERT INTO trunks (name, kind) VALUES ('t" + std::to_string(i) +
             "', 'carrier'); COMMIT; ";
  pqxx::connection c(db.dsn());
  pqxx::nontransaction(c).exec(burst);
  ASSERT_TRUE(eventually([&] { return r.last() && r.last()->trunks.size() == 30; }, 5s));
  std::this_thread::sleep_for(300ms);
  std::printf("30 committed edits -> %zu reloads\n", r.size());
  EXPECT_LE(r.size(), 10u);
  EXPECT_EQ(svc.current()->trunks.size(), 30u);
}

TEST(ConfigService, PortedNumberChangesAreReRead) {
  TestDatabase db;
  Received r;
  ConfigService svc(options(db.dsn(), r));
  svc.start();
  db.exec(
      "INSERT INTO ported_numbers (number, routing_number) VALUES ('+14155550199', "
      "'+14150009999')");
  ASSERT_TRUE(eventually([&] { return r.last() && r.last()->ported.size() == 1; }, 5s));
  EXPECT_FALSE(svc.stats().last.ported_reused);
  EXPECT_EQ(svc.current()->routingNumber(14155550199u), 14150009999u);
}

TEST(ConfigService, KeepsTheLastSnapshotWhilePostgresIsDownAndReloadsWhenBack) {
  testpg::PrivateServer server(3);
  TestDatabase db(true, server.dsn());
  db.exec("INSERT INTO trunks (name, kind, max_calls) VALUES ('p1', 'pbx', 10)");
  Received r;
  ConfigService svc(options(db.dsn(), r));
  auto first = svc.start();
  ASSERT_EQ(first->trunkByName("p1")->limits.max_calls, 10u);

  server.stop();
  ASSERT_TRUE(eventually([&] { return !svc.stats().listening; }, 5s));
  svc.requestReload();  // e.g. an operator asks: fails, keeps the snapshot
  ASSERT_TRUE(eventually([&] { return svc.stats().failures >= 1; }, 5s));
  EXPECT_EQ(svc.current(), first);
  EXPECT_EQ(svc.current()->trunkByName("p1")->limits.max_calls, 10u);

  server.start();
  // The listener reconnects, reports a resync, and the service reloads.
  ASSERT_TRUE(eventually([&] { return svc.current()->generation > first->generation; }, 15s));
  ASSERT_TRUE(eventually([&] { return svc.stats().listening; }, 5s));
  db.exec("UPDATE trunks SET max_calls = 20 WHERE name = 'p1'");
  ASSERT_TRUE(
      eventually([&] { return svc.current()->trunkByName("p1")->limits.max_calls == 20; }, 5s));
  svc.stop();
}

}  // namespace
}  // namespace sbc::cfg

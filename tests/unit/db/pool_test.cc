// The executor pool against a real server: runs jobs, refuses when full,
// reports SQL errors, survives a lost connection, stops without hanging.
#include <gtest/gtest.h>

#include <future>

#include "common/db/pool.h"
#include "tests/pg/pg_test_support.h"

namespace sbc::db {
namespace {

using namespace std::chrono_literals;
using testpg::eventually;
using testpg::TestDatabase;

PoolOptions options(const std::string& dsn, unsigned threads = 2, std::size_t capacity = 1024) {
  PoolOptions o;
  o.dsn = dsn;
  o.threads = threads;
  o.queue_capacity = capacity;
  o.backoff = BackoffPolicy{50ms, 500ms};
  o.connect_timeout_s = 2;
  return o;
}

TEST(Pool, RunsJobsOnItsWorkersAndDeliversResultsThroughTheJob) {
  TestDatabase db(false);
  Pool pool(options(db.dsn(), 2));
  pool.start();
  std::atomic<int> sum{0};
  std::mutex m;
  std::set<std::thread::id> threads;
  for (int i = 1; i <= 100; ++i) {
    ASSERT_TRUE(pool.submit([&, i](pqxx::connection& c) {
      pqxx::nontransaction tx(c);
      sum += tx.exec_params1("SELECT $1::int * 2", i)[0].as<int>();
      std::lock_guard lock(m);
      threads.insert(std::this_thread::get_id());
    }));
  }
  ASSERT_TRUE(eventually([&] { return pool.stats().completed == 100; }));
  EXPECT_EQ(sum.load(), 2 * 5050);
  EXPECT_FALSE(threads.count(std::this_thread::get_id()));
  EXPECT_EQ(pool.stats().connected, 2u);
  pool.stop();
  EXPECT_EQ(pool.stats().connected, 0u);
}

TEST(Pool, SubmitRefusesWhenTheQueueIsFullInsteadOfBlocking) {
  TestDatabase db(false);
  Pool pool(options(db.dsn(), 1, 2));
  pool.start();
  std::promise<void> release;
  auto released = release.get_future().share();
  std::atomic<bool> running{false};
  ASSERT_TRUE(pool.submit([&](pqxx::connection&) {
    running = true;
    released.wait();
  }));
  ASSERT_TRUE(eventually([&] { return running.load(); }));
  EXPECT_TRUE(pool.submit([](pqxx::connection&) {}));
  EXPECT_TRUE(pool.submit([](pqxx::connection&) {}));
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(pool.submit([](pqxx::connection&) {}));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 50ms);
  EXPECT_EQ(pool.stats().rejected, 1u);
  EXPECT_EQ(pool.stats().queued, 2u);
  release.set_value();
  EXPECT_TRUE(eventually([&] { return pool.stats().completed == 3; }));
}

TEST(Pool, SqlErrorsGoToTheJobsErrorHandlerWithoutRetry) {
  TestDatabase db(false);
  Pool pool(options(db.dsn(), 1));
  pool.start();
  std::promise<std::string> error;
  int runs = 0;
  ASSERT_TRUE(pool.submit(
      [&](pqxx::connection& c) {
        ++runs;
        pqxx::work tx(c);
        tx.exec("SELECT * FROM no_such_table");
      },
      [&](std::string_view e) { error.set_value(std::string(e)); }));
  auto f = error.get_future();
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  EXPECT_NE(f.get().find("no_such_table"), std::string::npos);
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(pool.stats().failed, 1u);
  EXPECT_EQ(pool.stats().retried, 0u);
}

TEST(Pool, AJobWhoseConnectionBreaksIsRetriedOnceAfterReconnect) {
  TestDatabase db(false);
  Pool pool(options(db.dsn(), 1));
  pool.start();
  std::atomic<int> runs{0};
  std::promise<int> done;
  ASSERT_TRUE(pool.submit([&](pqxx::connection& c) {
    if (++runs == 1) {
      // The server ends this session, as a restart or a DBA would.
      pqxx::nontransaction tx(c);
      tx.exec("SELECT pg_terminate_backend(pg_backend_pid())");
    }
    pqxx::nontransaction tx(c);
    done.set_value(tx.exec1("SELECT 42")[0].as<int>());
  }));
  auto f = done.get_future();
  ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(f.get(), 42);
  EXPECT_EQ(runs.load(), 2);
  EXPECT_EQ(pool.stats().retried, 1u);
  EXPECT_GE(pool.stats().connects, 2u);

  // A job that loses its connection twice fails through its handler.
  std::promise<std::string> failed;
  ASSERT_TRUE(pool.submit(
      [](pqxx::connection& c) {
        pqxx::nontransaction tx(c);
        tx.exec("SELECT pg_terminate_backend(pg_backend_pid())");
      },
      [&](std::string_view e) { failed.set_value(std::string(e)); }));
  auto g = failed.get_future();
  ASSERT_EQ(g.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(pool.stats().retried, 2u);
}

TEST(Pool, QueuesWhileTheServerIsUnreachableAndStopsWithoutHanging) {
  testpg::SilentServer silent;
  Pool pool(options(silent.dsn(2), 2));
  pool.start();
  std::atomic<int> errors{0};
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(pool.submit([](pqxx::connection&) { FAIL() << "ran without a database"; },
                            [&](std::string_view e) {
                              EXPECT_EQ(e, "pool stopped");
                              ++errors;
                            }));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(pool.stats().queued, 5u);
  EXPECT_EQ(pool.stats().connected, 0u);
  const auto t0 = std::chrono::steady_clock::now();
  pool.stop();
  const auto took = std::chrono::steady_clock::now() - t0;
  // At worst one connect timeout (2 s) in progress.
  EXPECT_LT(took, 3500ms);
  EXPECT_EQ(errors.load(), 5);
  std::printf(
      "pool stop() with an unreachable server took %lld ms\n",
      static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()));
}

}  // namespace
}  // namespace sbc::db

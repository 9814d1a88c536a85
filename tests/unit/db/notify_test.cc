// NotifyListener against a real server.
#include <gtest/gtest.h>

#include "common/db/notify_listener.h"
#include "tests/pg/pg_test_support.h"

namespace sbc::db {
namespace {

using namespace std::chrono_literals;
using testpg::eventually;
using testpg::TestDatabase;

struct Collector {
  std::mutex m;
  std::vector<Notification> got;
  void operator()(const Notification& n) {
    std::lock_guard lock(m);
    got.push_back(n);
  }
  std::size_t size() {
    std::lock_guard lock(m);
    return got.size();
  }
  Notification at(std::size_t i) {
    std::lock_guard lock(m);
    return got.at(i);
  }
};

NotifyListenerOptions options(const std::string& dsn, Collector& c,
                              std::vector<std::string> channels = {"sbc_config"}) {
  NotifyListenerOptions o;
  o.dsn = dsn;
  o.channels = std::move(channels);
  o.backoff = BackoffPolicy{50ms, 500ms};
  o.connect_timeout = 2s;
  o.on_notify = [&c](const Notification& n) { c(n); };
  return o;
}

TEST(NotifyListener, DeliversNotificationsOnEveryChannel) {
  TestDatabase db(false);
  Collector c;
  NotifyListener l(options(db.dsn(), c, {"sbc_config", "Other Channel"}));
  l.start();
  ASSERT_TRUE(l.waitListening(5s));
  db.exec("SELECT pg_notify('sbc_config', 'trunks')");
  db.exec("NOTIFY \"Other Channel\", 'x'");
  db.exec("NOTIFY unrelated, 'y'");
  ASSERT_TRUE(eventually([&] { return c.size() >= 2; }));
  std::this_thread::sleep_for(100ms);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c.at(0).channel, "sbc_config");
  EXPECT_EQ(c.at(0).payload, "trunks");
  EXPECT_FALSE(c.at(0).resync);
  EXPECT_EQ(c.at(1).channel, "Other Channel");
  EXPECT_EQ(l.notifications(), 2u);
  l.stop();
  EXPECT_FALSE(l.listening());
}

TEST(NotifyListener, ReportsAResyncAfterReconnecting) {
  TestDatabase db(false);
  Collector c;
  NotifyListener l(options(db.dsn(), c));
  l.start();
  ASSERT_TRUE(l.waitListening(5s));
  // The server drops the listener's session (as on a restart or failover).
  EXPECT_EQ(
      db.scalar<int>("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                     "WHERE application_name = 'sbc-listen' AND datname = current_database()"),
      1);
  ASSERT_TRUE(eventually([&] { return c.size() >= 1; }));
  EXPECT_TRUE(c.at(0).resync);
  EXPECT_EQ(l.reconnects(), 1u);
  ASSERT_TRUE(l.waitListening(5s));
  db.exec("NOTIFY sbc_config, 'routes'");
  ASSERT_TRUE(eventually([&] { return c.size() >= 2; }));
  EXPECT_EQ(c.at(1).payload, "routes");
  EXPECT_FALSE(c.at(1).resync);
}

TEST(NotifyListener, StopIsPromptEvenWhileConnectingToAHungServer) {
  testpg::SilentServer silent;
  Collector c;
  auto o = options(silent.dsn(), c);
  o.connect_timeout = 30s;
  NotifyListener l(o);
  l.start();
  std::this_thread::sleep_for(200ms);
  EXPECT_FALSE(l.listening());
  const auto t0 = std::chrono::steady_clock::now();
  l.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 500ms);
  EXPECT_EQ(c.size(), 0u);
}

TEST(NotifyListener, KeepsRetryingAnUnreachableServerUntilStopped) {
  Collector c;
  NotifyListener l(options("host=127.0.0.1 port=1 dbname=x connect_timeout=1", c));
  l.start();
  EXPECT_FALSE(l.waitListening(300ms));
  const auto t0 = std::chrono::steady_clock::now();
  l.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 500ms);
}

}  // namespace
}  // namespace sbc::db

// The lease SQL (sbc/cluster/lease_store.h) and the LeaseManager against a
// real PostgreSQL: grants never pass the limit, even with concurrent
// claimers; a dead node's leases expire; two managers share a trunk.
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <atomic>
#include <chrono>
#include <functional>
#include <random>
#include <thread>
#include <vector>

#include "common/db/pool.h"
#include "sbc/b2bua/limits.h"
#include "sbc/cluster/lease_manager.h"
#include "sbc/cluster/lease_store.h"
#include "tests/pg/pg_test_support.h"

namespace sbc::cluster {
namespace {

using namespace std::chrono_literals;

TrunkId addTrunk(const testpg::TestDatabase& db, const std::string& name, int max_calls,
                 int max_in = 0, int max_out = 0) {
  return db.scalar<TrunkId>(
      "INSERT INTO trunks (name, kind, max_calls, max_inbound, "
      "max_outbound) VALUES ('" +
      name + "', 'carrier', " + std::to_string(max_calls) + ", " + std::to_string(max_in) + ", " +
      std::to_string(max_out) + ") RETURNING id");
}

long long leasedSum(const testpg::TestDatabase& db, TrunkId t) {
  return db.scalar<long long>(
      "SELECT coalesce(sum(calls), 0) FROM trunk_channel_leases WHERE trunk_id = " +
      std::to_string(t));
}

TEST(LeaseStore, GrantsUpToTheLimitAndGivesBack) {
  testpg::TestDatabase db;
  const TrunkId t = addTrunk(db, "c1", 10, 0, 4);
  pqxx::connection ca(db.dsn()), cb(db.dsn());
  LeaseStore a("node-a", 15s), b("node-b", 15s);

  ChangeResult ra = a.change(ca, t, Held{10, 0, 4});
  EXPECT_EQ(ra.held, (Held{10, 0, 4}));
  EXPECT_FALSE(ra.fell_short);
  // b asks while a holds everything: nothing, and it says it wants more.
  ChangeResult rb = b.change(cb, t, Held{5, 0, 2});
  EXPECT_EQ(rb.held, (Held{0, 0, 0}));
  EXPECT_TRUE(rb.fell_short);
  auto pa = a.peers(ca);
  ASSERT_TRUE(pa.contains(t));
  EXPECT_EQ(pa[t].peers, 1u);
  EXPECT_TRUE(pa[t].peer_waiting);
  // a gives back half; b gets it.
  EXPECT_EQ(a.change(ca, t, Held{5, 0, 2}).held, (Held{5, 0, 2}));
  rb = b.change(cb, t, Held{7, 0, 3});
  EXPECT_EQ(rb.held, (Held{5, 0, 2}));
  EXPECT_TRUE(rb.fell_short);
  EXPECT_EQ(leasedSum(db, t), 10);
  // Refresh clears the wanted flag when b no longer lists the trunk.
  auto held_b = b.refresh(cb, {});
  EXPECT_EQ(held_b[t], (Held{5, 0, 2}));
  EXPECT_FALSE(a.peers(ca)[t].peer_waiting);
  // Everything back: b's row goes away.
  EXPECT_EQ(b.change(cb, t, Held{}).held, (Held{}));
  EXPECT_EQ(db.scalar<long long>("SELECT count(*) FROM trunk_channel_leases WHERE node = "
                                 "'node-b'"),
            0);
  a.releaseAll(ca);
  EXPECT_EQ(leasedSum(db, t), 0);
}

TEST(LeaseStore, ADeletedTrunkHoldsNothing) {
  testpg::TestDatabase db;
  const TrunkId t = addTrunk(db, "c1", 10);
  pqxx::connection c(db.dsn());
  LeaseStore a("node-a", 15s);
  EXPECT_EQ(a.change(c, t, Held{10, 0, 0}).held.calls, 10u);
  db.exec("DELETE FROM trunks WHERE id = " + std::to_string(t));
  EXPECT_TRUE(a.refresh(c, {}).empty());
  EXPECT_TRUE(a.change(c, t, Held{10, 0, 0}).trunk_gone);
}

TEST(LeaseStore, ADeadNodesLeasesExpire) {
  testpg::TestDatabase db;
  const TrunkId t = addTrunk(db, "c1", 10);
  pqxx::connection ca(db.dsn()), cb(db.dsn());
  LeaseStore a("node-a", 3s), b("node-b", 3s);
  ASSERT_EQ(a.change(ca, t, Held{10, 0, 0}).held.calls, 10u);
  EXPECT_EQ(b.change(cb, t, Held{10, 0, 0}).held.calls, 0u);
  // a stops refreshing (killed): its row ages past the expiry.
  db.exec(
      "UPDATE trunk_channel_leases SET updated_at = now() - interval '4 seconds' "
      "WHERE node = 'node-a'");
  auto pb = b.peers(cb);
  EXPECT_FALSE(pb.contains(t)) << "an expired node is no peer";
  b.refresh(cb, {t});
  EXPECT_EQ(b.expiredDeleted(), 1u);
  EXPECT_EQ(b.change(cb, t, Held{10, 0, 0}).held.calls, 10u);
  // a comes back: its refresh shows it holds nothing any more.
  EXPECT_FALSE(a.refresh(ca, {}).contains(t));
}

TEST(LeaseStore, AChangeDeletesExpiredRowsOfItsTrunk) {
  testpg::TestDatabase db;
  const TrunkId t = addTrunk(db, "c1", 10);
  pqxx::connection ca(db.dsn()), cb(db.dsn());
  LeaseStore a("node-a", 3s), b("node-b", 3s);
  ASSERT_EQ(a.change(ca, t, Held{10, 0, 0}).held.calls, 10u);
  db.exec("UPDATE trunk_channel_leases SET updated_at = now() - interval '1 hour'");
  EXPECT_EQ(b.change(cb, t, Held{6, 0, 0}).held.calls, 6u);
  EXPECT_EQ(leasedSum(db, t), 6);
}

// Eight nodes grow and shrink their leases of one trunk at random on their
// own connections while a watcher sums the table: the sum never passes the
// limit, and when all ask for everything the limit is exactly shared out.
TEST(LeaseStore, ConcurrentClaimersNeverExceedTheLimit) {
  testpg::TestDatabase db;
  constexpr std::uint32_t kLimit = 25;
  const TrunkId t = addTrunk(db, "c1", kLimit, 12, 0);
  std::atomic<bool> stop{false};
  std::atomic<long long> worst{0}, worst_in{0};
  std::thread watcher([&] {
    pqxx::connection c(db.dsn());
    while (!stop) {
      pqxx::read_transaction tx(c);
      auto r = tx.exec_params(
          "SELECT coalesce(sum(calls), 0), coalesce(sum(inbound), 0) FROM trunk_channel_leases "
          "WHERE trunk_id = $1",
          t);
      worst = std::max(worst.load(), r[0][0].as<long long>());
      worst_in = std::max(worst_in.load(), r[0][1].as<long long>());
    }
  });
  std::vector<std::thread> nodes;
  std::atomic<int> errors{0};
  for (int n = 0; n < 8; ++n) {
    nodes.emplace_back([&, n] {
      try {
        pqxx::connection c(db.dsn());
        LeaseStore s("node-" + std::to_string(n), 15s);
        std::mt19937 rng(static_cast<unsigned>(n) * 7919u + 1u);
        for (int i = 0; i < 60; ++i) {
          Held want{static_cast<std::uint32_t>(rng() % (kLimit + 5)),
                    static_cast<std::uint32_t>(rng() % 15), 0};
          s.change(c, t, want);
        }
        s.change(c, t, Held{kLimit, 12, 0});  // everyone wants everything
      } catch (const std::exception& e) {
        ++errors;
        ADD_FAILURE() << e.what();
      }
    });
  }
  for (auto& th : nodes) th.join();
  stop = true;
  watcher.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_LE(worst.load(), static_cast<long long>(kLimit));
  EXPECT_LE(worst_in.load(), 12);
  EXPECT_EQ(leasedSum(db, t), static_cast<long long>(kLimit));
  EXPECT_EQ(db.scalar<long long>("SELECT sum(inbound) FROM trunk_channel_leases"), 12);
}

// Two managers on one trunk (limit 10), as two nodes would run them.
struct Node {
  Node(const std::string& dsn, const std::string& name, ClusterOptions o)
      : pool([&] {
          db::PoolOptions po;
          po.dsn = dsn;
          po.threads = 1;
          return po;
        }()),
        manager(pool, limits, name, o) {
    pool.start();
  }
  ~Node() { pool.stop(); }
  db::Pool pool;
  b2bua::SharedChannelLimits limits;
  LeaseManager manager;
};

bool eventually(const std::function<bool()>& f, std::chrono::milliseconds limit = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (f()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return f();
}

TEST(LeaseManager, AloneTakesAllThenSharesWithASecondNode) {
  testpg::TestDatabase db;
  const TrunkId t = addTrunk(db, "c1", 10);
  auto snap = std::make_shared<cfg::Snapshot>();
  cfg::Trunk trunk;
  trunk.id = t;
  trunk.name = "c1";
  trunk.kind = cfg::TrunkKind::Carrier;
  trunk.limits.max_calls = 10;
  snap->trunks.push_back(trunk);
  snap->index();
  ClusterOptions o;
  o.enabled = true;
  o.lease_block = 5;
  o.low_water = 1;
  o.expiry = 3s;
  o.sync_interval = 100ms;

  Node a(db.dsn(), "node-a", o);
  a.manager.setSnapshot(snap);
  a.manager.start();
  auto tickUntil = [&](std::vector<Node*> nodes, const std::function<bool()>& f) {
    return eventually([&] {
      for (Node* n : nodes) n->manager.tick();
      return f();
    });
  };
  ASSERT_TRUE(tickUntil({&a}, [&] { return a.limits.leaseOf(t).calls == 10; }));
  // Ten calls fit on a alone, the eleventh does not.
  for (int i = 0; i < 10; ++i)
    ASSERT_EQ(a.limits.tryAcquire(trunk, b2bua::Direction::Outbound, std::to_string(i)),
              b2bua::RejectCause::None);
  EXPECT_EQ(a.limits.tryAcquire(trunk, b2bua::Direction::Outbound, "x"),
            b2bua::RejectCause::ChannelLimit);
  for (int i = 0; i < 10; ++i) a.limits.release(t, std::to_string(i));

  Node b(db.dsn(), "node-b", o);
  b.manager.setSnapshot(snap);
  b.manager.start();
  ASSERT_TRUE(tickUntil(
      {&a, &b}, [&] { return a.limits.leaseOf(t).calls == 5 && b.limits.leaseOf(t).calls == 5; }))
      << "a " << a.limits.leaseOf(t).calls << ", b " << b.limits.leaseOf(t).calls;
  EXPECT_LE(leasedSum(db, t), 10);

  // b stops cleanly: a takes the whole limit again.
  ASSERT_TRUE(b.manager.releaseAll(5s));
  ASSERT_TRUE(tickUntil({&a}, [&] { return a.limits.leaseOf(t).calls == 10; }));
  EXPECT_EQ(leasedSum(db, t), 10);
  EXPECT_GE(a.manager.stats().granted, 2u);
  EXPECT_GE(a.manager.stats().released, 1u);
}

}  // namespace
}  // namespace sbc::cluster

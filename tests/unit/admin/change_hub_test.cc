// ChangeHub: what an event stream is told, and when (GET /api/v1/events).
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <thread>
#include <vector>

#include "admin-ui/change_hub.h"

namespace sbc::admin {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct Received {
  std::vector<ChangeBatch> batches;
  std::vector<Clock::duration> at;  // since the start
};

// Collects `count` waits of one subscription on a single-threaded io_context.
asio::awaitable<void> collect(std::shared_ptr<ChangeSubscription> sub, int count,
                              std::chrono::milliseconds keepalive, Received* out,
                              Clock::time_point start) {
  for (int i = 0; i < count; ++i) {
    ChangeBatch b = co_await sub->wait(keepalive);
    out->batches.push_back(b);
    out->at.push_back(Clock::now() - start);
    if (b.closed) co_return;
  }
}

// Two streams of one hub (coalescing 50 ms, at most 8 streams), collected on
// one single-threaded io_context.
struct TwoStreams {
  asio::io_context io;  // first: destroyed after every stream
  std::shared_ptr<ChangeHub> hub = ChangeHub::create({50ms, 8});
  std::shared_ptr<ChangeSubscription> a = hub->subscribe();
  std::shared_ptr<ChangeSubscription> b = hub->subscribe();
  Received ra;
  Received rb;
  Clock::time_point start = Clock::now();

  // Starts collecting `count_a` waits of a and `count_b` of b.
  void collectBoth(int count_a, std::chrono::milliseconds keepalive_a, int count_b,
                   std::chrono::milliseconds keepalive_b) {
    asio::co_spawn(io, collect(a, count_a, keepalive_a, &ra, start), asio::detached);
    asio::co_spawn(io, collect(b, count_b, keepalive_b, &rb, start), asio::detached);
  }
};

TEST(ChangeHub, TablesMapToTheResourcesThePagesShow) {
  EXPECT_EQ(changeResourceForTable("trunks"), ChangeResource::kTrunks);
  EXPECT_EQ(changeResourceForTable("trunk_gateways"), ChangeResource::kTrunks);
  EXPECT_EQ(changeResourceForTable("trunk_credentials"), ChangeResource::kTrunks);
  EXPECT_EQ(changeResourceForTable("dids"), ChangeResource::kDids);
  EXPECT_EQ(changeResourceForTable("port_order_numbers"), ChangeResource::kPortOrders);
  EXPECT_EQ(changeResourceForTable("api_tokens"), ChangeResource::kApiTokens);
  EXPECT_EQ(changeResourceForTable("audit_log"), ChangeResource::kAudit);
  EXPECT_FALSE(changeResourceForTable("sessions").has_value());
  EXPECT_FALSE(changeResourceForTable("").has_value());
  EXPECT_EQ(changeResourceName(ChangeResource::kPortedNumbers), "ported_numbers");
  auto names = changeNames(changeBit(ChangeResource::kRoutes) | changeBit(ChangeResource::kDids));
  ASSERT_EQ(names.size(), 2U);
  EXPECT_EQ(names[0], "dids");
  EXPECT_EQ(names[1], "routes");
  EXPECT_EQ(changeNames(kAllChanges).size(), static_cast<std::size_t>(ChangeResource::kCount));
}

TEST(ChangeHub, ABurstOfChangesIsCoalescedPerResource) {
  asio::io_context io;  // first: destroyed after every stream
  auto hub = ChangeHub::create({100ms, 8});
  auto sub = hub->subscribe();
  ASSERT_TRUE(sub);
  Received got;
  auto start = Clock::now();
  asio::co_spawn(io, collect(sub, 2, 5s, &got, start), asio::detached);
  hub->publishTable("trunks");
  io.run_for(30ms);
  // The first change goes out at once.
  ASSERT_EQ(got.batches.size(), 1U);
  EXPECT_EQ(got.batches[0].changes, changeBit(ChangeResource::kTrunks));
  // A burst from another thread, as the LISTEN thread is: a million-row
  // import is a few statements, but a busy console is many.
  std::thread publisher([&] {
    for (int i = 0; i < 2000; ++i) {
      hub->publishTable(i % 2 ? "trunks" : "trunk_acl");
      if (i == 1000) hub->publishTable("dids");
    }
  });
  publisher.join();
  io.run_for(300ms);
  // The burst waits out the coalescing period and goes as one batch.
  ASSERT_EQ(got.batches.size(), 2U);
  EXPECT_EQ(got.batches[1].changes,
            changeBit(ChangeResource::kTrunks) | changeBit(ChangeResource::kDids));
  EXPECT_GE(got.at[1] - got.at[0], 90ms);
}

TEST(ChangeHub, QuietStreamGetsKeepAlivesAndEveryStreamHearsEveryChange) {
  TwoStreams s;
  s.collectBoth(1, 100ms, 1, 5s);
  s.io.run_for(200ms);
  ASSERT_EQ(s.ra.batches.size(), 1U);
  EXPECT_EQ(s.ra.batches[0].changes, 0U) << "nothing changed: a keep-alive";
  EXPECT_FALSE(s.ra.batches[0].closed);
  EXPECT_GE(s.ra.at[0], 95ms);
  EXPECT_TRUE(s.rb.batches.empty());
  s.hub->publishTable("routes");
  asio::co_spawn(s.io, collect(s.a, 1, 5s, &s.ra, s.start), asio::detached);
  s.io.run_for(100ms);
  ASSERT_EQ(s.ra.batches.size(), 2U);
  ASSERT_EQ(s.rb.batches.size(), 1U);
  EXPECT_EQ(s.ra.batches[1].changes, changeBit(ChangeResource::kRoutes));
  EXPECT_EQ(s.rb.batches[0].changes, changeBit(ChangeResource::kRoutes));
}

TEST(ChangeHub, ChangesBeforeAWaitAreKeptForIt) {
  asio::io_context io;  // first: destroyed after every stream
  auto hub = ChangeHub::create({50ms, 8});
  auto sub = hub->subscribe();
  hub->publishTable("users");
  hub->publishTable("no_such_table");
  Received got;
  asio::co_spawn(io, collect(sub, 1, 5s, &got, Clock::now()), asio::detached);
  io.run_for(100ms);
  ASSERT_EQ(got.batches.size(), 1U);
  EXPECT_EQ(got.batches[0].changes, changeBit(ChangeResource::kUsers));
}

TEST(ChangeHub, StopEndsEveryWaitAtOnceAndRefusesNewStreams) {
  TwoStreams s;
  s.collectBoth(5, 10s, 5, 10s);
  s.io.run_for(20ms);
  s.hub->stop();
  s.io.run_for(100ms);
  ASSERT_EQ(s.ra.batches.size(), 1U);
  EXPECT_TRUE(s.ra.batches[0].closed);
  ASSERT_EQ(s.rb.batches.size(), 1U);
  EXPECT_TRUE(s.rb.batches[0].closed);
  EXPECT_LT(s.ra.at[0], 1s);
  EXPECT_TRUE(s.hub->stopped());
  EXPECT_EQ(s.hub->subscribe(), nullptr);
}

TEST(ChangeHub, CancelEndsOneStream) {
  TwoStreams s;
  s.collectBoth(5, 10s, 1, 10s);
  s.io.run_for(20ms);
  s.a->cancel();
  s.io.run_for(50ms);
  ASSERT_EQ(s.ra.batches.size(), 1U);
  EXPECT_TRUE(s.ra.batches[0].closed);
  EXPECT_TRUE(s.rb.batches.empty());
  s.hub->publishTable("cdrs");
  s.io.run_for(50ms);
  ASSERT_EQ(s.rb.batches.size(), 1U);
  EXPECT_EQ(s.rb.batches[0].changes, changeBit(ChangeResource::kCdrs));
}

TEST(ChangeHub, OpenStreamsAreCappedAndFreedWhenDropped) {
  auto hub = ChangeHub::create({50ms, 2});
  auto a = hub->subscribe();
  auto b = hub->subscribe();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(hub->openStreams(), 2U);
  EXPECT_EQ(hub->subscribe(), nullptr);
  a.reset();
  EXPECT_EQ(hub->openStreams(), 1U);
  EXPECT_NE(hub->subscribe(), nullptr);
}

}  // namespace
}  // namespace sbc::admin

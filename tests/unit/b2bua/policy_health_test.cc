#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include "sbc/b2bua/gateway_health.h"
#include "sbc/txn/fake_timer_service.h"
#include "tests/unit/b2bua/policy_fixtures.h"

namespace sbc::b2bua {
namespace {

using namespace std::chrono_literals;

class HealthTest : public ::testing::Test {
 protected:
  HealthTest() {
    cfg::Trunk c = testing::carrier(10, "carrier");
    c.gateways.push_back(testing::gateway(1, "198.51.100.10"));
    c.gateways.push_back(testing::gateway(2, "198.51.100.11"));
    c.gateways[1].transport = cfg::Transport::Tcp;
    c.gateways[1].port = 5080;
    cfg::Gateway noping = testing::gateway(3, "198.51.100.12");
    noping.options_ping = false;
    c.gateways.push_back(noping);
    cfg::Gateway off = testing::gateway(4, "198.51.100.13");
    off.enabled = false;
    c.gateways.push_back(off);
    snap_.trunks.push_back(c);
    snap_.index();
  }
  static HealthOptions options() {
    HealthOptions o;
    o.interval = 10s;
    o.down_after = 3;
    return o;
  }
  const GatewayStatus* statusOf(const GatewayHealth& h, std::int64_t id) {
    statuses_ = h.status();
    for (const auto& s : statuses_)
      if (s.gateway_id == id) return &s;
    return nullptr;
  }

  txn::FakeTimerService timers_;
  testing::FakeRequestSender sender_;
  cfg::Snapshot snap_;
  std::vector<GatewayStatus> statuses_;
};

TEST_F(HealthTest, PingsEnabledGatewaysSpreadOverTheInterval) {
  GatewayHealth h(sender_, timers_, options());
  h.setSnapshot(snap_);
  ASSERT_EQ(h.status().size(), 2u);  // no ping / disabled ones are not watched
  timers_.advance(0ms);
  ASSERT_EQ(sender_.sent.size(), 1u);
  timers_.advance(5s);
  ASSERT_EQ(sender_.sent.size(), 2u);

  const auto& first = sender_.sent[0];
  EXPECT_EQ(first.request.method(), sip::Method::Options);
  EXPECT_EQ(first.request.requestUriText(), "sip:198.51.100.10:5060");
  EXPECT_EQ(first.to.address, "198.51.100.10");
  EXPECT_EQ(first.to.port, 5060);
  EXPECT_EQ(first.realm, "outside");
  EXPECT_EQ(first.request.from()->uri.host, "203.0.113.1");
  EXPECT_FALSE(first.request.from()->tag.empty());
  EXPECT_EQ(first.request.cseq()->method, sip::Method::Options);
  EXPECT_TRUE(first.request.callId().ok());
  EXPECT_EQ(first.request.maxForwards().valueOr(0), 70u);
  const auto& second = sender_.sent[1];
  EXPECT_EQ(second.request.requestUriText(), "sip:198.51.100.11:5080;transport=tcp");
  EXPECT_EQ(second.to.protocol, txn::Protocol::Tcp);
}

TEST_F(HealthTest, DownAfterConsecutiveFailuresUpAfterOneAnswer) {
  GatewayHealth h(sender_, timers_, options());
  h.setSnapshot(snap_);
  timers_.advance(0ms);
  ASSERT_EQ(sender_.sent.size(), 1u);
  timers_.advance(40ms);
  sender_.answer(0, 200);
  const GatewayStatus* s = statusOf(h, 1);
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(s->up);
  EXPECT_EQ(s->rtt, 40ms);
  EXPECT_EQ(s->last_code, 200);

  // Timeout, 503, transport failure: three failures in a row.
  std::size_t next = sender_.sent.size();
  auto nextPingTo = [&](std::string_view host) -> std::size_t {
    for (int guard = 0; guard < 100; ++guard) {
      timers_.advance(1s);
      for (; next < sender_.sent.size(); ++next) {
        if (sender_.sent[next].to.address == host) return next++;
        sender_.answer(next, 200);  // the other gateway stays healthy
      }
    }
    ADD_FAILURE() << "no ping to " << host;
    return 0;
  };
  sender_.timeout(nextPingTo("198.51.100.10"));
  EXPECT_FALSE(h.isDown(1));
  sender_.answer(nextPingTo("198.51.100.10"), 503);
  EXPECT_FALSE(h.isDown(1));
  EXPECT_EQ(statusOf(h, 1)->consecutive_failures, 2u);
  sender_.timeout(nextPingTo("198.51.100.10"));
  EXPECT_TRUE(h.isDown(1));
  EXPECT_FALSE(h.isDown(2));
  EXPECT_FALSE(statusOf(h, 1)->up);
  // Any other answer, even an error, proves the gateway is alive.
  sender_.answer(nextPingTo("198.51.100.10"), 404);
  EXPECT_FALSE(h.isDown(1));
  EXPECT_EQ(statusOf(h, 1)->consecutive_failures, 0u);
  EXPECT_EQ(statusOf(h, 1)->failures, 3u);
}

TEST_F(HealthTest, OnePingInFlightPerGatewayAndRefusedSendsFail) {
  HealthOptions o = options();
  o.down_after = 1;
  GatewayHealth h(sender_, timers_, o);
  sender_.refuse = true;
  h.setSnapshot(snap_);
  timers_.advance(0ms);
  EXPECT_TRUE(h.isDown(1));
  sender_.refuse = false;
  timers_.advance(10s);
  std::size_t to_first = 0;
  for (const auto& s : sender_.sent) to_first += s.to.address == "198.51.100.10" ? 1 : 0;
  EXPECT_EQ(to_first, 1u);
  // Unanswered for a long time: no second ping piles up behind it.
  timers_.advance(60s);
  to_first = 0;
  for (const auto& s : sender_.sent) to_first += s.to.address == "198.51.100.10" ? 1 : 0;
  EXPECT_EQ(to_first, 1u);
}

TEST_F(HealthTest, SnapshotChangesKeepOrForgetState) {
  HealthOptions o = options();
  o.down_after = 1;
  GatewayHealth h(sender_, timers_, o);
  h.setSnapshot(snap_);
  timers_.advance(0ms);
  sender_.timeout(0);
  EXPECT_TRUE(h.isDown(1));
  // Same gateway in a new snapshot: still down.
  cfg::Snapshot next = snap_;
  next.generation = 2;
  next.index();
  h.setSnapshot(next);
  EXPECT_TRUE(h.isDown(1));
  // Removed: forgotten, and a late answer to an old ping is ignored.
  timers_.advance(10s);
  std::size_t in_flight = sender_.sent.size() - 1;
  cfg::Snapshot gone = snap_;
  gone.trunks[0].gateways.erase(gone.trunks[0].gateways.begin());
  gone.index();
  h.setSnapshot(gone);
  EXPECT_FALSE(h.isDown(1));
  EXPECT_EQ(h.status().size(), 1u);
  sender_.answer(in_flight, 200);
  EXPECT_EQ(h.status().size(), 1u);
}

TEST_F(HealthTest, LateAnswerAfterDestructionIsHarmless) {
  auto h = std::make_unique<GatewayHealth>(sender_, timers_, options());
  h->setSnapshot(snap_);
  timers_.advance(0ms);
  ASSERT_EQ(sender_.sent.size(), 1u);
  h.reset();
  sender_.answer(0, 200);
  EXPECT_EQ(timers_.pending(), 0u);
}

}  // namespace
}  // namespace sbc::b2bua

namespace sbc::b2bua {
namespace {

// Routing on other SIP threads reads isDown() while the owning thread flips
// states: run under TSan to check the publication.
TEST_F(HealthTest, IsDownIsSafeFromOtherThreads) {
  HealthOptions o = options();
  o.down_after = 1;
  GatewayHealth h(sender_, timers_, o);
  h.setSnapshot(snap_);
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> seen_down{0};
  std::thread reader([&] {
    while (!stop.load()) seen_down += h.isDown(1) ? 1 : 0;
  });
  timers_.advance(0ms);
  for (int i = 0; i < 200; ++i) {
    std::size_t last = sender_.sent.size() - 1;
    if (i % 2 == 0)
      sender_.timeout(last);
    else
      sender_.answer(last, 200);
    std::size_t before = sender_.sent.size();
    while (sender_.sent.size() == before) ASSERT_TRUE(timers_.advanceToNext());
    // The other gateway's pings: keep it healthy.
    for (std::size_t k = before; k + 1 < sender_.sent.size(); ++k) sender_.answer(k, 200);
    if (sender_.sent.back().to.address != "198.51.100.10") {
      sender_.answer(sender_.sent.size() - 1, 200);
      before = sender_.sent.size();
      while (sender_.sent.size() == before) ASSERT_TRUE(timers_.advanceToNext());
    }
  }
  stop = true;
  reader.join();
  EXPECT_FALSE(h.isDown(2));
}

}  // namespace
}  // namespace sbc::b2bua

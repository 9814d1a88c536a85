#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <string>

#include "sbc/b2bua/digest.h"
#include "sbc/b2bua/outbound_registrar.h"
#include "sbc/txn/fake_timer_service.h"
#include "tests/unit/b2bua/policy_fixtures.h"

namespace sbc::b2bua {
namespace {

using namespace std::chrono_literals;

struct DownSet : HealthView {
  bool isDown(std::int64_t id) const override { return down.contains(id); }
  std::set<std::int64_t> down;
};

class OutboundTest : public ::testing::Test {
 protected:
  OutboundTest() : carrier_server_(DigestServerOptions{}) {
    cfg::Trunk c = testing::carrier(10, "carrier");
    c.register_outbound = true;
    c.register_user = "4155550000";
    c.register_expires = 3600;
    c.outbound = {"acct", "pw", ""};
    c.gateways.push_back(testing::gateway(1, "198.51.100.10", 10));
    c.gateways.push_back(testing::gateway(2, "198.51.100.20", 5));
    snap_.trunks.push_back(c);
    cfg::Trunk plain = testing::carrier(11, "no-register");
    plain.gateways.push_back(testing::gateway(3, "198.51.100.30"));
    snap_.trunks.push_back(plain);
    snap_.index();
  }

  const sip::Message& last() { return sender_.sent.back().request; }
  std::string header(const sip::Message& m, sip::HeaderId id) {
    const sip::HeaderField* h = m.header(id);
    return h ? std::string(h->value) : std::string();
  }
  // Answers the last REGISTER the way a carrier with digest would.
  void challengeLast(bool stale = false) {
    sip::Message resp = sip::makeResponse(last(), 401);
    carrier_server_.challenge(resp, "carrier", stale, timers_.now());
    std::string extra;
    for (const auto& h : resp.headers())
      if (h.id == sip::HeaderId::WWWAuthenticate)
        extra += "WWW-Authenticate: " + std::string(h.value) + "\r\n";
    sender_.answer(sender_.sent.size() - 1, 401, extra);
  }
  DigestServer::Check verifyLast() {
    return carrier_server_.verify(last(), false, "carrier", {"acct", "pw", ""}, timers_.now());
  }

  txn::FakeTimerService timers_;
  testing::FakeRequestSender sender_;
  DownSet health_;
  DigestServer carrier_server_;
  cfg::Snapshot snap_;
};

TEST_F(OutboundTest, RegistersWithDigestAndRefreshesAtHalfExpiry) {
  OutboundRegistrar r(sender_, timers_, &health_);
  r.setSnapshot(snap_);
  ASSERT_EQ(sender_.sent.size(), 1u);  // only the trunk that registers
  const sip::Message& first = last();
  EXPECT_EQ(first.method(), sip::Method::Register);
  EXPECT_EQ(first.requestUriText(), "sip:198.51.100.20:5060");  // priority 5 first
  EXPECT_EQ(sender_.sent.back().to.address, "198.51.100.20");
  EXPECT_EQ(sender_.sent.back().realm, "outside");
  EXPECT_EQ(first.to()->uri.text, "sip:4155550000@198.51.100.20");
  EXPECT_EQ(first.from()->uri.text, "sip:4155550000@198.51.100.20");
  EXPECT_FALSE(first.from()->tag.empty());
  EXPECT_EQ((*first.contacts())[0].uri.text, "sip:4155550000@203.0.113.1:5060");
  EXPECT_EQ(header(first, sip::HeaderId::Expires), "3600");
  EXPECT_EQ(first.cseq()->number, 1u);
  EXPECT_EQ(first.headerCount(sip::HeaderId::Authorization), 0u);
  const std::string call_id(*first.callId());
  EXPECT_EQ(r.status()[0].state, OutboundState::Registering);

  challengeLast();
  ASSERT_EQ(sender_.sent.size(), 2u);
  EXPECT_EQ(last().cseq()->number, 2u);
  EXPECT_EQ(*last().callId(), call_id);
  EXPECT_EQ(verifyLast(), DigestServer::Check::Ok);  // SHA-256 answer our server accepts

  sender_.answer(1, 200, "Contact: <sip:4155550000@203.0.113.1:5060>;expires=1800\r\n");
  auto st = r.status();
  ASSERT_EQ(st.size(), 1u);
  EXPECT_EQ(st[0].state, OutboundState::Registered);
  EXPECT_EQ(st[0].granted_expires, 1800u);
  EXPECT_EQ(st[0].gateway_id, 2);
  EXPECT_EQ(st[0].expires_at, timers_.now() + 1800s);
  EXPECT_EQ(st[0].next_attempt, timers_.now() + 900s);

  timers_.advance(899s);
  EXPECT_EQ(sender_.sent.size(), 2u);
  timers_.advance(1s);
  ASSERT_EQ(sender_.sent.size(), 3u);
  // The refresh reuses the nonce (next nc): no extra round trip.
  EXPECT_EQ(last().cseq()->number, 3u);
  EXPECT_EQ(*last().callId(), call_id);
  EXPECT_EQ(last().headerCount(sip::HeaderId::Authorization), 1u);
  EXPECT_NE(last().header(sip::HeaderId::Authorization)->value.find("nc=00000002"),
            std::string_view::npos);
  sender_.answer(2, 200, "Expires: 600\r\n");
  EXPECT_EQ(r.status()[0].granted_expires, 600u);
  EXPECT_EQ(r.status()[0].registrations, 2u);
}

TEST_F(OutboundTest, BackoffDoublesToTheCap) {
  OutboundRegistrarOptions o;
  o.initial_backoff = 30s;
  o.max_backoff = 100s;
  OutboundRegistrar r(sender_, timers_, nullptr, o);
  r.setSnapshot(snap_);
  std::vector<long> gaps;
  txn::TimePoint prev = timers_.now();
  for (int i = 0; i < 4; ++i) {
    sender_.timeout(sender_.sent.size() - 1);
    EXPECT_EQ(r.status()[0].state, OutboundState::Failed);
    std::size_t before = sender_.sent.size();
    while (sender_.sent.size() == before) ASSERT_TRUE(timers_.advanceToNext());
    gaps.push_back(static_cast<long>(
        std::chrono::duration_cast<std::chrono::seconds>(timers_.now() - prev).count()));
    prev = timers_.now();
  }
  EXPECT_EQ(gaps, (std::vector<long>{30, 60, 100, 100}));
  EXPECT_EQ(r.status()[0].consecutive_failures, 4u);
  sender_.answer(sender_.sent.size() - 1, 200);
  EXPECT_EQ(r.status()[0].state, OutboundState::Registered);
  EXPECT_EQ(r.status()[0].consecutive_failures, 0u);
}

TEST_F(OutboundTest, WrongPasswordIsAFailureNotALoop) {
  snap_.trunks[0].outbound.password = "wrong";
  OutboundRegistrar r(sender_, timers_);
  r.setSnapshot(snap_);
  challengeLast();
  ASSERT_EQ(sender_.sent.size(), 2u);
  EXPECT_EQ(verifyLast(), DigestServer::Check::Failed);
  challengeLast();  // the carrier challenges again
  EXPECT_EQ(sender_.sent.size(), 2u);
  EXPECT_EQ(r.status()[0].state, OutboundState::Failed);
  EXPECT_EQ(r.status()[0].last_code, 401);
}

TEST_F(OutboundTest, StaleNonceIsAnsweredAgain) {
  OutboundRegistrar r(sender_, timers_);
  r.setSnapshot(snap_);
  challengeLast();
  challengeLast(/*stale=*/true);
  ASSERT_EQ(sender_.sent.size(), 3u);
  EXPECT_EQ(verifyLast(), DigestServer::Check::Ok);
  sender_.answer(2, 200);
  EXPECT_EQ(r.status()[0].state, OutboundState::Registered);
  EXPECT_EQ(r.status()[0].granted_expires, 3600u);  // nothing granted explicitly: as asked
}

TEST_F(OutboundTest, IntervalTooBriefRaisesExpires) {
  OutboundRegistrar r(sender_, timers_);
  snap_.trunks[0].register_expires = 60;
  r.setSnapshot(snap_);
  sender_.answer(0, 423, "Min-Expires: 300\r\n");
  ASSERT_EQ(sender_.sent.size(), 2u);
  EXPECT_EQ(header(last(), sip::HeaderId::Expires), "300");
  EXPECT_EQ(last().cseq()->number, 2u);
}

TEST_F(OutboundTest, SkipsDownGateways) {
  health_.down = {2};
  OutboundRegistrar r(sender_, timers_, &health_);
  r.setSnapshot(snap_);
  EXPECT_EQ(sender_.sent.back().to.address, "198.51.100.10");
  health_.down = {1, 2};  // all down: the first by priority anyway
  OutboundRegistrar r2(sender_, timers_, &health_);
  r2.setSnapshot(snap_);
  EXPECT_EQ(sender_.sent.back().to.address, "198.51.100.20");
}

TEST_F(OutboundTest, SnapshotChangesRestartOrUnregister) {
  OutboundRegistrar r(sender_, timers_);
  r.setSnapshot(snap_);
  sender_.answer(0, 200);
  ASSERT_EQ(r.status()[0].state, OutboundState::Registered);

  // Unchanged trunk: nothing sent.
  cfg::Snapshot same = snap_;
  same.trunks[0].name = "renamed";
  same.index();
  r.setSnapshot(same);
  EXPECT_EQ(sender_.sent.size(), 1u);
  EXPECT_EQ(r.status()[0].trunk_name, "renamed");

  // New credentials: the old binding goes (Expires: 0), a new REGISTER follows.
  cfg::Snapshot changed = snap_;
  changed.trunks[0].outbound.password = "new";
  changed.index();
  r.setSnapshot(changed);
  ASSERT_EQ(sender_.sent.size(), 3u);
  EXPECT_EQ(header(sender_.sent[1].request, sip::HeaderId::Expires), "0");
  EXPECT_EQ(header(sender_.sent[2].request, sip::HeaderId::Expires), "3600");
  EXPECT_EQ(r.status()[0].state, OutboundState::Registering);
  sender_.answer(1, 200);  // the answer to the unregister changes nothing
  EXPECT_EQ(r.status()[0].state, OutboundState::Registering);
  sender_.answer(2, 200);
  EXPECT_EQ(r.status()[0].state, OutboundState::Registered);

  // Registration switched off: unregistered, forgotten, no timers left.
  cfg::Snapshot off = changed;
  off.trunks[0].register_outbound = false;
  off.index();
  r.setSnapshot(off);
  EXPECT_EQ(header(last(), sip::HeaderId::Expires), "0");
  EXPECT_TRUE(r.status().empty());
  EXPECT_EQ(timers_.pending(), 0u);
}

TEST_F(OutboundTest, ShutdownUnregisters) {
  OutboundRegistrar r(sender_, timers_);
  r.setSnapshot(snap_);
  sender_.answer(0, 200);
  r.shutdown();
  ASSERT_EQ(sender_.sent.size(), 2u);
  EXPECT_EQ(header(last(), sip::HeaderId::Expires), "0");
  EXPECT_EQ(timers_.pending(), 0u);
}

}  // namespace
}  // namespace sbc::b2bua

// RecordJoin over a RelayAnchor and a scripted relay: an anchored call's
// record waits for the destroy reply and carries its per-leg stats; without
// a reply it goes out at the deadline (once); unanchored records pass.
#include "sbc/media/record_join.h"

#include <gtest/gtest.h>

#include "tests/unit/media/fake_relay.h"

namespace sbc::media {
namespace {

using namespace std::chrono_literals;
using b2bua::LegSide;
using b2bua::MediaResult;
namespace asio = boost::asio;
using test::FakeRelay;
using test::runUntil;

const std::string kOffer =
    "v=0\r\no=pbx 1 1 IN IP4 127.0.0.2\r\ns=pbx\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\n"
    "m=audio 10000 RTP/AVP 0\r\n";
const std::string kAnswer =
    "v=0\r\no=car 2 2 IN IP4 127.0.0.3\r\ns=car\r\nc=IN IP4 127.0.0.3\r\nt=0 0\r\n"
    "m=audio 20000 RTP/AVP 0\r\n";

struct RecordJoinTest : ::testing::Test {
  asio::io_context io;
  FakeRelay relay{io};
  std::unique_ptr<RelayClient> client;
  std::unique_ptr<RelayAnchor> anchor;
  std::unique_ptr<RecordJoin> join;
  std::vector<b2bua::CallRecord> out;

  void SetUp() override {
    RelayClientOptions o;
    o.relays.push_back({"127.0.0.1", relay.port()});
    o.ping_interval = 100ms;
    o.request_timeout = 200ms;
    o.attempts = 3;
    client = std::make_unique<RelayClient>(io, o);
    RelayAnchorOptions ao;
    ao.session_prefix = "n.1";
    anchor = std::make_unique<RelayAnchor>(*client, ao);
    join = std::make_unique<RecordJoin>(
        io, *anchor, 150ms, [this](b2bua::CallRecord&& r) { out.push_back(std::move(r)); });
    client->start();
    ASSERT_TRUE(runUntil(io, [&] { return client->healthy(0); }));
  }

  // An anchored call as the engine drives it, then its end: release, record.
  void anchoredCallEnds(b2bua::CallHandle h) {
    anchor->setLegs(h, {"inside", cfg::MediaPolicy::Rtp}, {"outside", cfg::MediaPolicy::Rtp});
    std::optional<MediaResult> got;
    anchor->anchorOffer(h, LegSide::A, kOffer, [&](MediaResult r) { got = std::move(r); });
    ASSERT_TRUE(runUntil(io, [&] { return got.has_value(); }));
    ASSERT_TRUE(got->ok);
    got.reset();
    anchor->anchorAnswer(h, LegSide::B, kAnswer, [&](MediaResult r) { got = std::move(r); });
    ASSERT_TRUE(runUntil(io, [&] { return got.has_value(); }));
    ASSERT_TRUE(got->ok);
    anchor->release(h);
    b2bua::CallRecord r;
    r.call_handle = h;
    r.a_call_id = "call-" + std::to_string(h);
    join->onRecord(std::move(r));
  }

  std::string relayEndpoint() const { return "127.0.0.1:" + std::to_string(relay.port()); }
};

TEST_F(RecordJoinTest, RecordCarriesTheDestroyReplysStats) {
  relay.script = [](const relayctl::Request& r) -> std::optional<relayctl::Response> {
    auto rsp = FakeRelay::defaultReply(r);
    if (std::holds_alternative<relayctl::DestroyRequest>(r.body)) {
      relayctl::DestroyResponse d;
      d.legs[0] = {20, 3440, 20, 3440, 1, 1500, 0, 0};
      d.legs[1] = {20, 3440, 20, 3440, 0, 250, 3, 0};
      rsp->body = d;
    }
    return rsp;
  };
  anchoredCallEnds(1);
  EXPECT_TRUE(out.empty()) << "held until the relay answers the destroy";
  EXPECT_EQ(join->held(), 1u);
  ASSERT_TRUE(runUntil(io, [&] { return !out.empty(); }));
  ASSERT_EQ(out.size(), 1u);
  const b2bua::CallRecord& r = out[0];
  EXPECT_EQ(r.a_call_id, "call-1");
  EXPECT_TRUE(r.media_stats);
  EXPECT_EQ(r.media_relay, relayEndpoint());
  EXPECT_EQ(r.media[0].packets_in, 20u);
  EXPECT_EQ(r.media[0].bytes_out, 3440u);
  EXPECT_EQ(r.media[0].packets_lost, 1u);
  EXPECT_DOUBLE_EQ(r.media[0].jitter_ms, 1.5);
  EXPECT_EQ(r.media[1].srtp_failures, 3u);
  EXPECT_EQ(join->stats().joined, 1u);
  EXPECT_EQ(join->held(), 0u);
}

TEST_F(RecordJoinTest, DeadlineWritesTheRecordWithoutStatsOnce) {
  relay.script = [](const relayctl::Request& r) -> std::optional<relayctl::Response> {
    if (std::holds_alternative<relayctl::DestroyRequest>(r.body)) return std::nullopt;
    return FakeRelay::defaultReply(r);
  };
  anchoredCallEnds(2);
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(runUntil(io, [&] { return !out.empty(); }));
  const auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(waited, 140ms);
  EXPECT_LT(waited, 550ms) << "the deadline, not the client's own give-up";
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].media_stats);
  EXPECT_EQ(out[0].media_relay, relayEndpoint());
  EXPECT_EQ(out[0].media[0].packets_in, 0u);
  EXPECT_EQ(join->stats().timed_out, 1u);
  // The client gives up on the destroy later (3 x 200 ms): nothing more.
  ASSERT_TRUE(runUntil(io, [&] { return !anchor->destroyPending(2).has_value(); }));
  EXPECT_EQ(out.size(), 1u);
  EXPECT_EQ(join->stats().joined, 0u);
  EXPECT_EQ(join->stats().failed, 0u);
}

TEST_F(RecordJoinTest, RefusedDestroyWritesAtOnceWithoutStats) {
  relay.script = [](const relayctl::Request& r) -> std::optional<relayctl::Response> {
    auto rsp = FakeRelay::defaultReply(r);
    if (std::holds_alternative<relayctl::DestroyRequest>(r.body))
      rsp->body = relayctl::Error{relayctl::ErrorCode::kUnknownSession, {}, "gone"};
    return rsp;
  };
  anchoredCallEnds(3);
  ASSERT_TRUE(runUntil(
      io, [&] { return !out.empty(); }, 100ms));
  EXPECT_FALSE(out[0].media_stats);
  EXPECT_EQ(join->stats().failed, 1u);
}

TEST_F(RecordJoinTest, UnanchoredRecordPassesStraightThrough) {
  b2bua::CallRecord r;
  r.call_handle = 42;
  join->onRecord(std::move(r));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].media_relay.empty());
  EXPECT_FALSE(out[0].media_stats);
  EXPECT_EQ(join->held(), 0u);
}

TEST_F(RecordJoinTest, FlushEmitsHeldRecords) {
  relay.script = [](const relayctl::Request& r) -> std::optional<relayctl::Response> {
    if (std::holds_alternative<relayctl::DestroyRequest>(r.body)) return std::nullopt;
    return FakeRelay::defaultReply(r);
  };
  anchoredCallEnds(4);
  EXPECT_TRUE(out.empty());
  join->flush();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].media_stats);
  // Its timer is gone with it: the deadline adds nothing.
  runUntil(
      io, [] { return false; }, 300ms);
  EXPECT_EQ(out.size(), 1u);
  EXPECT_EQ(join->stats().timed_out, 0u);
}

}  // namespace
}  // namespace sbc::media

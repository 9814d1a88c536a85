// RelayClient against a scripted relay on a real TCP socket: health, relay
// choice, id matching, retransmission with the same id, timeouts, reconnect,
// events and the lost-relay grace period.
#include "sbc/media/relay_client.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "tests/unit/media/fake_relay.h"

namespace sbc::media {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
using test::FakeRelay;
using test::runUntil;

RelayClientOptions optionsFor(std::initializer_list<const FakeRelay*> relays) {
  RelayClientOptions o;
  for (const FakeRelay* r : relays) o.relays.push_back({"127.0.0.1", r->port()});
  o.ping_interval = 100ms;
  o.request_timeout = 100ms;
  o.attempts = 3;
  o.reconnect_min = 20ms;
  o.reconnect_max = 100ms;
  o.grace = 300ms;
  return o;
}

TEST(RelayClient, BecomesHealthyAfterPongAndPicksTheLeastLoadedRelay) {
  asio::io_context io;
  FakeRelay busy(io), idle(io);
  busy.script = [](const relayctl::Request& r) {
    auto rsp = FakeRelay::defaultReply(r);
    if (std::holds_alternative<relayctl::PingRequest>(r.body)) {
      rsp->body = relayctl::PongResponse{7, 100};
    }
    return rsp;
  };
  idle.script = [](const relayctl::Request& r) {
    auto rsp = FakeRelay::defaultReply(r);
    if (std::holds_alternative<relayctl::PingRequest>(r.body)) {
      rsp->body = relayctl::PongResponse{2, 100};
    }
    return rsp;
  };
  RelayClient client(io, optionsFor({&busy, &idle}));
  EXPECT_FALSE(client.pickRelay().has_value());  // nothing connected yet
  client.start();
  ASSERT_TRUE(runUntil(io, [&] { return client.healthy(0) && client.healthy(1); }));
  EXPECT_EQ(client.pickRelay(), 1u);
  EXPECT_EQ(client.status(0).sessions, 7u);
  EXPECT_EQ(client.status(1).ports_free, 100u);
  EXPECT_EQ(client.status(1).endpoint, "127.0.0.1:" + std::to_string(idle.port()));
}

TEST(RelayClient, AnswersAreMatchedById) {
  asio::io_context io;
  FakeRelay relay(io);
  RelayClient client(io, optionsFor({&relay}));
  client.start();
  ASSERT_TRUE(runUntil(io, [&] { return client.healthy(0); }));
  int creates = 0, destroys = 0;
  client.send(0, relayctl::CreateRequest{"c1", {}}, [&](const relayctl::ResponseBody& b) {
    EXPECT_TRUE(std::holds_alternative<relayctl::CreateResponse>(b));
    ++creates;
  });
  client.send(0, relayctl::DestroyRequest{"c1"}, [&](const relayctl::ResponseBody& b) {
    ASSERT_TRUE(std::holds_alternative<relayctl::DestroyResponse>(b));
    EXPECT_EQ(std::get<relayctl::DestroyResponse>(b).legs[0].packetsIn, 50u);
    ++destroys;
  });
  ASSERT_TRUE(runUntil(io, [&] { return creates == 1 && destroys == 1; }));
  // Ids are unique per connection.
  std::set<std::string> ids;
  for (const auto& r : relay.received) EXPECT_TRUE(ids.insert(r.id).second) << r.id;
}

TEST(RelayClient, LostAnswerIsRetransmittedWithTheSameId) {
  asio::io_context io;
  FakeRelay relay(io);
  int seen = 0;
  relay.script = [&](const relayctl::Request& r) -> std::optional<relayctl::Response> {
    if (std::holds_alternative<relayctl::CreateRequest>(r.body) && seen++ == 0) return std::nullopt;
    return FakeRelay::defaultReply(r);
  };
  RelayClient client(io, optionsFor({&relay}));
  client.start();
  ASSERT_TRUE(runUntil(io, [&] { return client.healthy(0); }));
  int calls = 0;
  client.send(0, relayctl::CreateRequest{"c1", {}}, [&](const relayctl::ResponseBody& b) {
    EXPECT_TRUE(std::holds_alternative<relayctl::CreateResponse>(b));
    ++calls;
  });
  ASSERT_TRUE(runUntil(io, [&] { return calls == 1; }));
  auto creates = relay.receivedOf<relayctl::CreateRequest>();
  ASSERT_EQ(creates.size(), 2u);
  std::vector<std::string> ids;
  for (const auto& r : relay.received) {
    if (std::holds_alternative<relayctl::CreateRequest>(r.body)) ids.push_back(r.id);
  }
  EXPECT_EQ(ids[0], ids[1]);
  EXPECT_GE(client.status(0).retransmits, 1u);
  runUntil(
      io, [] { return false; }, 300ms);
  EXPECT_EQ(calls, 1);  // exactly once
}

TEST(RelayClient, UnansweredRequestFailsAfterItsAttempts) {
  asio::io_context io;
  FakeRelay relay(io);
  relay.script = [](const relayctl::Request& r) -> std::optional<relayctl::Response> {
    if (std::holds_alternative<relayctl::PingRequest>(r.body)) return FakeRelay::defaultReply(r);
    return std::nullopt;
  };
  RelayClient client(io, optionsFor({&relay}));
  client.start();
  ASSERT_TRUE(runUntil(io, [&] { return client.healthy(0); }));
  std::optional<relayctl::ResponseBody> got;
  const auto t0 = std::chrono::steady_clock::now();
  client.send(0, relayctl::QueryRequest{"c1"}, [&](const relayctl::ResponseBody& b) { got = b; });
  ASSERT_TRUE(runUntil(io, [&] { return got.has_value(); }));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 250ms);  // 3 x 100 ms
  ASSERT_TRUE(std::holds_alternative<relayctl::Error>(*got));
  EXPECT_EQ(std::get<relayctl::Error>(*got).message, "timeout");
  EXPECT_EQ(relay.receivedOf<relayctl::QueryRequest>().size(), 3u);
  EXPECT_EQ(client.status(0).timeouts, 1u);
}

TEST(RelayClient, PendingRequestsAreResentAfterReconnect) {
  asio::io_context io;
  FakeRelay relay(io);
  bool drop_next_create = true;
  relay.script = [&](const relayctl::Request& r) -> std::optional<relayctl::Response> {
    if (std::holds_alternative<relayctl::CreateRequest>(r.body) && drop_next_create) {
      drop_next_create = false;
      relay.dropConnection();
      return std::nullopt;
    }
    return FakeRelay::defaultReply(r);
  };
  auto o = optionsFor({&relay});
  o.request_timeout = 1000ms;  // the reconnect, not a retransmit timer, must resend it
  RelayClient client(io, o);
  client.start();
  ASSERT_TRUE(runUntil(io, [&] { return client.healthy(0); }));
  int calls = 0;
  client.send(0, relayctl::CreateRequest{"c1", {}}, [&](const relayctl::ResponseBody& b) {
    EXPECT_TRUE(std::holds_alternative<relayctl::CreateResponse>(b));
    ++calls;
  });
  ASSERT_TRUE(runUntil(
      io, [&] { return calls == 1; }, 900ms));
  EXPECT_EQ(relay.connections, 2);
  auto creates = relay.receivedOf<relayctl::CreateRequest>();
  ASSERT_EQ(creates.size(), 2u);
  EXPECT_EQ(client.status(0).reconnects, 2u);
}

TEST(RelayClient, EventsReachTheHandler) {
  asio::io_context io;
  FakeRelay relay(io);
  RelayClient client(io, optionsFor({&relay}));
  std::vector<relayctl::Event> events;
  client.onEvent([&](std::size_t r, const relayctl::Event& e) {
    EXPECT_EQ(r, 0u);
    events.push_back(e);
  });
  client.start();
  ASSERT_TRUE(runUntil(io, [&] { return client.healthy(0); }));
  relayctl::Event e;
  e.kind = relayctl::EventKind::kMediaTimeout;
  e.callId = "sbc-7";
  e.leg = 1;
  e.stats.packetsIn = 3;
  relay.sendLine("{\"garbage\":");  // a bad line is ignored, the next one still counts
  relay.sendLine(relayctl::encode(e));
  ASSERT_TRUE(runUntil(io, [&] { return !events.empty(); }));
  EXPECT_EQ(events[0], e);
  EXPECT_TRUE(client.healthy(0));
}

TEST(RelayClient, RelayDownPastGraceIsReportedOnceAndNotPicked) {
  asio::io_context io;
  FakeRelay relay(io);
  RelayClient client(io, optionsFor({&relay}));
  int lost = 0;
  client.onRelayLost([&](std::size_t r) {
    EXPECT_EQ(r, 0u);
    ++lost;
  });
  client.start();
  ASSERT_TRUE(runUntil(io, [&] { return client.healthy(0); }));
  relay.stopListening();
  relay.dropConnection();
  ASSERT_TRUE(runUntil(io, [&] { return !client.healthy(0); }));
  EXPECT_FALSE(client.pickRelay().has_value());
  EXPECT_EQ(lost, 0);  // not before the grace period
  ASSERT_TRUE(runUntil(
      io, [&] { return lost == 1; }, 2000ms));
  runUntil(
      io, [] { return false; }, 500ms);
  EXPECT_EQ(lost, 1);
}

TEST(RelayClient, StopFailsPendingRequests) {
  asio::io_context io;
  FakeRelay relay(io);
  relay.script = [](const relayctl::Request& r) -> std::optional<relayctl::Response> {
    if (std::holds_alternative<relayctl::PingRequest>(r.body)) return FakeRelay::defaultReply(r);
    return std::nullopt;
  };
  RelayClient client(io, optionsFor({&relay}));
  client.start();
  ASSERT_TRUE(runUntil(io, [&] { return client.healthy(0); }));
  std::optional<relayctl::ResponseBody> got;
  client.send(0, relayctl::QueryRequest{"c1"}, [&](const relayctl::ResponseBody& b) { got = b; });
  client.stop();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(std::get<relayctl::Error>(*got).message, "stopped");
  bool late = false;
  client.send(0, relayctl::QueryRequest{"c2"}, [&](const relayctl::ResponseBody&) { late = true; });
  EXPECT_FALSE(late);  // never from inside send()
  ASSERT_TRUE(runUntil(io, [&] { return late; }));
}

TEST(RelayClient, EverySettledRequestIsObservedWithVerbResultAndLatency) {
  asio::io_context io;
  FakeRelay relay(io);
  relay.script = [](const relayctl::Request& r) -> std::optional<relayctl::Response> {
    if (std::holds_alternative<relayctl::QueryRequest>(r.body)) return std::nullopt;
    auto rsp = FakeRelay::defaultReply(r);
    if (std::holds_alternative<relayctl::DestroyRequest>(r.body))
      rsp->body = relayctl::Error{relayctl::ErrorCode::kUnknownSession, {}, "gone"};
    return rsp;
  };
  RelayClient client(io, optionsFor({&relay}));
  struct Seen {
    std::string verb, result;
    std::chrono::steady_clock::duration latency;
  };
  std::vector<Seen> seen;
  client.onRequestDone([&](std::size_t i, std::string_view verb, std::string_view result,
                           std::chrono::steady_clock::duration latency) {
    EXPECT_EQ(i, 0u);
    if (verb != "ping") seen.push_back({std::string(verb), std::string(result), latency});
  });
  client.start();
  ASSERT_TRUE(runUntil(io, [&] { return client.healthy(0); }));
  int answered = 0;
  relayctl::CreateRequest c;
  c.callId = "c1";
  client.send(0, c, [&](const relayctl::ResponseBody&) { ++answered; });
  client.send(0, relayctl::DestroyRequest{"nope"},
              [&](const relayctl::ResponseBody&) { ++answered; });
  client.send(0, relayctl::QueryRequest{"c1"}, [&](const relayctl::ResponseBody&) { ++answered; });
  ASSERT_TRUE(runUntil(io, [&] { return answered == 3; }));
  ASSERT_EQ(seen.size(), 3u);
  std::map<std::string, Seen> by;
  for (const Seen& s : seen) by[s.verb] = s;
  EXPECT_EQ(by["create"].result, "ok");
  EXPECT_EQ(by["destroy"].result, "error");
  EXPECT_EQ(by["query"].result, "timeout");
  // Three attempts of 100 ms: latency counts from the first.
  EXPECT_GE(by["query"].latency, 280ms);
  EXPECT_LT(by["create"].latency, 280ms);
}

}  // namespace
}  // namespace sbc::media

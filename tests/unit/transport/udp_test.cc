#include <gtest/gtest.h>

#include <boost/asio/ip/udp.hpp>

#include "sbc/transport/transport.h"
#include "test_support.h"

namespace sbc::transport {
namespace {

using namespace test;
namespace asio = boost::asio;
using asio::ip::udp;

udp::endpoint toUdp(const Endpoint& endpoint) {
  return {asio::ip::make_address(endpoint.address.toString()), endpoint.port};
}

class UdpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Config config;
    config.listeners = {listener(Protocol::kUdp, "inside"), listener(Protocol::kUdp, "outside")};
    config.limits.max_message_size = std::size_t{16} * 1024;
    transport_ = std::make_unique<Transport>(io_, config, sink_.callbacks());
    transport_->start();
    peer_.open(udp::v4());
    peer_.bind(udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  }

  std::string receiveOnPeer(udp::endpoint* from) {
    std::string data;
    runUntil(io_, [&] { return peer_.available() > 0; });
    if (peer_.available() == 0) return data;
    data.resize(65536);
    const auto n = peer_.receive_from(asio::buffer(data), *from);
    data.resize(n);
    return data;
  }

  asio::io_context io_;
  Sink sink_;
  std::unique_ptr<Transport> transport_;
  udp::socket peer_{io_};
};

TEST_F(UdpTest, BindsEphemeralPortsAndReportsThem) {
  const Endpoint inside = transport_->localEndpoint(0);
  const Endpoint outside = transport_->localEndpoint(1);
  EXPECT_EQ(inside.address.toString(), "127.0.0.1");
  EXPECT_NE(inside.port, 0);
  EXPECT_NE(outside.port, 0);
  EXPECT_NE(inside.port, outside.port);
}

TEST_F(UdpTest, DeliversADatagramWithItsOrigin) {
  const std::string message = sipMessage("udp-1", "hello");
  peer_.send_to(asio::buffer(message), toUdp(transport_->localEndpoint(1)));
  ASSERT_TRUE(runUntil(io_, [&] { return !sink_.messages.empty(); }));
  const auto& received = sink_.messages[0];
  EXPECT_EQ(received.bytes, message);
  EXPECT_EQ(received.protocol, Protocol::kUdp);
  EXPECT_EQ(received.connection, kNoConnection);
  EXPECT_EQ(received.listener, 1u);
  EXPECT_EQ(received.realm, "outside");
  EXPECT_EQ(received.remote.port, peer_.local_endpoint().port());
  EXPECT_EQ(received.local, transport_->localEndpoint(1));
  EXPECT_EQ(transport_->stats().of(Protocol::kUdp).messages_in, 1u);
  EXPECT_EQ(transport_->stats().of(Protocol::kUdp).bytes_in, message.size());
}

TEST_F(UdpTest, RoundTripLeavesFromTheChosenListener) {
  const std::string request = sipMessage("udp-2");
  peer_.send_to(asio::buffer(request), toUdp(transport_->localEndpoint(0)));
  ASSERT_TRUE(runUntil(io_, [&] { return !sink_.messages.empty(); }));

  for (ListenerIndex from : {0u, 1u}) {
    SendTarget target;
    target.protocol = Protocol::kUdp;
    target.remote = sink_.messages[0].remote;
    target.listener = from;
    const std::string response = "SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n";
    EXPECT_EQ(transport_->send(target, response), kNoConnection);
    udp::endpoint sender;
    EXPECT_EQ(receiveOnPeer(&sender), response);
    EXPECT_EQ(sender.port(), transport_->localEndpoint(from).port) << "listener " << from;
  }
  EXPECT_EQ(transport_->stats().of(Protocol::kUdp).messages_out, 2u);
}

TEST_F(UdpTest, SendBytesDoesNotHoldOnToTheCallersBuffer) {
  SendTarget target;
  target.protocol = Protocol::kUdp;
  target.remote = Endpoint{*IpAddress::parse("127.0.0.1"), peer_.local_endpoint().port()};
  std::string wire = "SIP/2.0 180 Ringing\r\nContent-Length: 0\r\n\r\n";
  const std::string sent = wire;
  EXPECT_EQ(transport_->sendBytes(target, wire), kNoConnection);
  wire.assign(wire.size(), 'x');  // a retransmission buffer reused at once
  udp::endpoint sender;
  EXPECT_EQ(receiveOnPeer(&sender), sent);
  EXPECT_EQ(transport_->stats().of(Protocol::kUdp).messages_out, 1u);
}

TEST_F(UdpTest, KeepaliveAndOversizedDatagramsAreNotDelivered) {
  const auto to = toUdp(transport_->localEndpoint(0));
  peer_.send_to(asio::buffer(std::string("\r\n\r\n")), to);
  peer_.send_to(asio::buffer(std::string(20000, 'x')), to);  // above the limit
  const std::string message = sipMessage("after");
  peer_.send_to(asio::buffer(message), to);
  ASSERT_TRUE(runUntil(io_, [&] { return !sink_.messages.empty(); }));
  ASSERT_EQ(sink_.messages.size(), 1u);
  EXPECT_EQ(sink_.messages[0].bytes, message);
  EXPECT_EQ(transport_->stats().datagrams_dropped, 2u);
}

TEST_F(UdpTest, ManyDatagramsInABurstAllArrive) {
  const auto to = toUdp(transport_->localEndpoint(0));
  for (int i = 0; i < 200; ++i) peer_.send_to(asio::buffer(sipMessage(std::to_string(i))), to);
  ASSERT_TRUE(runUntil(io_, [&] { return sink_.messages.size() == 200; }));
  EXPECT_EQ(sink_.messages[199].bytes, sipMessage("199"));
}

// The listener reads in batches (recvmmsg) and re-arms its wait only once the
// socket is empty: a burst that ends exactly on a batch boundary, and a
// datagram that comes after the socket went quiet, must still arrive.
TEST_F(UdpTest, BurstsOnAndAcrossBatchBoundariesArriveInOrderWithTheirOrigin) {
  const auto to = toUdp(transport_->localEndpoint(1));
  udp::socket other(io_);
  other.open(udp::v4());
  other.bind(udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  for (const int burst : {16, 33, 1}) {
    sink_.messages.clear();
    for (int i = 0; i < burst; ++i) {
      auto& from = i % 2 == 0 ? peer_ : other;
      from.send_to(asio::buffer(sipMessage(std::to_string(burst) + "-" + std::to_string(i))), to);
    }
    ASSERT_TRUE(runUntil(io_, [&] { return sink_.messages.size() == std::size_t(burst); }))
        << "burst of " << burst << ": " << sink_.messages.size() << " arrived";
    for (int i = 0; i < burst; ++i) {
      EXPECT_EQ(sink_.messages[i].bytes,
                sipMessage(std::to_string(burst) + "-" + std::to_string(i)));
      const auto& from = i % 2 == 0 ? peer_ : other;
      EXPECT_EQ(sink_.messages[i].remote.port, from.local_endpoint().port());
      EXPECT_EQ(sink_.messages[i].listener, 1u);
    }
    runFor(io_, 5ms);  // the socket goes quiet between bursts
  }
  EXPECT_EQ(transport_->stats().of(Protocol::kUdp).messages_in, 50u);
}

// Replies made while the listener handles a received batch leave together
// (sendmmsg) when the batch ends: every one must arrive, in order, from the
// listener it names, in order per socket, even when the caller reuses its
// buffer at once and a batch holds more replies than one sendmmsg takes.
TEST_F(UdpTest, RepliesMadeWhileHandlingABurstAllLeaveInOrder) {
  sink_.on_message = [&](const InboundMessage& message) {
    SendTarget target;
    target.protocol = Protocol::kUdp;
    target.remote = message.remote;
    for (ListenerIndex from : {0u, 1u}) {
      target.listener = from;
      std::string wire = "reply " + std::to_string(from) + " to " + message.bytes;
      transport_->sendBytes(target, wire);
      wire.assign(wire.size(), 'x');
    }
  };
  constexpr int kBurst = 70;
  const auto to = toUdp(transport_->localEndpoint(1));
  for (int i = 0; i < kBurst; ++i) peer_.send_to(asio::buffer(sipMessage(std::to_string(i))), to);
  std::vector<std::pair<std::string, unsigned short>> replies;
  ASSERT_TRUE(runUntil(io_,
                       [&] {
                         while (peer_.available() > 0) {
                           std::string data(65536, '\0');
                           udp::endpoint sender;
                           data.resize(peer_.receive_from(asio::buffer(data), sender));
                           replies.emplace_back(std::move(data), sender.port());
                         }
                         return replies.size() == 2 * kBurst;
                       }))
      << replies.size() << " replies arrived";
  // In order per socket; the two sockets' datagrams may interleave either way.
  for (ListenerIndex from : {0u, 1u}) {
    std::vector<std::string> got;
    for (const auto& [bytes, port] : replies) {
      if (port == transport_->localEndpoint(from).port) got.push_back(bytes);
    }
    ASSERT_EQ(got.size(), std::size_t{kBurst}) << "from listener " << from;
    for (int i = 0; i < kBurst; ++i) {
      EXPECT_EQ(got[i], "reply " + std::to_string(from) + " to " + sipMessage(std::to_string(i)));
    }
  }
  EXPECT_EQ(transport_->stats().of(Protocol::kUdp).messages_out, 2u * kBurst);
}

TEST_F(UdpTest, ASendRefusedInsideABatchIsReportedWithItsOwnerAndTheRestLeave) {
  std::size_t errors_seen_inside = 0;
  sink_.on_message = [&](const InboundMessage& message) {
    SendTarget target;
    target.protocol = Protocol::kUdp;
    target.owner = 5;
    target.remote = *Endpoint::parse("255.255.255.255:9");  // broadcast: EACCES
    transport_->send(target, "refused");
    target.owner = 6;
    target.remote = message.remote;
    transport_->send(target, "accepted");
    errors_seen_inside += sink_.errors.size();
  };
  peer_.send_to(asio::buffer(sipMessage("go")), toUdp(transport_->localEndpoint(0)));
  udp::endpoint sender;
  EXPECT_EQ(receiveOnPeer(&sender), "accepted");
  ASSERT_TRUE(runUntil(io_, [&] { return !sink_.errors.empty(); }));
  EXPECT_EQ(errors_seen_inside, 0u);  // never from inside send()
  EXPECT_EQ(sink_.errors[0].kind, ErrorKind::kSendFailed);
  EXPECT_EQ(sink_.errors[0].owner, 5u);
  EXPECT_EQ(transport_->stats().send_errors, 1u);
  EXPECT_EQ(transport_->stats().of(Protocol::kUdp).messages_out, 1u);
}

TEST_F(UdpTest, ErrorsAreReportedAfterSendReturns) {
  SendTarget target;
  target.protocol = Protocol::kUdp;
  target.remote = *Endpoint::parse("[::1]:5060");  // no IPv6 UDP listener in this realm
  target.owner = 77;
  transport_->send(target, "x");
  EXPECT_TRUE(sink_.errors.empty());  // never from inside send()
  ASSERT_TRUE(runUntil(io_, [&] { return !sink_.errors.empty(); }));
  EXPECT_EQ(sink_.errors[0].kind, ErrorKind::kBadTarget);
  EXPECT_EQ(sink_.errors[0].owner, 77u);

  target.remote = *Endpoint::parse("127.0.0.1:5060");
  target.listener = 9;  // no such listener
  transport_->send(target, "x");
  ASSERT_TRUE(runUntil(io_, [&] { return sink_.errors.size() == 2; }));
  EXPECT_EQ(sink_.errors[1].kind, ErrorKind::kBadTarget);
}

TEST_F(UdpTest, StopClosesTheSockets) {
  transport_->stop();
  peer_.send_to(asio::buffer(sipMessage("late")), toUdp(transport_->localEndpoint(0)));
  runFor(io_, 50ms);
  EXPECT_TRUE(sink_.messages.empty());
  SendTarget target;
  target.remote = *Endpoint::parse("127.0.0.1:9");
  transport_->send(target, "x");
  runFor(io_, 20ms);
  EXPECT_TRUE(sink_.errors.empty());  // no callbacks once stopped
}

TEST(UdpIpv6, RoundTripOnLoopback) {
  asio::io_context io;
  Sink sink;
  Config config;
  config.listeners = {listener(Protocol::kUdp, "inside", "::1")};
  Transport transport(io, config, sink.callbacks());
  try {
    transport.start();
  } catch (const std::exception& e) {
    GTEST_SKIP() << "no IPv6 loopback: " << e.what();
  }
  udp::socket peer(io, udp::endpoint(asio::ip::make_address("::1"), 0));
  const Endpoint local = transport.localEndpoint(0);
  EXPECT_TRUE(local.address.isV6());
  peer.send_to(asio::buffer(sipMessage("v6")), toUdp(local));
  ASSERT_TRUE(runUntil(io, [&] { return !sink.messages.empty(); }));
  EXPECT_EQ(sink.messages[0].remote.address.toString(), "::1");
  EXPECT_EQ(sink.messages[0].remote.toString(),
            "[::1]:" + std::to_string(peer.local_endpoint().port()));
}

TEST(UdpStartup, BadBindAddressThrowsAtStart) {
  asio::io_context io;
  Config config;
  config.listeners = {listener(Protocol::kUdp, "inside", "not-an-address")};
  Transport transport(io, config, {});
  EXPECT_THROW(transport.start(), std::runtime_error);
}

}  // namespace
}  // namespace sbc::transport

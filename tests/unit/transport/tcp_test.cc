#include <gtest/gtest.h>

#include "raw_client.h"
#include "sbc/transport/transport.h"
#include "test_support.h"

namespace sbc::transport {
namespace {

using namespace test;
namespace asio = boost::asio;

const std::string kOk = "SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n";

class TcpTest : public ::testing::Test {
 protected:
  void start(Limits limits = {}) {
    Config config;
    config.listeners = {listener(Protocol::kTcp, "inside")};
    config.limits = limits;
    server_ = std::make_unique<Transport>(io_, config, sink_.callbacks());
    server_->start();
  }
  Endpoint serverEndpoint() const { return server_->localEndpoint(0); }

  asio::io_context io_;
  Sink sink_;
  std::unique_ptr<Transport> server_;
};

TEST_F(TcpTest, MessageSplitInChunksThenTwoCoalesced) {
  start();
  RawClient client(io_, serverEndpoint());
  const std::string first = sipMessage("chunked", "some body bytes");
  for (std::size_t at = 0; at < first.size(); at += 20) {
    client.write(std::string_view(first).substr(at, 20));
    runFor(io_, 5ms);
  }
  ASSERT_TRUE(runUntil(io_, [&] { return sink_.messages.size() == 1; }));
  EXPECT_EQ(sink_.messages[0].bytes, first);

  const std::string second = sipMessage("second", "b2");
  const std::string third = sipMessage("third");
  client.write(second + third);
  ASSERT_TRUE(runUntil(io_, [&] { return sink_.messages.size() == 3; }));
  EXPECT_EQ(sink_.messages[1].bytes, second);
  EXPECT_EQ(sink_.messages[2].bytes, third);

  const auto& message = sink_.messages[0];
  EXPECT_EQ(message.protocol, Protocol::kTcp);
  EXPECT_NE(message.connection, kNoConnection);
  EXPECT_EQ(sink_.messages[2].connection, message.connection);
  EXPECT_EQ(message.realm, "inside");
  EXPECT_EQ(message.remote, client.localEndpoint());
  EXPECT_EQ(message.local, serverEndpoint());
  EXPECT_EQ(server_->stats().of(Protocol::kTcp).messages_in, 3u);
  EXPECT_EQ(server_->stats().connections_accepted, 1u);
}

TEST_F(TcpTest, ResponseGoesBackOnTheRequestsConnection) {
  start();
  sink_.on_message = [&](const InboundMessage& request) {
    SendTarget target;
    target.protocol = Protocol::kTcp;
    target.remote = request.remote;
    target.connection = request.connection;
    // sendBytes: the caller's buffer may go before the write completes.
    std::string wire(kOk);
    EXPECT_EQ(server_->sendBytes(target, wire), request.connection);
    wire.assign(wire.size(), 'x');
  };
  RawClient client(io_, serverEndpoint());
  client.write(sipMessage("req"));
  ASSERT_TRUE(client.waitForBytes(kOk.size()));
  EXPECT_EQ(client.received(), kOk);
  EXPECT_EQ(server_->stats().connections_opened, 0u);
  EXPECT_EQ(server_->stats().connections_open, 1u);
  // Counted when the server's write completes, which may run just after the
  // client has read the bytes.
  EXPECT_TRUE(runUntil(io_, [&] { return server_->stats().of(Protocol::kTcp).messages_out == 1u; }))
      << "messages_out " << server_->stats().of(Protocol::kTcp).messages_out;
}

TEST_F(TcpTest, OutboundSendsReuseOneConnectionBothWays) {
  start();
  Sink client_sink;
  Config client_config;
  client_config.listeners = {listener(Protocol::kTcp, "outside")};
  Transport client(io_, client_config, client_sink.callbacks());
  client.start();

  SendTarget target;
  target.protocol = Protocol::kTcp;
  target.remote = serverEndpoint();
  target.listener = 0;
  const ConnectionId first = client.send(target, sipMessage("one"));
  const ConnectionId second = client.send(target, sipMessage("two"));
  EXPECT_NE(first, kNoConnection);
  EXPECT_EQ(first, second);
  ASSERT_TRUE(runUntil(io_, [&] { return sink_.messages.size() == 2; }));
  EXPECT_EQ(sink_.messages[0].bytes, sipMessage("one"));
  EXPECT_EQ(sink_.messages[1].bytes, sipMessage("two"));
  EXPECT_EQ(sink_.messages[0].connection, sink_.messages[1].connection);
  EXPECT_EQ(server_->stats().connections_accepted, 1u);
  EXPECT_EQ(client.stats().connections_opened, 1u);
  // It left from the client's listener address.
  EXPECT_EQ(sink_.messages[0].remote.address, client.localEndpoint(0).address);

  // The server sends a request to the client's address:port as seen on the
  // inbound connection, without naming the connection: RFC 3261 18 reuse.
  SendTarget back;
  back.protocol = Protocol::kTcp;
  back.remote = sink_.messages[0].remote;
  EXPECT_EQ(server_->send(back, sipMessage("reverse")), sink_.messages[0].connection);
  ASSERT_TRUE(runUntil(io_, [&] { return client_sink.messages.size() == 1; }));
  EXPECT_EQ(client_sink.messages[0].connection, first);
  EXPECT_EQ(client_sink.messages[0].realm, "outside");  // stamped from the send's listener
  EXPECT_EQ(server_->stats().connections_opened, 0u);
  EXPECT_EQ(client.stats().connections_accepted, 0u);

  const auto info = client.connectionInfo(first);
  ASSERT_TRUE(info);
  EXPECT_TRUE(info->outbound);
  EXPECT_TRUE(info->established);
  EXPECT_EQ(info->remote, serverEndpoint());
}

TEST_F(TcpTest, IdleTimeoutClosesButTrafficKeepsItOpen) {
  Limits limits;
  limits.idle_timeout = 400ms;
  start(limits);
  RawClient client(io_, serverEndpoint());
  for (int i = 0; i < 8; ++i) {
    client.write(sipMessage("keep-" + std::to_string(i)));
    runFor(io_, 100ms);
  }
  EXPECT_EQ(sink_.messages.size(), 8u);
  EXPECT_TRUE(sink_.closed.empty());
  EXPECT_FALSE(client.closed());

  ASSERT_TRUE(client.waitForClose(3s));
  ASSERT_TRUE(runUntil(io_, [&] { return !sink_.closed.empty(); }));
  EXPECT_EQ(sink_.closed[0].second, CloseReason::kIdleTimeout);
  EXPECT_EQ(server_->stats().idle_timeouts, 1u);
  EXPECT_EQ(server_->stats().connections_open, 0u);
}

TEST_F(TcpTest, DoubleCrlfPingGetsASingleCrlf) {
  start();
  RawClient client(io_, serverEndpoint());
  client.write("\r\n\r\n");
  ASSERT_TRUE(client.waitForBytes(2));
  runFor(io_, 20ms);
  EXPECT_EQ(client.received(), "\r\n");
  EXPECT_TRUE(sink_.messages.empty());
  EXPECT_EQ(server_->stats().keepalive_pings, 1u);
  EXPECT_EQ(server_->stats().of(Protocol::kTcp).messages_out, 0u);

  client.write(sipMessage("after-ping"));  // the connection is still usable
  ASSERT_TRUE(runUntil(io_, [&] { return sink_.messages.size() == 1; }));
}

TEST_F(TcpTest, FramingErrorClosesAfterTheApplicationsAnswer) {
  start();
  const std::string bad_400 = "SIP/2.0 400 Missing Content-Length\r\nContent-Length: 0\r\n\r\n";
  sink_.on_error = [&](const TransportError& error) {
    if (error.kind != ErrorKind::kFramingError) return;
    SendTarget target;
    target.protocol = Protocol::kTcp;
    target.remote = error.remote;
    target.connection = error.connection;
    server_->send(target, bad_400);
  };
  RawClient client(io_, serverEndpoint());
  const std::string head =
      "OPTIONS sip:sbc SIP/2.0\r\nVia: SIP/2.0/TCP pbx;branch=z9hG4bKx\r\n\r\n";
  client.write(head);
  ASSERT_TRUE(client.waitForClose());
  EXPECT_EQ(client.received(), bad_400);
  ASSERT_EQ(sink_.errors.size(), 1u);
  EXPECT_EQ(sink_.errors[0].kind, ErrorKind::kFramingError);
  EXPECT_EQ(sink_.errors[0].framing, FramingError::kMissingContentLength);
  EXPECT_EQ(sink_.errors[0].head, head);
  EXPECT_TRUE(sink_.messages.empty());
  ASSERT_TRUE(runUntil(io_, [&] { return !sink_.closed.empty(); }));
  EXPECT_EQ(sink_.closed[0].second, CloseReason::kFramingError);
  EXPECT_EQ(server_->stats().framing_errors, 1u);
}

TEST_F(TcpTest, FramingErrorWithoutAnswerClosesAtOnce) {
  Limits limits;
  limits.max_message_size = 1024;
  start(limits);
  RawClient client(io_, serverEndpoint());
  client.write("INVITE sip:x SIP/2.0\r\nX-Junk: " + std::string(2000, 'a'));
  ASSERT_TRUE(client.waitForClose(1s));
  ASSERT_EQ(sink_.errors.size(), 1u);
  EXPECT_EQ(sink_.errors[0].framing, FramingError::kMessageTooLarge);
}

TEST_F(TcpTest, ConnectFailureIsReportedWithTheOwner) {
  start();
  std::uint16_t closed_port = 0;
  {
    asio::ip::tcp::acceptor probe(io_,
                                  asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    closed_port = probe.local_endpoint().port();
  }
  SendTarget target;
  target.protocol = Protocol::kTcp;
  target.remote = Endpoint{IpAddress::loopbackV4(), closed_port};
  target.owner = 42;
  const ConnectionId id = server_->send(target, sipMessage("nobody"));
  EXPECT_NE(id, kNoConnection);
  ASSERT_TRUE(runUntil(io_, [&] { return !sink_.errors.empty(); }));
  EXPECT_EQ(sink_.errors[0].kind, ErrorKind::kConnectFailed);
  EXPECT_EQ(sink_.errors[0].owner, 42u);
  EXPECT_EQ(sink_.errors[0].connection, id);
  EXPECT_EQ(server_->stats().connect_failures, 1u);
  ASSERT_TRUE(runUntil(io_, [&] { return !sink_.closed.empty(); }));
  EXPECT_EQ(sink_.closed[0].second, CloseReason::kConnectFailed);
  EXPECT_FALSE(server_->connectionInfo(id));
}

TEST_F(TcpTest, SendQueueLimitDropsTheConnection) {
  Limits limits;
  limits.max_send_queue_bytes = 1000;
  start(limits);
  SendTarget target;
  target.protocol = Protocol::kTcp;
  target.remote = serverEndpoint();  // connecting: nothing is written yet
  target.owner = 1;
  const ConnectionId id = server_->send(target, std::string(600, 'a'));
  target.owner = 2;
  server_->send(target, std::string(600, 'b'));
  ASSERT_TRUE(runUntil(io_, [&] { return sink_.errors.size() >= 2; }));
  EXPECT_EQ(sink_.errors[0].kind, ErrorKind::kSendQueueOverflow);
  EXPECT_EQ(sink_.errors[0].owner, 2u);
  EXPECT_EQ(sink_.errors[1].kind, ErrorKind::kSendQueueOverflow);
  EXPECT_EQ(sink_.errors[1].owner, 1u);
  EXPECT_EQ(server_->stats().send_queue_overflows, 1u);
  EXPECT_FALSE(server_->connectionInfo(id));
}

TEST_F(TcpTest, ConnectionLimitRefusesExtraInbound) {
  Limits limits;
  limits.max_connections = 1;
  start(limits);
  RawClient first(io_, serverEndpoint());
  first.write(sipMessage("first"));
  ASSERT_TRUE(runUntil(io_, [&] { return sink_.messages.size() == 1; }));
  RawClient second(io_, serverEndpoint());
  ASSERT_TRUE(second.waitForClose());
  EXPECT_EQ(server_->stats().connections_rejected, 1u);
  first.write(sipMessage("still"));
  ASSERT_TRUE(runUntil(io_, [&] { return sink_.messages.size() == 2; }));

  SendTarget target;  // and no outbound connection either
  target.protocol = Protocol::kTcp;
  target.remote = *Endpoint::parse("127.0.0.1:9");
  target.owner = 5;
  EXPECT_EQ(server_->send(target, "x"), kNoConnection);
  ASSERT_TRUE(runUntil(io_, [&] { return !sink_.errors.empty(); }));
  EXPECT_EQ(sink_.errors[0].kind, ErrorKind::kConnectionLimit);
}

TEST_F(TcpTest, CloseConnectionAndStop) {
  start();
  RawClient a(io_, serverEndpoint());
  RawClient b(io_, serverEndpoint());
  a.write(sipMessage("a"));
  b.write(sipMessage("b"));
  ASSERT_TRUE(runUntil(io_, [&] { return sink_.messages.size() == 2; }));
  server_->closeConnection(sink_.messages[0].connection);
  EXPECT_TRUE(sink_.closed.empty());  // reported on the next loop turn
  ASSERT_TRUE(a.waitForClose());
  ASSERT_TRUE(runUntil(io_, [&] { return sink_.closed.size() == 1; }));
  EXPECT_EQ(sink_.closed[0].second, CloseReason::kClosedByApp);

  server_->stop();
  ASSERT_TRUE(b.waitForClose());
  EXPECT_EQ(server_->stats().connections_open, 0u);
  EXPECT_THROW(RawClient(io_, serverEndpoint()), boost::system::system_error);
}

TEST(TcpShard, ConnectionIdsCarryTheShard) {
  asio::io_context io;
  Sink sink;
  Config config;
  config.listeners = {listener(Protocol::kTcp)};
  config.shard = 3;
  Transport transport(io, config, sink.callbacks());
  transport.start();
  RawClient client(io, transport.localEndpoint(0));
  client.write(sipMessage("sharded"));
  ASSERT_TRUE(runUntil(io, [&] { return sink.messages.size() == 1; }));
  EXPECT_EQ(sink.messages[0].connection >> 48, 3u);
}

TEST_F(TcpTest, DestroyingTheTransportWithTrafficInFlightIsSafe) {
  start();
  RawClient client(io_, serverEndpoint());
  client.write(sipMessage("x"));
  SendTarget target;
  target.protocol = Protocol::kTcp;
  target.remote = serverEndpoint();
  server_->send(target, sipMessage("to-self"));
  runFor(io_, 1ms);
  server_.reset();
  runFor(io_, 50ms);  // late completions must not touch the dead transport
  EXPECT_TRUE(client.waitForClose());
}

}  // namespace
}  // namespace sbc::transport

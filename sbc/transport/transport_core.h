#pragma once
// Internal to sbc_transport: the implementation behind Transport. Includes
// Asio; never include it from outside this folder.

#include <sys/socket.h>
#include <sys/uio.h>

#include <array>
#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "sbc/transport/stream_framer.h"
#include "sbc/transport/transport.h"

namespace boost::asio::ssl {
class context;
}  // namespace boost::asio::ssl

namespace sbc::transport::detail {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using udp = asio::ip::udp;
using Clock = std::chrono::steady_clock;
using SslContextPtr = std::shared_ptr<asio::ssl::context>;

asio::ip::address toAsio(const IpAddress& address);
IpAddress fromAsio(const asio::ip::address& address);
template <typename AsioEndpoint>
Endpoint fromAsioEndpoint(const AsioEndpoint& endpoint) {
  return {fromAsio(endpoint.address()), endpoint.port()};
}

class TransportCore;

struct Outgoing {
  std::string bytes;
  std::uint64_t owner = 0;
  bool is_message = true;  // false for keepalive pongs (bytes, not messages)
};

// One TCP or TLS connection, inbound or outbound. The subclasses (tcp.cc,
// tls.cc) only do the socket operations; queueing, framing, timers and
// bookkeeping live here. Pending operations hold a shared_ptr to the
// connection; core_ is cleared when the connection closes, so a late
// completion never reaches a Transport that is gone.
class StreamConnection : public std::enable_shared_from_this<StreamConnection> {
 public:
  enum class State : std::uint8_t { kConnecting, kHandshaking, kOpen, kDraining, kClosed };

  StreamConnection(TransportCore& core, ConnectionId id, Protocol protocol, ListenerIndex listener,
                   bool outbound);
  virtual ~StreamConnection();
  StreamConnection(const StreamConnection&) = delete;
  StreamConnection& operator=(const StreamConnection&) = delete;

  // Inbound: the socket is connected; handshake (TLS) and read.
  void startAccepted();
  // Outbound: connect (from `source` if given), handshake, flush the queue.
  void startConnect(const tcp::endpoint& remote, const std::optional<asio::ip::address>& source);

  // Queues bytes; drops the connection if the queue limit is exceeded.
  void send(std::string bytes, std::uint64_t owner, bool is_message = true);
  // Closes now, reports unsent bytes and tells the core.
  void close(CloseReason reason, std::string_view detail = {});
  // Closes without any callback (Transport::stop()).
  void detach();

  ConnectionId id() const { return info_.id; }
  State state() const { return state_; }
  bool usable() const { return state_ != State::kDraining && state_ != State::kClosed; }
  const ConnectionInfo& info() const { return info_; }

 protected:
  virtual tcp::socket& socket() = 0;
  // Each must eventually call the matching on...() exactly once.
  virtual void asyncHandshake() = 0;
  virtual void asyncRead(asio::mutable_buffer buffer) = 0;
  virtual void asyncWrite(std::span<const asio::const_buffer> buffers) = 0;
  // After a successful handshake: fill info_ (SNI, peer certificate).
  virtual void recordHandshakeDetails() {}
  virtual bool isTls() const { return false; }

  void onHandshake(const boost::system::error_code& ec);
  void onRead(const boost::system::error_code& ec, std::size_t n);
  void onWritten(const boost::system::error_code& ec, std::size_t n);

  TransportCore* core_;
  ConnectionInfo info_;

 private:
  void onConnected(const boost::system::error_code& ec);
  void beginHandshake();
  void armTimer(Clock::time_point deadline);
  void onTimer(const boost::system::error_code& ec);
  void startRead();
  void flush();
  void failQueue(ErrorKind kind, std::string_view detail);

  asio::steady_timer timer_;
  Clock::time_point deadline_{};
  StreamFramer framer_;
  std::deque<Outgoing> queue_;
  std::size_t queued_bytes_ = 0;
  std::size_t writing_items_ = 0;  // items at the front of queue_ being written
  std::vector<asio::const_buffer> write_buffers_;
  State state_ = State::kConnecting;
  CloseReason drain_reason_ = CloseReason::kFramingError;
};

using StreamConnectionPtr = std::shared_ptr<StreamConnection>;

// tcp.cc / tls.cc
StreamConnectionPtr makeTcpConnection(TransportCore& core, ConnectionId id, ListenerIndex listener,
                                      bool outbound, tcp::socket socket);
StreamConnectionPtr makeTlsConnection(TransportCore& core, ConnectionId id, ListenerIndex listener,
                                      bool outbound, tcp::socket socket, SslContextPtr context,
                                      std::string server_name, bool verify_server);
// tls.cc: build contexts from files; nullptr and *error set on failure.
SslContextPtr makeServerContext(const TlsServerOptions& options, std::string* error);
SslContextPtr makeClientContext(const TlsClientOptions& options, std::string* error);

// A UDP listener: receives datagrams, sends from its socket.
class UdpListener : public std::enable_shared_from_this<UdpListener> {
 public:
  UdpListener(TransportCore& core, ListenerIndex index, udp::socket socket);
  ~UdpListener();
  void start();
  // `owned`, when given, holds `bytes`: moved from if the datagram must wait.
  void send(const Endpoint& remote, std::string_view bytes, std::uint64_t owner,
            std::string* owned);
  void close();
  const Endpoint& local() const { return local_; }

 private:
  static constexpr std::size_t kReceiveBatch = 16;  // datagrams per recvmmsg

  void wait();
  void onReadable(const boost::system::error_code& ec);
  bool handleDatagram(std::size_t slot);

  TransportCore* core_;
  ListenerIndex index_;
  udp::socket socket_;
  Endpoint local_;
  std::unique_ptr<char[]> buffer_;  // kReceiveBatch slots of 64 KiB
  std::array<mmsghdr, kReceiveBatch> msgs_{};
  std::array<iovec, kReceiveBatch> iov_{};
  std::array<sockaddr_storage, kReceiveBatch> names_{};
  std::size_t pending_bytes_ = 0;  // asynchronous sends in flight
};

// A TCP or TLS listening socket.
class StreamListener : public std::enable_shared_from_this<StreamListener> {
 public:
  StreamListener(TransportCore& core, ListenerIndex index, tcp::acceptor acceptor);
  void start();
  void close();
  const Endpoint& local() const { return local_; }

 private:
  void accept();

  TransportCore* core_;
  ListenerIndex index_;
  tcp::acceptor acceptor_;
  asio::steady_timer retry_timer_;
  Endpoint local_;
};

class TransportCore {
 public:
  TransportCore(asio::io_context& io, Config config, Callbacks callbacks);
  ~TransportCore();

  // The Transport API.
  void start();
  void stop();
  // `owned`, when given, holds `bytes` and may be moved from (no copy).
  ConnectionId send(const SendTarget& target, std::string_view bytes, std::string* owned);
  void closeConnection(ConnectionId id);
  ReloadResult reloadCertificates();
  std::optional<std::size_t> addTlsClient(const TlsClientOptions& options, std::string* error);
  Endpoint localEndpoint(ListenerIndex listener) const;
  const Config& config() const { return config_; }
  std::optional<ConnectionInfo> connectionInfo(ConnectionId id) const;
  const Stats& stats() const { return stats_; }

  // For connections and listeners.
  asio::io_context& io() { return io_; }
  const Limits& limits() const { return config_.limits; }
  Stats& counters() { return stats_; }
  ProtocolCounters& counters(Protocol protocol) {
    return stats_.per_protocol[static_cast<std::size_t>(protocol)];
  }
  std::string_view realm(ListenerIndex listener) const;
  void deliver(InboundMessage&& message);
  // Calls on_error now, or on the next loop turn when inside an API call.
  void report(const TransportError& error);
  void connectionClosed(StreamConnection& connection, CloseReason reason);
  void accepted(ListenerIndex listener, tcp::socket socket);

 private:
  struct ListenerState {
    Endpoint local;
    std::shared_ptr<UdpListener> udp;
    std::shared_ptr<StreamListener> stream;
    SslContextPtr tls;  // current server context; connections keep their own
  };
  struct RemoteKey {
    Protocol protocol;
    Endpoint remote;
    friend bool operator==(const RemoteKey&, const RemoteKey&) = default;
  };
  struct RemoteKeyHash {
    std::size_t operator()(const RemoteKey& key) const noexcept {
      return EndpointHash{}(key.remote) * 3 + static_cast<std::size_t>(key.protocol);
    }
  };
  // RAII marker for "inside an API call": callbacks are deferred meanwhile.
  class ApiScope {
   public:
    explicit ApiScope(TransportCore& core) : core_(core) { ++core_.api_depth_; }
    ~ApiScope() { --core_.api_depth_; }
    ApiScope(const ApiScope&) = delete;
    ApiScope& operator=(const ApiScope&) = delete;

   private:
    TransportCore& core_;
  };

  void bindListener(ListenerIndex index);
  ConnectionId sendUdp(const SendTarget& target, std::string_view bytes, std::string* owned);
  ConnectionId sendStream(const SendTarget& target, std::string bytes);
  UdpListener* pickUdpListener(ListenerIndex preferred, IpAddress::Family family);
  void registerConnection(const StreamConnectionPtr& connection);
  void fail(const SendTarget& target, ErrorKind kind, std::string_view detail);
  template <typename F>
  void notify(F&& callback_call);

  asio::io_context& io_;
  Config config_;
  Callbacks callbacks_;
  Stats stats_;
  std::vector<ListenerState> listeners_;
  std::vector<SslContextPtr> client_contexts_;
  std::unordered_map<ConnectionId, StreamConnectionPtr> connections_;
  std::unordered_map<RemoteKey, ConnectionId, RemoteKeyHash> by_remote_;
  ConnectionId next_id_ = 1;
  int api_depth_ = 0;
  bool started_ = false;
  bool stopped_ = false;
  // Posted callbacks hold a weak_ptr to this and give up once it is gone.
  std::shared_ptr<char> alive_ = std::make_shared<char>();
};

}  // namespace sbc::transport::detail

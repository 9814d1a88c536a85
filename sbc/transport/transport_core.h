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
  // After a failed one: its kind, and OpenSSL's reason appended to *detail.
  virtual TlsFailure classifyHandshakeFailure(const boost::system::error_code& /*ec*/,
                                              std::string* /*detail*/) {
    return TlsFailure::kOther;
  }

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
  void handshakeFailed(TlsFailure failure, std::string_view detail);

  asio::steady_timer timer_;
  Clock::time_point deadline_{};
  StreamFramer framer_;
  std::deque<Outgoing> queue_;
  std::size_t queued_bytes_ = 0;
  std::size_t writing_items_ = 0;  // items at the front of queue_ being written
  std::vector<asio::const_buffer> write_buffers_;
  State state_ = State::kConnecting;
  CloseReason drain_reason_ = CloseReason::kFramingError;
  TlsFailure tls_failure_ = TlsFailure::kNone;  // outbound handshake failure, for errors
};

using StreamConnectionPtr = std::shared_ptr<StreamConnection>;

// tcp.cc / tls.cc
StreamConnectionPtr makeTcpConnection(TransportCore& core, ConnectionId id, ListenerIndex listener,
                                      bool outbound, tcp::socket socket);
// Outbound: `server_name` is the SNI / verified name, `profile` the
// SendTarget::tls_profile (both part of the connection's reuse key).
StreamConnectionPtr makeTlsConnection(TransportCore& core, ConnectionId id, ListenerIndex listener,
                                      bool outbound, tcp::socket socket, SslContextPtr context,
                                      std::string server_name, bool verify_server,
                                      std::size_t profile = 0);
// tls.cc: build contexts from files; nullptr and *error set on failure.
SslContextPtr makeServerContext(const TlsServerOptions& options, std::string* error);
SslContextPtr makeClientContext(const TlsClientOptions& options, std::string* error);

struct UdpTiming;  // udp.cc: SBC_UDP_TIMING histograms

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
  // Sends what send() queued while the core batched (sendmmsg).
  void flushQueued();

 private:
  static constexpr std::size_t kReceiveBatch = 16;  // datagrams per recvmmsg
  static constexpr std::size_t kSendBatch = 32;     // datagrams per sendmmsg at most
  struct Queued {
    std::size_t offset;  // into out_bytes_
    std::size_t size;
    udp::endpoint destination;
    Endpoint remote;
    std::uint64_t owner;
  };

  void wait();
  void onReadable(const boost::system::error_code& ec);
  bool handleDatagram(std::size_t slot);
  // SBC_UDP_TIMING: records the socket-queue wait of n datagrams; returns
  // the batch's start time (CLOCK_MONOTONIC, us).
  std::int64_t recordArrivals(int n);
  void sendLater(const udp::endpoint& destination, const Endpoint& remote, std::string_view bytes,
                 std::uint64_t owner, std::string* owned);
  void sendFailed(const Endpoint& remote, std::uint64_t owner, int error_number);
  void reportSendError(const Endpoint& remote, std::uint64_t owner, const std::string& detail);

  TransportCore* core_;
  ListenerIndex index_;
  udp::socket socket_;
  Endpoint local_;
  std::unique_ptr<char[]> buffer_;  // kReceiveBatch slots of 64 KiB
  std::array<mmsghdr, kReceiveBatch> msgs_{};
  std::array<iovec, kReceiveBatch> iov_{};
  std::array<sockaddr_storage, kReceiveBatch> names_{};
  std::size_t pending_bytes_ = 0;      // asynchronous sends in flight
  std::vector<Queued> queued_;         // while the core batches sends
  std::string out_bytes_;              // their bytes, back to back
  std::unique_ptr<UdpTiming> timing_;  // only when SBC_UDP_TIMING is set
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
  ReloadResult swapCertificates(const TlsCertificatesPtr& certificates);
  std::size_t addTlsClient(const TlsClientContextPtr& context);
  bool replaceTlsClient(std::size_t index, const TlsClientContextPtr& context);
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
  // UDP sends made between these (one received batch: udp.cc) wait and leave
  // with one sendmmsg per socket at the end, before the loop can sleep.
  void beginUdpBatch() { ++udp_batch_depth_; }
  void endUdpBatch();
  bool batchingUdp() const { return udp_batch_depth_ > 0; }
  void udpQueued(UdpListener* listener) { udp_queued_.push_back(listener); }
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
  // Which connection a send may reuse. Outbound TLS connections also carry
  // their client profile and SNI name: two trunks with different client
  // certificates to one gateway must not share one. Inbound connections
  // (and TCP) have profile 0 and no name.
  struct RemoteKeyView {
    Protocol protocol;
    const Endpoint& remote;
    std::size_t tls_profile;
    std::string_view server_name;
  };
  struct RemoteKey {
    Protocol protocol;
    Endpoint remote;
    std::size_t tls_profile = 0;
    std::string server_name;
    RemoteKeyView view() const { return {protocol, remote, tls_profile, server_name}; }
  };
  struct RemoteKeyHash {
    using is_transparent = void;
    std::size_t operator()(const RemoteKeyView& key) const noexcept {
      std::size_t h = EndpointHash{}(key.remote) * 3 + static_cast<std::size_t>(key.protocol);
      if (key.tls_profile != 0 || !key.server_name.empty()) {
        h ^= (key.tls_profile + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2)) ^
             std::hash<std::string_view>{}(key.server_name);
      }
      return h;
    }
    std::size_t operator()(const RemoteKey& key) const noexcept { return (*this)(key.view()); }
  };
  struct RemoteKeyEqual {
    using is_transparent = void;
    static bool same(const RemoteKeyView& a, const RemoteKeyView& b) {
      return a.protocol == b.protocol && a.remote == b.remote && a.tls_profile == b.tls_profile &&
             a.server_name == b.server_name;
    }
    bool operator()(const RemoteKey& a, const RemoteKey& b) const {
      return same(a.view(), b.view());
    }
    bool operator()(const RemoteKeyView& a, const RemoteKey& b) const { return same(a, b.view()); }
    bool operator()(const RemoteKey& a, const RemoteKeyView& b) const { return same(a.view(), b); }
  };
  static RemoteKeyView keyOf(const ConnectionInfo& info);
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
  std::vector<SslContextPtr> client_contexts_;  // parallel to config_.tls_clients
  std::size_t static_clients_ = 0;              // Config::tls_clients (with the default)
  // Per profile: added ready-made (addTlsClient), so never re-read here.
  std::vector<bool> client_ready_made_;
  std::unordered_map<ConnectionId, StreamConnectionPtr> connections_;
  std::unordered_map<RemoteKey, ConnectionId, RemoteKeyHash, RemoteKeyEqual> by_remote_;
  ConnectionId next_id_ = 1;
  int api_depth_ = 0;
  int udp_batch_depth_ = 0;
  std::vector<UdpListener*> udp_queued_;  // listeners with sends waiting in the batch
  bool started_ = false;
  bool stopped_ = false;
  // Posted callbacks hold a weak_ptr to this and give up once it is gone.
  std::shared_ptr<char> alive_ = std::make_shared<char>();
};

}  // namespace sbc::transport::detail

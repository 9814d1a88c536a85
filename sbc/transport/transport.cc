#include "sbc/transport/transport.h"

#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <stdexcept>
#include <utility>

#include "sbc/transport/transport_core.h"

namespace sbc::transport {

std::string_view toString(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kConnectFailed:
      return "connect failed";
    case ErrorKind::kHandshakeFailed:
      return "TLS handshake failed";
    case ErrorKind::kFramingError:
      return "framing error";
    case ErrorKind::kSendQueueOverflow:
      return "send queue overflow";
    case ErrorKind::kConnectionLimit:
      return "connection limit reached";
    case ErrorKind::kConnectionLost:
      return "connection lost";
    case ErrorKind::kSendFailed:
      return "send failed";
    case ErrorKind::kBadTarget:
      return "bad send target";
  }
  return "?";
}

std::string_view toString(TlsFailure failure) {
  switch (failure) {
    case TlsFailure::kNone:
      return "none";
    case TlsFailure::kUntrusted:
      return "untrusted";
    case TlsFailure::kNameMismatch:
      return "name_mismatch";
    case TlsFailure::kPeerAlert:
      return "peer_alert";
    case TlsFailure::kProtocol:
      return "protocol";
    case TlsFailure::kClosed:
      return "closed";
    case TlsFailure::kTimeout:
      return "timeout";
    case TlsFailure::kOther:
      return "other";
  }
  return "other";
}

std::string_view toString(CloseReason reason) {
  switch (reason) {
    case CloseReason::kPeerClosed:
      return "peer closed";
    case CloseReason::kIdleTimeout:
      return "idle timeout";
    case CloseReason::kFramingError:
      return "framing error";
    case CloseReason::kSendQueueOverflow:
      return "send queue overflow";
    case CloseReason::kIoError:
      return "I/O error";
    case CloseReason::kConnectFailed:
      return "connect failed";
    case CloseReason::kHandshakeFailed:
      return "TLS handshake failed";
    case CloseReason::kClosedByApp:
      return "closed by application";
  }
  return "?";
}

Transport::Transport(boost::asio::io_context& io, Config config, Callbacks callbacks)
    : core_(std::make_unique<detail::TransportCore>(io, std::move(config), std::move(callbacks))) {}

Transport::~Transport() = default;

void Transport::start() {
  core_->start();
}
void Transport::stop() {
  core_->stop();
}
ConnectionId Transport::send(const SendTarget& target, std::string bytes) {
  return core_->send(target, bytes, &bytes);
}
ConnectionId Transport::sendBytes(const SendTarget& target, std::string_view bytes) {
  return core_->send(target, bytes, nullptr);
}
void Transport::closeConnection(ConnectionId id) {
  core_->closeConnection(id);
}
ReloadResult Transport::reloadCertificates() {
  return core_->reloadCertificates();
}

ReloadResult Transport::swapCertificates(const TlsCertificatesPtr& certificates) {
  return core_->swapCertificates(certificates);
}

std::size_t Transport::addTlsClient(const TlsClientContextPtr& context) {
  return core_->addTlsClient(context);
}
bool Transport::replaceTlsClient(std::size_t index, const TlsClientContextPtr& context) {
  return core_->replaceTlsClient(index, context);
}
Endpoint Transport::localEndpoint(ListenerIndex listener) const {
  return core_->localEndpoint(listener);
}
const Config& Transport::config() const {
  return core_->config();
}
std::optional<ConnectionInfo> Transport::connectionInfo(ConnectionId id) const {
  return core_->connectionInfo(id);
}
const Stats& Transport::stats() const {
  return core_->stats();
}

namespace detail {

asio::ip::address toAsio(const IpAddress& address) {
  if (address.isV4()) {
    asio::ip::address_v4::bytes_type bytes;
    std::copy_n(address.bytes().begin(), bytes.size(), bytes.begin());
    return asio::ip::address_v4(bytes);
  }
  asio::ip::address_v6::bytes_type bytes;
  std::copy_n(address.bytes().begin(), bytes.size(), bytes.begin());
  return asio::ip::address_v6(bytes, address.scopeId());
}

IpAddress fromAsio(const asio::ip::address& address) {
  if (address.is_v4()) return IpAddress::v4(address.to_v4().to_bytes());
  const auto v6 = address.to_v6();
  // One peer, one key: a v4-mapped source is the IPv4 peer it stands for.
  if (v6.is_v4_mapped()) {
    return IpAddress::v4(asio::ip::make_address_v4(asio::ip::v4_mapped, v6).to_bytes());
  }
  return IpAddress::v6(v6.to_bytes(), static_cast<std::uint32_t>(v6.scope_id()));
}

TransportCore::TransportCore(asio::io_context& io, Config config, Callbacks callbacks)
    : io_(io), config_(std::move(config)), callbacks_(std::move(callbacks)) {
  if (config_.tls_clients.empty()) config_.tls_clients.emplace_back();
  client_contexts_.resize(config_.tls_clients.size());
  client_ready_made_.assign(config_.tls_clients.size(), false);
  static_clients_ = config_.tls_clients.size();
  next_id_ = (static_cast<ConnectionId>(config_.shard) << 48) + 1;
  listeners_.resize(config_.listeners.size());
}

TransportCore::~TransportCore() {
  stop();
}

void TransportCore::start() {
  if (started_) return;
  if (stopped_) throw std::runtime_error("transport: start() after stop()");
  // Certificates first, so that a bad file fails before anything is bound.
  std::string error;
  for (ListenerIndex i = 0; i < config_.listeners.size(); ++i) {
    const auto& listener = config_.listeners[i];
    if (listener.protocol != Protocol::kTls) continue;
    listeners_[i].tls = makeServerContext(listener.tls, &error);
    if (!listeners_[i].tls) {
      throw std::runtime_error("transport: listener " + std::to_string(i) + " (" + listener.realm +
                               "): " + error);
    }
  }
  for (std::size_t i = 0; i < config_.tls_clients.size(); ++i) {
    if (client_ready_made_[i]) continue;
    auto context = makeClientContext(config_.tls_clients[i], &error);
    if (!context) {
      throw std::runtime_error("transport: TLS client profile " + std::to_string(i) + ": " + error);
    }
    client_contexts_[i] = std::move(context);
  }
  for (ListenerIndex i = 0; i < config_.listeners.size(); ++i) bindListener(i);
  started_ = true;
}

void TransportCore::bindListener(ListenerIndex index) {
  const auto& listener = config_.listeners[index];
  const auto describe = [&] {
    return "transport: listener " + std::to_string(index) + " (" + listener.realm + " " +
           std::string(toString(listener.protocol)) + " " + listener.bind_address + ":" +
           std::to_string(listener.port) + ")";
  };
  const auto address = IpAddress::parse(listener.bind_address);
  if (!address) throw std::runtime_error(describe() + ": bind_address is not an IP address");
  const auto asio_address = toAsio(*address);
  boost::system::error_code ec;

  if (listener.protocol == Protocol::kUdp) {
    const udp::endpoint endpoint(asio_address, listener.port);
    udp::socket socket(io_);
    socket.open(endpoint.protocol(), ec);
    if (!ec && address->isV6()) socket.set_option(asio::ip::v6_only(true), ec);
    if (!ec) socket.bind(endpoint, ec);
    if (!ec) socket.non_blocking(true, ec);
    if (ec) throw std::runtime_error(describe() + ": " + ec.message());
    // Bursts of datagrams (a PBX re-registering its phones) should wait in
    // the kernel rather than be dropped; best effort.
    boost::system::error_code ignored;
    socket.set_option(asio::socket_base::receive_buffer_size(4 * 1024 * 1024), ignored);
    auto udp_listener = std::make_shared<UdpListener>(*this, index, std::move(socket));
    listeners_[index].local = udp_listener->local();
    listeners_[index].udp = udp_listener;
    udp_listener->start();
    return;
  }

  const tcp::endpoint endpoint(asio_address, listener.port);
  tcp::acceptor acceptor(io_);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec && address->isV6()) acceptor.set_option(asio::ip::v6_only(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error(describe() + ": " + ec.message());
  auto stream_listener = std::make_shared<StreamListener>(*this, index, std::move(acceptor));
  listeners_[index].local = stream_listener->local();
  listeners_[index].stream = stream_listener;
  stream_listener->start();
}

void TransportCore::stop() {
  if (stopped_) return;
  stopped_ = true;
  for (auto& listener : listeners_) {
    if (listener.udp) listener.udp->close();
    if (listener.stream) listener.stream->close();
  }
  auto connections = std::move(connections_);
  connections_.clear();
  by_remote_.clear();
  for (auto& [id, connection] : connections) connection->detach();
  stats_.connections_open = 0;
}

ConnectionId TransportCore::send(const SendTarget& target, std::string_view bytes,
                                 std::string* owned) {
  ApiScope scope(*this);
  if (!started_ || stopped_) {
    fail(target, ErrorKind::kBadTarget, "transport is not running");
    return kNoConnection;
  }
  if (target.listener >= listeners_.size()) {
    ++stats_.send_errors;
    fail(target, ErrorKind::kBadTarget, "no such listener");
    return kNoConnection;
  }
  if (bytes.empty()) return kNoConnection;
  if (target.protocol == Protocol::kUdp) return sendUdp(target, bytes, owned);
  return sendStream(target, owned != nullptr ? std::move(*owned) : std::string(bytes));
}

UdpListener* TransportCore::pickUdpListener(ListenerIndex preferred, IpAddress::Family family) {
  const auto fits = [&](ListenerIndex i) {
    return listeners_[i].udp && listeners_[i].local.address.family() == family;
  };
  if (fits(preferred)) return listeners_[preferred].udp.get();
  const auto& realm = config_.listeners[preferred].realm;
  for (ListenerIndex i = 0; i < listeners_.size(); ++i) {
    if (config_.listeners[i].realm == realm && fits(i)) return listeners_[i].udp.get();
  }
  return nullptr;
}

ConnectionId TransportCore::sendUdp(const SendTarget& target, std::string_view bytes,
                                    std::string* owned) {
  UdpListener* listener = pickUdpListener(target.listener, target.remote.address.family());
  if (listener == nullptr) {
    ++stats_.send_errors;
    fail(target, ErrorKind::kBadTarget, "no UDP listener of this realm and address family");
    return kNoConnection;
  }
  listener->send(target.remote, bytes, target.owner, owned);
  return kNoConnection;
}

ConnectionId TransportCore::sendStream(const SendTarget& target, std::string bytes) {
  StreamConnection* connection = nullptr;
  if (target.connection != kNoConnection) {
    // A draining connection (framing error) still takes the 400 for it.
    const auto it = connections_.find(target.connection);
    if (it != connections_.end() && it->second->state() != StreamConnection::State::kClosed &&
        it->second->info().protocol == target.protocol) {
      connection = it->second.get();
    }
  }
  const bool tls = target.protocol == Protocol::kTls;
  if (tls &&
      (target.tls_profile >= client_contexts_.size() || !client_contexts_[target.tls_profile])) {
    ++stats_.send_errors;
    fail(target, ErrorKind::kBadTarget, "no such TLS client profile");
    return kNoConnection;
  }
  // The SNI this send asks for: the target's override, else the profile's.
  const std::string_view server_name =
      !tls ? std::string_view()
      : target.server_name.empty()
          ? std::string_view(config_.tls_clients[target.tls_profile].server_name)
          : target.server_name;
  if (connection == nullptr) {
    const auto it = by_remote_.find(
        RemoteKeyView{target.protocol, target.remote, tls ? target.tls_profile : 0, server_name});
    if (it != by_remote_.end()) {
      const auto found = connections_.find(it->second);
      if (found != connections_.end() && found->second->usable()) connection = found->second.get();
    }
  }
  if (connection != nullptr) {
    const ConnectionId id = connection->id();
    connection->send(std::move(bytes), target.owner);
    return id;
  }

  if (connections_.size() >= config_.limits.max_connections) {
    fail(target, ErrorKind::kConnectionLimit, "max_connections reached");
    return kNoConnection;
  }

  // Leave from the realm's own address when it has a specific one, so that
  // a multi-homed SBC keeps inside and outside traffic on their interfaces.
  std::optional<asio::ip::address> source;
  const auto& realm = config_.listeners[target.listener].realm;
  const auto source_of = [&](ListenerIndex i) -> std::optional<asio::ip::address> {
    const auto& local = listeners_[i].local.address;
    if (config_.listeners[i].realm != realm || local.isUnspecified() ||
        local.family() != target.remote.address.family()) {
      return std::nullopt;
    }
    return toAsio(local);
  };
  source = source_of(target.listener);
  for (ListenerIndex i = 0; !source && i < listeners_.size(); ++i) source = source_of(i);

  const ConnectionId id = next_id_++;
  StreamConnectionPtr created;
  if (target.protocol == Protocol::kTcp) {
    created = makeTcpConnection(*this, id, target.listener, true, tcp::socket(io_));
  } else {
    const auto& profile = config_.tls_clients[target.tls_profile];
    created = makeTlsConnection(*this, id, target.listener, true, tcp::socket(io_),
                                client_contexts_[target.tls_profile], std::string(server_name),
                                profile.verify_server, target.tls_profile);
  }
  ++stats_.connections_opened;
  created->startConnect(tcp::endpoint(toAsio(target.remote.address), target.remote.port), source);
  created->send(std::move(bytes), target.owner);  // queued until connected
  registerConnection(created);
  return id;
}

void TransportCore::registerConnection(const StreamConnectionPtr& connection) {
  if (connection->state() == StreamConnection::State::kClosed) return;
  const auto& info = connection->info();
  connections_[info.id] = connection;
  // The newest connection to a peer wins; the older one keeps working for
  // whoever names it by id.
  const RemoteKeyView key = keyOf(info);
  const auto it = by_remote_.find(key);
  if (it != by_remote_.end()) {
    it->second = info.id;
  } else {
    by_remote_.emplace(
        RemoteKey{key.protocol, key.remote, key.tls_profile, std::string(key.server_name)},
        info.id);
  }
  stats_.connections_open = connections_.size();
}

TransportCore::RemoteKeyView TransportCore::keyOf(const ConnectionInfo& info) {
  if (info.outbound && info.protocol == Protocol::kTls)
    return {info.protocol, info.remote, info.tls_profile, info.tls_server_name};
  return {info.protocol, info.remote, 0, {}};
}

void TransportCore::accepted(ListenerIndex listener, tcp::socket socket) {
  if (stopped_) return;
  boost::system::error_code ec;
  if (connections_.size() >= config_.limits.max_connections) {
    ++stats_.connections_rejected;
    socket.close(ec);
    return;
  }
  socket.remote_endpoint(ec);
  if (ec) return;  // already gone
  const ConnectionId id = next_id_++;
  const Protocol protocol = config_.listeners[listener].protocol;
  StreamConnectionPtr connection =
      protocol == Protocol::kTls ? makeTlsConnection(*this, id, listener, false, std::move(socket),
                                                     listeners_[listener].tls, {}, false)
                                 : makeTcpConnection(*this, id, listener, false, std::move(socket));
  ++stats_.connections_accepted;
  connection->startAccepted();
  registerConnection(connection);
}

void TransportCore::connectionClosed(StreamConnection& connection, CloseReason reason) {
  const ConnectionId id = connection.id();
  const auto it = connections_.find(id);
  if (it == connections_.end()) return;
  const auto remote = by_remote_.find(keyOf(connection.info()));
  if (remote != by_remote_.end() && remote->second == id) by_remote_.erase(remote);
  connections_.erase(it);  // the caller holds its own reference
  stats_.connections_open = connections_.size();
  if (callbacks_.on_closed) {
    notify([this, id, reason] {
      if (callbacks_.on_closed) callbacks_.on_closed(id, reason);
    });
  }
}

void TransportCore::closeConnection(ConnectionId id) {
  ApiScope scope(*this);
  const auto it = connections_.find(id);
  if (it == connections_.end()) return;
  auto connection = it->second;
  connection->close(CloseReason::kClosedByApp, "closed by application");
}

template <typename F>
void TransportCore::notify(F&& callback_call) {
  if (stopped_) return;
  if (api_depth_ == 0) {
    callback_call();
    return;
  }
  asio::post(io_, [alive = std::weak_ptr<char>(alive_), this,
                   call = std::forward<F>(callback_call)]() mutable {
    if (alive.expired() || stopped_) return;
    call();
  });
}

void TransportCore::report(const TransportError& error) {
  if (!callbacks_.on_error) return;
  // The views in `error` may not outlive this call: keep owned copies.
  notify([this, error, detail = std::string(error.detail), head = std::string(error.head)] {
    TransportError copy = error;
    copy.detail = detail;
    copy.head = head;
    if (callbacks_.on_error) callbacks_.on_error(copy);
  });
}

void TransportCore::fail(const SendTarget& target, ErrorKind kind, std::string_view detail) {
  TransportError error;
  error.kind = kind;
  error.protocol = target.protocol;
  error.remote = target.remote;
  error.connection = target.connection;
  error.owner = target.owner;
  error.detail = detail;
  report(error);
}

void TransportCore::deliver(InboundMessage&& message) {
  ++counters(message.protocol).messages_in;
  if (callbacks_.on_message) callbacks_.on_message(std::move(message));
}

std::string_view TransportCore::realm(ListenerIndex listener) const {
  return config_.listeners[listener].realm;
}

ReloadResult TransportCore::reloadCertificates() {
  ApiScope scope(*this);
  // Profiles added by addTlsClient() come after the configured ones and are
  // rebuilt by whoever built them.
  Config own = config_;
  own.tls_clients.resize(static_clients_);
  std::string error;
  auto certificates = loadCertificates(own, &error);
  if (!certificates) return {false, error};
  return swapCertificates(certificates);
}

ReloadResult TransportCore::swapCertificates(const TlsCertificatesPtr& certificates) {
  ApiScope scope(*this);
  if (!certificates || certificates->servers.size() != listeners_.size() ||
      certificates->clients.size() > static_clients_) {
    return {false, "certificates built for another listener set"};
  }
  for (ListenerIndex i = 0; i < listeners_.size(); ++i) {
    if (config_.listeners[i].protocol == Protocol::kTls && !certificates->servers[i]) {
      return {false, "listener " + std::to_string(i) + " (" + config_.listeners[i].realm +
                         "): no certificate"};
    }
  }
  // Established connections hold their own reference to the context they
  // were made with; only new handshakes see the new ones.
  for (ListenerIndex i = 0; i < listeners_.size(); ++i) {
    if (config_.listeners[i].protocol == Protocol::kTls) {
      listeners_[i].tls = certificates->servers[i];
    }
  }
  for (std::size_t i = 0; i < certificates->clients.size(); ++i) {
    if (certificates->clients[i]) client_contexts_[i] = certificates->clients[i];
  }
  return {};
}

std::size_t TransportCore::addTlsClient(const TlsClientContextPtr& context) {
  config_.tls_clients.push_back(context ? context->options : TlsClientOptions{});
  client_contexts_.push_back(context ? context->ssl : nullptr);
  client_ready_made_.push_back(true);
  return config_.tls_clients.size() - 1;
}

bool TransportCore::replaceTlsClient(std::size_t index, const TlsClientContextPtr& context) {
  if (!context || index >= client_ready_made_.size() || !client_ready_made_[index]) return false;
  // The name and profile index, hence the reuse key, stay: connections made
  // with the old context remain reusable, as after a SIGHUP reload.
  config_.tls_clients[index] = context->options;
  client_contexts_[index] = context->ssl;
  return true;
}

Endpoint TransportCore::localEndpoint(ListenerIndex listener) const {
  if (listener >= listeners_.size()) return {};
  return listeners_[listener].local;
}

std::optional<ConnectionInfo> TransportCore::connectionInfo(ConnectionId id) const {
  const auto it = connections_.find(id);
  if (it == connections_.end()) return std::nullopt;
  return it->second->info();
}

}  // namespace detail
}  // namespace sbc::transport

// The protocol-independent half of a TCP/TLS connection: queueing, framing,
// timers and bookkeeping. tcp.cc and tls.cc supply the socket operations.

#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>

#include "sbc/transport/transport_core.h"

namespace sbc::transport::detail {
namespace {

// After a framing error the peer gets this long to receive a 400.
constexpr auto kDrainTime = std::chrono::seconds(2);
// Gather at most this much per write so that one connection's backlog does
// not monopolise the loop.
constexpr std::size_t kMaxGatherItems = 64;
constexpr std::size_t kMaxGatherBytes = std::size_t{256} * 1024;

}  // namespace

StreamConnection::StreamConnection(TransportCore& core, ConnectionId id, Protocol protocol,
                                   ListenerIndex listener, bool outbound)
    : core_(&core), timer_(core.io()), framer_(core.limits().max_message_size) {
  info_.id = id;
  info_.protocol = protocol;
  info_.listener = listener;
  info_.outbound = outbound;
  state_ = outbound ? State::kConnecting : State::kHandshaking;
}

StreamConnection::~StreamConnection() = default;

void StreamConnection::startAccepted() {
  boost::system::error_code ec;
  info_.remote = fromAsioEndpoint(socket().remote_endpoint(ec));
  info_.local = fromAsioEndpoint(socket().local_endpoint(ec));
  socket().set_option(tcp::no_delay(true), ec);
  beginHandshake();
}

void StreamConnection::startConnect(const tcp::endpoint& remote,
                                    const std::optional<asio::ip::address>& source) {
  info_.remote = fromAsioEndpoint(remote);
  state_ = State::kConnecting;
  armTimer(Clock::now() + core_->limits().connect_timeout);
  boost::system::error_code ec;
  socket().open(remote.protocol(), ec);
  if (!ec && source) socket().bind(tcp::endpoint(*source, 0), ec);
  if (ec) {
    // Failures are always reported asynchronously so that the caller can
    // register the connection first.
    asio::post(core_->io(), [this, self = shared_from_this(), ec] { onConnected(ec); });
    return;
  }
  socket().async_connect(
      remote, [this, self = shared_from_this()](const boost::system::error_code& result) {
        onConnected(result);
      });
}

void StreamConnection::onConnected(const boost::system::error_code& ec) {
  if (state_ == State::kClosed) return;
  if (ec) {
    ++core_->counters().connect_failures;
    close(CloseReason::kConnectFailed, ec.message());
    return;
  }
  boost::system::error_code ignored;
  socket().set_option(tcp::no_delay(true), ignored);
  info_.local = fromAsioEndpoint(socket().local_endpoint(ignored));
  beginHandshake();
}

void StreamConnection::beginHandshake() {
  state_ = State::kHandshaking;
  if (isTls()) armTimer(Clock::now() + core_->limits().connect_timeout);
  asyncHandshake();
}

void StreamConnection::onHandshake(const boost::system::error_code& ec) {
  if (state_ == State::kClosed) return;
  if (ec) {
    std::string detail = ec.message();
    const TlsFailure failure = classifyHandshakeFailure(ec, &detail);
    handshakeFailed(failure, detail);
    return;
  }
  if (isTls()) ++core_->counters().tls_handshakes[info_.outbound ? 1 : 0];
  recordHandshakeDetails();
  state_ = State::kOpen;
  info_.established = true;
  armTimer(Clock::now() + core_->limits().idle_timeout);
  startRead();
  flush();
}

void StreamConnection::handshakeFailed(TlsFailure failure, std::string_view detail) {
  Stats& stats = core_->counters();
  ++stats.tls_handshake_failures;
  ++stats.tls_handshake_failed[info_.outbound ? 1 : 0];
  if (info_.outbound) {
    tls_failure_ = failure;
    ++stats.tls_client_failures[static_cast<std::size_t>(failure)];
  }
  close(CloseReason::kHandshakeFailed, detail);
}

void StreamConnection::armTimer(Clock::time_point deadline) {
  deadline_ = deadline;
  timer_.expires_at(deadline);
  timer_.async_wait(
      [this, self = shared_from_this()](const boost::system::error_code& ec) { onTimer(ec); });
}

void StreamConnection::onTimer(const boost::system::error_code& ec) {
  if (ec == asio::error::operation_aborted || state_ == State::kClosed) return;
  if (Clock::now() < deadline_) {
    // Activity pushed the deadline on; re-arming here instead of on every
    // read keeps the hot path free of timer operations.
    armTimer(deadline_);
    return;
  }
  switch (state_) {
    case State::kConnecting:
      ++core_->counters().connect_failures;
      close(CloseReason::kConnectFailed, "connect timeout");
      return;
    case State::kHandshaking:
      handshakeFailed(TlsFailure::kTimeout, "handshake timeout");
      return;
    case State::kOpen:
      ++core_->counters().idle_timeouts;
      close(CloseReason::kIdleTimeout, "idle timeout");
      return;
    case State::kDraining:
      close(drain_reason_, "closing after error");
      return;
    case State::kClosed:
      return;
  }
}

void StreamConnection::startRead() {
  const auto space = framer_.prepare();
  asyncRead(asio::buffer(space.data(), space.size()));
}

void StreamConnection::onRead(const boost::system::error_code& ec, std::size_t n) {
  if (state_ != State::kOpen) return;
  if (ec) {
    const bool orderly = ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
    close(orderly ? CloseReason::kPeerClosed : CloseReason::kIoError, ec.message());
    return;
  }
  framer_.commit(n);
  core_->counters(info_.protocol).bytes_in += n;
  deadline_ = Clock::now() + core_->limits().idle_timeout;

  for (;;) {
    const FrameEvent event = framer_.next();
    switch (event.kind) {
      case FrameKind::kNeedMore:
        startRead();
        return;
      case FrameKind::kMessage: {
        InboundMessage message;
        message.bytes.assign(event.message);
        message.protocol = info_.protocol;
        message.remote = info_.remote;
        message.local = info_.local;
        message.connection = info_.id;
        message.listener = info_.listener;
        message.realm = core_->realm(info_.listener);
        core_->deliver(std::move(message));
        // The callback may have closed this connection or stopped everything.
        if (state_ != State::kOpen) return;
        break;
      }
      case FrameKind::kPing:
        ++core_->counters().keepalive_pings;
        send("\r\n", 0, false);  // RFC 5626 4.4.1 pong
        if (state_ != State::kOpen) return;
        break;
      case FrameKind::kError: {
        ++core_->counters().framing_errors;
        // Stop reading but let the application answer first (a 400 sent on
        // this connection from the callback is written before closing).
        state_ = State::kDraining;
        drain_reason_ = CloseReason::kFramingError;
        armTimer(Clock::now() + kDrainTime);
        TransportError error;
        error.kind = ErrorKind::kFramingError;
        error.protocol = info_.protocol;
        error.remote = info_.remote;
        error.connection = info_.id;
        error.framing = event.error;
        error.detail = toString(event.error);
        error.head = framer_.errorHead();
        core_->report(error);
        if (state_ == State::kDraining && queue_.empty() && writing_items_ == 0) {
          close(CloseReason::kFramingError, toString(event.error));
        }
        return;
      }
    }
  }
}

void StreamConnection::send(std::string bytes, std::uint64_t owner, bool is_message) {
  if (state_ == State::kClosed) return;  // the core never picks a closed connection
  if (queued_bytes_ + bytes.size() > core_->limits().max_send_queue_bytes) {
    ++core_->counters().send_queue_overflows;
    TransportError error;
    error.kind = ErrorKind::kSendQueueOverflow;
    error.protocol = info_.protocol;
    error.remote = info_.remote;
    error.connection = info_.id;
    error.owner = owner;
    error.detail = "send queue limit exceeded";
    core_->report(error);
    close(CloseReason::kSendQueueOverflow, "send queue limit exceeded");
    return;
  }
  queued_bytes_ += bytes.size();
  queue_.push_back(Outgoing{std::move(bytes), owner, is_message});
  flush();
}

void StreamConnection::flush() {
  if (writing_items_ > 0 || queue_.empty()) return;
  if (state_ != State::kOpen && state_ != State::kDraining) return;
  write_buffers_.clear();
  std::size_t total = 0;
  for (const auto& item : queue_) {
    if (writing_items_ == kMaxGatherItems || (writing_items_ > 0 && total >= kMaxGatherBytes)) {
      break;
    }
    write_buffers_.emplace_back(item.bytes.data(), item.bytes.size());
    total += item.bytes.size();
    ++writing_items_;
  }
  asyncWrite(write_buffers_);
}

void StreamConnection::onWritten(const boost::system::error_code& ec, std::size_t /*n*/) {
  const std::size_t written = writing_items_;
  writing_items_ = 0;
  if (state_ == State::kClosed) return;
  if (ec) {
    close(CloseReason::kIoError, ec.message());
    return;
  }
  auto& counters = core_->counters(info_.protocol);
  for (std::size_t i = 0; i < written && !queue_.empty(); ++i) {
    const auto& item = queue_.front();
    counters.bytes_out += item.bytes.size();
    if (item.is_message) ++counters.messages_out;
    queued_bytes_ -= item.bytes.size();
    queue_.pop_front();
  }
  if (state_ == State::kOpen) deadline_ = Clock::now() + core_->limits().idle_timeout;
  if (!queue_.empty()) {
    flush();
  } else if (state_ == State::kDraining) {
    close(drain_reason_, "closing after error");
  }
}

void StreamConnection::failQueue(ErrorKind kind, std::string_view detail) {
  bool reported = false;
  for (const auto& item : queue_) {
    if (!item.is_message) continue;
    TransportError error;
    error.kind = kind;
    error.protocol = info_.protocol;
    error.remote = info_.remote;
    error.connection = info_.id;
    error.owner = item.owner;
    error.detail = detail;
    error.tls_failure = tls_failure_;
    error.tls_profile = info_.tls_profile;
    core_->report(error);
    reported = true;
  }
  // A failed connect or handshake is worth one report even with nothing
  // queued (an inbound handshake, typically).
  if (!reported && (kind == ErrorKind::kConnectFailed || kind == ErrorKind::kHandshakeFailed)) {
    TransportError error;
    error.kind = kind;
    error.protocol = info_.protocol;
    error.remote = info_.remote;
    error.connection = info_.id;
    error.detail = detail;
    error.tls_failure = tls_failure_;
    error.tls_profile = info_.tls_profile;
    core_->report(error);
  }
}

void StreamConnection::close(CloseReason reason, std::string_view detail) {
  if (state_ == State::kClosed) return;
  const auto self = shared_from_this();  // the core drops its reference below
  state_ = State::kClosed;
  boost::system::error_code ignored;
  timer_.cancel();
  socket().close(ignored);
  if (core_ != nullptr) {
    ErrorKind kind = ErrorKind::kConnectionLost;
    if (reason == CloseReason::kConnectFailed) kind = ErrorKind::kConnectFailed;
    if (reason == CloseReason::kHandshakeFailed) kind = ErrorKind::kHandshakeFailed;
    if (reason == CloseReason::kSendQueueOverflow) kind = ErrorKind::kSendQueueOverflow;
    failQueue(kind, detail);
    TransportCore* core = core_;
    core_ = nullptr;
    core->connectionClosed(*this, reason);
  }
  // Buffers of a write in flight must stay valid until it completes.
  if (writing_items_ == 0) {
    queue_.clear();
    queued_bytes_ = 0;
  }
}

void StreamConnection::detach() {
  core_ = nullptr;
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  boost::system::error_code ignored;
  timer_.cancel();
  socket().close(ignored);
}

}  // namespace sbc::transport::detail

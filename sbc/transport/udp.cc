// UDP listeners: one socket per listener, used for receiving and for sending
// from that listener's address.

#include "sbc/transport/transport_core.h"

namespace sbc::transport::detail {
namespace {

constexpr std::size_t kDatagramBufferSize = std::size_t{64} * 1024;
// Datagrams already queued in the kernel are read in a burst of up to this
// many before going back through the reactor.
constexpr int kReceiveBurst = 32;

bool onlyLineBreaks(std::string_view data) {
  for (const char c : data) {
    if (c != '\r' && c != '\n') return false;
  }
  return true;
}

}  // namespace

UdpListener::UdpListener(TransportCore& core, ListenerIndex index, udp::socket socket)
    : core_(&core),
      index_(index),
      socket_(std::move(socket)),
      buffer_(new char[kDatagramBufferSize]) {
  boost::system::error_code ec;
  local_ = fromAsioEndpoint(socket_.local_endpoint(ec));
}

UdpListener::~UdpListener() = default;

void UdpListener::start() {
  receive();
}

void UdpListener::close() {
  core_ = nullptr;
  boost::system::error_code ignored;
  socket_.close(ignored);
}

void UdpListener::receive() {
  socket_.async_receive_from(
      asio::buffer(buffer_.get(), kDatagramBufferSize), sender_,
      [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
        self->onReceive(ec, n);
      });
}

void UdpListener::onReceive(const boost::system::error_code& ec, std::size_t n) {
  if (core_ == nullptr || ec == asio::error::operation_aborted) return;
  // Other errors (an ICMP error queued on the socket, say) concern one
  // datagram, not the socket: keep receiving.
  if (!ec) {
    if (!handleDatagram(n)) return;
    for (int i = 0; i < kReceiveBurst; ++i) {
      boost::system::error_code burst_ec;
      const std::size_t size = socket_.receive_from(
          asio::buffer(buffer_.get(), kDatagramBufferSize), sender_, 0, burst_ec);
      if (burst_ec) break;  // would_block: drained
      if (!handleDatagram(size)) return;
    }
  }
  receive();
}

bool UdpListener::handleDatagram(std::size_t n) {
  core_->counters(Protocol::kUdp).bytes_in += n;
  const std::string_view data(buffer_.get(), n);
  // CRLF keepalives over UDP are answered by nobody (RFC 5626 uses STUN on
  // UDP) and are not messages.
  if (n > core_->limits().max_message_size || onlyLineBreaks(data)) {
    ++core_->counters().datagrams_dropped;
    return true;
  }
  InboundMessage message;
  message.bytes.assign(data);
  message.protocol = Protocol::kUdp;
  message.remote = fromAsioEndpoint(sender_);
  message.local = local_;
  message.listener = index_;
  message.realm = core_->realm(index_);
  core_->deliver(std::move(message));
  return core_ != nullptr;  // stop() from the callback closes this listener
}

void UdpListener::send(const Endpoint& remote, std::string_view bytes, std::uint64_t owner,
                       std::string* owned) {
  const udp::endpoint destination(toAsio(remote.address), remote.port);
  boost::system::error_code ec;
  // The socket is non-blocking: the common case completes here without
  // allocating an operation.
  const std::size_t sent = socket_.send_to(asio::buffer(bytes), destination, 0, ec);
  auto& counters = core_->counters(Protocol::kUdp);
  if (!ec) {
    ++counters.messages_out;
    counters.bytes_out += sent;
    return;
  }
  TransportError error;
  error.kind = ErrorKind::kSendFailed;
  error.protocol = Protocol::kUdp;
  error.remote = remote;
  error.owner = owner;
  if (ec == asio::error::would_block || ec == asio::error::try_again) {
    if (pending_bytes_ + bytes.size() > core_->limits().max_send_queue_bytes) {
      ++core_->counters().send_errors;
      error.detail = "UDP send queue full";
      core_->report(error);
      return;
    }
    pending_bytes_ += bytes.size();
    auto held =
        std::make_shared<std::string>(owned != nullptr ? std::move(*owned) : std::string(bytes));
    socket_.async_send_to(asio::buffer(*held), destination,
                          [self = shared_from_this(), held, remote, owner](
                              const boost::system::error_code& async_ec, std::size_t n) {
                            self->pending_bytes_ -= held->size();
                            if (self->core_ == nullptr) return;
                            if (!async_ec) {
                              auto& async_counters = self->core_->counters(Protocol::kUdp);
                              ++async_counters.messages_out;
                              async_counters.bytes_out += n;
                              return;
                            }
                            ++self->core_->counters().send_errors;
                            TransportError async_error;
                            async_error.kind = ErrorKind::kSendFailed;
                            async_error.protocol = Protocol::kUdp;
                            async_error.remote = remote;
                            async_error.owner = owner;
                            const std::string detail = async_ec.message();
                            async_error.detail = detail;
                            self->core_->report(async_error);
                          });
    return;
  }
  ++core_->counters().send_errors;
  const std::string detail = ec.message();
  error.detail = detail;
  core_->report(error);
}

}  // namespace sbc::transport::detail

// UDP listeners: one socket per listener, used for receiving and for sending
// from that listener's address.

#include <sys/socket.h>

#include <boost/asio/post.hpp>
#include <cerrno>
#include <cstring>

#include "sbc/transport/transport_core.h"

namespace sbc::transport::detail {
namespace {

constexpr std::size_t kDatagramBufferSize = std::size_t{64} * 1024;
// Rounds of recvmmsg per readiness event before going back through the
// reactor (timers and the other sockets get their turn).
constexpr int kReceiveRounds = 4;

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
      // Pages of a slot are only touched as far as its datagrams reach.
      buffer_(std::make_unique_for_overwrite<char[]>(kDatagramBufferSize * kReceiveBatch)) {
  boost::system::error_code ec;
  local_ = fromAsioEndpoint(socket_.local_endpoint(ec));
}

UdpListener::~UdpListener() = default;

void UdpListener::start() {
  wait();
}

void UdpListener::close() {
  core_ = nullptr;
  boost::system::error_code ignored;
  socket_.close(ignored);
}

// Readiness, then recvmmsg until the socket is drained: one system call per
// burst, and none that only learns EAGAIN when a batch comes back short
// (async_receive_from cost two such calls per datagram at light load). Asio
// arms each wait with EPOLL_CTL_MOD, which re-reports data already queued,
// so a wait never strands datagrams; after kReceiveRounds full batches the
// listener posts itself instead, so that timers and other sockets get a turn.
void UdpListener::wait() {
  socket_.async_wait(
      udp::socket::wait_read,
      [self = shared_from_this()](const boost::system::error_code& ec) { self->onReadable(ec); });
}

void UdpListener::onReadable(const boost::system::error_code& ec) {
  if (core_ == nullptr || ec == asio::error::operation_aborted) return;
  for (int round = 0; round < kReceiveRounds; ++round) {
    for (std::size_t i = 0; i < kReceiveBatch; ++i) {
      iov_[i].iov_base = buffer_.get() + i * kDatagramBufferSize;
      iov_[i].iov_len = kDatagramBufferSize;
      msgs_[i].msg_hdr = {};
      msgs_[i].msg_hdr.msg_name = &names_[i];
      msgs_[i].msg_hdr.msg_namelen = sizeof(names_[i]);
      msgs_[i].msg_hdr.msg_iov = &iov_[i];
      msgs_[i].msg_hdr.msg_iovlen = 1;
      msgs_[i].msg_len = 0;
    }
    const int n = ::recvmmsg(socket_.native_handle(), msgs_.data(),
                             static_cast<unsigned>(kReceiveBatch), MSG_DONTWAIT, nullptr);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) {  // drained
        wait();
        return;
      }
      // Anything else (an ICMP error queued on the socket, EINTR) concerns
      // one datagram, not the socket, and is consumed by this call.
      continue;
    }
    for (int i = 0; i < n; ++i) {
      if (!handleDatagram(static_cast<std::size_t>(i))) return;
    }
    if (static_cast<std::size_t>(n) < kReceiveBatch) {
      wait();
      return;
    }
  }
  if (core_ == nullptr) return;
  // A full batch (or errors) every round: more may be queued; let the
  // reactor run other handlers first.
  asio::post(socket_.get_executor(),
             [self = shared_from_this()] { self->onReadable(boost::system::error_code{}); });
}

bool UdpListener::handleDatagram(std::size_t slot) {
  const mmsghdr& m = msgs_[slot];
  const std::size_t n = m.msg_len;
  core_->counters(Protocol::kUdp).bytes_in += n;
  const std::string_view data(buffer_.get() + slot * kDatagramBufferSize, n);
  // CRLF keepalives over UDP are answered by nobody (RFC 5626 uses STUN on
  // UDP) and are not messages. A truncated datagram was too big anyway.
  if ((m.msg_hdr.msg_flags & MSG_TRUNC) != 0 || n > core_->limits().max_message_size ||
      onlyLineBreaks(data)) {
    ++core_->counters().datagrams_dropped;
    return true;
  }
  udp::endpoint sender;
  const std::size_t name_len = std::min<std::size_t>(m.msg_hdr.msg_namelen, sender.capacity());
  std::memcpy(sender.data(), &names_[slot], name_len);
  sender.resize(name_len);
  InboundMessage message;
  message.bytes.assign(data);
  message.protocol = Protocol::kUdp;
  message.remote = fromAsioEndpoint(sender);
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

// UDP listeners: one socket per listener, used for receiving and for sending
// from that listener's address.

#include <sys/socket.h>

#include <time.h>
#include <boost/asio/post.hpp>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <system_error>

#include "sbc/transport/transport_core.h"
#include "sbc/transport/work_timing.h"

namespace sbc::transport::detail {
namespace {

constexpr std::size_t kDatagramBufferSize = std::size_t{64} * 1024;
// Rounds of recvmmsg per readiness event before going back through the
// reactor (timers and the other sockets get their turn).
constexpr int kReceiveRounds = 4;
// Received datagrams handled between two flushes of the replies they caused:
// ~4 sends per sendmmsg (most of the saving: a send syscall costs ~0.5 us
// over the ~2.5 us a loopback datagram costs here), and a reply waits behind
// at most three other datagrams' work (~0.1 ms).
constexpr int kFlushEvery = 4;

bool onlyLineBreaks(std::string_view data) {
  for (const char c : data) {
    if (c != '\r' && c != '\n') return false;
  }
  return true;
}

}  // namespace

// A diagnostic for latency work, off unless the environment variable
// SBC_UDP_TIMING is set: how long each datagram waited in the socket queue
// (kernel arrival, SO_TIMESTAMPNS, to recvmmsg returning: includes the SIP
// thread's run-queue waits and its work on earlier datagrams) and how long
// each received batch took to handle (recvmmsg returning to its replies
// flushed). Printed to stderr when the listener closes, as log2 buckets.
struct UdpTiming {
  static constexpr std::size_t kBuckets = 24;  // up to 2^23 us (8 s)
  static constexpr std::size_t kControlSize = CMSG_SPACE(sizeof(timespec));
  std::array<std::array<char, kControlSize>, 16> control{};
  std::array<std::uint64_t, kBuckets> queue_us{};
  std::array<std::uint64_t, kBuckets> batch_us{};

  static void add(std::array<std::uint64_t, kBuckets>& histogram, std::int64_t us) {
    std::size_t bucket = 0;
    while (bucket + 1 < kBuckets && (std::int64_t{1} << bucket) < us) ++bucket;
    ++histogram[bucket];
  }
  static std::int64_t nowUs(clockid_t clock) {
    timespec ts{};
    ::clock_gettime(clock, &ts);
    return std::int64_t{ts.tv_sec} * 1'000'000 + ts.tv_nsec / 1000;
  }
  static void print(const char* what, const Endpoint& local,
                    const std::array<std::uint64_t, kBuckets>& histogram) {
    std::uint64_t total = 0;
    for (const auto n : histogram) total += n;
    if (total == 0) return;
    std::string line;
    std::uint64_t seen = 0;
    const auto percentile = [&](double p) {
      std::uint64_t acc = 0;
      for (std::size_t b = 0; b < kBuckets; ++b) {
        acc += histogram[b];
        if (static_cast<double>(acc) >= p * static_cast<double>(total)) {
          return std::int64_t{1} << b;
        }
      }
      return std::int64_t{1} << (kBuckets - 1);
    };
    for (std::size_t b = 0; b < kBuckets; ++b) {
      if (histogram[b] == 0) continue;
      seen += histogram[b];
      line += " <=" + std::to_string(std::int64_t{1} << b) + ":" + std::to_string(histogram[b]);
    }
    std::fprintf(stderr, "udp timing %s %s: n=%llu p50<=%lld p99<=%lld p99.9<=%lld us;%s\n", what,
                 local.toString().c_str(), static_cast<unsigned long long>(seen),
                 static_cast<long long>(percentile(0.5)), static_cast<long long>(percentile(0.99)),
                 static_cast<long long>(percentile(0.999)), line.c_str());
  }
};

UdpListener::UdpListener(TransportCore& core, ListenerIndex index, udp::socket socket)
    : core_(&core),
      index_(index),
      socket_(std::move(socket)),
      // Pages of a slot are only touched as far as its datagrams reach.
      buffer_(std::make_unique_for_overwrite<char[]>(kDatagramBufferSize * kReceiveBatch)) {
  boost::system::error_code ec;
  local_ = fromAsioEndpoint(socket_.local_endpoint(ec));
  static_assert(std::tuple_size_v<decltype(UdpTiming::control)> >= kReceiveBatch);
  if (std::getenv("SBC_UDP_TIMING") != nullptr) {  // NOLINT(concurrency-mt-unsafe): start-up
    const int on = 1;
    if (::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on)) == 0) {
      timing_ = std::make_unique<UdpTiming>();
    }
  }
}

UdpListener::~UdpListener() {
  if (timing_) {
    UdpTiming::print("socket-queue", local_, timing_->queue_us);
    UdpTiming::print("batch", local_, timing_->batch_us);
  }
}

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
      if (timing_) {
        msgs_[i].msg_hdr.msg_control = timing_->control[i].data();
        msgs_[i].msg_hdr.msg_controllen = UdpTiming::kControlSize;
      }
    }
    if (round == 0) WorkTiming::mark("udp", 0);
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
    {
      WorkTiming::mark("udp", static_cast<std::size_t>(n));
      const std::int64_t batch_start = timing_ ? recordArrivals(n) : 0;
      // Replies made while handling this batch leave together (sendmmsg),
      // every kFlushEvery datagrams, so that none waits behind a whole
      // batch's work.
      TransportCore* core = core_;
      core->beginUdpBatch();
      bool open = true;
      for (int i = 0; i < n && open; ++i) {
        open = handleDatagram(static_cast<std::size_t>(i));
        if (open && (i + 1) % kFlushEvery == 0 && i + 1 < n) {
          core->endUdpBatch();
          core->beginUdpBatch();
        }
      }
      core->endUdpBatch();
      if (timing_) {
        UdpTiming::add(timing_->batch_us, UdpTiming::nowUs(CLOCK_MONOTONIC) - batch_start);
      }
      if (!open) return;
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

std::int64_t UdpListener::recordArrivals(int n) {
  const std::int64_t now = UdpTiming::nowUs(CLOCK_REALTIME);
  for (int i = 0; i < n; ++i) {
    msghdr& header = msgs_[static_cast<std::size_t>(i)].msg_hdr;
    for (cmsghdr* c = CMSG_FIRSTHDR(&header); c != nullptr; c = CMSG_NXTHDR(&header, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS) continue;
      timespec arrived{};
      std::memcpy(&arrived, CMSG_DATA(c), sizeof(arrived));
      UdpTiming::add(timing_->queue_us,
                     now - (std::int64_t{arrived.tv_sec} * 1'000'000 + arrived.tv_nsec / 1000));
    }
  }
  return UdpTiming::nowUs(CLOCK_MONOTONIC);
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
  if (core_->batchingUdp()) {
    // Copied: a caller's bytes need only live until send() returns.
    if (queued_.empty()) core_->udpQueued(this);
    queued_.push_back({out_bytes_.size(), bytes.size(), destination, remote, owner});
    out_bytes_.append(bytes);
    if (queued_.size() == kSendBatch) flushQueued();
    return;
  }
  boost::system::error_code ec;
  // The socket is non-blocking: the common case completes here without
  // allocating an operation.
  const std::size_t sent = socket_.send_to(asio::buffer(bytes), destination, 0, ec);
  if (!ec) {
    auto& counters = core_->counters(Protocol::kUdp);
    ++counters.messages_out;
    counters.bytes_out += sent;
    return;
  }
  if (ec == asio::error::would_block || ec == asio::error::try_again) {
    sendLater(destination, remote, bytes, owner, owned);
    return;
  }
  sendFailed(remote, owner, ec.value());
}

void UdpListener::flushQueued() {
  if (core_ == nullptr) {
    queued_.clear();
    out_bytes_.clear();
    return;
  }
  std::array<mmsghdr, kSendBatch> msgs{};
  std::array<iovec, kSendBatch> iov{};
  const std::size_t n = queued_.size();
  for (std::size_t i = 0; i < n; ++i) {
    Queued& q = queued_[i];
    iov[i].iov_base = out_bytes_.data() + q.offset;
    iov[i].iov_len = q.size;
    msgs[i].msg_hdr.msg_name = q.destination.data();
    msgs[i].msg_hdr.msg_namelen = static_cast<socklen_t>(q.destination.size());
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  auto& counters = core_->counters(Protocol::kUdp);
  std::size_t i = 0;
  while (i < n) {
    const int r = ::sendmmsg(socket_.native_handle(), msgs.data() + i, static_cast<unsigned>(n - i),
                             MSG_DONTWAIT);
    if (r > 0) {
      for (std::size_t k = i; k < i + static_cast<std::size_t>(r); ++k) {
        ++counters.messages_out;
        counters.bytes_out += msgs[k].msg_len;
      }
      i += static_cast<std::size_t>(r);
      continue;
    }
    const int error_number = errno;
    if (error_number == EINTR) continue;
    if (error_number == EAGAIN || error_number == EWOULDBLOCK) {
      // The socket buffer is full: the rest wait for it, in order.
      for (; i < n; ++i) {
        const Queued& q = queued_[i];
        sendLater(q.destination, q.remote, {out_bytes_.data() + q.offset, q.size}, q.owner,
                  nullptr);
      }
      break;
    }
    // sendmmsg reports an error only for the first datagram it tried.
    sendFailed(queued_[i].remote, queued_[i].owner, error_number);
    ++i;
    if (core_ == nullptr) break;  // the error callback stopped the transport
  }
  queued_.clear();
  out_bytes_.clear();
}

void TransportCore::endUdpBatch() {
  if (--udp_batch_depth_ > 0) return;
  // A failure reported while flushing may send again: that goes out at once.
  auto listeners = std::move(udp_queued_);
  udp_queued_.clear();
  for (UdpListener* listener : listeners) listener->flushQueued();
  if (udp_queued_.empty()) {
    listeners.clear();
    udp_queued_ = std::move(listeners);  // keeps the capacity
  }
}

void UdpListener::sendFailed(const Endpoint& remote, std::uint64_t owner, int error_number) {
  reportSendError(remote, owner, std::system_category().message(error_number));
}

void UdpListener::reportSendError(const Endpoint& remote, std::uint64_t owner,
                                  const std::string& detail) {
  ++core_->counters().send_errors;
  TransportError error;
  error.kind = ErrorKind::kSendFailed;
  error.protocol = Protocol::kUdp;
  error.remote = remote;
  error.owner = owner;
  error.detail = detail;
  core_->report(error);
}

void UdpListener::sendLater(const udp::endpoint& destination, const Endpoint& remote,
                            std::string_view bytes, std::uint64_t owner, std::string* owned) {
  if (pending_bytes_ + bytes.size() > core_->limits().max_send_queue_bytes) {
    reportSendError(remote, owner, "UDP send queue full");
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
                          self->sendFailed(remote, owner, async_ec.value());
                        });
}

}  // namespace sbc::transport::detail

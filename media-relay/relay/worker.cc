#include "media-relay/relay/worker.h"

#include <sys/epoll.h>
#include <sys/socket.h>

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include <cerrno>
#include <stdexcept>
#include <system_error>

namespace relay {
namespace asio = boost::asio;
using sbc::relayctl::Direction;

namespace {

bool remoteSends(Direction d) {
  return d == Direction::kSendRecv || d == Direction::kSendOnly;
}
bool remoteReceives(Direction d) {
  return d == Direction::kSendRecv || d == Direction::kRecvOnly;
}

std::int64_t microsSinceEpoch(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

}  // namespace

// What an epoll event points at. Stable: it lives in the Session, which is
// heap-allocated and leaves the epoll set before it is freed.
struct Worker::SocketRef {
  Session* session = nullptr;
  std::uint8_t leg = 0;
  bool rtcp = false;
};

struct Worker::Leg {
  int rtpFd = -1;
  int rtcpFd = -1;
  Latch rtpLatch;
  Latch rtcpLatch;
  bool mux = false;
  bool srtp = false;
  Direction direction = Direction::kSendRecv;
  std::uint32_t timeoutSeconds = 0;
  Clock::time_point lastRtp{};
  bool timedOut = false;
  std::array<std::uint32_t, 128> clockRates{};
  srtp::ContextPtr inbound;
  srtp::ContextPtr outbound;
  ReceptionStats reception;
  LegCounters* counters = nullptr;

  int kind() const { return srtp ? 1 : 0; }
  // Where RTCP for this leg's remote goes.
  std::optional<SockAddr> rtcpDestination() const {
    if (mux) {
      const SockAddr* d = rtpLatch.destination();
      return d ? std::optional<SockAddr>(*d) : std::nullopt;
    }
    if (const SockAddr* d = rtcpLatch.destination()) return *d;
    if (const SockAddr* d = rtpLatch.destination()) {
      SockAddr a = *d;
      a.setPort(static_cast<std::uint16_t>(a.port() + 1));
      return a;
    }
    return std::nullopt;
  }
};

struct Worker::Session {
  SessionId id = 0;
  std::string callId;
  std::shared_ptr<SessionCounters> counters;
  std::array<Leg, 2> legs;
  // [leg][0 = RTP, 1 = RTCP]
  std::array<std::array<SocketRef, 2>, 2> refs{};
  bool watched = false;
  bool removed = false;
};

struct Worker::Buffers {
  static constexpr std::size_t kEvents = 256;
  static constexpr std::size_t kBatch = 16;
  static constexpr std::size_t kSize = 2048;
  // Room kept after the received bytes for SRTP's tag (and SRTCP's index).
  static constexpr std::size_t kHeadroom = 64;
  std::array<std::array<std::uint8_t, kSize>, kBatch> data{};
  std::array<mmsghdr, kBatch> msgs{};
  std::array<iovec, kBatch> iov{};
  std::array<sockaddr_storage, kBatch> names{};
  std::array<epoll_event, kEvents> events{};
};

Worker::Worker(unsigned index, Clock::duration latchWindow, TimeoutSink onTimeout)
    : index_(index),
      latchWindow_(latchWindow),
      onTimeout_(std::move(onTimeout)),
      timer_(io_),
      epollFd_(epoll_create1(EPOLL_CLOEXEC)),
      epollWatch_(io_),
      counters_(std::make_shared<WorkerCounters>()),
      buffers_(std::make_unique<Buffers>()) {
  // Start-up only: a relay that cannot poll cannot run.
  if (epollFd_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
  epollWatch_.assign(epollFd_);
}

Worker::~Worker() {
  stop();
}

void Worker::start() {
  work_.emplace(io_.get_executor());
  tick();
  armPoll();
  thread_ = std::thread([this] {
    std::string name = "relay-w" + std::to_string(index_);
    pthread_setname_np(pthread_self(), name.c_str());
    io_.run();
  });
}

void Worker::stop() {
  if (!thread_.joinable()) return;
  asio::post(io_, [this] {
    // A tick already queued still runs after cancel(): it must not re-arm.
    stopping_ = true;
    timer_.cancel();
    boost::system::error_code ec;
    epollWatch_.cancel(ec);
    for (auto& [id, session] : sessions_) {
      session->removed = true;
      unwatch(*session);
    }
    sessions_.clear();
    counters_->sessions.store(0, std::memory_order_relaxed);
    work_.reset();
  });
  thread_.join();
}

void Worker::tick() {
  timer_.expires_after(std::chrono::milliseconds(250));
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopping_) return;
    Clock::time_point now = Clock::now();
    for (auto& [id, s] : sessions_) {
      for (std::uint8_t i = 0; i < 2; ++i) {
        Leg& l = s->legs[i];
        if (l.timeoutSeconds == 0 || l.timedOut || !remoteSends(l.direction)) continue;
        if (now - l.lastRtp < std::chrono::seconds(l.timeoutSeconds)) continue;
        l.timedOut = true;
        bump(l.counters->rtpTimeouts);
        bump(counters_->mediaTimeouts);
        onTimeout_(s->id, s->callId, i, l.counters->snapshot());
      }
    }
    // A safety net for the edge-triggered watch on the epoll set: whatever
    // is ready is served at least every tick.
    poll();
    tick();
  });
}

void Worker::addSession(std::unique_ptr<SessionSetup> setup) {
  asio::post(io_, [this, setup = std::move(setup)]() mutable {
    auto s = std::make_shared<Session>();
    s->id = setup->id;
    s->callId = std::move(setup->callId);
    s->counters = std::move(setup->counters);
    Clock::time_point now = Clock::now();
    for (int i = 0; i < 2; ++i) {
      Leg& l = s->legs[i];
      l.counters = &s->counters->legs[i];
      l.rtpFd = setup->rtpFd[i];
      l.rtcpFd = setup->rtcpFd[i];
      l.lastRtp = now;
      applySettings(*s, i, std::move(setup->legs[i]), now);
      l.lastRtp = now;
    }
    watch(*s);
    sessions_.emplace(s->id, s);
    bump(counters_->sessions);
  });
}

void Worker::updateSession(SessionId id, std::array<std::unique_ptr<LegSettings>, 2> legs) {
  asio::post(io_, [this, id, legs = std::move(legs)]() mutable {
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return;
    Clock::time_point now = Clock::now();
    for (int i = 0; i < 2; ++i) {
      if (legs[i]) applySettings(*it->second, i, std::move(*legs[i]), now);
    }
  });
}

void Worker::removeSession(SessionId id, std::function<void()> done) {
  asio::post(io_, [this, id, done = std::move(done)] {
    auto it = sessions_.find(id);
    if (it != sessions_.end()) {
      it->second->removed = true;
      unwatch(*it->second);
      sessions_.erase(it);
      counters_->sessions.store(sessions_.size(), std::memory_order_relaxed);
    }
    done();
  });
}

void Worker::applySettings(Session& s, int leg, LegSettings&& settings, Clock::time_point now) {
  Leg& l = s.legs[leg];
  bool wasExpecting = remoteSends(l.direction) && l.timeoutSeconds != 0;
  l.rtpLatch.signal(settings.rtpRemote, now, latchWindow_, settings.latch);
  std::optional<SockAddr> rtcp = settings.rtcpRemote;
  if (!rtcp && settings.rtpRemote) {
    rtcp = *settings.rtpRemote;
    rtcp->setPort(static_cast<std::uint16_t>(rtcp->port() + 1));
  }
  l.rtcpLatch.signal(rtcp, now, latchWindow_, settings.latch);
  l.mux = settings.rtcpMux;
  l.direction = settings.direction;
  l.clockRates = settings.clockRates;
  l.srtp = settings.srtp;
  if (settings.replaceInbound) l.inbound = std::move(settings.inbound);
  if (settings.replaceOutbound) l.outbound = std::move(settings.outbound);
  bool expecting = remoteSends(settings.direction) && settings.mediaTimeoutSeconds != 0;
  // Resuming from hold (or a new timeout) starts the count afresh.
  if (expecting && (!wasExpecting || settings.mediaTimeoutSeconds != l.timeoutSeconds)) {
    l.lastRtp = now;
    l.timedOut = false;
  }
  l.timeoutSeconds = settings.mediaTimeoutSeconds;
}

void Worker::watch(Session& s) {
  for (std::uint8_t i = 0; i < 2; ++i) {
    for (int k = 0; k < 2; ++k) {
      int fd = k == 0 ? s.legs[i].rtpFd : s.legs[i].rtcpFd;
      SocketRef& ref = s.refs[i][k];
      ref = SocketRef{&s, i, k == 1};
      if (fd < 0) continue;
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.ptr = &ref;
      if (epoll_ctl(epollFd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
        spdlog::error("worker {}: cannot watch a socket of {}: {}", index_, s.callId,
                      std::generic_category().message(errno));
      }
    }
  }
  s.watched = true;
}

void Worker::unwatch(Session& s) {
  if (!s.watched) return;
  s.watched = false;
  for (auto& l : s.legs) {
    for (int fd : {l.rtpFd, l.rtcpFd}) {
      if (fd >= 0) epoll_ctl(epollFd_, EPOLL_CTL_DEL, fd, nullptr);
    }
  }
}

void Worker::armPoll() {
  epollWatch_.async_wait(asio::posix::descriptor_base::wait_read,
                         [this](const boost::system::error_code& ec) {
                           if (ec || stopping_) return;
                           poll();
                           armPoll();
                         });
}

void Worker::poll() {
  Buffers& b = *buffers_;
  // Asio watches the set edge-triggered: empty the ready list before
  // re-arming. Sessions leave the set only in posted handlers, never while
  // this loop holds events that point at them.
  for (;;) {
    int n = epoll_wait(epollFd_, b.events.data(), static_cast<int>(Buffers::kEvents), 0);
    if (n <= 0) return;
    for (int i = 0; i < n; ++i) {
      const auto* ref = static_cast<const SocketRef*>(b.events[i].data.ptr);
      if (!ref->session->removed) drain(*ref->session, ref->leg, ref->rtcp);
    }
    if (static_cast<std::size_t>(n) < Buffers::kEvents) return;
  }
}

void Worker::drain(Session& s, int leg, bool rtcpSocket) {
  Buffers& b = *buffers_;
  int fd = rtcpSocket ? s.legs[leg].rtcpFd : s.legs[leg].rtpFd;
  // Read what is there in batches; a socket left non-empty is reported again
  // (the set is level-triggered).
  for (;;) {
    for (std::size_t i = 0; i < Buffers::kBatch; ++i) {
      b.iov[i] = {b.data[i].data(), Buffers::kSize - Buffers::kHeadroom};
      b.msgs[i].msg_hdr = {};
      b.msgs[i].msg_hdr.msg_iov = &b.iov[i];
      b.msgs[i].msg_hdr.msg_iovlen = 1;
      b.msgs[i].msg_hdr.msg_name = &b.names[i];
      b.msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    }
    int n = recvmmsg(fd, b.msgs.data(), Buffers::kBatch, MSG_DONTWAIT, nullptr);
    if (n <= 0) return;
    Clock::time_point now = Clock::now();
    for (int i = 0; i < n; ++i) {
      const msghdr& h = b.msgs[i].msg_hdr;
      SockAddr source =
          SockAddr::fromSockaddr(reinterpret_cast<const sockaddr*>(&b.names[i]), h.msg_namelen);
      if ((h.msg_flags & MSG_TRUNC) != 0) {
        counters_->drop(DropReason::kMalformed);
        continue;
      }
      onPacket(s, leg, rtcpSocket, b.data[i].data(), b.msgs[i].msg_len, Buffers::kSize, source,
               now);
      if (s.removed) return;
    }
    if (static_cast<std::size_t>(n) < Buffers::kBatch) return;
  }
}

void Worker::onPacket(Session& s, int leg, bool rtcpSocket, std::uint8_t* data, std::size_t length,
                      std::size_t capacity, const SockAddr& source, Clock::time_point now) {
  Leg& in = s.legs[leg];
  Leg& out = s.legs[1 - leg];
  WorkerCounters& wc = *counters_;
  std::span<const std::uint8_t> packet(data, length);
  bool rtcp = rtcpSocket || isRtcp(packet);

  Latch& latch = rtcpSocket ? in.rtcpLatch : in.rtpLatch;
  if (!latch.accept(source, now)) {
    wc.drop(DropReason::kStrictSource);
    return;
  }
  bump(in.counters->packetsIn);
  bump(in.counters->bytesIn, length);
  bump(wc.packetsIn[in.kind()]);
  bump(wc.bytesIn[in.kind()], length);

  std::span<std::uint8_t> buffer(data, capacity);
  srtp::Status st = srtp::Status::kOk;
  if (rtcp) {
    if (in.srtp) {
      if (!in.inbound) {
        wc.drop(DropReason::kNoKey);
        return;
      }
      st = in.inbound->unprotectRtcp(buffer, length);
    } else if (!parseRtcp(std::span<const std::uint8_t>(data, length)).valid) {
      wc.drop(DropReason::kMalformed);
      return;
    }
  } else {
    auto header = parseRtpHeader(packet);
    if (!header) {
      wc.drop(DropReason::kMalformed);
      return;
    }
    if (in.srtp) {
      if (!in.inbound) {
        wc.drop(DropReason::kNoKey);
        return;
      }
      st = in.inbound->unprotectRtp(buffer, length);
    }
    if (st == srtp::Status::kOk) {
      in.lastRtp = now;
      in.timedOut = false;
      in.reception.onPacket(*header, microsSinceEpoch(now), in.clockRates[header->payloadType]);
      const std::uint64_t lostBefore = in.counters->lost.load(std::memory_order_relaxed);
      const std::uint64_t lostNow = in.reception.lost();
      if (lostNow > lostBefore) bump(wc.rtpLost[in.kind()], lostNow - lostBefore);
      in.counters->lost.store(lostNow, std::memory_order_relaxed);
      in.counters->jitterUs.store(in.reception.jitterUs(), std::memory_order_relaxed);
    }
  }
  if (st != srtp::Status::kOk) {
    if (st == srtp::Status::kAuthFailure) {
      bump(in.counters->srtpAuthFailures);
      wc.drop(DropReason::kSrtpAuth);
    } else if (st == srtp::Status::kReplay) {
      wc.drop(DropReason::kSrtpReplay);
    } else {
      wc.drop(DropReason::kSrtpOther);
    }
    return;
  }

  std::optional<SockAddr> rtcpDest;
  const SockAddr* dest = nullptr;
  int fd = -1;
  if (rtcp) {
    // RTCP flows whatever the direction: a held call still reports.
    rtcpDest = out.rtcpDestination();
    dest = rtcpDest ? &*rtcpDest : nullptr;
    fd = out.mux ? out.rtpFd : out.rtcpFd;
  } else {
    if (!remoteSends(in.direction) || !remoteReceives(out.direction)) {
      wc.drop(DropReason::kDirection);
      return;
    }
    dest = out.rtpLatch.destination();
    fd = out.rtpFd;
  }
  if (!dest) {
    wc.drop(DropReason::kNoRemote);
    return;
  }
  if (out.srtp) {
    if (!out.outbound) {
      wc.drop(DropReason::kNoKey);
      return;
    }
    st =
        rtcp ? out.outbound->protectRtcp(buffer, length) : out.outbound->protectRtp(buffer, length);
    if (st != srtp::Status::kOk) {
      wc.drop(st == srtp::Status::kReplay ? DropReason::kSrtpReplay : DropReason::kSrtpOther);
      return;
    }
  }
  ssize_t sent = ::sendto(fd, data, length, MSG_DONTWAIT, dest->sa(), dest->length);
  if (sent < 0) {
    wc.drop(DropReason::kSendError);
    return;
  }
  bump(out.counters->packetsOut);
  bump(out.counters->bytesOut, length);
  bump(wc.packetsOut[out.kind()]);
  bump(wc.bytesOut[out.kind()], length);
}

}  // namespace relay

#include "media-relay/relay/worker.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
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

constexpr auto kTick = std::chrono::milliseconds(250);
constexpr std::size_t kCacheLine = 64;

// A prefetch the compiler keeps: gcc deletes a loop whose only effect is
// __builtin_prefetch (it counts as no side effect), which is all
// Worker::prefetchRound() is.
inline void prefetch(const void* p) {
#if defined(__x86_64__) || defined(__i386__)
  asm volatile("prefetcht0 %0" : : "m"(*static_cast<const char*>(p)));
#elif defined(__aarch64__)
  asm volatile("prfm pldl1keep, %0" : : "Q"(*static_cast<const char*>(p)));
#else
  __builtin_prefetch(p);
#endif
}

// A refused policy is the same refusal for every worker: said once.
std::atomic_flag schedulingWarned;

// The kernel's receive stamps are CLOCK_REALTIME; the send side reads the
// same clock (vDSO, no syscall).
std::int64_t realtimeNs() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// Asks the kernel for a receive stamp on every datagram (SO_TIMESTAMPNS):
// the start of the relay's forward delay.
void enableRxStamps(int fd) {
  int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
}

std::int64_t rxStamp(msghdr& h) {
  for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(&h, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
      timespec ts{};
      std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
      return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
    }
  }
  return 0;
}

}  // namespace

// Which of a leg's sockets: oRTP's RTP and RTCP sockets, and the worker's own
// RTP socket connected to the latched remote.
enum class Worker::SocketKind : std::uint8_t { kRtp, kRtcp, kRtpPeer };

// What an epoll event points at. Stable: it lives in the Session, which is
// heap-allocated and leaves the epoll set before it is freed.
struct Worker::SocketRef {
  Session* session = nullptr;
  std::uint8_t leg = 0;
  SocketKind kind = SocketKind::kRtp;
};

// A leg's state in two parts. Leg: what every packet reads, first and
// together (the sockets, flags, the RTP latch, SRTP contexts, reception
// statistics), a few cache lines. LegCold: what RTCP, the tick, a payload
// type change and the control thread's updates read. Both legs' Leg and
// their counters sit at the head of one Session allocation, instead of
// being spread over 2.9 KB plus a separate counters allocation: at 1,000
// RTP calls that cut the relay's user time per packet by a third
// (docs/PERFORMANCE.md, session 8).
struct Worker::Leg {
  int rtpFd = -1;
  int rtcpFd = -1;
  // Ours: rtpFd's port, connected to peer (the RTP latch's source); -1 when
  // not latched, or when opening it failed (peerTried: not again until the
  // remote changes).
  int peerFd = -1;
  bool mux = false;
  bool srtp = false;
  bool peerTried = false;
  bool timedOut = false;
  Direction direction = Direction::kSendRecv;
  // The clock rate of the last RTP payload type seen (cold.clockRates[pt]):
  // a leg's payload type rarely changes, so the 512-byte table stays cold.
  std::uint8_t clockPt = 0xFF;
  std::uint32_t clockRate = 0;
  Clock::time_point lastRtp{};
  SockAddr peer;
  Latch rtpLatch;
  srtp::ContextPtr inbound;
  srtp::ContextPtr outbound;
  ReceptionStats reception;
  LegCounters* counters = nullptr;  // in the same Session

  int kind() const { return srtp ? 1 : 0; }
};

struct Worker::LegCold {
  Latch rtcpLatch;
  std::uint32_t timeoutSeconds = 0;
  std::array<std::uint32_t, 128> clockRates{};
};

// Heap-allocated by the control thread's call to addSession(), which keeps an
// aliasing pointer to `counters` for query/destroy answers; the worker owns
// everything else. First what an epoll event reaches (the refs, `removed`),
// then both legs' hot state and counters, then the cold rest.
struct Worker::Session {
  // [leg][SocketKind]
  std::array<std::array<SocketRef, 3>, 2> refs{};
  bool removed = false;
  bool watched = false;
  bool stamped = false;  // its packets are sampled for the forward delay
  std::array<Leg, 2> legs;
  SessionCounters counters;
  std::array<LegCold, 2> cold;
  SessionId id = 0;
  std::string callId;

  // Where RTCP for leg i's remote goes.
  std::optional<SockAddr> rtcpDestination(int i) const {
    const Leg& l = legs[i];
    if (l.mux) {
      const SockAddr* d = l.rtpLatch.destination();
      return d ? std::optional<SockAddr>(*d) : std::nullopt;
    }
    if (const SockAddr* d = cold[i].rtcpLatch.destination()) return *d;
    if (const SockAddr* d = l.rtpLatch.destination()) {
      SockAddr a = *d;
      a.setPort(static_cast<std::uint16_t>(a.port() + 1));
      return a;
    }
    return std::nullopt;
  }
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
  static constexpr std::size_t kControlSize = CMSG_SPACE(sizeof(timespec));
  alignas(cmsghdr) std::array<std::array<std::uint8_t, kControlSize>, kBatch> controls{};
  // The receive stamp of data[i] (CLOCK_REALTIME ns; 0: none).
  std::array<std::int64_t, kBatch> rxNs{};
  std::array<epoll_event, kEvents> events{};
  // What one recvmmsg batch forwards, sent before the next batch reuses
  // `data`: packets read from one socket mostly leave by one socket, so a
  // batch of several goes out in one sendmmsg.
  struct Out {
    int fd = -1;
    Leg* leg = nullptr;
    std::int64_t rxNs = 0;
    SockAddr dest;  // unused (no address given) when fd is connected to it
  };
  std::array<Out, kBatch> out{};
  std::array<mmsghdr, kBatch> outMsgs{};
  std::array<iovec, kBatch> outIov{};
  std::size_t outCount = 0;
};

Worker::Worker(unsigned index, Clock::duration latchWindow, TimeoutSink onTimeout,
               unsigned delaySample)
    : index_(index),
      latchWindow_(latchWindow),
      onTimeout_(std::move(onTimeout)),
      delaySample_(delaySample),
      epollFd_(epoll_create1(EPOLL_CLOEXEC)),
      wakeFd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
      counters_(std::make_shared<WorkerCounters>()),
      buffers_(std::make_unique<Buffers>()) {
  // Start-up only: a relay that cannot poll cannot run.
  if (epollFd_ < 0 || wakeFd_ < 0) {
    int e = errno;
    if (epollFd_ >= 0) ::close(epollFd_);
    if (wakeFd_ >= 0) ::close(wakeFd_);
    throw std::system_error(e, std::generic_category(), "epoll_create1/eventfd");
  }
  Buffers& b = *buffers_;
  for (std::size_t i = 0; i < Buffers::kBatch; ++i) {
    b.iov[i] = {b.data[i].data(), Buffers::kSize - Buffers::kHeadroom};
    msghdr& h = b.msgs[i].msg_hdr;
    h.msg_iov = &b.iov[i];
    h.msg_iovlen = 1;
    h.msg_name = &b.names[i];
    h.msg_namelen = sizeof(sockaddr_storage);
    h.msg_control = b.controls[i].data();
    h.msg_controllen = Buffers::kControlSize;
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;  // no SocketRef: the wake-up
  if (epoll_ctl(epollFd_, EPOLL_CTL_ADD, wakeFd_, &ev) != 0) {
    int e = errno;
    ::close(epollFd_);
    ::close(wakeFd_);
    throw std::system_error(e, std::generic_category(), "epoll_ctl(eventfd)");
  }
}

Worker::~Worker() {
  stop();
  ::close(wakeFd_);
  ::close(epollFd_);
}

template <typename F>
void Worker::postToWorker(F&& f) {
  asio::post(io_, std::forward<F>(f));
  std::uint64_t one = 1;
  // Best effort: the counter only saturates (EAGAIN) when the loop has not
  // read it yet, and then the loop is about to wake anyway.
  [[maybe_unused]] ssize_t n = ::write(wakeFd_, &one, sizeof one);
}

void Worker::start() {
  work_.emplace(io_.get_executor());
  thread_ = std::thread([this] {
    std::string name = "relay-w" + std::to_string(index_);
    pthread_setname_np(pthread_self(), name.c_str());
    applyScheduling();
    run();
  });
}

void Worker::applyScheduling() {
  if (int e = applyToCurrentThread(schedPolicy_, schedPriority_);
      e != 0 && !schedulingWarned.test_and_set()) {
    spdlog::warn(
        "worker_scheduling = \"{}\" priority {} refused ({}): the packet workers run at the "
        "normal policy. It needs CAP_SYS_NICE or an RLIMIT_RTPRIO of at least {} (systemd "
        "LimitRTPRIO=, docker --ulimit rtprio=)",
        workerSchedulingName(schedPolicy_), schedPriority_, std::generic_category().message(e),
        schedPriority_);
  }
  const ThreadScheduling got = currentThreadScheduling();
  counters_->schedPolicy.store(static_cast<std::uint8_t>(got.policy), std::memory_order_relaxed);
  counters_->schedPriority.store(got.priority, std::memory_order_relaxed);
  if (got.policy != WorkerScheduling::kOther) {
    spdlog::info("worker {}: scheduling {} priority {}", index_, workerSchedulingName(got.policy),
                 got.priority);
  }
}

void Worker::stop() {
  if (!thread_.joinable()) return;
  postToWorker([this] {
    stopping_ = true;
    for (auto& [id, session] : sessions_) {
      session->removed = true;
      unwatch(*session);
      retired_.push_back(std::move(session));
    }
    sessions_.clear();
    counters_->sessions.store(0, std::memory_order_relaxed);
    work_.reset();
  });
  thread_.join();
}

void Worker::run() {
  Buffers& b = *buffers_;
  // One clock read per round serves every packet of it (latching window,
  // media timeout, jitter) and the next wait's timeout: a round lasts
  // microseconds, and the tick may come that much late.
  Clock::time_point now = Clock::now();
  Clock::time_point nextTick = now + kTick;
  while (!stopping_) {
    int timeoutMs = 0;
    if (nextTick > now) {
      timeoutMs =
          static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(nextTick - now).count());
    }
    int n = epoll_wait(epollFd_, b.events.data(), static_cast<int>(Buffers::kEvents), timeoutMs);
    now = Clock::now();
    // Posted handlers first: an update answered before a packet was sent
    // applies to that packet (a re-key, a switch to plain). A session they
    // remove stays allocated in retired_ until the round's events are served.
    for (int i = 0; i < n; ++i) {
      if (b.events[i].data.ptr == nullptr) {
        std::uint64_t count = 0;
        [[maybe_unused]] ssize_t r = ::read(wakeFd_, &count, sizeof count);
        io_.poll();
        break;
      }
    }
    prefetchRound(n);
    for (int i = 0; i < n; ++i) {
      const auto* ref = static_cast<const SocketRef*>(b.events[i].data.ptr);
      if (ref != nullptr && !ref->session->removed) {
        drain(*ref->session, ref->leg, ref->kind, now);
      }
    }
    retired_.clear();
    if (now >= nextTick) {
      tick(now);
      nextTick = now + kTick;
    }
  }
}

// At 1,000 calls a session's state is no longer in the cache when its next
// packet comes (20 ms later), and each packet's path is a chain of dependent
// misses: the event's ref (the Session's head), its legs, their SRTP
// contexts, libsrtp's session behind each. Served one event after another,
// the misses of a round add up; asked for level by level over all of the
// round's events, they overlap (a round holds several ready sockets at
// load). Only pointers that stay valid all round are followed: sessions
// removed by this round's handlers are kept in retired_ until its end.
void Worker::prefetchRound(int events) {
  const Buffers& b = *buffers_;
  const auto count = static_cast<std::size_t>(events);
  for (std::size_t i = 0; i < count; ++i) {
    if (b.events[i].data.ptr != nullptr) prefetch(b.events[i].data.ptr);
  }
  for (std::size_t i = 0; i < count; ++i) {
    const auto* ref = static_cast<const SocketRef*>(b.events[i].data.ptr);
    if (ref == nullptr) continue;
    // Both legs and their counters: what onPacket() and flush() touch.
    const auto* first = reinterpret_cast<const char*>(&ref->session->legs);
    const auto* end = reinterpret_cast<const char*>(&ref->session->cold);
    for (const char* p = first; p < end; p += kCacheLine) prefetch(p);
  }
  for (std::size_t i = 0; i < count; ++i) {
    const auto* ref = static_cast<const SocketRef*>(b.events[i].data.ptr);
    if (ref == nullptr) continue;
    const Session& s = *ref->session;
    if (const srtp::Context* c = s.legs[ref->leg].inbound.get()) prefetch(c);
    if (const srtp::Context* c = s.legs[1 - ref->leg].outbound.get()) prefetch(c);
  }
  for (std::size_t i = 0; i < count; ++i) {
    const auto* ref = static_cast<const SocketRef*>(b.events[i].data.ptr);
    if (ref == nullptr) continue;
    const Session& s = *ref->session;
    if (const srtp::Context* c = s.legs[ref->leg].inbound.get()) prefetch(c->session());
    if (const srtp::Context* c = s.legs[1 - ref->leg].outbound.get()) {
      prefetch(c->session());
    }
  }
}

void Worker::tick(Clock::time_point now) {
  for (auto& [id, s] : sessions_) {
    for (std::uint8_t i = 0; i < 2; ++i) {
      Leg& l = s->legs[i];
      const std::uint32_t timeout = s->cold[i].timeoutSeconds;
      if (timeout == 0 || l.timedOut || !remoteSends(l.direction)) continue;
      if (now - l.lastRtp < std::chrono::seconds(timeout)) continue;
      l.timedOut = true;
      bump(l.counters->rtpTimeouts);
      bump(counters_->mediaTimeouts);
      onTimeout_(s->id, s->callId, i, l.counters->snapshot());
    }
  }
}

std::shared_ptr<SessionCounters> Worker::addSession(std::unique_ptr<SessionSetup> setup) {
  auto session = std::make_shared<Session>();
  session->id = setup->id;
  session->callId = std::move(setup->callId);
  std::shared_ptr<SessionCounters> counters(session, &session->counters);
  postToWorker([this, s = std::move(session), setup = std::move(setup)]() mutable {
    Clock::time_point now = Clock::now();
    for (int i = 0; i < 2; ++i) {
      Leg& l = s->legs[i];
      l.counters = &s->counters.legs[i];
      l.rtpFd = setup->rtpFd[i];
      l.rtcpFd = setup->rtcpFd[i];
      l.lastRtp = now;
      applySettings(*s, i, std::move(setup->legs[i]), now);
      l.lastRtp = now;
    }
    watch(*s);
    const SessionId id = s->id;
    sessions_.emplace(id, std::move(s));
    bump(counters_->sessions);
  });
  return counters;
}

void Worker::updateSession(SessionId id, std::array<std::unique_ptr<LegSettings>, 2> legs) {
  postToWorker([this, id, legs = std::move(legs)]() mutable {
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return;
    Clock::time_point now = Clock::now();
    for (int i = 0; i < 2; ++i) {
      if (legs[i]) applySettings(*it->second, i, std::move(*legs[i]), now);
    }
  });
}

void Worker::removeSession(SessionId id, std::function<void()> done) {
  postToWorker([this, id, done = std::move(done)] {
    auto it = sessions_.find(id);
    if (it != sessions_.end()) {
      it->second->removed = true;
      unwatch(*it->second);
      retired_.push_back(std::move(it->second));
      sessions_.erase(it);
      counters_->sessions.store(sessions_.size(), std::memory_order_relaxed);
    }
    done();
  });
}

void Worker::applySettings(Session& s, int leg, LegSettings&& settings, Clock::time_point now) {
  Leg& l = s.legs[leg];
  LegCold& cold = s.cold[leg];
  bool wasExpecting = remoteSends(l.direction) && cold.timeoutSeconds != 0;
  l.rtpLatch.signal(settings.rtpRemote, now, latchWindow_, settings.latch);
  std::optional<SockAddr> rtcp = settings.rtcpRemote;
  if (!rtcp && settings.rtpRemote) {
    rtcp = *settings.rtpRemote;
    rtcp->setPort(static_cast<std::uint16_t>(rtcp->port() + 1));
  }
  cold.rtcpLatch.signal(rtcp, now, latchWindow_, settings.latch);
  l.mux = settings.rtcpMux;
  l.direction = settings.direction;
  cold.clockRates = settings.clockRates;
  l.clockPt = 0xFF;  // looked up again on the next packet
  l.srtp = settings.srtp;
  if (settings.replaceInbound) l.inbound = std::move(settings.inbound);
  if (settings.replaceOutbound) l.outbound = std::move(settings.outbound);
  // A new remote un-latches the leg: its packets must reach oRTP's socket
  // (and the latch) again.
  if (!l.rtpLatch.latched() || !(*l.rtpLatch.destination() == l.peer)) {
    closePeer(s, leg);
    l.peerTried = false;
  }
  bool expecting = remoteSends(settings.direction) && settings.mediaTimeoutSeconds != 0;
  // Resuming from hold (or a new timeout) starts the count afresh.
  if (expecting && (!wasExpecting || settings.mediaTimeoutSeconds != cold.timeoutSeconds)) {
    l.lastRtp = now;
    l.timedOut = false;
  }
  cold.timeoutSeconds = settings.mediaTimeoutSeconds;
}

void Worker::watch(Session& s) {
  s.stamped = delaySample_ != 0 && sessionsWatched_++ % delaySample_ == 0;
  for (std::uint8_t i = 0; i < 2; ++i) {
    s.refs[i][static_cast<int>(SocketKind::kRtpPeer)] = SocketRef{&s, i, SocketKind::kRtpPeer};
    for (int k = 0; k < 2; ++k) {
      int fd = k == 0 ? s.legs[i].rtpFd : s.legs[i].rtcpFd;
      SocketRef& ref = s.refs[i][k];
      ref = SocketRef{&s, i, k == 0 ? SocketKind::kRtp : SocketKind::kRtcp};
      if (fd < 0) continue;
      if (s.stamped) enableRxStamps(fd);
      epoll_event ev{};
      // Edge-triggered: drain() reads each socket until it is empty, so a
      // level-triggered set would only poll every served socket once more.
      ev.events = EPOLLIN | EPOLLET;
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
  for (int i = 0; i < 2; ++i) {
    closePeer(s, i);
    const Leg& l = s.legs[i];
    for (int fd : {l.rtpFd, l.rtcpFd}) {
      if (fd >= 0) epoll_ctl(epollFd_, EPOLL_CTL_DEL, fd, nullptr);
    }
  }
}

void Worker::connectPeer(Session& s, int leg) {
  Leg& l = s.legs[leg];
  l.peerTried = true;
  const SockAddr* peer = l.rtpLatch.destination();
  if (!s.watched || l.rtpFd < 0 || peer == nullptr) return;
  SockAddr local;
  local.length = sizeof local.storage;
  if (::getsockname(l.rtpFd, reinterpret_cast<sockaddr*>(&local.storage), &local.length) != 0) {
    return;
  }
  int fd = ::socket(local.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  int on = 1;
  if (s.stamped) enableRxStamps(fd);
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLET;
  ev.data.ptr = &s.refs[leg][static_cast<int>(SocketKind::kRtpPeer)];
  // Both sockets of the port need SO_REUSEPORT (same user only, unlike
  // SO_REUSEADDR); oRTP's gets it here, after its own bind.
  if (::setsockopt(l.rtpFd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0 ||
      ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0 ||
      ::bind(fd, local.sa(), local.length) != 0 || ::connect(fd, peer->sa(), peer->length) != 0 ||
      epoll_ctl(epollFd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    // Not fatal: the leg goes on through oRTP's socket, as before.
    spdlog::debug("worker {}: no connected socket for {} leg {}: {}", index_, s.callId, leg,
                  std::generic_category().message(errno));
    ::close(fd);
    return;
  }
  l.peerFd = fd;
  l.peer = *peer;
}

void Worker::closePeer(Session& s, int leg) {
  Leg& l = s.legs[leg];
  if (l.peerFd < 0) return;
  epoll_ctl(epollFd_, EPOLL_CTL_DEL, l.peerFd, nullptr);
  ::close(l.peerFd);
  l.peerFd = -1;
  l.peer = SockAddr{};
}

void Worker::drain(Session& s, int leg, SocketKind kind, Clock::time_point now) {
  Buffers& b = *buffers_;
  const Leg& l = s.legs[leg];
  const bool rtcpSocket = kind == SocketKind::kRtcp;
  const int fd = rtcpSocket ? l.rtcpFd : kind == SocketKind::kRtpPeer ? l.peerFd : l.rtpFd;
  if (fd < 0) return;  // a connected socket closed earlier in this round
  // The set is edge-triggered: read until a batch comes back short (the
  // queue was empty then; anything later raises a new edge). A connected
  // socket also reports ICMP errors (ECONNREFUSED) on a read, once each: the
  // datagrams queued behind one are still read.
  int errors = 0;
  for (;;) {
    int n = recvmmsg(fd, b.msgs.data(), Buffers::kBatch, MSG_DONTWAIT, nullptr);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && ++errors < 4) continue;
    if (n <= 0) return;
    for (int i = 0; i < n; ++i) {
      msghdr& h = b.msgs[i].msg_hdr;
      const bool truncated = (h.msg_flags & MSG_TRUNC) != 0;
      const SockAddr source =
          SockAddr::fromSockaddr(reinterpret_cast<const sockaddr*>(&b.names[i]), h.msg_namelen);
      // Only the entries the kernel filled need re-arming (most reads
      // return one datagram, and 16 full resets cost more than the rest of
      // the user-space work on it).
      h.msg_namelen = sizeof(sockaddr_storage);
      h.msg_flags = 0;
      b.rxNs[i] = rxStamp(h);
      h.msg_controllen = Buffers::kControlSize;
      if (truncated) {
        counters_->drop(DropReason::kMalformed);
        continue;
      }
      onPacket(s, leg, rtcpSocket, static_cast<std::size_t>(i), b.msgs[i].msg_len, source, now);
    }
    flush();
    if (static_cast<std::size_t>(n) < Buffers::kBatch) return;
  }
}

void Worker::flush() {
  Buffers& b = *buffers_;
  const std::size_t count = b.outCount;
  b.outCount = 0;
  std::size_t i = 0;
  while (i < count) {
    // A run of packets for one socket goes in one call.
    std::size_t end = i + 1;
    while (end < count && b.out[end].fd == b.out[i].fd) ++end;
    std::size_t sent = 0;
    if (end - i == 1) {
      const Buffers::Out& o = b.out[i];
      // No address for a connected socket (its cached route is the point).
      ssize_t r = ::sendto(o.fd, b.outIov[i].iov_base, b.outIov[i].iov_len, MSG_DONTWAIT,
                           o.dest.valid() ? o.dest.sa() : nullptr, o.dest.length);
      sent = r < 0 ? 0 : 1;
    } else {
      int r = ::sendmmsg(b.out[i].fd, &b.outMsgs[i], static_cast<unsigned>(end - i), MSG_DONTWAIT);
      sent = r < 0 ? 0 : static_cast<std::size_t>(r);
    }
    // A run is one socket's, so one session's: stamped or not as a whole.
    const std::int64_t sentNs = sent > 0 && b.out[i].rxNs != 0 ? realtimeNs() : 0;
    for (std::size_t k = i; k < i + sent; ++k) {
      // A stamp after the send (clock stepped back) is not a delay.
      if (b.out[k].rxNs != 0 && sentNs != 0 && sentNs >= b.out[k].rxNs) {
        counters_->forwardDelay.record(static_cast<std::uint64_t>(sentNs - b.out[k].rxNs));
      }
      Leg& out = *b.out[k].leg;
      const std::size_t length = b.outIov[k].iov_len;
      bump(out.counters->packetsOut);
      bump(out.counters->bytesOut, length);
      bump(counters_->packetsOut[out.kind()]);
      bump(counters_->bytesOut[out.kind()], length);
    }
    // sendmmsg stops at the first packet it could not send: that one is
    // dropped and the rest of the run is tried again.
    i += sent;
    if (i < end) {
      counters_->drop(DropReason::kSendError);
      ++i;
    }
  }
}

void Worker::onPacket(Session& s, int leg, bool rtcpSocket, std::size_t slot, std::size_t length,
                      const SockAddr& source, Clock::time_point now) {
  Buffers& b = *buffers_;
  std::uint8_t* data = b.data[slot].data();
  constexpr std::size_t capacity = Buffers::kSize;
  Leg& in = s.legs[leg];
  Leg& out = s.legs[1 - leg];
  WorkerCounters& wc = *counters_;
  std::span<const std::uint8_t> packet(data, length);
  bool rtcp = rtcpSocket || isRtcp(packet);

  Latch& latch = rtcpSocket ? s.cold[leg].rtcpLatch : in.rtpLatch;
  const bool wasLatched = latch.latched();
  // Also checked for the connected socket: the kernel may have queued a
  // packet on it in the instant between its bind and its connect.
  if (!latch.accept(source, now)) {
    wc.drop(DropReason::kStrictSource);
    return;
  }
  if (!rtcpSocket && !wasLatched && !in.peerTried) connectPeer(s, leg);
  bump(in.counters->packetsIn);
  bump(in.counters->bytesIn, length);
  bump(wc.packetsIn[in.kind()]);
  bump(wc.bytesIn[in.kind()], length);

  std::span<std::uint8_t> buffer(data, capacity);
  srtp::Status st = srtp::Status::kOk;
  // Plain RTCP on an SRTP leg (some endpoints send unprotected RTCP): dropped
  // like any unauthenticated packet, but counted apart from forged SRTCP.
  bool plainRtcp = false;
  if (rtcp) {
    if (in.srtp) {
      if (!in.inbound) {
        wc.drop(DropReason::kNoKey);
        return;
      }
      // Judged before unprotecting, which may change the bytes it rejects;
      // used only when unprotecting fails, so SRTCP that happens to parse as
      // RTCP is never dropped for it.
      plainRtcp = parseRtcp(std::span<const std::uint8_t>(data, length)).valid;
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
      if (header->payloadType != in.clockPt) {
        in.clockPt = header->payloadType;
        in.clockRate = s.cold[leg].clockRates[header->payloadType];
      }
      in.reception.onPacket(*header, microsSinceEpoch(now), in.clockRate);
      const std::uint64_t lostBefore = in.counters->lost.load(std::memory_order_relaxed);
      const std::uint64_t lostNow = in.reception.lost();
      if (lostNow > lostBefore) bump(wc.rtpLost[in.kind()], lostNow - lostBefore);
      in.counters->lost.store(lostNow, std::memory_order_relaxed);
      in.counters->jitterUs.store(in.reception.jitterUs(), std::memory_order_relaxed);
    }
  }
  if (st != srtp::Status::kOk) {
    if (plainRtcp) {
      wc.drop(DropReason::kSrtpPlainRtcp);
    } else if (st == srtp::Status::kAuthFailure) {
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
    rtcpDest = s.rtcpDestination(1 - leg);
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
  if (dest && out.peerFd >= 0 && fd == out.rtpFd && *dest == out.peer) fd = out.peerFd;
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
  Buffers::Out& o = b.out[b.outCount];
  o.fd = fd;
  o.leg = &out;
  o.rxNs = b.rxNs[slot];
  o.dest = fd >= 0 && fd == out.peerFd ? SockAddr{} : *dest;
  b.outIov[b.outCount] = {data, length};
  msghdr& h = b.outMsgs[b.outCount].msg_hdr;
  h = {};
  h.msg_name = o.dest.valid() ? &o.dest.storage : nullptr;
  h.msg_namelen = o.dest.length;
  h.msg_iov = &b.outIov[b.outCount];
  h.msg_iovlen = 1;
  ++b.outCount;
}

}  // namespace relay

// A packet worker: one thread, one io_context, and the sessions placed on it.
// Everything a session's packets touch (sockets, latches, SRTP contexts,
// statistics) is owned by its worker and changed only on its thread; the
// control thread hands over new settings by posting (never a lock shared with
// the packet path).
//
// Sockets are oRTP's (rtp_session_get_rtp_socket/get_rtcp_socket); the worker
// reads and writes the datagrams itself with recvmmsg/sendto, so that sequence
// numbers, timestamps and SSRCs pass unchanged and a packet is copied once
// (into the receive buffer). oRTP's RtpSession objects themselves are made
// and destroyed by the control thread.
//
// The thread runs its own loop on one epoll set: the sessions' sockets
// (edge-triggered, each read until empty) and an eventfd that says "handlers
// were posted" (the io_context then runs them with poll()). Asio is not in the
// packet path at all: one epoll_wait per round serves every ready socket, and a
// busy worker finds many sockets ready per round. The media-timeout tick is
// the epoll_wait timeout.
//
// Once a leg's RTP has latched, the worker opens a second socket on the same
// local address and port (SO_REUSEPORT), connected to the latched source, and
// uses it for that leg's traffic with its remote: the kernel then hands it the
// peer's packets by the exact 4-tuple (early demux, cached input route) and
// sends from it with the route cached in the socket, instead of a route lookup
// per sendto. Packets from anyone else still reach oRTP's unconnected socket
// (the kernel's reuseport selection skips connected sockets), where the
// strict-source rule counts and drops them as before. A new signalled remote
// (update) closes that socket: the latch re-opens on oRTP's.
#pragma once

#include <boost/asio/io_context.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/relayctl/protocol.h"
#include "media-relay/relay/counters.h"
#include "media-relay/relay/latch.h"
#include "media-relay/relay/rtp_packet.h"
#include "media-relay/relay/scheduling.h"
#include "media-relay/relay/sock_addr.h"
#include "media-relay/srtp/context.h"

namespace relay {

using SessionId = std::uint64_t;
using Clock = std::chrono::steady_clock;

// What the control thread decides for one leg; sent whole on create and on
// every update (the worker keeps latches and statistics across updates).
struct LegSettings {
  std::optional<SockAddr> rtpRemote;
  std::optional<SockAddr> rtcpRemote;  // absent: rtpRemote with port + 1
  bool rtcpMux = false;
  sbc::relayctl::LatchMode latch = sbc::relayctl::LatchMode::kStrict;
  sbc::relayctl::Direction direction = sbc::relayctl::Direction::kSendRecv;
  std::uint32_t mediaTimeoutSeconds = 0;
  std::array<std::uint32_t, 128> clockRates{};  // by payload type; 0 = unknown
  bool srtp = false;
  // Set when keys change (create, re-key); null keeps the current context.
  // On an SRTP leg without an inbound context, packets from the remote are
  // dropped (no_key) until an update brings its key.
  srtp::ContextPtr inbound;
  srtp::ContextPtr outbound;
  bool replaceInbound = false;
  bool replaceOutbound = false;
};

struct SessionSetup {
  SessionId id = 0;
  std::string callId;
  std::array<int, 2> rtpFd{-1, -1};
  std::array<int, 2> rtcpFd{-1, -1};
  std::array<LegSettings, 2> legs;
};

class Worker {
 public:
  // Called on the worker thread when a leg times out; the callee posts.
  using TimeoutSink =
      std::function<void(SessionId, std::string callId, std::uint8_t leg, sbc::relayctl::LegStats)>;

  // delaySample: record relay_forward_delay_seconds for one session in
  // delaySample (receive stamps on its sockets, a clock read per send of its
  // packets); 0: none.
  Worker(unsigned index, Clock::duration latchWindow, TimeoutSink onTimeout,
         unsigned delaySample = 1);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Before start(): the policy the worker thread asks for when it starts
  // (scheduling.h); a refusal is logged once per process and the thread goes
  // on at the normal policy. counters()->schedPolicy says what it got.
  void setScheduling(WorkerScheduling policy, int priority) {
    schedPolicy_ = policy;
    schedPriority_ = priority;
  }
  void start();
  // Stops the loop and joins; sessions still held are released (their fds
  // stay open: oRTP, on the control thread, closes them).
  void stop();

  // Thread-safe: each runs `f` later on the worker thread. addSession
  // returns the session's statistics, which live in the worker's session
  // (next to the state the packets read) and stay valid as long as the
  // pointer is held.
  std::shared_ptr<SessionCounters> addSession(std::unique_ptr<SessionSetup> setup);
  void updateSession(SessionId id, std::array<std::unique_ptr<LegSettings>, 2> legs);
  // `done` runs on the worker thread once the session's sockets are off the
  // loop (so the control thread may close them).
  void removeSession(SessionId id, std::function<void()> done);

  const std::shared_ptr<WorkerCounters>& counters() const { return counters_; }
  std::size_t sessionCount() const { return counters_->sessions.load(std::memory_order_relaxed); }

 private:
  struct Leg;
  struct LegCold;
  struct Session;
  struct SocketRef;
  enum class SocketKind : std::uint8_t;
  template <typename F>
  void postToWorker(F&& f);
  void watch(Session& s);
  void unwatch(Session& s);
  void connectPeer(Session& s, int leg);
  void closePeer(Session& s, int leg);
  void applyScheduling();
  void run();
  void prefetchRound(int events);
  void drain(Session& s, int leg, SocketKind kind, Clock::time_point now);
  void onPacket(Session& s, int leg, bool rtcpSocket, std::size_t slot, std::size_t length,
                const SockAddr& source, Clock::time_point now);
  void flush();
  void applySettings(Session& s, int leg, LegSettings&& settings, Clock::time_point now);
  void tick(Clock::time_point now);

  unsigned index_;
  Clock::duration latchWindow_;
  TimeoutSink onTimeout_;
  unsigned delaySample_;
  WorkerScheduling schedPolicy_ = WorkerScheduling::kOther;
  int schedPriority_ = 0;
  std::uint64_t sessionsWatched_ = 0;  // worker thread only
  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  int epollFd_ = -1;
  int wakeFd_ = -1;  // eventfd: handlers were posted to io_
  std::thread thread_;
  bool stopping_ = false;  // worker thread only
  std::unordered_map<SessionId, std::shared_ptr<Session>> sessions_;
  // Removed this round; freed once no epoll event of the round can point at them.
  std::vector<std::shared_ptr<Session>> retired_;
  std::shared_ptr<WorkerCounters> counters_;
  struct Buffers;
  std::unique_ptr<Buffers> buffers_;
};

}  // namespace relay

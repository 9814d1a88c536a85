// The control side of the relay: the TCP listener for SBC connections, the
// session table, the port pool and the oRTP sessions, all on one thread (the
// control io_context). Requests run to completion on that thread: sockets
// are bound and SRTP keys made here, then the session is posted to its
// worker; statistics are read from the workers' atomic counters. Nothing here
// blocks on a worker.
//
// Connection rules: one line per request (LineFramer, 64 KiB); a line that is
// too long is answered `too_large` (id null) and the connection stays usable
// (the framer resyncs at the next newline). A peer that stops reading is
// closed once 4 MiB of answers wait for it.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/relayctl/protocol.h"
#include "media-relay/relay/config.h"
#include "media-relay/relay/leg_quality.h"
#include "media-relay/relay/port_pool.h"
#include "media-relay/relay/session_table.h"
#include "media-relay/relay/worker.h"

namespace relay {

// Gauges and counters of the control side, read by the metrics scrape.
struct ControlCounters {
  std::atomic<std::uint64_t> sessions{0};
  std::atomic<std::uint64_t> portsFree{0};
  std::atomic<std::uint64_t> portsTotal{0};
  std::atomic<std::uint64_t> connections{0};
  std::atomic<std::uint64_t> sessionsCreated{0};
  std::atomic<std::uint64_t> sessionsExpired{0};
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> requestErrors{0};
  std::atomic<std::uint64_t> eventsSent{0};
  std::atomic<std::uint64_t> eventsUndelivered{0};
  LegQuality legQuality;  // finished legs' jitter and loss (relay_metrics.cc)
};

class ControlServer {
 public:
  ControlServer(boost::asio::io_context& io, const RelayConfig& config,
                std::vector<std::unique_ptr<Worker>>& workers);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Binds the listener (throws std::system_error at start-up).
  void start();
  std::uint16_t port() const;
  // Closes the listener and every connection; sessions are released.
  void stop();

  const std::shared_ptr<ControlCounters>& counters() const { return counters_; }

  // The worker's timeout sink (called on a worker thread).
  void onMediaTimeout(SessionId id, std::string callId, std::uint8_t leg,
                      sbc::relayctl::LegStats stats);

  // Handles one request line from `conn` and returns the response line. Public
  // for tests; the network path goes through Connection.
  std::string handleLine(ConnectionId conn, const std::string& peerIp, std::string_view line);

 private:
  class Connection;
  struct ControlLeg;
  struct ControlSession;
  using Table = SessionTable<std::shared_ptr<ControlSession>>;

  void accept();
  void onClosed(ConnectionId id);
  void expireTick();
  sbc::relayctl::Response handle(ConnectionId conn, const std::string& peerIp,
                                 const sbc::relayctl::Request& request);
  sbc::relayctl::ResponseBody create(ConnectionId conn, const std::string& peerIp,
                                     const sbc::relayctl::CreateRequest& r);
  sbc::relayctl::ResponseBody update(ConnectionId conn, const std::string& peerIp,
                                     const sbc::relayctl::UpdateRequest& r);
  sbc::relayctl::ResponseBody destroy(const sbc::relayctl::DestroyRequest& r);
  void release(const std::shared_ptr<ControlSession>& s);
  std::array<sbc::relayctl::LegAllocation, 2> allocations(const ControlSession& s) const;
  std::array<sbc::relayctl::LegStats, 2> stats(const ControlSession& s) const;
  void sendEvent(ConnectionId conn, const sbc::relayctl::Event& event);
  void refreshGauges();

  boost::asio::io_context& io_;
  const RelayConfig& config_;
  std::vector<std::unique_ptr<Worker>>& workers_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer expiryTimer_;
  std::shared_ptr<PortPool> ports_;     // shared with sessions, which return their ports
  std::vector<std::size_t> perWorker_;  // sessions placed on each worker
  Table table_;
  std::unordered_map<SessionId, std::string> callIdOf_;  // for worker events
  std::unordered_map<ConnectionId, std::shared_ptr<Connection>> connections_;
  ConnectionId nextConnection_ = 1;
  SessionId nextSession_ = 1;
  std::shared_ptr<ControlCounters> counters_;
  bool stopped_ = false;
};

}  // namespace relay

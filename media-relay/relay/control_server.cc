#include "media-relay/relay/control_server.h"

#include <ortp/ortp.h>

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include <deque>

#include "common/relayctl/base64.h"
#include "common/relayctl/codec.h"
#include "common/relayctl/idempotency_cache.h"
#include "common/relayctl/line_framer.h"
#include "media-relay/srtp/sdes.h"

namespace relay {
namespace asio = boost::asio;
namespace rc = sbc::relayctl;
using asio::ip::tcp;

namespace {

constexpr std::size_t kMaxQueuedBytes = std::size_t{4} * 1024 * 1024;
constexpr std::size_t kCacheEntries = 1024;
constexpr int kBindAttempts = 8;

rc::Error err(rc::ErrorCode code, std::string field, std::string message) {
  return rc::Error{code, std::move(field), std::move(message)};
}

std::optional<SockAddr> toSockAddr(const std::optional<rc::Endpoint>& e) {
  if (!e) return std::nullopt;
  return SockAddr::fromString(e->address, e->port);
}

}  // namespace

struct ControlServer::ControlLeg {
  rc::Realm realm = rc::Realm::kInside;
  std::uint16_t port = 0;
  RtpSession* ortp = nullptr;
  std::optional<rc::Endpoint> rtp;
  std::optional<rc::Endpoint> rtcp;
  bool rtcpMux = false;
  std::vector<rc::PayloadType> payloadTypes;
  rc::Direction direction = rc::Direction::kSendRecv;
  std::uint32_t mediaTimeout = 0;
  rc::LatchMode latch = rc::LatchMode::kStrict;  // fixed at create
  const srtp::Suite* suite = nullptr;            // null: plain RTP
  srtp::MasterKey outKey;                        // what the relay sends with
};

struct ControlServer::ControlSession {
  SessionId id = 0;
  unsigned worker = 0;
  std::string callId;
  // The worker's (Worker::addSession); set once the session is handed over.
  std::shared_ptr<SessionCounters> counters;
  std::array<ControlLeg, 2> legs;
  std::shared_ptr<PortPool> pool;
  ~ControlSession() {
    for (auto& l : legs) {
      if (l.ortp) rtp_session_destroy(l.ortp);  // closes the sockets
      if (l.port != 0 && pool) pool->release(l.port);
    }
  }
};

// ------------------------------------------------------------ connections

class ControlServer::Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(ControlServer& server, tcp::socket socket, ConnectionId id)
      : server_(server), socket_(std::move(socket)), id_(id), cache_(kCacheEntries) {
    boost::system::error_code ec;
    auto ep = socket_.remote_endpoint(ec);
    if (!ec) peerIp_ = ep.address().to_string();
    socket_.set_option(tcp::no_delay(true), ec);
  }

  void start() { read(); }
  const std::string& peerIp() const { return peerIp_; }

  void send(std::string line) {
    if (closed_) return;
    line += '\n';
    queued_ += line.size();
    if (queued_ > kMaxQueuedBytes) {
      spdlog::warn("control {}: peer does not read, closing", peerIp_);
      close();
      return;
    }
    out_.push_back(std::move(line));
    if (!writing_) write();
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
    server_.onClosed(id_);
  }

 private:
  void read() {
    socket_.async_read_some(
        asio::buffer(buffer_),
        [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
          if (self->closed_) return;
          if (ec) {
            self->close();
            return;
          }
          self->framer_.feed(std::string_view(self->buffer_.data(), n),
                             [&](rc::FrameEvent ev, std::string_view line) {
                               if (self->closed_) return;
                               if (ev == rc::FrameEvent::kTooLarge) {
                                 bump(self->server_.counters_->requestErrors);
                                 self->send(rc::encode(rc::Response{
                                     "", rc::kProtocolVersion,
                                     err(rc::ErrorCode::kTooLarge, "",
                                         "line exceeds " + std::to_string(rc::kMaxLineBytes))}));
                                 return;
                               }
                               self->send(self->handle(line));
                             });
          if (!self->closed_) self->read();
        });
  }

  std::string handle(std::string_view line) {
    auto request = rc::decodeRequest(line);
    if (!request) {
      bump(server_.counters_->requestErrors);
      return rc::encode(rc::errorResponse(line, request.error()));
    }
    if (const std::string* cached = cache_.find(request->id)) return *cached;
    rc::Response response = server_.handle(id_, peerIp_, request.value());
    std::string encoded = rc::encode(response);
    cache_.insert(request->id, encoded);
    return encoded;
  }

  void write() {
    writing_ = true;
    asio::async_write(socket_, asio::buffer(out_.front()),
                      [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                        if (self->closed_) return;
                        if (ec) {
                          self->close();
                          return;
                        }
                        self->queued_ -= self->out_.front().size();
                        self->out_.pop_front();
                        if (self->out_.empty()) {
                          self->writing_ = false;
                        } else {
                          self->write();
                        }
                      });
  }

  friend class ControlServer;
  ControlServer& server_;
  tcp::socket socket_;
  ConnectionId id_;
  std::string peerIp_;
  rc::LineFramer framer_;
  rc::IdempotencyCache cache_;
  std::array<char, 16384> buffer_{};
  std::deque<std::string> out_;
  std::size_t queued_ = 0;
  bool writing_ = false;
  bool closed_ = false;
};

// ------------------------------------------------------------ server

ControlServer::ControlServer(asio::io_context& io, const RelayConfig& config,
                             std::vector<std::unique_ptr<Worker>>& workers)
    : io_(io),
      config_(config),
      workers_(workers),
      acceptor_(io),
      expiryTimer_(io),
      ports_(std::make_shared<PortPool>(config.portMin, config.portMax)),
      perWorker_(workers.size(), 0),
      counters_(std::make_shared<ControlCounters>()) {
  counters_->portsTotal = ports_->capacity();
  refreshGauges();
}

ControlServer::~ControlServer() {
  stop();
}

void ControlServer::start() {
  tcp::endpoint ep(asio::ip::make_address(config_.control.address), config_.control.port);
  acceptor_.open(ep.protocol());
  acceptor_.set_option(tcp::acceptor::reuse_address(true));
  acceptor_.bind(ep);
  acceptor_.listen();
  accept();
  expireTick();
}

std::uint16_t ControlServer::port() const {
  boost::system::error_code ec;
  return acceptor_.local_endpoint(ec).port();
}

void ControlServer::stop() {
  if (stopped_) return;
  stopped_ = true;
  boost::system::error_code ec;
  acceptor_.close(ec);
  expiryTimer_.cancel();
  auto conns = connections_;
  for (auto& [id, c] : conns) c->close();
  connections_.clear();
}

void ControlServer::accept() {
  acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
    if (stopped_) return;
    if (!ec) {
      if (connections_.size() >= config_.maxControlConnections) {
        spdlog::warn("control: connection limit {} reached, refusing one",
                     config_.maxControlConnections);
        socket.close(ec);
      } else {
        ConnectionId id = nextConnection_++;
        auto c = std::make_shared<Connection>(*this, std::move(socket), id);
        connections_.emplace(id, c);
        counters_->connections = connections_.size();
        spdlog::info("control: connection {} from {}", id, c->peerIp());
        c->start();
      }
    }
    accept();
  });
}

void ControlServer::onClosed(ConnectionId id) {
  auto it = connections_.find(id);
  if (it == connections_.end()) return;
  spdlog::info("control: connection {} from {} closed", id, it->second->peerIp());
  connections_.erase(it);
  counters_->connections = connections_.size();
  std::size_t n = table_.orphan(id, Clock::now(), config_.sessionTtl);
  if (n)
    spdlog::info("control: {} sessions wait {}s for a reconnect", n, config_.sessionTtl.count());
}

void ControlServer::expireTick() {
  expiryTimer_.expires_after(std::chrono::seconds(1));
  expiryTimer_.async_wait([this](boost::system::error_code ec) {
    if (ec || stopped_) return;
    for (auto& [callId, entry] : table_.expire(Clock::now())) {
      bump(counters_->sessionsExpired);
      const auto& s = entry.payload;
      spdlog::info("session {} expired (no SBC adopted it)", callId);
      // The owner is "back" when a connection from its address is open.
      ConnectionId back = kNoConnection;
      for (auto& [id, c] : connections_) {
        if (c->peerIp() == entry.ownerIp) back = id;
      }
      auto st = stats(*s);
      for (std::uint8_t leg = 0; leg < 2; ++leg) {
        if (back != kNoConnection) {
          sendEvent(back, rc::Event{rc::EventKind::kSessionExpired, callId, leg, st[leg]});
        } else {
          bump(counters_->eventsUndelivered);
        }
      }
      release(s);
    }
    refreshGauges();
    expireTick();
  });
}

void ControlServer::sendEvent(ConnectionId conn, const rc::Event& event) {
  auto it = connections_.find(conn);
  if (it == connections_.end()) {
    bump(counters_->eventsUndelivered);
    return;
  }
  bump(counters_->eventsSent);
  it->second->send(rc::encode(event));
}

void ControlServer::onMediaTimeout(SessionId id, std::string callId, std::uint8_t leg,
                                   rc::LegStats stats) {
  asio::post(io_, [this, id, callId = std::move(callId), leg, stats] {
    if (stopped_) return;
    Table::Entry* e = table_.find(callId);
    if (!e || e->payload->id != id) return;
    spdlog::info("session {}: media timeout on leg {}", callId, leg);
    if (e->owner == kNoConnection) {
      bump(counters_->eventsUndelivered);
      return;
    }
    sendEvent(e->owner, rc::Event{rc::EventKind::kMediaTimeout, callId, leg, stats});
  });
}

std::string ControlServer::handleLine(ConnectionId conn, const std::string& peerIp,
                                      std::string_view line) {
  auto request = rc::decodeRequest(line);
  if (!request) return rc::encode(rc::errorResponse(line, request.error()));
  return rc::encode(handle(conn, peerIp, request.value()));
}

rc::Response ControlServer::handle(ConnectionId conn, const std::string& peerIp,
                                   const rc::Request& request) {
  bump(counters_->requests);
  rc::Response resp;
  resp.id = request.id;
  resp.body = std::visit(
      [&](const auto& b) -> rc::ResponseBody {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, rc::CreateRequest>) {
          return create(conn, peerIp, b);
        } else if constexpr (std::is_same_v<T, rc::UpdateRequest>) {
          return update(conn, peerIp, b);
        } else if constexpr (std::is_same_v<T, rc::DestroyRequest>) {
          return destroy(b);
        } else if constexpr (std::is_same_v<T, rc::QueryRequest>) {
          Table::Entry* e = table_.find(b.callId);
          if (!e) return err(rc::ErrorCode::kUnknownSession, "call_id", "no such session");
          Table::adopt(*e, conn, peerIp);
          return rc::QueryResponse{stats(*e->payload)};
        } else {
          return rc::PongResponse{static_cast<std::uint32_t>(table_.size()),
                                  static_cast<std::uint32_t>(ports_->freeCount())};
        }
      },
      request.body);
  if (std::holds_alternative<rc::Error>(resp.body)) bump(counters_->requestErrors);
  refreshGauges();
  return resp;
}

namespace {

std::array<std::uint32_t, 128> clockRates(const std::vector<rc::PayloadType>& pts) {
  std::array<std::uint32_t, 128> rates{};
  // Static audio payload types (RFC 3551) are 8 kHz but for a few.
  for (std::size_t pt = 0; pt <= 23; ++pt) rates[pt] = 8000;
  rates[6] = 16000;
  rates[10] = rates[11] = 44100;
  rates[14] = 90000;
  rates[16] = 11025;
  rates[17] = 22050;
  for (const auto& p : pts) rates[p.pt & 0x7f] = p.clockRate;
  return rates;
}

}  // namespace

rc::ResponseBody ControlServer::create(ConnectionId conn, const std::string& peerIp,
                                       const rc::CreateRequest& r) {
  if (Table::Entry* e = table_.find(r.callId)) {
    // A create retransmitted across a reconnect: same session, same answer.
    const ControlSession& s = *e->payload;
    if (s.legs[0].realm != r.legs[0].realm || s.legs[1].realm != r.legs[1].realm) {
      return err(rc::ErrorCode::kBadField, "call_id", "a session with this call_id exists");
    }
    Table::adopt(*e, conn, peerIp);
    return rc::CreateResponse{allocations(s)};
  }
  for (std::size_t i = 0; i < 2; ++i) {
    const rc::LegSpec& l = r.legs[i];
    std::string p = "legs[" + std::to_string(i) + "]";
    if (l.rtp && !toSockAddr(l.rtp))
      return err(rc::ErrorCode::kBadField, p + ".rtp", "bad address");
    if (l.rtcp && !toSockAddr(l.rtcp)) {
      return err(rc::ErrorCode::kBadField, p + ".rtcp", "bad address");
    }
    if (l.crypto && !srtp::findSuite(l.crypto->suite)) {
      return err(rc::ErrorCode::kBadField, p + ".crypto.suite", "unsupported crypto suite");
    }
  }

  auto s = std::make_shared<ControlSession>();
  s->pool = ports_;
  s->id = nextSession_++;
  s->callId = r.callId;
  // The least loaded worker.
  for (unsigned w = 1; w < workers_.size(); ++w) {
    if (perWorker_[w] < perWorker_[s->worker]) s->worker = w;
  }
  auto setup = std::make_unique<SessionSetup>();
  setup->id = s->id;
  setup->callId = r.callId;

  for (std::size_t i = 0; i < 2; ++i) {
    const rc::LegSpec& spec = r.legs[i];
    ControlLeg& leg = s->legs[i];
    leg.realm = spec.realm;
    const RealmConfig& realm = spec.realm == rc::Realm::kInside ? config_.inside : config_.outside;
    for (int attempt = 0; attempt < kBindAttempts && !leg.ortp; ++attempt) {
      auto port = ports_->acquire();
      if (!port) break;
      RtpSession* o = rtp_session_new(RTP_SESSION_SENDRECV);
      rtp_session_set_scheduling_mode(o, 0);
      rtp_session_set_blocking_mode(o, 0);
      rtp_session_enable_jitter_buffer(o, FALSE);
      rtp_session_enable_adaptive_jitter_compensation(o, FALSE);
      rtp_session_set_symmetric_rtp(o, FALSE);
      rtp_session_set_reuseaddr(o, FALSE);
      if (rtp_session_set_local_addr(o, realm.address.c_str(), *port, *port + 1) < 0 ||
          rtp_session_get_rtp_socket(o) < 0 || rtp_session_get_rtcp_socket(o) < 0) {
        rtp_session_destroy(o);
        ports_->quarantine(*port);
        spdlog::warn("port pair {}/{} on {} is taken by someone else", *port, *port + 1,
                     realm.address);
        continue;
      }
      leg.ortp = o;
      leg.port = *port;
    }
    if (!leg.ortp) return err(rc::ErrorCode::kNoPorts, "", "no free port pair");
    setup->rtpFd[i] = rtp_session_get_rtp_socket(leg.ortp);
    setup->rtcpFd[i] = rtp_session_get_rtcp_socket(leg.ortp);

    leg.rtp = spec.rtp;
    leg.rtcp = spec.rtcp;
    leg.rtcpMux = spec.rtcpMux;
    leg.payloadTypes = spec.payloadTypes;
    leg.direction = spec.direction;
    leg.latch = spec.latch;
    leg.mediaTimeout =
        spec.mediaTimeoutSeconds != 0 ? spec.mediaTimeoutSeconds : config_.defaultMediaTimeout;
    LegSettings& ls = setup->legs[i];
    ls.latch = leg.latch;
    ls.rtpRemote = toSockAddr(leg.rtp);
    ls.rtcpRemote = toSockAddr(leg.rtcp);
    ls.rtcpMux = leg.rtcpMux;
    ls.direction = leg.direction;
    ls.mediaTimeoutSeconds = leg.mediaTimeout;
    ls.clockRates = clockRates(leg.payloadTypes);
    if (spec.crypto) {
      leg.suite = srtp::findSuite(spec.crypto->suite);
      auto key = srtp::generateMasterKey(*leg.suite);
      if (!key) return err(rc::ErrorCode::kInternal, "", "random number generator failed");
      leg.outKey = *key;
      ls.srtp = true;
      ls.replaceOutbound = ls.replaceInbound = true;
      ls.outbound =
          srtp::Context::create(*leg.suite, leg.outKey.view(), srtp::Direction::kOutbound);
      if (!ls.outbound) return err(rc::ErrorCode::kInternal, "", "SRTP context failed");
      if (!spec.crypto->generate) {
        std::array<std::uint8_t, srtp::kMaxMasterLength> in{};
        auto n = rc::base64Decode(spec.crypto->key, in);
        if (!n || *n != leg.suite->masterLength()) {
          return err(rc::ErrorCode::kBadField, "legs[" + std::to_string(i) + "].crypto.key",
                     "bad key");
        }
        ls.inbound =
            srtp::Context::create(*leg.suite, std::span(in.data(), *n), srtp::Direction::kInbound);
        if (!ls.inbound) return err(rc::ErrorCode::kInternal, "", "SRTP context failed");
      }
    }
  }
  table_.insert(r.callId, conn, peerIp, s);
  ++perWorker_[s->worker];
  bump(counters_->sessionsCreated);
  s->counters = workers_[s->worker]->addSession(std::move(setup));
  spdlog::debug("session {} created on worker {}: ports {} / {}", r.callId, s->worker,
                s->legs[0].port, s->legs[1].port);
  return rc::CreateResponse{allocations(*s)};
}

rc::ResponseBody ControlServer::update(ConnectionId conn, const std::string& peerIp,
                                       const rc::UpdateRequest& r) {
  Table::Entry* e = table_.find(r.callId);
  if (!e) return err(rc::ErrorCode::kUnknownSession, "call_id", "no such session");
  Table::adopt(*e, conn, peerIp);
  ControlSession& s = *e->payload;
  std::array<std::unique_ptr<LegSettings>, 2> changes;
  // Validate both legs before changing anything.
  for (std::size_t i = 0; i < 2; ++i) {
    const rc::LegUpdate& u = r.legs[i];
    std::string p = "legs[" + std::to_string(i) + "]";
    if (u.rtp && !toSockAddr(u.rtp))
      return err(rc::ErrorCode::kBadField, p + ".rtp", "bad address");
    if (u.rtcp && !toSockAddr(u.rtcp))
      return err(rc::ErrorCode::kBadField, p + ".rtcp", "bad address");
    if (u.crypto && !srtp::findSuite(u.crypto->suite)) {
      return err(rc::ErrorCode::kBadField, p + ".crypto.suite", "unsupported crypto suite");
    }
    if (u.crypto && !u.crypto->generate &&
        rc::base64DecodedLength(u.crypto->key) !=
            srtp::findSuite(u.crypto->suite)->masterLength()) {
      return err(rc::ErrorCode::kBadField, p + ".crypto.key", "bad key");
    }
  }
  for (std::size_t i = 0; i < 2; ++i) {
    const rc::LegUpdate& u = r.legs[i];
    ControlLeg& leg = s.legs[i];
    auto ls = std::make_unique<LegSettings>();
    if (u.rtp) leg.rtp = u.rtp;
    if (u.rtcp) leg.rtcp = u.rtcp;
    if (u.rtcpMux) leg.rtcpMux = *u.rtcpMux;
    if (u.payloadTypes) leg.payloadTypes = *u.payloadTypes;
    if (u.direction) leg.direction = *u.direction;
    if (u.mediaTimeoutSeconds) {
      leg.mediaTimeout =
          *u.mediaTimeoutSeconds != 0 ? *u.mediaTimeoutSeconds : config_.defaultMediaTimeout;
    }
    ls->rtpRemote = toSockAddr(leg.rtp);
    ls->rtcpRemote = toSockAddr(leg.rtcp);
    ls->rtcpMux = leg.rtcpMux;
    ls->latch = leg.latch;
    ls->direction = leg.direction;
    ls->mediaTimeoutSeconds = leg.mediaTimeout;
    ls->clockRates = clockRates(leg.payloadTypes);
    if (u.crypto) {
      // Re-key. A new suite, or generate:true, gives the relay a new sending
      // key; a key is the remote's (new) sending key.
      const srtp::Suite* suite = srtp::findSuite(u.crypto->suite);
      if (suite != leg.suite || u.crypto->generate) {
        auto key = srtp::generateMasterKey(*suite);
        if (!key) return err(rc::ErrorCode::kInternal, "", "random number generator failed");
        leg.outKey = *key;
        ls->outbound = srtp::Context::create(*suite, leg.outKey.view(), srtp::Direction::kOutbound);
        if (!ls->outbound) return err(rc::ErrorCode::kInternal, "", "SRTP context failed");
        ls->replaceOutbound = true;
        if (suite != leg.suite)
          ls->replaceInbound = true;  // the old remote key is for the old suite
      }
      if (!u.crypto->generate) {
        std::array<std::uint8_t, srtp::kMaxMasterLength> in{};
        auto n = rc::base64Decode(u.crypto->key, in);
        ls->inbound = srtp::Context::create(*suite, std::span(in.data(), n.value_or(0)),
                                            srtp::Direction::kInbound);
        if (!ls->inbound) return err(rc::ErrorCode::kInternal, "", "SRTP context failed");
        ls->replaceInbound = true;
      }
      leg.suite = suite;
    } else if (u.plain && leg.suite != nullptr) {
      // SRTP -> RTP (a re-INVITE without a=crypto): both contexts go with
      // this update, so nothing is protected or accepted with the old keys.
      leg.suite = nullptr;
      leg.outKey = srtp::MasterKey{};
      ls->replaceInbound = true;
      ls->replaceOutbound = true;
    }
    ls->srtp = leg.suite != nullptr;
    changes[i] = std::move(ls);
  }
  workers_[s.worker]->updateSession(s.id, std::move(changes));
  return rc::UpdateResponse{allocations(s)};
}

rc::ResponseBody ControlServer::destroy(const rc::DestroyRequest& r) {
  Table::Entry* e = table_.find(r.callId);
  if (!e) return err(rc::ErrorCode::kUnknownSession, "call_id", "no such session");
  auto s = e->payload;
  auto st = stats(*s);
  table_.erase(r.callId);
  release(s);
  return rc::DestroyResponse{st};
}

void ControlServer::release(const std::shared_ptr<ControlSession>& s) {
  for (std::size_t i = 0; i < 2; ++i)
    counters_->legQuality.observe(s->legs[i].suite != nullptr, s->counters->legs[i].snapshot());
  --perWorker_[s->worker];
  // The worker lets go of the sockets first; the last reference (and with it
  // the oRTP sessions and the ports) then goes on this thread: the holder is
  // emptied here, wherever the lambdas themselves end up destroyed.
  auto holder = std::make_shared<std::shared_ptr<ControlSession>>(s);
  workers_[s->worker]->removeSession(s->id, [this, holder] {
    asio::post(io_, [this, holder] {
      holder->reset();
      refreshGauges();
    });
  });
}

std::array<rc::LegAllocation, 2> ControlServer::allocations(const ControlSession& s) const {
  std::array<rc::LegAllocation, 2> out;
  for (std::size_t i = 0; i < 2; ++i) {
    const ControlLeg& l = s.legs[i];
    const RealmConfig& realm = l.realm == rc::Realm::kInside ? config_.inside : config_.outside;
    out[i].localAddress = realm.advertised();
    out[i].rtpPort = l.port;
    out[i].rtcpPort = l.rtcpMux ? l.port : static_cast<std::uint16_t>(l.port + 1);
    if (l.suite) {
      out[i].crypto =
          rc::Crypto{std::string(l.suite->sdesName), rc::base64Encode(l.outKey.view()), false};
    }
  }
  return out;
}

std::array<rc::LegStats, 2> ControlServer::stats(const ControlSession& s) const {
  return {s.counters->legs[0].snapshot(), s.counters->legs[1].snapshot()};
}

void ControlServer::refreshGauges() {
  counters_->sessions.store(table_.size(), std::memory_order_relaxed);
  counters_->portsFree.store(ports_->freeCount(), std::memory_order_relaxed);
}

}  // namespace relay

#include "sbc/media/relay_client.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <deque>
#include <map>
#include <variant>

#include "common/relayctl/codec.h"
#include "common/relayctl/line_framer.h"

namespace sbc::media {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

// By RequestBody index.
constexpr std::array<std::string_view, std::variant_size_v<relayctl::RequestBody>> kVerbs = {
    "create", "update", "destroy", "query", "ping"};

relayctl::ResponseBody failure(std::string_view why) {
  return relayctl::Error{relayctl::ErrorCode::kInternal, {}, std::string(why)};
}

}  // namespace

struct RelayClient::Impl : std::enable_shared_from_this<Impl> {
  struct Pending {
    std::size_t relay = 0;
    std::string line;  // encoded with its id, re-sent as is
    int attempts_left = 0;
    ResponseHandler done;
    std::unique_ptr<asio::steady_timer> timer;
    bool create = false;
    std::string_view verb;     // for the request observer
    Clock::time_point sent{};  // first attempt: latency includes retransmissions
  };

  struct Conn {
    explicit Conn(asio::io_context& io)
        : socket(io), reconnect_timer(io), ping_timer(io), grace_timer(io) {}
    RelayEndpoint endpoint;
    tcp::socket socket;
    asio::steady_timer reconnect_timer;
    asio::steady_timer ping_timer;
    asio::steady_timer grace_timer;
    bool up = false;
    bool connecting = false;
    std::uint64_t generation = 0;  // bumps on every close: stale handlers ignore
    std::array<char, 16384> buf{};
    relayctl::LineFramer framer;
    std::deque<std::string> out;
    bool writing = false;
    std::chrono::milliseconds backoff{0};
    std::optional<Clock::time_point> last_pong;
    std::optional<Clock::time_point> down_since;
    bool lost_reported = false;
    RelayStatus status;
  };

  Impl(asio::io_context& io_, RelayClientOptions o) : io(io_), options(std::move(o)) {
    for (const RelayEndpoint& e : options.relays) {
      auto c = std::make_unique<Conn>(io);
      c->endpoint = e;
      c->status.endpoint = e.address + ":" + std::to_string(e.port);
      c->backoff = options.reconnect_min;
      conns.push_back(std::move(c));
    }
  }

  asio::io_context& io;
  RelayClientOptions options;
  std::vector<std::unique_ptr<Conn>> conns;
  std::map<std::uint64_t, Pending> pending;  // by id counter: resent in order
  std::uint64_t next_id = 1;
  bool stopped = false;
  EventHandler on_event;
  LostHandler on_lost;
  RequestObserver on_request;

  void observe(const Pending& p, std::string_view result) {
    if (on_request) on_request(p.relay, p.verb, result, Clock::now() - p.sent);
  }

  bool healthy(const Conn& c) const {
    if (!c.up || !c.last_pong) return false;
    const auto limit = options.ping_interval * 2 + options.request_timeout * options.attempts;
    return Clock::now() - *c.last_pong <= limit;
  }

  void start() {
    for (std::size_t i = 0; i < conns.size(); ++i) {
      markDown(i);
      connect(i);
    }
  }

  void connect(std::size_t i) {
    Conn& c = *conns[i];
    if (stopped || c.up || c.connecting) return;
    boost::system::error_code ec;
    const auto addr = asio::ip::make_address(c.endpoint.address, ec);
    if (ec) {
      spdlog::error("relay {}: bad address", c.status.endpoint);
      return;
    }
    c.connecting = true;
    c.socket = tcp::socket(io);
    const std::uint64_t gen = c.generation;
    c.socket.async_connect(tcp::endpoint(addr, c.endpoint.port),
                           [self = shared_from_this(), i, gen](boost::system::error_code e) {
                             self->onConnected(i, gen, e);
                           });
  }

  void onConnected(std::size_t i, std::uint64_t gen, boost::system::error_code ec) {
    Conn& c = *conns[i];
    if (stopped || gen != c.generation) return;
    c.connecting = false;
    if (ec) {
      scheduleReconnect(i);
      return;
    }
    boost::system::error_code ignored;
    c.socket.set_option(tcp::no_delay(true), ignored);
    c.up = true;
    c.status.connected = true;
    ++c.status.reconnects;
    c.backoff = options.reconnect_min;
    c.framer = relayctl::LineFramer();
    c.down_since.reset();
    c.lost_reported = false;
    c.grace_timer.cancel();
    spdlog::info("relay {}: connected", c.status.endpoint);
    read(i);
    // Whatever waited for this relay goes out now, oldest first, same ids.
    for (auto& [id, p] : pending) {
      if (p.relay == i) write(i, p.line);
    }
    ping(i);
  }

  void scheduleReconnect(std::size_t i) {
    Conn& c = *conns[i];
    if (stopped) return;
    c.reconnect_timer.expires_after(c.backoff);
    c.backoff = std::min(c.backoff * 2, options.reconnect_max);
    c.reconnect_timer.async_wait([self = shared_from_this(), i](boost::system::error_code e) {
      if (!e) self->connect(i);
    });
  }

  void markDown(std::size_t i) {
    Conn& c = *conns[i];
    if (c.down_since) return;
    c.down_since = Clock::now();
    c.grace_timer.expires_after(options.grace);
    c.grace_timer.async_wait([self = shared_from_this(), i](boost::system::error_code e) {
      if (e || self->stopped) return;
      Conn& cc = *self->conns[i];
      if (cc.up || cc.lost_reported) return;
      cc.lost_reported = true;
      spdlog::warn("relay {}: down for longer than the grace period", cc.status.endpoint);
      if (self->on_lost) self->on_lost(i);
    });
  }

  void close(std::size_t i, std::string_view why) {
    Conn& c = *conns[i];
    if (!c.up && !c.connecting) return;
    spdlog::warn("relay {}: connection lost ({})", c.status.endpoint, why);
    ++c.generation;
    boost::system::error_code ignored;
    c.socket.close(ignored);
    c.up = false;
    c.connecting = false;
    c.writing = false;
    c.out.clear();
    c.status.connected = false;
    c.ping_timer.cancel();
    markDown(i);
    scheduleReconnect(i);
  }

  void read(std::size_t i) {
    Conn& c = *conns[i];
    const std::uint64_t gen = c.generation;
    c.socket.async_read_some(asio::buffer(c.buf), [self = shared_from_this(), i, gen](
                                                      boost::system::error_code ec, std::size_t n) {
      Conn& cc = *self->conns[i];
      if (self->stopped || gen != cc.generation) return;
      if (ec) {
        self->close(i, ec.message());
        return;
      }
      cc.framer.feed(std::string_view(cc.buf.data(), n),
                     [&](relayctl::FrameEvent ev, std::string_view line) {
                       if (ev == relayctl::FrameEvent::kLine) self->onLine(i, line);
                     });
      if (gen == cc.generation && !self->stopped) self->read(i);
    });
  }

  void onLine(std::size_t i, std::string_view line) {
    if (relayctl::isEventLine(line)) {
      auto ev = relayctl::decodeEvent(line);
      if (!ev) {
        spdlog::warn("relay {}: bad event line: {}", conns[i]->status.endpoint, ev.error().message);
        return;
      }
      if (on_event) on_event(i, ev.value());
      return;
    }
    auto rsp = relayctl::decodeResponse(line);
    if (!rsp) {
      spdlog::warn("relay {}: bad response line: {}", conns[i]->status.endpoint,
                   rsp.error().message);
      return;
    }
    const std::string& id = rsp->id;
    if (id.size() <= options.id_prefix.size() ||
        id.compare(0, options.id_prefix.size(), options.id_prefix) != 0) {
      return;
    }
    std::uint64_t n = 0;
    for (std::size_t k = options.id_prefix.size(); k < id.size(); ++k) {
      if (id[k] < '0' || id[k] > '9') return;
      n = n * 10 + static_cast<std::uint64_t>(id[k] - '0');
    }
    auto it = pending.find(n);
    if (it == pending.end() || it->second.relay != i) return;  // late or duplicate answer
    Pending p = std::move(it->second);
    pending.erase(it);
    p.timer->cancel();
    observe(p, std::holds_alternative<relayctl::Error>(rsp->body) ? "error" : "ok");
    if (auto* pong = std::get_if<relayctl::PongResponse>(&rsp->body)) {
      Conn& c = *conns[i];
      c.last_pong = Clock::now();
      c.status.sessions = pong->sessions;
      c.status.ports_free = pong->portsFree;
    }
    if (p.done) p.done(rsp->body);
  }

  void write(std::size_t i, const std::string& line) {
    Conn& c = *conns[i];
    if (!c.up) return;
    c.out.push_back(line);
    c.out.back().push_back('\n');
    if (!c.writing) flush(i);
  }

  void flush(std::size_t i) {
    Conn& c = *conns[i];
    if (c.out.empty()) {
      c.writing = false;
      return;
    }
    c.writing = true;
    const std::uint64_t gen = c.generation;
    asio::async_write(
        c.socket, asio::buffer(c.out.front()),
        [self = shared_from_this(), i, gen](boost::system::error_code ec, std::size_t) {
          Conn& cc = *self->conns[i];
          if (self->stopped || gen != cc.generation) return;
          if (ec) {
            self->close(i, ec.message());
            return;
          }
          cc.out.pop_front();
          self->flush(i);
        });
  }

  void ping(std::size_t i) {
    Conn& c = *conns[i];
    if (stopped || !c.up) return;
    send(i, relayctl::PingRequest{}, nullptr, 1);
    const std::uint64_t gen = c.generation;
    c.ping_timer.expires_after(options.ping_interval);
    c.ping_timer.async_wait([self = shared_from_this(), i, gen](boost::system::error_code e) {
      if (!e && gen == self->conns[i]->generation) self->ping(i);
    });
  }

  void send(std::size_t i, relayctl::RequestBody body, ResponseHandler done, int attempts) {
    if (stopped || i >= conns.size()) {
      if (done) {
        asio::post(io, [done = std::move(done)] { done(failure("stopped")); });
      }
      return;
    }
    const std::uint64_t n = next_id++;
    relayctl::Request req;
    req.id = options.id_prefix + std::to_string(n);
    const bool create = std::holds_alternative<relayctl::CreateRequest>(body);
    Conn& c = *conns[i];
    if (create) ++c.status.sessions;
    if (std::holds_alternative<relayctl::DestroyRequest>(body) && c.status.sessions > 0) {
      --c.status.sessions;
    }
    req.body = std::move(body);
    Pending p;
    p.relay = i;
    p.line = relayctl::encode(req);
    p.attempts_left = attempts;
    p.done = std::move(done);
    p.create = create;
    p.verb = kVerbs[req.body.index()];
    p.sent = Clock::now();
    p.timer = std::make_unique<asio::steady_timer>(io);
    ++c.status.requests;
    auto [it, inserted] = pending.emplace(n, std::move(p));
    write(i, it->second.line);
    arm(n);
  }

  void arm(std::uint64_t n) {
    auto it = pending.find(n);
    if (it == pending.end()) return;
    it->second.timer->expires_after(options.request_timeout);
    it->second.timer->async_wait([self = shared_from_this(), n](boost::system::error_code e) {
      if (!e) self->onTimeout(n);
    });
  }

  void onTimeout(std::uint64_t n) {
    auto it = pending.find(n);
    if (it == pending.end() || stopped) return;
    Pending& p = it->second;
    Conn& c = *conns[p.relay];
    if (--p.attempts_left > 0) {
      ++c.status.retransmits;
      write(p.relay, p.line);
      arm(n);
      return;
    }
    ++c.status.timeouts;
    Pending gone = std::move(p);
    pending.erase(it);
    observe(gone, "timeout");
    if (gone.done) gone.done(failure("timeout"));
  }

  void stop() {
    if (stopped) return;
    stopped = true;
    for (auto& c : conns) {
      boost::system::error_code ignored;
      c->socket.close(ignored);
      c->reconnect_timer.cancel();
      c->ping_timer.cancel();
      c->grace_timer.cancel();
      c->up = false;
      c->status.connected = false;
    }
    auto all = std::move(pending);
    pending.clear();
    for (auto& [n, p] : all) {
      p.timer->cancel();
      observe(p, "stopped");
      if (p.done) p.done(failure("stopped"));
    }
  }
};

RelayClient::RelayClient(asio::io_context& io, RelayClientOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(options))) {}

RelayClient::~RelayClient() {
  impl_->on_event = nullptr;
  impl_->on_lost = nullptr;
  impl_->on_request = nullptr;
  impl_->stop();
}

void RelayClient::onEvent(EventHandler handler) {
  impl_->on_event = std::move(handler);
}
void RelayClient::onRelayLost(LostHandler handler) {
  impl_->on_lost = std::move(handler);
}
void RelayClient::onRequestDone(RequestObserver observer) {
  impl_->on_request = std::move(observer);
}
void RelayClient::start() {
  impl_->start();
}
void RelayClient::stop() {
  impl_->stop();
}

std::optional<std::size_t> RelayClient::pickRelay() const {
  std::optional<std::size_t> best;
  for (std::size_t i = 0; i < impl_->conns.size(); ++i) {
    const auto& c = *impl_->conns[i];
    if (!impl_->healthy(c)) continue;
    if (!best || c.status.sessions < impl_->conns[*best]->status.sessions) best = i;
  }
  return best;
}

void RelayClient::send(std::size_t relay, relayctl::RequestBody body, ResponseHandler done) {
  impl_->send(relay, std::move(body), std::move(done), std::max(1, impl_->options.attempts));
}

std::size_t RelayClient::relayCount() const {
  return impl_->conns.size();
}

RelayStatus RelayClient::status(std::size_t relay) const {
  if (relay >= impl_->conns.size()) return {};
  RelayStatus s = impl_->conns[relay]->status;
  s.healthy = impl_->healthy(*impl_->conns[relay]);
  return s;
}

bool RelayClient::healthy(std::size_t relay) const {
  return relay < impl_->conns.size() && impl_->healthy(*impl_->conns[relay]);
}

}  // namespace sbc::media

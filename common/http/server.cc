#include "common/http/server.h"

#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <unordered_set>
#include <vector>

#include "common/http/http_date.h"
#include "common/http/request.h"
#include "common/http/response.h"
#include "common/http/router.h"
#include "common/metrics/registry.h"

namespace sbc::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using asio::awaitable;
using asio::ip::tcp;

namespace {

// Errors come back as values: no exceptions on the data path.
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kReadChunk = std::size_t{16} * 1024;
// Closing a socket with unread input makes the kernel answer with a reset,
// which can reach the client before it has read the response (its write of
// the body fails, or the reset discards what it had not read yet). So after
// an early answer the write side is shut (the client sees the end of the
// response) and what the client still sends is read and dropped, up to
// these bounds, before the close: "lingering close".
constexpr std::size_t kLingerBytes = std::size_t{1} * 1024 * 1024;
constexpr std::chrono::milliseconds kLingerTime{2000};
constexpr std::size_t kStatusClasses = 5;

template <typename S>
std::string_view view(const S& s) {
  return {s.data(), s.size()};
}

bool hasCrLf(std::string_view s) {
  return s.find_first_of("\r\n") != std::string_view::npos;
}

// Per-connection state shared by its coroutine and stop(). Everything but
// the atomics is touched only on the connection's strand.
struct Conn {
  enum class State : std::uint8_t { kHandshake, kIdle, kBusy };
  explicit Conn(asio::any_io_executor ex) : executor(std::move(ex)) {}
  asio::any_io_executor executor;
  State state = State::kHandshake;
  std::function<void()> close;  // closes the socket; set while the stream exists
  // The connection closes after an answer given before the request's body
  // was all read: the client may still be sending it.
  bool unread_input = false;
};

// Every metric of this module, declared once.
struct HttpMetrics {
  metrics::CounterFamily requests;
  metrics::HistogramFamily duration;
  metrics::GaugeFamily connections_open;
  metrics::CounterFamily connections;
  metrics::CounterFamily connections_rejected;
  metrics::CounterFamily protocol_errors;

  explicit HttpMetrics(metrics::Registry& r) {
    auto latency = metrics::latencyBuckets();
    r.declare(*this, {
                         {&HttpMetrics::requests,
                          "http_requests_total",
                          "HTTP requests answered, by route pattern, method and status class",
                          {"server", "route", "method", "status_class"}},
                         {&HttpMetrics::duration,
                          "http_request_duration_seconds",
                          "Time from a request's header to the end of its response",
                          {"server", "route"},
                          {latency.begin(), latency.end()}},
                         {&HttpMetrics::connections_open,
                          "http_connections_open",
                          "HTTP connections open now",
                          {"server"}},
                         {&HttpMetrics::connections,
                          "http_connections_total",
                          "HTTP connections accepted",
                          {"server"}},
                         {&HttpMetrics::connections_rejected,
                          "http_connections_rejected_total",
                          "HTTP connections closed at once because max_connections was reached",
                          {"server"}},
                         {&HttpMetrics::protocol_errors,
                          "http_protocol_errors_total",
                          "Connections ended by a timeout, an oversize or malformed request, or a "
                          "failed TLS handshake",
                          {"server", "reason"}},
                     });
  }
};

enum class ProtocolError : std::uint8_t {
  kIdleTimeout,
  kHeaderTimeout,
  kBodyTimeout,
  kWriteTimeout,
  kHeaderTooLarge,
  kBodyTooLarge,
  kBadRequest,
  kTlsHandshake,
  kCount
};
constexpr std::array<std::string_view, static_cast<std::size_t>(ProtocolError::kCount)>
    kProtocolErrorNames = {"idle_timeout",     "header_timeout", "body_timeout", "write_timeout",
                           "header_too_large", "body_too_large", "bad_request",  "tls_handshake"};

constexpr std::array<std::string_view, kStatusClasses> kStatusClassNames = {"1xx", "2xx", "3xx",
                                                                            "4xx", "5xx"};

struct TlsContextResult {
  std::shared_ptr<asio::ssl::context> context;
  std::string error;
};

TlsContextResult makeTlsContext(const TlsOptions& options) {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                   asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                   asio::ssl::context::no_tlsv1_1 | asio::ssl::context::no_compression |
                   asio::ssl::context::single_dh_use);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(options.certificate_chain_file, ec);
  if (ec) {
    return {nullptr, "certificate chain " + options.certificate_chain_file + ": " + ec.message()};
  }
  ctx->use_private_key_file(options.private_key_file, asio::ssl::context::pem, ec);
  if (ec) return {nullptr, "private key " + options.private_key_file + ": " + ec.message()};
  if (SSL_CTX_check_private_key(native) != 1) {
    return {nullptr, "private key " + options.private_key_file + " does not match the certificate"};
  }
  return {std::move(ctx), {}};
}

bool isTimeout(const boost::system::error_code& ec) {
  return ec == beast::error::timeout;
}

// Ends of a connection that are the peer's doing, not a protocol error.
bool isPeerGone(const boost::system::error_code& ec) {
  return ec == bhttp::error::partial_message || ec == bhttp::error::end_of_stream ||
         ec == asio::error::eof || ec == asio::error::operation_aborted ||
         ec == asio::error::connection_reset || ec == asio::error::bad_descriptor ||
         ec.category() == asio::error::get_ssl_category();
}

using StreamParser = bhttp::request_parser<bhttp::buffer_body>;

// A streamed request body: each read() parses what has arrived into a fixed
// buffer (Beast's buffer_body), so a 200 MB upload never sits in memory.
template <typename Stream>
class StreamBodyReader final : public BodyReader {
 public:
  StreamBodyReader(Stream& stream, beast::flat_buffer& buffer, StreamParser& parser,
                   std::chrono::milliseconds timeout, bool send_continue)
      : stream_(stream),
        buffer_(buffer),
        parser_(parser),
        timeout_(timeout),
        send_continue_(send_continue),
        chunk_(kChunk) {}

  awaitable<BodyChunk> read() override {
    if (error_status_ >= 0) co_return BodyChunk{{}, false, error_status_};
    if (parser_.is_done()) co_return BodyChunk{{}, true, -1};
    auto& lowest = beast::get_lowest_layer(stream_);
    if (send_continue_) {
      // Only now that the handler wants the body (authentication passed).
      send_continue_ = false;
      bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, parser_.get().version()};
      lowest.expires_after(timeout_);
      auto [wec, wn] = co_await bhttp::async_write(stream_, cont, kTuple);
      if (wec) co_return fail(0, ProtocolErrorHint::kNone);
    }
    while (true) {
      auto& body = parser_.get().body();
      body.data = chunk_.data();
      body.size = chunk_.size();
      lowest.expires_after(timeout_);
      auto [ec, n] = co_await bhttp::async_read_some(stream_, buffer_, parser_, kTuple);
      if (ec == bhttp::error::need_buffer) ec = {};
      const std::size_t got = chunk_.size() - parser_.get().body().size;
      if (ec) {
        if (ec == bhttp::error::body_limit) co_return fail(413, ProtocolErrorHint::kTooLarge);
        if (isTimeout(ec)) co_return fail(0, ProtocolErrorHint::kTimeout);
        if (isPeerGone(ec)) co_return fail(0, ProtocolErrorHint::kNone);
        co_return fail(400, ProtocolErrorHint::kBad);
      }
      if (got > 0) {
        bytes_ += got;
        co_return BodyChunk{std::string_view(chunk_.data(), got), false, -1};
      }
      if (parser_.is_done()) co_return BodyChunk{{}, true, -1};
    }
  }

  std::uint64_t bytesRead() const override { return bytes_; }
  bool done() const { return parser_.is_done() && error_status_ < 0; }
  int errorStatus() const { return error_status_; }
  enum class ProtocolErrorHint : std::uint8_t { kNone, kTooLarge, kTimeout, kBad };
  ProtocolErrorHint hint() const { return hint_; }

 private:
  static constexpr std::size_t kChunk = std::size_t{64} * 1024;

  BodyChunk fail(int status, ProtocolErrorHint hint) {
    error_status_ = status;
    hint_ = hint;
    return BodyChunk{{}, false, status};
  }

  Stream& stream_;
  beast::flat_buffer& buffer_;
  StreamParser& parser_;
  std::chrono::milliseconds timeout_;
  bool send_continue_;
  std::vector<char> chunk_;
  std::uint64_t bytes_ = 0;
  int error_status_ = -1;
  ProtocolErrorHint hint_ = ProtocolErrorHint::kNone;
};

template <typename Message>
void setResponseHeaders(Message& out, const Response& res, unsigned version) {
  out.version(version);
  out.result(static_cast<unsigned>(res.status));
  out.reason(reasonPhrase(res.status));
  if (!res.content_type.empty() && !hasCrLf(res.content_type)) {
    out.set(bhttp::field::content_type, res.content_type);
  }
  for (const auto& [name, value] : res.headers) {
    // The framing headers are ours to write; CR/LF would split the header.
    if (beast::iequals(name, "content-length") || beast::iequals(name, "transfer-encoding") ||
        beast::iequals(name, "connection") || hasCrLf(name) || hasCrLf(value) || name.empty()) {
      continue;
    }
    out.insert(name, value);
  }
  out.set(bhttp::field::date, currentHttpDate());
}

}  // namespace

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  Impl(asio::io_context& io_context, ServerOptions opts, std::shared_ptr<const Router> r)
      : io(io_context),
        options(std::move(opts)),
        router(std::move(r)),
        strand(asio::make_strand(io_context)),
        acceptor(strand),
        stop_timer(strand) {
    if (!router) throw std::invalid_argument("http::Server needs a router");
    if (options.metrics) setUpMetrics(*options.metrics);
    for (std::size_t i = 0; i < router->routeCount(); ++i) {
      max_stream_limit = std::max(max_stream_limit, router->streamingLimit(i).value_or(0));
    }
  }

  // --- metrics -------------------------------------------------------------
  void setUpMetrics(metrics::Registry& registry) {
    m.emplace(registry);
    const std::string& server = options.name;
    open_gauge = &m->connections_open.with({server});
    accepted = &m->connections.with({server});
    rejected = &m->connections_rejected.with({server});
    for (std::size_t i = 0; i < protocol_errors.size(); ++i) {
      protocol_errors[i] = &m->protocol_errors.with({server, kProtocolErrorNames[i]});
    }
    // Route slots: every route, then "fallback", then "unmatched". Series are
    // created on first use (no empty series for combinations never seen) and
    // then reached through these arrays, without a lookup.
    std::size_t slots = router->routeCount() + 2;
    request_counters =
        std::vector<std::atomic<prometheus::Counter*>>(slots * kMethodCount * kStatusClasses);
    durations = std::vector<std::atomic<prometheus::Histogram*>>(slots);
  }

  std::size_t routeSlot(std::size_t route_index) const {
    std::size_t n = router->routeCount();
    if (route_index < n) return route_index;
    return route_index == Router::kFallbackRoute ? n : n + 1;
  }

  void countError(ProtocolError e) {
    if (m) protocol_errors[static_cast<std::size_t>(e)]->Increment();
  }

  void record(std::size_t route_index, Method method, int status, double seconds) {
    if (!m) return;
    std::size_t slot = routeSlot(route_index);
    std::size_t cls = static_cast<std::size_t>(std::clamp(status / 100, 1, 5) - 1);
    auto& cell =
        request_counters[(slot * kMethodCount + static_cast<std::size_t>(method)) * kStatusClasses +
                         cls];
    prometheus::Counter* counter = cell.load(std::memory_order_acquire);
    std::string_view route = router->routePattern(route_index);
    if (counter == nullptr) {
      counter =
          &m->requests.with({options.name, route, methodName(method), kStatusClassNames[cls]});
      cell.store(counter, std::memory_order_release);
    }
    counter->Increment();
    auto& hcell = durations[slot];
    prometheus::Histogram* histogram = hcell.load(std::memory_order_acquire);
    if (histogram == nullptr) {
      histogram = &m->duration.with({options.name, route});
      hcell.store(histogram, std::memory_order_release);
    }
    histogram->Observe(seconds);
  }

  // --- lifecycle ------------------------------------------------------------
  void start() {
    if (options.tls) {
      TlsContextResult tls = makeTlsContext(*options.tls);
      if (!tls.context) throw std::runtime_error("http server " + options.name + ": " + tls.error);
      tls_context = std::move(tls.context);
    }
    tcp::endpoint endpoint(asio::ip::make_address(options.address), options.port);
    acceptor.open(endpoint.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    if (endpoint.address().is_v6()) acceptor.set_option(asio::ip::v6_only(true));
    acceptor.bind(endpoint);
    acceptor.listen(asio::socket_base::max_listen_connections);
    bound_port = acceptor.local_endpoint().port();
    spdlog::info("http server {} listening on {}:{}{}", options.name, options.address, bound_port,
                 options.tls ? " (TLS)" : "");
    asio::co_spawn(strand, acceptLoop(shared_from_this()),
                   [name = options.name](const std::exception_ptr& e) {
                     if (!e) return;
                     try {
                       std::rethrow_exception(e);
                     } catch (const std::exception& ex) {
                       spdlog::error("http server {}: accept loop ended: {}", name, ex.what());
                     }
                   });
  }

  awaitable<void> acceptLoop(std::shared_ptr<Impl> self) {
    while (true) {
      tcp::socket socket(asio::make_strand(io));
      auto [ec] = co_await acceptor.async_accept(socket, kTuple);
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
        // EMFILE and friends: back off rather than spin.
        spdlog::warn("http server {}: accept failed: {}", options.name, ec.message());
        asio::steady_timer backoff(strand, std::chrono::milliseconds(100));
        co_await backoff.async_wait(kTuple);
        continue;
      }
      if (stopping.load()) co_return;
      auto conn = std::make_shared<Conn>(socket.get_executor());
      {
        std::lock_guard lock(mu);
        if (conns.size() >= options.max_connections) {
          if (m) rejected->Increment();
          boost::system::error_code ignored;
          socket.close(ignored);
          continue;
        }
        conns.insert(conn);
      }
      if (m) {
        accepted->Increment();
        open_gauge->Increment();
      }
      asio::any_io_executor ex = conn->executor;
      asio::co_spawn(ex, session(self, std::move(socket), conn),
                     [self, conn, name = options.name](const std::exception_ptr& e) {
                       if (e) {
                         try {
                           std::rethrow_exception(e);
                         } catch (const std::exception& ex) {
                           spdlog::error("http server {}: connection failed: {}", name, ex.what());
                         } catch (...) {
                         }
                       }
                       self->connectionEnded(conn);
                     });
    }
  }

  void connectionEnded(const std::shared_ptr<Conn>& conn) {
    bool last = false;
    {
      std::lock_guard lock(mu);
      conns.erase(conn);
      last = conns.empty() && stopping.load();
    }
    if (m) open_gauge->Decrement();
    if (last) asio::post(strand, [self = shared_from_this()] { self->finishStop(); });
  }

  // Runs on `strand`.
  void beginStop(std::chrono::milliseconds grace, std::function<void()> done) {
    if (done) on_stopped.push_back(std::move(done));
    if (stop_started) {
      if (stopped) finishStop();
      return;
    }
    stop_started = true;
    stopping.store(true);
    boost::system::error_code ignored;
    acceptor.close(ignored);
    closeConnections(/*idle_only=*/true);
    stop_timer.expires_after(grace);
    stop_timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec) return;
      self->closeConnections(/*idle_only=*/false);
      self->finishStop();
    });
    std::lock_guard lock(mu);
    if (conns.empty()) asio::post(strand, [self = shared_from_this()] { self->finishStop(); });
  }

  void closeConnections(bool idle_only) {
    std::vector<std::shared_ptr<Conn>> all;
    {
      std::lock_guard lock(mu);
      all.assign(conns.begin(), conns.end());
    }
    for (auto& conn : all) {
      asio::post(conn->executor, [conn, idle_only] {
        if (idle_only && conn->state == Conn::State::kBusy) return;
        if (conn->close) conn->close();
      });
    }
  }

  // Runs on `strand`.
  void finishStop() {
    stopped = true;
    stop_timer.cancel();
    for (auto& done : on_stopped) asio::post(io, std::move(done));
    on_stopped.clear();
  }

  // --- one connection ---------------------------------------------------------
  awaitable<void> session(std::shared_ptr<Impl> self, tcp::socket socket,
                          std::shared_ptr<Conn> conn) {
    boost::system::error_code ec;
    tcp::endpoint remote = socket.remote_endpoint(ec);
    Peer peer{ec ? std::string() : remote.address().to_string(),
              ec ? std::uint16_t{0} : remote.port()};
    socket.set_option(tcp::no_delay(true), ec);

    std::shared_ptr<asio::ssl::context> ctx;
    if (options.tls) {
      std::lock_guard lock(mu);
      ctx = tls_context;  // the connection keeps the context it started with
    }
    if (ctx) {
      asio::ssl::stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), *ctx);
      ClearOnExit guard{conn};
      conn->close = [&stream] { beast::get_lowest_layer(stream).close(); };
      if (stopping.load()) co_return;
      beast::get_lowest_layer(stream).expires_after(options.tls_handshake_timeout);
      auto [hs_ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, kTuple);
      if (hs_ec) {
        countError(ProtocolError::kTlsHandshake);
        spdlog::debug("http server {}: TLS handshake with {} failed: {}", options.name,
                      peer.address, hs_ec.message());
        co_return;
      }
      bool clean = co_await serve(stream, *conn, peer, true);
      if (clean) {
        // close_notify both ways, but never wait long for a peer that will
        // not answer it.
        beast::get_lowest_layer(stream).expires_after(
            std::min<std::chrono::milliseconds>(options.write_timeout, std::chrono::seconds(1)));
        co_await stream.async_shutdown(kTuple);
      }
    } else {
      beast::tcp_stream stream(std::move(socket));
      ClearOnExit guard{conn};
      conn->close = [&stream] { stream.close(); };
      bool clean = co_await serve(stream, *conn, peer, false);
      if (clean) {
        stream.socket().shutdown(tcp::socket::shutdown_send, ec);
        if (conn->unread_input || stream.socket().available(ec) > 0) {
          co_await lingerBeforeClose(stream, *conn);
        }
      }
    }
  }

  // Reads and drops what the client still sends, after the write side is
  // shut, until it closes or the bounds are reached (see kLingerBytes).
  awaitable<void> lingerBeforeClose(beast::tcp_stream& stream, Conn& conn) {
    if (stopping.load()) co_return;
    conn.state = Conn::State::kIdle;  // a stop may close it at once
    stream.expires_after(std::min<std::chrono::milliseconds>(options.body_timeout, kLingerTime));
    std::vector<char> sink(kReadChunk);
    std::size_t dropped = 0;
    while (dropped < kLingerBytes) {
      auto [ec, n] = co_await stream.async_read_some(asio::buffer(sink), kTuple);
      if (ec) break;
      dropped += n;
    }
  }

  struct Peer {
    std::string address;
    std::uint16_t port;
  };

  // Drops the close hook before the stream it points at is destroyed.
  struct ClearOnExit {
    std::shared_ptr<Conn> conn;
    ~ClearOnExit() { conn->close = nullptr; }
  };

  // Answers an error found before routing, then the connection closes.
  template <typename Stream>
  awaitable<void> writeEarlyError(Stream& stream, Conn& conn, int status, unsigned version,
                                  Method method, std::string_view message) {
    conn.unread_input = true;  // the rest of the request is not read
    Response res = Response::error(status, message);
    record(Router::kNoRoute, method, status, 0.0);
    co_await writeResponse(stream, res, version == 10 ? 10 : 11, false, false);
  }

  // Returns whether the connection ended in an orderly way (worth a shutdown).
  template <typename Stream>
  awaitable<bool> serve(Stream& stream, Conn& conn, const Peer& peer, bool secure) {
    auto& lowest = beast::get_lowest_layer(stream);
    beast::flat_buffer buffer(options.max_header_bytes + 4 * kReadChunk);
    const auto header_limit =
        static_cast<std::uint32_t>(std::min<std::size_t>(options.max_header_bytes, UINT32_MAX));

    while (true) {
      // Between requests: wait for the next one's first byte (unless a
      // pipelined request is already buffered).
      if (buffer.size() == 0) {
        if (stopping.load()) co_return true;
        conn.state = Conn::State::kIdle;
        lowest.expires_after(options.idle_timeout);
        auto [ec, n] = co_await stream.async_read_some(buffer.prepare(kReadChunk), kTuple);
        if (ec) {
          if (isTimeout(ec)) countError(ProtocolError::kIdleTimeout);
          co_return false;
        }
        buffer.commit(n);
      }
      conn.state = Conn::State::kBusy;

      bhttp::request_parser<bhttp::string_body> parser;
      parser.header_limit(header_limit);
      // A declared Content-Length is checked against this as the header
      // ends, before the route is known: the largest limit of any route,
      // then the route's own below.
      parser.body_limit(std::max<std::uint64_t>(options.max_body_bytes, max_stream_limit));
      lowest.expires_after(options.header_timeout);
      auto [hec, hn] = co_await bhttp::async_read_header(stream, buffer, parser, kTuple);
      if (hec) {
        if (hec == bhttp::error::header_limit) {
          countError(ProtocolError::kHeaderTooLarge);
          co_await writeEarlyError(stream, conn, 431, 11, Method::kOther,
                                   "request header too large");
          co_return true;
        }
        if (hec == bhttp::error::body_limit) {  // Content-Length over the limit
          countError(ProtocolError::kBodyTooLarge);
          co_await writeEarlyError(stream, conn, 413, parser.get().version(),
                                   methodFromName(view(parser.get().method_string())),
                                   "request body too large");
          co_return true;
        }
        if (isTimeout(hec)) {
          countError(ProtocolError::kHeaderTimeout);
          co_return false;
        }
        if (hec == bhttp::error::end_of_stream || hec == asio::error::eof ||
            hec == asio::error::operation_aborted || hec == asio::error::connection_reset ||
            hec == asio::error::bad_descriptor ||
            hec.category() == asio::error::get_ssl_category()) {
          co_return false;
        }
        countError(ProtocolError::kBadRequest);
        co_await writeEarlyError(stream, conn, 400, 11, Method::kOther, "malformed request");
        co_return true;
      }

      // A streaming route takes the body as it comes (see StreamBodyReader).
      std::optional<std::uint64_t> stream_limit;
      if (router->hasStreamingRoutes()) {
        Request probe;
        probe.method = methodFromName(view(parser.get().method_string()));
        if (probe.setTarget(view(parser.get().target()))) {
          router->match(probe);
          stream_limit = router->streamingLimit(probe.route_index);
        }
      }
      const std::uint64_t route_limit = stream_limit.value_or(options.max_body_bytes);
      if (auto cl = parser.content_length(); cl && *cl > route_limit) {
        countError(ProtocolError::kBodyTooLarge);
        co_await writeEarlyError(stream, conn, 413, parser.get().version(),
                                 methodFromName(view(parser.get().method_string())),
                                 "request body too large");
        co_return true;
      }
      if (stream_limit) {
        StreamParser sparser(std::move(parser));
        sparser.body_limit(*stream_limit);
        int next = co_await serveStreamed(stream, buffer, sparser, conn, peer, secure);
        if (next == kCloseClean) co_return true;
        if (next == kCloseAbort) co_return false;
        continue;
      }
      parser.body_limit(options.max_body_bytes);

      auto& msg = parser.get();
      if (!parser.is_done()) {
        auto expect = msg.find(bhttp::field::expect);
        if (expect != msg.end() && beast::iequals(expect->value(), "100-continue")) {
          bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, msg.version()};
          lowest.expires_after(options.write_timeout);
          auto [wec, wn] = co_await bhttp::async_write(stream, cont, kTuple);
          if (wec) co_return false;
        }
        lowest.expires_after(options.body_timeout);
        auto [bec, bn] = co_await bhttp::async_read(stream, buffer, parser, kTuple);
        if (bec) {
          Method method = methodFromName(view(msg.method_string()));
          if (bec == bhttp::error::body_limit) {
            countError(ProtocolError::kBodyTooLarge);
            co_await writeEarlyError(stream, conn, 413, msg.version(), method,
                                     "request body too large");
            co_return true;
          }
          if (isTimeout(bec)) {
            countError(ProtocolError::kBodyTimeout);
            co_return false;
          }
          if (bec == bhttp::error::partial_message || bec == asio::error::eof ||
              bec == asio::error::operation_aborted || bec == asio::error::connection_reset ||
              bec.category() == asio::error::get_ssl_category()) {
            co_return false;
          }
          countError(ProtocolError::kBadRequest);
          co_await writeEarlyError(stream, conn, 400, msg.version(), method,
                                   "malformed request body");
          co_return true;
        }
      }

      const auto started = std::chrono::steady_clock::now();
      Request req;
      bool keep_alive = msg.keep_alive();
      Response res;
      if (auto refusal = startRequest(msg, peer, secure, req, keep_alive)) {
        res = std::move(*refusal);
      } else {
        req.body = std::move(msg.body());
        res = co_await router->handle(req);
      }
      const std::optional<std::uint64_t> body_read;  // not counted apart: the response's size
      bool ok =
          co_await answer(stream, req, res, msg.version(), keep_alive, peer, started, body_read);
      if (!ok) co_return false;
      if (!keep_alive) co_return true;
    }
  }

  static constexpr int kKeepGoing = 0;
  static constexpr int kCloseClean = 1;
  static constexpr int kCloseAbort = 2;

  // One request of a streaming route: the handler reads the body itself.
  template <typename Stream>
  awaitable<int> serveStreamed(Stream& stream, beast::flat_buffer& buffer, StreamParser& parser,
                               Conn& conn, const Peer& peer, bool secure) {
    auto& msg = parser.get();
    const auto started = std::chrono::steady_clock::now();
    Request req;
    bool keep_alive = msg.keep_alive();
    auto expect = msg.find(bhttp::field::expect);
    const bool send_continue =
        !parser.is_done() && expect != msg.end() && beast::iequals(expect->value(), "100-continue");
    StreamBodyReader<Stream> reader(stream, buffer, parser, options.body_timeout, send_continue);
    Response res;
    if (auto refusal = startRequest(msg, peer, secure, req, keep_alive)) {
      res = std::move(*refusal);
      keep_alive = false;  // its body is not read
    } else {
      req.body_reader = &reader;
      res = co_await router->handle(req);
      req.body_reader = nullptr;
    }
    using Hint = typename StreamBodyReader<Stream>::ProtocolErrorHint;
    switch (reader.hint()) {
      case Hint::kTooLarge:
        countError(ProtocolError::kBodyTooLarge);
        break;
      case Hint::kTimeout:
        countError(ProtocolError::kBodyTimeout);
        break;
      case Hint::kBad:
        countError(ProtocolError::kBadRequest);
        break;
      case Hint::kNone:
        break;
    }
    if (reader.errorStatus() == 0) {
      if (res.stream) res.stream->cancel();
      co_return kCloseAbort;  // nobody left to answer
    }
    if (reader.errorStatus() > 0) {
      if (res.stream) res.stream->cancel();
      res = Response::error(reader.errorStatus(), reader.errorStatus() == 413
                                                      ? "request body too large"
                                                      : "malformed request body");
    }
    // Whatever of the body the handler left unread is not worth reading.
    if (!reader.done()) {
      keep_alive = false;
      conn.unread_input = true;
    }
    const std::optional<std::uint64_t> body_read = reader.bytesRead();
    bool ok =
        co_await answer(stream, req, res, msg.version(), keep_alive, peer, started, body_read);
    if (!ok) co_return kCloseAbort;
    co_return keep_alive ? kKeepGoing : kCloseClean;
  }

  // A request's line, peer and header fields into `req` (the body is the
  // caller's), or the refusal that answers it instead: an HTTP version other
  // than 1.0 and 1.1 (505, and the connection closes) or a bad target (400).
  std::optional<Response> startRequest(const bhttp::request_header<>& msg, const Peer& peer,
                                       bool secure, Request& req, bool& keep_alive) {
    req.method_name = view(msg.method_string());
    req.method = methodFromName(req.method_name);
    req.remote_address = peer.address;
    req.remote_port = peer.port;
    req.secure = secure;
    if (msg.version() != 10 && msg.version() != 11) {
      keep_alive = false;
      return Response::error(505, "only HTTP/1.0 and HTTP/1.1 are served");
    }
    if (!req.setTarget(view(msg.target()))) {
      countError(ProtocolError::kBadRequest);
      return Response::error(400, "bad request target");
    }
    req.headers.reserve(16);
    for (const auto& field : msg) req.headers.add(view(field.name_string()), view(field.value()));
    return std::nullopt;
  }

  // Writes a handled request's response, then counts and logs the exchange;
  // false when the write failed. keep_alive ends false when the server is
  // stopping, an HTTP/1.0 stream has to run to the close, or the handler
  // asked for Connection: close. `body_read`: what a streaming route read.
  template <typename Stream>
  awaitable<bool> answer(Stream& stream, const Request& req, Response& res, unsigned version,
                         bool& keep_alive, const Peer& peer,
                         std::chrono::steady_clock::time_point started,
                         std::optional<std::uint64_t> body_read) {
    if (stopping.load() || (res.stream && version == 10)) keep_alive = false;
    if (auto c = res.header("Connection"); c && beast::iequals(*c, "close")) keep_alive = false;
    const int status = res.status;
    const std::size_t body_size = res.body.size();
    bool ok = co_await writeResponse(stream, res, version == 10 ? 10 : 11, keep_alive,
                                     req.method == Method::kHead);
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    record(req.route_index, req.method, status, seconds);
    if (body_read) {
      spdlog::debug("http {} {}:{} \"{} {}\" {} in {}B out {}B {:.3f}ms", options.name,
                    peer.address, peer.port, req.method_name, req.target, status, *body_read,
                    body_size, seconds * 1000.0);
    } else {
      spdlog::debug("http {} {}:{} \"{} {}\" {} {}B {:.3f}ms", options.name, peer.address,
                    peer.port, req.method_name, req.target, status, body_size, seconds * 1000.0);
    }
    co_return ok;
  }

  template <typename Stream>
  awaitable<bool> writeResponse(Stream& stream, Response& res, unsigned version, bool keep_alive,
                                bool head) {
    if (res.status < 100 || res.status > 999) res = Response::error(500, "invalid status");
    if (res.stream) co_return co_await writeStreamed(stream, res, version, keep_alive, head);
    bhttp::response<bhttp::string_body> out;
    setResponseHeaders(out, res, version);
    const int status = res.status;
    if (status / 100 == 1 || status == 204 || status == 304) {
      res.body.clear();
    }
    out.body() = std::move(res.body);
    out.keep_alive(keep_alive);
    out.prepare_payload();

    beast::get_lowest_layer(stream).expires_after(options.write_timeout);
    boost::system::error_code ec;
    if (head) {
      bhttp::response_serializer<bhttp::string_body> serializer(out);
      std::tie(ec, std::ignore) = co_await bhttp::async_write_header(stream, serializer, kTuple);
    } else {
      std::tie(ec, std::ignore) = co_await bhttp::async_write(stream, out, kTuple);
    }
    if (ec && isTimeout(ec)) countError(ProtocolError::kWriteTimeout);
    co_return !ec;
  }

  // Chunked transfer for HTTP/1.1; for HTTP/1.0 the body runs to the close.
  // write_timeout applies to each piece, so a slow but moving client is fine.
  template <typename Stream>
  awaitable<bool> writeStreamed(Stream& stream, Response& res, unsigned version, bool keep_alive,
                                bool head) {
    std::shared_ptr<BodySource> source = std::move(res.stream);
    struct CancelUnlessDone {
      BodySource* source;
      bool done = false;
      ~CancelUnlessDone() {
        if (!done) source->cancel();
      }
    } guard{source.get()};
    const bool chunked = version == 11;  // the callers close an HTTP/1.0 connection after it
    bhttp::response<bhttp::empty_body> out;
    setResponseHeaders(out, res, version);
    out.keep_alive(keep_alive);
    if (chunked) out.chunked(true);
    auto& lowest = beast::get_lowest_layer(stream);
    lowest.expires_after(options.write_timeout);
    bhttp::response_serializer<bhttp::empty_body> serializer(out);
    auto [hec, hn] = co_await bhttp::async_write_header(stream, serializer, kTuple);
    if (hec) {
      if (isTimeout(hec)) countError(ProtocolError::kWriteTimeout);
      co_return false;
    }
    if (head) co_return true;
    while (true) {
      BodyPiece piece = co_await source->next();
      if (piece.failed) co_return false;  // cut: the client must not take it as complete
      if (!piece.data.empty()) {
        lowest.expires_after(options.write_timeout);
        boost::system::error_code ec;
        if (chunked) {
          std::tie(ec, std::ignore) = co_await asio::async_write(
              stream, bhttp::make_chunk(asio::buffer(piece.data)), kTuple);
        } else {
          std::tie(ec, std::ignore) =
              co_await asio::async_write(stream, asio::buffer(piece.data), kTuple);
        }
        if (ec) {
          if (isTimeout(ec)) countError(ProtocolError::kWriteTimeout);
          co_return false;
        }
      }
      if (piece.done) break;
    }
    guard.done = true;
    if (chunked) {
      lowest.expires_after(options.write_timeout);
      auto [ec, n] = co_await asio::async_write(stream, bhttp::make_chunk_last(), kTuple);
      if (ec) co_return false;
    }
    co_return true;
  }

  asio::io_context& io;
  ServerOptions options;
  std::shared_ptr<const Router> router;
  asio::strand<asio::io_context::executor_type> strand;  // acceptor and stop state
  tcp::acceptor acceptor;
  asio::steady_timer stop_timer;
  std::uint16_t bound_port = 0;
  std::uint64_t max_stream_limit = 0;  // the largest streaming route's body limit

  mutable std::mutex mu;  // guards conns and tls_context
  std::unordered_set<std::shared_ptr<Conn>> conns;
  std::shared_ptr<asio::ssl::context> tls_context;

  std::atomic<bool> stopping{false};
  bool stop_started = false;  // on strand
  bool stopped = false;       // on strand
  std::vector<std::function<void()>> on_stopped;

  std::optional<HttpMetrics> m;
  prometheus::Gauge* open_gauge = nullptr;
  prometheus::Counter* accepted = nullptr;
  prometheus::Counter* rejected = nullptr;
  std::array<prometheus::Counter*, static_cast<std::size_t>(ProtocolError::kCount)>
      protocol_errors{};
  std::vector<std::atomic<prometheus::Counter*>> request_counters;
  std::vector<std::atomic<prometheus::Histogram*>> durations;
};

Server::Server(asio::io_context& io, ServerOptions options, std::shared_ptr<const Router> router)
    : impl_(std::make_shared<Impl>(io, std::move(options), std::move(router))) {}

Server::~Server() {
  // Connections hold the Impl; make them end soon without waiting here.
  impl_->stopping.store(true);
  asio::post(impl_->strand, [impl = impl_] {
    boost::system::error_code ignored;
    impl->acceptor.close(ignored);
    impl->closeConnections(/*idle_only=*/false);
    impl->stop_timer.cancel();
  });
}

void Server::start() {
  impl_->start();
}

std::uint16_t Server::port() const {
  return impl_->bound_port;
}

ReloadResult Server::reloadCertificates() {
  if (!impl_->options.tls) return {false, "server " + impl_->options.name + " has no TLS"};
  TlsContextResult tls = makeTlsContext(*impl_->options.tls);
  if (!tls.context) {
    spdlog::warn("http server {}: certificate reload failed: {}", impl_->options.name, tls.error);
    return {false, tls.error};
  }
  {
    std::lock_guard lock(impl_->mu);
    impl_->tls_context = std::move(tls.context);
  }
  spdlog::info("http server {}: certificates reloaded", impl_->options.name);
  return {true, {}};
}

void Server::stop(std::chrono::milliseconds grace, std::function<void()> on_stopped) {
  asio::post(impl_->strand, [impl = impl_, grace, done = std::move(on_stopped)]() mutable {
    impl->beginStop(grace, std::move(done));
  });
}

std::size_t Server::connectionCount() const {
  std::lock_guard lock(impl_->mu);
  return impl_->conns.size();
}

}  // namespace sbc::http

#pragma once
// HTTP/1.1 server on an io_context the caller runs (on as many threads as it
// likes: each connection is one coroutine on its own strand). Keep-alive,
// pipelined requests answered in order, a timeout on every read and write,
// size limits (431/413), optional TLS 1.2+ with certificate reload, and a
// graceful stop. Beast stays inside server.cc.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace sbc::metrics {
class Registry;
}  // namespace sbc::metrics

namespace sbc::http {

class Router;

struct TlsOptions {
  std::string certificate_chain_file;  // PEM, leaf first
  std::string private_key_file;        // PEM, unencrypted
};

struct ServerOptions {
  std::string name = "http";  // the "server" label of its metrics, and log lines
  std::string address = "127.0.0.1";
  std::uint16_t port = 0;  // 0: any free port (see Server::port())

  std::size_t max_header_bytes = std::size_t{16} * 1024;  // request line + fields; over it: 431
  std::size_t max_body_bytes = std::size_t{1024} * 1024;  // over it: 413
  std::size_t max_connections = 1024;                     // more are closed as soon as accepted

  // Waiting for the next request on a kept-alive connection.
  std::chrono::milliseconds idle_timeout{60'000};
  // From the request's first byte to the end of its header.
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds body_timeout{30'000};
  std::chrono::milliseconds write_timeout{30'000};
  std::chrono::milliseconds tls_handshake_timeout{10'000};

  std::optional<TlsOptions> tls;
  // Where request counts and latencies go; null: none.
  std::shared_ptr<metrics::Registry> metrics;
};

struct ReloadResult {
  bool ok = false;
  std::string error;  // why the old certificate stays in use
  explicit operator bool() const { return ok; }
};

class Server {
 public:
  Server(boost::asio::io_context& io, ServerOptions options, std::shared_ptr<const Router> router);
  ~Server();  // closes everything still open, without waiting
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts accepting. Start-up only: throws (std::system_error for
  // the socket, std::runtime_error for a TLS certificate or key).
  void start();
  // The bound port (after start()).
  std::uint16_t port() const;

  // Loads the certificate and key files again; connections made from now on
  // use them, open ones keep theirs. On failure the old ones stay.
  ReloadResult reloadCertificates();

  // Stops accepting, closes idle keep-alive connections, lets requests in
  // progress finish (answered with Connection: close) and closes whatever is
  // left when `grace` runs out. `on_stopped` runs on the io_context once every
  // connection is gone (or right after that forced close).
  void stop(std::chrono::milliseconds grace, std::function<void()> on_stopped = {});

  std::size_t connectionCount() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace sbc::http

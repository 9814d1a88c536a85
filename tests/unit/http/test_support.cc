#include "tests/unit/http/test_support.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdlib.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <stdexcept>
#include <thread>

namespace sbc::http::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using asio::ip::tcp;

Response handleNow(const Router& router, Request& request) {
  asio::io_context io;
  std::optional<Response> out;
  asio::co_spawn(io, router.handle(request), [&](std::exception_ptr e, Response r) {
    if (e) std::rethrow_exception(e);
    out = std::move(r);
  });
  io.run();
  if (!out) throw std::runtime_error("router did not answer");
  return std::move(*out);
}

Request makeRequest(Method method, std::string_view target) {
  Request r;
  r.method = method;
  r.method_name = methodName(method);
  if (!r.setTarget(target)) throw std::invalid_argument("bad target in test");
  return r;
}

asio::awaitable<void> sleepFor(std::chrono::milliseconds duration) {
  asio::steady_timer timer(co_await asio::this_coro::executor, duration);
  co_await timer.async_wait(asio::use_awaitable);
}

// --- TestServer -------------------------------------------------------------

struct TestServer::Impl {
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  std::unique_ptr<Server> server;
  std::vector<std::thread> threads;
};

TestServer::TestServer(ServerOptions options, std::shared_ptr<const Router> router, int threads)
    : impl_(std::make_unique<Impl>()) {
  impl_->server = std::make_unique<Server>(impl_->io, std::move(options), std::move(router));
  impl_->server->start();
  for (int i = 0; i < threads; ++i) impl_->threads.emplace_back([this] { impl_->io.run(); });
}

TestServer::~TestServer() {
  impl_->server.reset();
  impl_->work.reset();
  impl_->io.stop();
  for (auto& t : impl_->threads) t.join();
}

std::uint16_t TestServer::port() const {
  return impl_->server->port();
}
Server& TestServer::server() {
  return *impl_->server;
}

bool TestServer::stopAndWait(std::chrono::milliseconds grace, std::chrono::milliseconds wait) {
  auto done = std::make_shared<std::promise<void>>();
  auto future = done->get_future();
  impl_->server->stop(grace, [done] { done->set_value(); });
  return future.wait_for(wait) == std::future_status::ready;
}

// --- TestClient -------------------------------------------------------------

std::optional<std::string> ClientResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (equalsIgnoreCase(k, name)) return v;
  }
  return std::nullopt;
}

struct TestClient::Impl {
  asio::io_context io;
  tcp::socket socket{io};
  std::unique_ptr<asio::ssl::context> ctx;
  std::unique_ptr<asio::ssl::stream<tcp::socket&>> tls;
  beast::flat_buffer buffer;

  // Runs one asynchronous operation to completion or until the timeout, when
  // the socket is cancelled. Returns the operation's error (timed_out if it
  // had to be cancelled).
  template <typename Start>
  boost::system::error_code runFor(std::chrono::milliseconds timeout, Start start) {
    bool done = false;
    boost::system::error_code result;
    start([&](boost::system::error_code ec, auto&&...) {
      result = ec;
      done = true;
    });
    io.restart();
    io.run_for(timeout);
    if (!done) {
      boost::system::error_code ignored;
      socket.cancel(ignored);
      io.restart();
      io.run();
      result = asio::error::timed_out;
    }
    return result;
  }

  template <typename F>
  auto withStream(F&& f) {
    if (tls) return f(*tls);
    return f(socket);
  }
};

TestClient::TestClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TestClient::~TestClient() = default;

std::unique_ptr<TestClient> TestClient::connect(std::uint16_t port) {
  auto impl = std::make_unique<Impl>();
  tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port);
  auto ec = impl->runFor(5s, [&](auto handler) { impl->socket.async_connect(ep, handler); });
  if (ec) return nullptr;
  return std::unique_ptr<TestClient>(new TestClient(std::move(impl)));
}

std::unique_ptr<TestClient> TestClient::connectTls(std::uint16_t port, const TlsClientOptions& o) {
  auto client = connect(port);
  if (!client) return nullptr;
  Impl& impl = *client->impl_;
  impl.ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
  if (!o.ca_file.empty()) {
    impl.ctx->load_verify_file(o.ca_file);
    impl.ctx->set_verify_mode(asio::ssl::verify_peer);
  } else {
    impl.ctx->set_verify_mode(asio::ssl::verify_none);
  }
  if (o.max_version != 0) {
    SSL_CTX_set_min_proto_version(impl.ctx->native_handle(), 0);
    SSL_CTX_set_max_proto_version(impl.ctx->native_handle(), o.max_version);
    // OpenSSL 3 refuses TLS < 1.2 at its default security level.
    SSL_CTX_set_security_level(impl.ctx->native_handle(), 0);
  }
  impl.tls = std::make_unique<asio::ssl::stream<tcp::socket&>>(impl.socket, *impl.ctx);
  SSL_set_tlsext_host_name(impl.tls->native_handle(), "localhost");
  auto ec = impl.runFor(5s, [&](auto handler) {
    impl.tls->async_handshake(asio::ssl::stream_base::client, handler);
  });
  if (ec) return nullptr;
  return client;
}

bool TestClient::send(std::string_view bytes) {
  auto ec = impl_->runFor(5s, [&](auto handler) {
    impl_->withStream([&](auto& s) { asio::async_write(s, asio::buffer(bytes), handler); });
  });
  return !ec;
}

std::optional<ClientResponse> TestClient::read(bool head, std::chrono::milliseconds timeout) {
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  parser.skip(head);
  auto ec = impl_->runFor(timeout, [&](auto handler) {
    impl_->withStream([&](auto& s) { bhttp::async_read(s, impl_->buffer, parser, handler); });
  });
  if (ec) return std::nullopt;
  auto& msg = parser.get();
  ClientResponse out;
  out.status = static_cast<int>(msg.result_int());
  for (const auto& f : msg) out.headers.emplace_back(f.name_string(), f.value());
  out.body = msg.body();
  out.keep_alive = msg.keep_alive();
  return out;
}

std::optional<ClientResponse> TestClient::request(std::string_view method, std::string_view target,
                                                  std::string_view body,
                                                  std::string_view extra_headers) {
  std::string raw = std::string(method) + " " + std::string(target) +
                    " HTTP/1.1\r\nHost: localhost\r\n" + std::string(extra_headers);
  if (!body.empty() || method == "POST" || method == "PUT") {
    raw += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  raw += "\r\n";
  raw += body;
  if (!send(raw)) return std::nullopt;
  return read(method == "HEAD");
}

bool TestClient::closedWithin(std::chrono::milliseconds timeout) {
  if (impl_->buffer.size() > 0) return false;
  char byte;
  auto ec = impl_->runFor(timeout, [&](auto handler) {
    impl_->withStream([&](auto& s) { s.async_read_some(asio::buffer(&byte, 1), handler); });
  });
  if (!ec) return false;  // bytes arrived
  return ec != asio::error::timed_out;
}

std::string TestClient::peerCommonName() const {
  if (!impl_->tls) return {};
  X509* cert = SSL_get1_peer_certificate(impl_->tls->native_handle());
  if (cert == nullptr) return {};
  char cn[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof(cn));
  X509_free(cert);
  return cn;
}

// --- files ------------------------------------------------------------------

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "sbc-http-test-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void TempDir::write(std::string_view name, std::string_view content) const {
  std::filesystem::path p = file(name);
  std::filesystem::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
}

bool makeSelfSignedCertificate(const std::string& cert_file, const std::string& key_file,
                               const std::string& common_name) {
  std::string cmd =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2"
      " -subj '/CN=" +
      common_name +
      "' -addext 'subjectAltName=DNS:localhost,IP:127.0.0.1'"
      " -keyout '" +
      key_file + "' -out '" + cert_file + "' >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

}  // namespace sbc::http::test

#pragma once
// Test helpers for the HTTP server, free of Beast so that test files compile
// quickly: a server on its own io_context thread, a blocking client with
// timeouts (plain or TLS), temporary directories and throwaway certificates.
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/http/request.h"
#include "common/http/response.h"
#include "common/http/router.h"
#include "common/http/server.h"

namespace sbc::http::test {

using namespace std::chrono_literals;

// Runs `router` on one request, as a server would, and waits for the answer.
Response handleNow(const Router& router, Request& request);
// A request as the server would build it from a raw target.
Request makeRequest(Method method, std::string_view target);

// Suspends the calling coroutine (a handler) without blocking its thread.
boost::asio::awaitable<void> sleepFor(std::chrono::milliseconds duration);

class TestServer {
 public:
  TestServer(ServerOptions options, std::shared_ptr<const Router> router, int threads = 1);
  ~TestServer();
  std::uint16_t port() const;
  Server& server();
  // stop() and wait until on_stopped ran; false if it did not within `wait`.
  bool stopAndWait(std::chrono::milliseconds grace, std::chrono::milliseconds wait = 10s);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct ClientResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool keep_alive = true;
  std::optional<std::string> header(std::string_view name) const;
};

struct TlsClientOptions {
  std::string ca_file;  // verify the server against this; empty: no verification
  int max_version = 0;  // e.g. TLS1_1_VERSION; 0: library default
};

class TestClient {
 public:
  // nullptr when the connection (or TLS handshake) fails within the timeout.
  static std::unique_ptr<TestClient> connect(std::uint16_t port);
  static std::unique_ptr<TestClient> connectTls(std::uint16_t port, const TlsClientOptions& tls);
  ~TestClient();

  bool send(std::string_view bytes);
  // The next response; nullopt on close, error or timeout. `head`: the
  // response to a HEAD request (no body follows its Content-Length).
  std::optional<ClientResponse> read(bool head = false, std::chrono::milliseconds timeout = 5s);
  // send + read of a simple request ("Host" added).
  std::optional<ClientResponse> request(std::string_view method, std::string_view target,
                                        std::string_view body = {},
                                        std::string_view extra_headers = {});
  // True when the server closes the connection within `timeout` (EOF or
  // reset), false when it stays open or sends bytes instead.
  bool closedWithin(std::chrono::milliseconds timeout);
  // The server certificate's CN (TLS only).
  std::string peerCommonName() const;

 private:
  struct Impl;
  explicit TestClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(std::string_view name) const { return path_ + "/" + std::string(name); }
  void write(std::string_view name, std::string_view content) const;

 private:
  std::string path_;
};

// A self-signed EC certificate for 127.0.0.1/localhost with this CN, made by
// the openssl command; false when that fails.
bool makeSelfSignedCertificate(const std::string& cert_file, const std::string& key_file,
                               const std::string& common_name);

}  // namespace sbc::http::test

// Streamed request bodies (Router::addStreaming), streamed responses
// (Response::stream, chunked), BodyPipe between a thread and a coroutine.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "common/http/body_pipe.h"
#include "common/http/router.h"
#include "common/http/server.h"
#include "tests/unit/http/test_support.h"

namespace sbc::http {
namespace {

using namespace std::chrono_literals;
using test::TestClient;
using test::TestServer;

constexpr std::uint64_t kUploadLimit = std::uint64_t{2} * 1024 * 1024;

// Reads the whole body chunk by chunk: "<bytes> <chunks> <sum of bytes>".
boost::asio::awaitable<Response> countBody(Request& r) {
  std::uint64_t bytes = 0, chunks = 0, sum = 0;
  if (!r.body.empty()) co_return Response::text(500, "body was buffered");
  while (true) {
    BodyChunk c = co_await r.body_reader->read();
    if (c.failed()) co_return Response::text(499, "failed");
    if (c.done) break;
    ++chunks;
    bytes += c.data.size();
    for (char ch : c.data) sum += static_cast<unsigned char>(ch);
  }
  co_return Response::text(
      200, std::to_string(bytes) + " " + std::to_string(chunks) + " " + std::to_string(sum));
}

class Lines final : public BodySource {
 public:
  Lines(int n, int fail_after) : n_(n), fail_after_(fail_after) {}
  boost::asio::awaitable<BodyPiece> next() override {
    BodyPiece p;
    if (i_ == fail_after_) {
      p.failed = true;
      co_return p;
    }
    if (i_ == n_) {
      p.done = true;
      co_return p;
    }
    p.data = "line " + std::to_string(i_++) + "\n";
    co_return p;
  }

 private:
  int n_, fail_after_, i_ = 0;
};

// Bytes written by a thread through a small pipe, read by the response.
class PipeBody final : public BodySource {
 public:
  explicit PipeBody(std::shared_ptr<BodyPipe> pipe) : pipe_(std::move(pipe)) {}
  boost::asio::awaitable<BodyPiece> next() override {
    BodyPiece p;
    p.data = co_await pipe_->read();
    if (p.data.empty()) {
      p.failed = pipe_->failed() || pipe_->cancelled();
      p.done = !p.failed;
    }
    co_return p;
  }
  void cancel() override { pipe_->cancel(); }

 private:
  std::shared_ptr<BodyPipe> pipe_;
};

struct Fixture {
  std::shared_ptr<Router> router = std::make_shared<Router>();
  std::vector<std::thread> writers;
  std::atomic<std::size_t> max_buffered{0};
  ~Fixture() {
    for (auto& t : writers) t.join();
  }
};

std::shared_ptr<Router> makeRouter(Fixture& f) {
  auto& router = *f.router;
  router.addStreaming(Method::kPost, "/upload", countBody, kUploadLimit);
  router.addStreaming(
      Method::kPost, "/refuse",
      [](Request&) -> boost::asio::awaitable<Response> { co_return Response::text(403, "no"); },
      kUploadLimit);
  router.addSync(Method::kPost, "/echo", [](Request& r) { return Response::text(200, r.body); });
  router.add(Method::kGet, "/lines/{n}", [](Request& r) -> boost::asio::awaitable<Response> {
    Response res = Response::text(200, "", "text/plain");
    res.stream = std::make_shared<Lines>(std::stoi(std::string(r.param("n"))), -1);
    co_return res;
  });
  router.add(Method::kGet, "/broken", [](Request&) -> boost::asio::awaitable<Response> {
    Response res = Response::text(200, "", "text/plain");
    res.stream = std::make_shared<Lines>(100, 3);
    co_return res;
  });
  Fixture* fp = &f;
  router.add(Method::kGet, "/piped", [fp](Request&) -> boost::asio::awaitable<Response> {
    auto pipe = std::make_shared<BodyPipe>(64 * 1024);
    fp->writers.emplace_back([pipe] {
      std::string block(10'000, 'x');
      for (int i = 0; i < 500; ++i) {
        block[0] = static_cast<char>('a' + i % 26);
        if (!pipe->writeBlocking(block)) return;
      }
      pipe->close(true);
    });
    Response res = Response::text(200, "", "application/octet-stream");
    res.stream = std::make_shared<PipeBody>(pipe);
    co_return res;
  });
  return f.router;
}

ServerOptions options() {
  ServerOptions o;
  o.name = "stream";
  o.max_body_bytes = 1024;  // the buffered routes' limit
  o.body_timeout = 2s;
  o.write_timeout = 2s;
  return o;
}

std::string blob(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('0' + i % 10);
  return s;
}

std::string expected(const std::string& body) {
  std::uint64_t sum = 0;
  for (char c : body) sum += static_cast<unsigned char>(c);
  return std::to_string(body.size()) + " " + std::to_string(sum);
}

TEST(HttpStream, StreamingRouteReadsALargeBodyInChunksUnderItsOwnLimit) {
  Fixture f;
  TestServer server(options(), makeRouter(f));
  auto client = TestClient::connect(server.port());
  ASSERT_TRUE(client);
  std::string body = blob(600'000);  // far over max_body_bytes, under the route's limit
  auto res = client->request("POST", "/upload", body);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  std::string chunks = res->body.substr(res->body.find(' ') + 1);
  EXPECT_GT(std::stoi(chunks.substr(0, chunks.find(' '))), 1);  // handed over as it came
  EXPECT_EQ(
      res->body.substr(0, res->body.find(' ')) + " " + res->body.substr(res->body.rfind(' ') + 1),
      expected(body));
  // The connection stays usable (the body was read to its end).
  auto again = client->request("POST", "/upload", "abc");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->body, "3 1 294");
  // Other routes keep the server-wide limit.
  auto echo = client->request("POST", "/echo", blob(2000));
  ASSERT_TRUE(echo);
  EXPECT_EQ(echo->status, 413);
}

TEST(HttpStream, ChunkedUploadIsStreamedToo) {
  Fixture f;
  TestServer server(options(), makeRouter(f));
  auto client = TestClient::connect(server.port());
  ASSERT_TRUE(client);
  std::string a = blob(70'000), b = blob(5);
  char size_a[32], size_b[32];
  std::snprintf(size_a, sizeof size_a, "%zx\r\n", a.size());
  std::snprintf(size_b, sizeof size_b, "%zx\r\n", b.size());
  std::string req = "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
                    std::string(size_a) + a + "\r\n" + std::string(size_b) + b + "\r\n0\r\n\r\n";
  ASSERT_TRUE(client->send(req));
  auto res = client->read();
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  EXPECT_EQ(
      res->body.substr(0, res->body.find(' ')) + " " + res->body.substr(res->body.rfind(' ') + 1),
      expected(a + b));
}

TEST(HttpStream, OverTheRouteLimitIs413) {
  Fixture f;
  TestServer server(options(), makeRouter(f));
  {
    auto client = TestClient::connect(server.port());
    ASSERT_TRUE(client);
    // Declared: refused before any of the body is read.
    ASSERT_TRUE(client->send("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                             std::to_string(kUploadLimit + 1) + "\r\n\r\n"));
    auto res = client->read();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 413);
  }
  {
    auto client = TestClient::connect(server.port());
    ASSERT_TRUE(client);
    // Chunked: refused as it crosses the limit, whatever the handler says.
    std::string piece = blob(std::size_t{512} * 1024);
    char size[32];
    std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
    std::string req = "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 5; ++i) req += std::string(size) + piece + "\r\n";
    req += "0\r\n\r\n";
    client->send(req);
    auto res = client->read();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 413);
    EXPECT_TRUE(client->closedWithin(2s));
  }
}

TEST(HttpStream, AnswerWithoutReadingTheBodyClosesTheConnection) {
  Fixture f;
  TestServer server(options(), makeRouter(f));
  auto client = TestClient::connect(server.port());
  ASSERT_TRUE(client);
  auto res = client->request("POST", "/refuse", blob(100'000));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 403);
  EXPECT_FALSE(res->keep_alive);
  EXPECT_TRUE(client->closedWithin(2s));
}

// The server answers early, then reads and drops the rest of the body
// (lingering close): the client can finish its upload instead of being reset
// mid-write, and still sees the connection end.
TEST(HttpStream, AfterAnEarlyAnswerTheClientCanFinishSendingTheBody) {
  Fixture f;
  TestServer server(options(), makeRouter(f));
  auto client = TestClient::connect(server.port());
  ASSERT_TRUE(client);
  const std::string body = blob(300'000);
  ASSERT_TRUE(client->send("POST /refuse HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                           std::to_string(body.size()) + "\r\n\r\n" + body.substr(0, 20'000)));
  auto res = client->read();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 403);
  EXPECT_FALSE(res->keep_alive);
  EXPECT_TRUE(client->send(body.substr(20'000)));
  EXPECT_TRUE(client->closedWithin(2s));
}

TEST(HttpStream, StreamedResponseIsChunkedAndComplete) {
  Fixture f;
  TestServer server(options(), makeRouter(f));
  auto client = TestClient::connect(server.port());
  ASSERT_TRUE(client);
  auto res = client->request("GET", "/lines/1000");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->header("Transfer-Encoding"), "chunked");
  EXPECT_FALSE(res->header("Content-Length"));
  EXPECT_EQ(res->body.substr(0, 14), "line 0\nline 1\n");
  EXPECT_NE(res->body.find("line 999\n"), std::string::npos);
  EXPECT_EQ(std::count(res->body.begin(), res->body.end(), '\n'), 1000);
  // Keep-alive survives a chunked answer.
  auto again = client->request("GET", "/lines/2");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->body, "line 0\nline 1\n");
}

TEST(HttpStream, AFailureMidStreamCutsTheConnection) {
  Fixture f;
  TestServer server(options(), makeRouter(f));
  auto client = TestClient::connect(server.port());
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->send("GET /broken HTTP/1.1\r\nHost: x\r\n\r\n"));
  // Never a complete response: the last chunk does not come.
  EXPECT_FALSE(client->read());
}

TEST(HttpStream, PipeCarriesAThreadsOutputInOrderWithinItsCapacity) {
  Fixture f;
  TestServer server(options(), makeRouter(f));
  auto client = TestClient::connect(server.port());
  ASSERT_TRUE(client);
  auto res = client->request("GET", "/piped");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->body.size(), 5'000'000U);
  for (int i = 0; i < 500; ++i) {
    ASSERT_EQ(res->body[static_cast<std::size_t>(i) * 10'000], static_cast<char>('a' + i % 26));
  }
}

TEST(BodyPipe, BlockingSidesAndCancel) {
  auto pipe = std::make_shared<BodyPipe>(8);
  std::thread writer([pipe] {
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(pipe->writeBlocking("0123456789"));
    pipe->close(true);
  });
  std::string all;
  while (true) {
    std::string part = pipe->readBlocking();
    if (part.empty()) break;
    EXPECT_LE(part.size(), 20U);  // capacity 8 plus one write's overshoot
    all += part;
  }
  writer.join();
  EXPECT_EQ(all.size(), 1000U);
  EXPECT_TRUE(pipe->ended());
  EXPECT_FALSE(pipe->failed());

  auto stuck = std::make_shared<BodyPipe>(4);
  std::thread blocked([stuck] {
    EXPECT_TRUE(stuck->writeBlocking("12345"));
    EXPECT_FALSE(stuck->writeBlocking("more"));  // full until the reader cancels
  });
  std::this_thread::sleep_for(50ms);
  stuck->cancel();
  blocked.join();
  EXPECT_TRUE(stuck->cancelled());
  EXPECT_TRUE(stuck->readBlocking().empty());
}

}  // namespace
}  // namespace sbc::http

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <filesystem>

#include "common/http/router.h"
#include "common/http/server.h"
#include "tests/unit/http/test_support.h"

namespace sbc::http {
namespace {

using namespace std::chrono_literals;
using test::TempDir;
using test::TestClient;
using test::TestServer;

class TlsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(
        test::makeSelfSignedCertificate(dir_.file("a.crt"), dir_.file("a.key"), "console-a"));
    std::filesystem::copy_file(dir_.file("a.crt"), dir_.file("server.crt"));
    std::filesystem::copy_file(dir_.file("a.key"), dir_.file("server.key"));
    router_ = std::make_shared<Router>();
    router_->addSync(Method::kGet, "/secure",
                     [](Request& r) { return Response::text(200, r.secure ? "tls" : "plain"); });
  }

  ServerOptions options() const {
    ServerOptions o;
    o.name = "console";
    o.tls = TlsOptions{dir_.file("server.crt"), dir_.file("server.key")};
    o.tls_handshake_timeout = 300ms;
    return o;
  }

  TempDir dir_;
  std::shared_ptr<Router> router_;
};

TEST_F(TlsServerTest, RoundTripWithVerifiedCertificate) {
  TestServer server(options(), router_);
  auto client = TestClient::connectTls(server.port(), {dir_.file("a.crt"), 0});
  ASSERT_TRUE(client);
  EXPECT_EQ(client->peerCommonName(), "console-a");
  for (int i = 0; i < 3; ++i) {  // keep-alive over TLS
    auto res = client->request("GET", "/secure");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->body, "tls");
  }
}

TEST_F(TlsServerTest, RefusesTls11AndPlainHttp) {
  TestServer server(options(), router_);
  EXPECT_FALSE(TestClient::connectTls(server.port(), {"", TLS1_1_VERSION}));
  EXPECT_TRUE(TestClient::connectTls(server.port(), {"", TLS1_2_VERSION}));  // the floor

  auto plain = TestClient::connect(server.port());
  ASSERT_TRUE(plain);
  ASSERT_TRUE(plain->send("GET /secure HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_FALSE(plain->read(false, 2s).has_value());
}

TEST_F(TlsServerTest, SilentClientIsDroppedAtTheHandshakeTimeout) {
  TestServer server(options(), router_);
  auto silent = TestClient::connect(server.port());
  ASSERT_TRUE(silent);
  EXPECT_TRUE(silent->closedWithin(2s));
}

TEST_F(TlsServerTest, ReloadCertificatesAppliesToNewConnections) {
  TestServer server(options(), router_);
  auto before = TestClient::connectTls(server.port(), {});
  ASSERT_TRUE(before);
  EXPECT_EQ(before->peerCommonName(), "console-a");

  ASSERT_TRUE(test::makeSelfSignedCertificate(dir_.file("b.crt"), dir_.file("b.key"), "console-b"));
  std::filesystem::copy_file(dir_.file("b.crt"), dir_.file("server.crt"),
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(dir_.file("b.key"), dir_.file("server.key"),
                             std::filesystem::copy_options::overwrite_existing);
  ReloadResult result = server.server().reloadCertificates();
  EXPECT_TRUE(result.ok) << result.error;

  auto after = TestClient::connectTls(server.port(), {dir_.file("b.crt"), 0});
  ASSERT_TRUE(after);
  EXPECT_EQ(after->peerCommonName(), "console-b");
  EXPECT_EQ(after->request("GET", "/secure")->body, "tls");
  // The connection made before the reload still works.
  auto old = before->request("GET", "/secure");
  ASSERT_TRUE(old);
  EXPECT_EQ(old->status, 200);
}

TEST_F(TlsServerTest, FailedReloadKeepsTheOldCertificate) {
  TestServer server(options(), router_);
  dir_.write("server.key", "not a key");
  ReloadResult result = server.server().reloadCertificates();
  EXPECT_FALSE(result.ok);
  EXPECT_NE(result.error.find("server.key"), std::string::npos);
  auto client = TestClient::connectTls(server.port(), {dir_.file("a.crt"), 0});
  ASSERT_TRUE(client);
  EXPECT_EQ(client->peerCommonName(), "console-a");
}

TEST_F(TlsServerTest, StartFailsOnAMissingCertificate) {
  ServerOptions o = options();
  o.tls->certificate_chain_file = dir_.file("missing.crt");
  EXPECT_THROW(TestServer(o, router_), std::runtime_error);
}

}  // namespace
}  // namespace sbc::http

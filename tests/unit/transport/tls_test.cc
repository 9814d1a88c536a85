#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <filesystem>
#include <fstream>
#include <functional>

#include "raw_client.h"
#include "sbc/transport/transport.h"
#include "test_certs.h"
#include "test_support.h"

namespace sbc::transport {
namespace {

using namespace test;
namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;

// What a hand-made TLS client saw.
struct RawHandshake {
  bool completed = false;
  boost::system::error_code error;
  std::string server_subject;
};

// Handshakes with `server` using a context prepared by `tweak`, on the same
// loop as the Transport.
RawHandshake rawHandshake(asio::io_context& io, const Endpoint& server,
                          const std::function<void(SSL_CTX*)>& tweak = {}) {
  ssl::context context(ssl::context::tls_client);
  SSL_CTX_set_verify(context.native_handle(), SSL_VERIFY_NONE, nullptr);
  if (tweak) tweak(context.native_handle());
  ssl::stream<asio::ip::tcp::socket> stream(io, context);
  stream.next_layer().connect(toTcp(server));
  RawHandshake result;
  bool done = false;
  stream.async_handshake(ssl::stream_base::client, [&](const boost::system::error_code& ec) {
    result.error = ec;
    done = true;
  });
  if (!runUntil(io, [&] { return done; })) {
    result.error = asio::error::timed_out;
    return result;
  }
  result.completed = !result.error;
  if (X509* peer = SSL_get1_peer_certificate(stream.native_handle())) {
    char buffer[256] = {};
    X509_NAME_oneline(X509_get_subject_name(peer), buffer, sizeof(buffer));
    result.server_subject = buffer;
    X509_free(peer);
  }
  return result;
}

class TlsTest : public ::testing::Test {
 protected:
  TlsTest() {
    server_cert_ = pki_.issue("server", "sbc.test", {"sbc.test"});
    client_cert_ = pki_.issue("client", "pbx.client", {"pbx.client"});
  }

  void startServer(bool verify_client = false, Limits limits = {}) {
    Config config;
    auto tls = listener(Protocol::kTls, "outside");
    tls.tls.certificate_chain_file = server_cert_.certificate;
    tls.tls.private_key_file = server_cert_.key;
    tls.tls.ca_file = pki_.ca().certificate;
    tls.tls.verify_client = verify_client;
    config.listeners = {tls};
    config.limits = limits;
    server_ = std::make_unique<Transport>(io_, config, server_sink_.callbacks());
    server_->start();
  }

  // A client Transport with one outbound TLS profile.
  std::unique_ptr<Transport> makeClient(TlsClientOptions profile) {
    Config config;
    config.listeners = {listener(Protocol::kUdp, "inside")};
    config.tls_clients = {std::move(profile)};
    auto client = std::make_unique<Transport>(io_, config, client_sink_.callbacks());
    client->start();
    return client;
  }

  TlsClientOptions trustingProfile(std::string server_name = "sbc.test") const {
    TlsClientOptions profile;
    profile.ca_file = pki_.ca().certificate;
    profile.verify_server = true;
    profile.server_name = std::move(server_name);
    return profile;
  }

  SendTarget toServer(std::uint64_t owner = 0) const {
    SendTarget target;
    target.protocol = Protocol::kTls;
    target.remote = server_->localEndpoint(0);
    target.owner = owner;
    return target;
  }

  TestPki pki_;
  CertFiles server_cert_;
  CertFiles client_cert_;
  asio::io_context io_;
  Sink server_sink_;
  Sink client_sink_;
  std::unique_ptr<Transport> server_;
};

TEST_F(TlsTest, HandshakeRoundTripAndSni) {
  startServer();
  server_sink_.on_message = [&](const InboundMessage& request) {
    SendTarget reply;
    reply.protocol = Protocol::kTls;
    reply.remote = request.remote;
    reply.connection = request.connection;
    server_->send(reply, "SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n");
  };
  auto client = makeClient(trustingProfile());
  const ConnectionId id = client->send(toServer(), sipMessage("tls", "body"));
  ASSERT_TRUE(runUntil(io_, [&] { return client_sink_.messages.size() == 1; }));

  ASSERT_EQ(server_sink_.messages.size(), 1u);
  const auto& request = server_sink_.messages[0];
  EXPECT_EQ(request.bytes, sipMessage("tls", "body"));
  EXPECT_EQ(request.protocol, Protocol::kTls);
  EXPECT_EQ(request.realm, "outside");
  const auto server_side = server_->connectionInfo(request.connection);
  ASSERT_TRUE(server_side);
  EXPECT_EQ(server_side->tls_server_name, "sbc.test");  // SNI as the server saw it
  EXPECT_TRUE(server_side->peer_certificate.empty());   // no client certificate asked for

  EXPECT_EQ(client_sink_.messages[0].protocol, Protocol::kTls);
  EXPECT_EQ(client_sink_.messages[0].connection, id);
  const auto client_side = client->connectionInfo(id);
  ASSERT_TRUE(client_side);
  EXPECT_NE(client_side->peer_certificate.find("CN=sbc.test"), std::string::npos);
  EXPECT_EQ(server_->stats().of(Protocol::kTls).messages_in, 1u);
  EXPECT_EQ(client->stats().of(Protocol::kTls).messages_out, 1u);
  EXPECT_EQ(server_->stats().tls_handshake_failures, 0u);
}

TEST_F(TlsTest, ServerCertificateMustMatchTheName) {
  startServer();
  auto client = makeClient(trustingProfile("other.test"));
  client->send(toServer(7), sipMessage("wrong-name"));
  ASSERT_TRUE(runUntil(io_, [&] { return !client_sink_.errors.empty(); }));
  EXPECT_EQ(client_sink_.errors[0].kind, ErrorKind::kHandshakeFailed);
  EXPECT_EQ(client_sink_.errors[0].owner, 7u);
  EXPECT_EQ(client->stats().tls_handshake_failures, 1u);
  runFor(io_, 50ms);
  EXPECT_TRUE(server_sink_.messages.empty());
}

TEST_F(TlsTest, ServerNameFromTheTargetOverridesTheProfile) {
  startServer();
  auto client = makeClient(trustingProfile("other.test"));
  SendTarget target = toServer();
  target.server_name = "sbc.test";
  client->send(target, sipMessage("override"));
  ASSERT_TRUE(runUntil(io_, [&] { return server_sink_.messages.size() == 1; }));
  EXPECT_EQ(server_->connectionInfo(server_sink_.messages[0].connection)->tls_server_name,
            "sbc.test");
}

TEST_F(TlsTest, UntrustedServerIsRefusedUnlessVerificationIsOff) {
  startServer();
  const CertFiles other_ca = pki_.makeCa("other-ca", "Other CA");
  TlsClientOptions untrusting = trustingProfile();
  untrusting.ca_file = other_ca.certificate;
  {
    auto client = makeClient(untrusting);
    client->send(toServer(1), sipMessage("untrusted"));
    ASSERT_TRUE(runUntil(io_, [&] { return !client_sink_.errors.empty(); }));
    EXPECT_EQ(client_sink_.errors[0].kind, ErrorKind::kHandshakeFailed);
  }
  untrusting.verify_server = false;
  auto client = makeClient(untrusting);
  client->send(toServer(), sipMessage("unverified"));
  ASSERT_TRUE(runUntil(io_, [&] { return server_sink_.messages.size() == 1; }));
}

TEST_F(TlsTest, Tls11IsRefused) {
  startServer();
  const RawHandshake old = rawHandshake(io_, server_->localEndpoint(0), [](SSL_CTX* ctx) {
    // Make the client genuinely offer TLS 1.1 (OpenSSL 3 refuses it locally
    // at the default security level).
    SSL_CTX_set_security_level(ctx, 0);
    SSL_CTX_set_cipher_list(ctx, "DEFAULT@SECLEVEL=0");
    SSL_CTX_set_min_proto_version(ctx, TLS1_1_VERSION);
    SSL_CTX_set_max_proto_version(ctx, TLS1_1_VERSION);
  });
  EXPECT_FALSE(old.completed);
  ASSERT_TRUE(runUntil(io_, [&] { return server_->stats().tls_handshake_failures == 1; }));
  EXPECT_TRUE(server_sink_.hasError(ErrorKind::kHandshakeFailed));

  const RawHandshake tls12 = rawHandshake(io_, server_->localEndpoint(0), [](SSL_CTX* ctx) {
    SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
  });
  EXPECT_TRUE(tls12.completed) << tls12.error.message();
}

TEST_F(TlsTest, ClientCertificateRequiredAndVerified) {
  startServer(/*verify_client=*/true);
  TlsClientOptions with_cert = trustingProfile();
  with_cert.certificate_chain_file = client_cert_.certificate;
  with_cert.private_key_file = client_cert_.key;
  auto client = makeClient(with_cert);
  client->send(toServer(), sipMessage("mutual"));
  ASSERT_TRUE(runUntil(io_, [&] { return server_sink_.messages.size() == 1; }));
  const auto info = server_->connectionInfo(server_sink_.messages[0].connection);
  ASSERT_TRUE(info);
  EXPECT_NE(info->peer_certificate.find("CN=pbx.client"), std::string::npos);
}

TEST_F(TlsTest, ClientWithoutCertificateIsRefused) {
  startServer(/*verify_client=*/true);
  auto client = makeClient(trustingProfile());
  client->send(toServer(), sipMessage("anonymous"));
  ASSERT_TRUE(runUntil(io_, [&] { return server_->stats().tls_handshake_failures == 1; }));
  runFor(io_, 50ms);
  EXPECT_TRUE(server_sink_.messages.empty());
  EXPECT_TRUE(server_sink_.hasError(ErrorKind::kHandshakeFailed));
}

TEST_F(TlsTest, ClientCertificateFromAnotherCaIsRefused) {
  startServer(/*verify_client=*/true);
  const CertFiles rogue_ca = pki_.makeCa("rogue-ca", "Rogue CA");
  const CertFiles rogue = pki_.issue("rogue", "pbx.client", {"pbx.client"}, &rogue_ca);
  TlsClientOptions profile = trustingProfile();
  profile.certificate_chain_file = rogue.certificate;
  profile.private_key_file = rogue.key;
  auto client = makeClient(profile);
  client->send(toServer(), sipMessage("rogue"));
  ASSERT_TRUE(runUntil(io_, [&] { return server_->stats().tls_handshake_failures == 1; }));
  runFor(io_, 50ms);
  EXPECT_TRUE(server_sink_.messages.empty());
}

TEST_F(TlsTest, SilentClientIsDroppedAfterTheHandshakeTimeout) {
  Limits limits;
  limits.connect_timeout = 300ms;
  startServer(false, limits);
  RawClient silent(io_, server_->localEndpoint(0));
  ASSERT_TRUE(silent.waitForClose(3s));
  EXPECT_EQ(server_->stats().tls_handshake_failures, 1u);
  EXPECT_EQ(server_->stats().connections_open, 0u);
}

TEST_F(TlsTest, ReloadAppliesToNewHandshakesOnly) {
  startServer();
  auto client = makeClient(trustingProfile());
  const ConnectionId old_connection = client->send(toServer(), sipMessage("before"));
  ASSERT_TRUE(runUntil(io_, [&] { return server_sink_.messages.size() == 1; }));
  const ConnectionId server_side = server_sink_.messages[0].connection;
  EXPECT_NE(rawHandshake(io_, server_->localEndpoint(0)).server_subject.find("CN=sbc.test"),
            std::string::npos);

  // Renew: same file names, new certificate and key.
  pki_.issue("server", "sbc-renewed.test", {"sbc.test"});
  const ReloadResult reloaded = server_->reloadCertificates();
  ASSERT_TRUE(reloaded.ok) << reloaded.error;

  const RawHandshake fresh = rawHandshake(io_, server_->localEndpoint(0));
  ASSERT_TRUE(fresh.completed) << fresh.error.message();
  EXPECT_NE(fresh.server_subject.find("CN=sbc-renewed.test"), std::string::npos);

  // The established connection carries on.
  EXPECT_EQ(client->send(toServer(), sipMessage("after")), old_connection);
  ASSERT_TRUE(runUntil(io_, [&] { return server_sink_.messages.size() == 2; }));
  EXPECT_EQ(server_sink_.messages[1].connection, server_side);
  EXPECT_EQ(client->stats().connections_opened, 1u);

  // A broken file: reload fails and the current certificate stays.
  std::ofstream(server_cert_.key, std::ios::trunc) << "not a key\n";
  const ReloadResult broken = server_->reloadCertificates();
  EXPECT_FALSE(broken.ok);
  EXPECT_NE(broken.error.find(server_cert_.key), std::string::npos) << broken.error;
  EXPECT_NE(rawHandshake(io_, server_->localEndpoint(0)).server_subject.find("sbc-renewed"),
            std::string::npos);
}

// SIGHUP's split: the contexts are built elsewhere (the mgmt thread), the
// transport's thread only swaps them in, so it must not need the files.
TEST_F(TlsTest, SwapUsesBuiltContextsWithoutTheFiles) {
  startServer();
  auto client = makeClient(trustingProfile());
  const ConnectionId old_connection = client->send(toServer(), sipMessage("before"));
  ASSERT_TRUE(runUntil(io_, [&] { return server_sink_.messages.size() == 1; }));

  const CertFiles renewed = pki_.issue("renewed", "sbc-renewed.test", {"sbc.test"});
  Config config = server_->config();
  config.listeners[0].tls.certificate_chain_file = renewed.certificate;
  config.listeners[0].tls.private_key_file = renewed.key;
  std::string error;
  const TlsCertificatesPtr built = loadCertificates(config, &error);
  ASSERT_TRUE(built) << error;
  // Gone before the swap: the swap cannot have read them.
  std::filesystem::remove(renewed.certificate);
  std::filesystem::remove(renewed.key);
  std::filesystem::remove(server_cert_.certificate);
  std::filesystem::remove(server_cert_.key);
  std::filesystem::remove(pki_.ca().certificate);

  const ReloadResult swapped = server_->swapCertificates(built);
  ASSERT_TRUE(swapped.ok) << swapped.error;
  const RawHandshake fresh = rawHandshake(io_, server_->localEndpoint(0));
  ASSERT_TRUE(fresh.completed) << fresh.error.message();
  EXPECT_NE(fresh.server_subject.find("CN=sbc-renewed.test"), std::string::npos)
      << fresh.server_subject;

  // The established connection keeps its certificate and carries on.
  EXPECT_EQ(client->send(toServer(), sipMessage("after")), old_connection);
  ASSERT_TRUE(runUntil(io_, [&] { return server_sink_.messages.size() == 2; }));
  EXPECT_EQ(client->stats().connections_opened, 1u);
}

TEST_F(TlsTest, FailedLoadNamesTheFileAndAForeignSetIsRefused) {
  startServer();
  Config config = server_->config();
  config.listeners[0].tls.private_key_file = pki_.dir() + "/missing.key";
  std::string error;
  EXPECT_FALSE(loadCertificates(config, &error));
  EXPECT_NE(error.find(pki_.dir() + "/missing.key"), std::string::npos) << error;

  // A key that does not belong to the certificate (OpenSSL refuses it when
  // loading it: "key values mismatch").
  config.listeners[0].tls.private_key_file = client_cert_.key;
  error.clear();
  EXPECT_FALSE(loadCertificates(config, &error));
  EXPECT_NE(error.find(client_cert_.key), std::string::npos) << error;

  // Built for two listeners, offered to a transport with one: nothing changes.
  Config two = server_->config();
  two.listeners.push_back(two.listeners[0]);
  const TlsCertificatesPtr foreign = loadCertificates(two, &error);
  ASSERT_TRUE(foreign) << error;
  EXPECT_FALSE(server_->swapCertificates(foreign).ok);
  EXPECT_FALSE(server_->swapCertificates(nullptr).ok);
  EXPECT_NE(rawHandshake(io_, server_->localEndpoint(0)).server_subject.find("CN=sbc.test"),
            std::string::npos);
}

TEST(TlsStartup, MissingCertificateThrowsAtStart) {
  asio::io_context io;
  Config config;
  config.listeners = {listener(Protocol::kTls, "outside")};
  config.listeners[0].tls.certificate_chain_file = "/nonexistent/cert.pem";
  config.listeners[0].tls.private_key_file = "/nonexistent/key.pem";
  Transport transport(io, config, {});
  try {
    transport.start();
    FAIL() << "start() accepted a missing certificate";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/cert.pem"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace sbc::transport

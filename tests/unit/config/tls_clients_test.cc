// Trunk TLS client profiles: built off the SIP thread (TlsClientContexts),
// registered ready-made with the transport (no file read there), kept apart
// per profile on the wire, and failed handshakes classified.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <string>

#include "sbc/app/tls_clients.h"
#include "sbc/config/snapshot.h"
#include "sbc/transport/transport.h"
#include "tests/unit/transport/test_certs.h"
#include "tests/unit/transport/test_support.h"

namespace sbc::app {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using transport::test::CertFiles;
using transport::test::runUntil;
using transport::test::Sink;
using transport::test::TestPki;

class TlsClientsTest : public ::testing::Test {
 protected:
  TlsClientsTest() {
    server_cert_ = pki_.issue("server", "carrier.test", {"carrier.test"});
    client_a_ = pki_.issue("client-a", "trunk-a", {"trunk-a.test"});
    client_b_ = pki_.issue("client-b", "trunk-b", {"trunk-b.test"});
  }

  // A snapshot with one carrier trunk whose TLS gateway uses `cert`.
  static cfg::SnapshotPtr snapshotWith(const std::string& name, const CertFiles& cert,
                                       const std::string& ca, std::uint16_t port = 5061) {
    auto s = std::make_shared<cfg::Snapshot>();
    cfg::Trunk t;
    t.id = 1;
    t.name = name;
    t.tls.certificate_file = cert.certificate;
    t.tls.private_key_file = cert.key;
    t.tls.ca_file = ca;
    cfg::Gateway g;
    g.id = 10;
    g.host = "carrier.test";
    g.port = port;
    g.transport = cfg::Transport::Tls;
    t.gateways.push_back(g);
    s->trunks.push_back(std::move(t));
    s->index();
    return s;
  }
  static std::uint32_t profileOf(const cfg::Snapshot& s) {
    return s.trunks[0].gateways[0].tls_profile;
  }

  // Copies of a PKI certificate under names the test may delete.
  CertFiles copyOf(const CertFiles& cert, const std::string& stem) {
    CertFiles copy{pki_.dir() + "/" + stem + ".crt", pki_.dir() + "/" + stem + ".key"};
    fs::copy_file(cert.certificate, copy.certificate, fs::copy_options::overwrite_existing);
    fs::copy_file(cert.key, copy.key, fs::copy_options::overwrite_existing);
    return copy;
  }

  void startServer() {
    transport::Config config;
    auto tls = transport::test::listener(transport::Protocol::kTls, "outside");
    tls.tls.certificate_chain_file = server_cert_.certificate;
    tls.tls.private_key_file = server_cert_.key;
    tls.tls.ca_file = pki_.ca().certificate;
    tls.tls.verify_client = true;
    config.listeners = {tls};
    server_ = std::make_unique<transport::Transport>(io_, config, server_sink_.callbacks());
    server_->start();
  }

  std::unique_ptr<transport::Transport> makeClient() {
    transport::Config config;
    config.listeners = {transport::test::listener(transport::Protocol::kUdp, "outside")};
    auto client = std::make_unique<transport::Transport>(io_, config, client_sink_.callbacks());
    client->start();
    return client;
  }

  transport::SendTarget toServer(std::size_t profile, std::uint64_t owner = 0) const {
    transport::SendTarget target;
    target.protocol = transport::Protocol::kTls;
    target.remote = server_->localEndpoint(0);
    target.tls_profile = profile;
    target.owner = owner;
    return target;
  }

  // The client certificate subjects the server saw, one per connection.
  std::vector<std::string> serverPeers() const {
    std::vector<std::string> out;
    std::vector<transport::ConnectionId> seen;
    for (const auto& m : server_sink_.messages) {
      if (std::find(seen.begin(), seen.end(), m.connection) != seen.end()) continue;
      seen.push_back(m.connection);
      auto info = server_->connectionInfo(m.connection);
      out.push_back(info ? info->peer_certificate : "?");
    }
    return out;
  }

  TestPki pki_;
  CertFiles server_cert_, client_a_, client_b_;
  boost::asio::io_context io_;
  Sink server_sink_, client_sink_;
  std::unique_ptr<transport::Transport> server_;
};

TEST_F(TlsClientsTest, BrokenProfileIsReportedAndPickedUpAtTheNextSnapshot) {
  const CertFiles missing{pki_.dir() + "/late.crt", pki_.dir() + "/late.key"};
  auto snap = snapshotWith("carrier-late", missing, pki_.ca().certificate);
  const std::uint32_t id = profileOf(*snap);
  ASSERT_NE(id, 0u);

  TlsClientContexts contexts;
  auto set = contexts.update(*snap);
  EXPECT_TRUE(set->ready.empty());
  EXPECT_EQ(set->broken, std::vector<std::uint32_t>{id});
  EXPECT_EQ(contexts.stats().broken, 1u);
  EXPECT_EQ(contexts.stats().load_errors, 1u);

  copyOf(client_a_, "late");  // the operator fixes the files, then a NOTIFY
  auto fixed = contexts.update(*snapshotWith("carrier-late", missing, pki_.ca().certificate));
  EXPECT_GT(fixed->version, set->version);
  ASSERT_EQ(fixed->ready.count(id), 1u);
  EXPECT_TRUE(fixed->broken.empty());
  EXPECT_EQ(contexts.stats().broken, 0u);
  EXPECT_EQ(contexts.stats().load_errors, 1u);
}

TEST_F(TlsClientsTest, RecheckRetriesBrokenProfilesEveryTenSeconds) {
  const CertFiles missing{pki_.dir() + "/slow.crt", pki_.dir() + "/slow.key"};
  auto snap = snapshotWith("carrier-slow", missing, pki_.ca().certificate);
  const auto t0 = TlsClientContexts::Clock::now();
  TlsClientContexts contexts(10s);
  contexts.update(*snap, t0);
  EXPECT_EQ(contexts.recheck(t0 + 9s), nullptr);  // too early: not even tried
  EXPECT_EQ(contexts.stats().load_errors, 1u);
  EXPECT_EQ(contexts.recheck(t0 + 10s), nullptr);  // tried, still broken
  EXPECT_EQ(contexts.stats().load_errors, 2u);

  copyOf(client_a_, "slow");
  EXPECT_EQ(contexts.recheck(t0 + 15s), nullptr);  // 5 s after the last try
  auto set = contexts.recheck(t0 + 20s);
  ASSERT_NE(set, nullptr);
  EXPECT_EQ(set->ready.count(profileOf(*snap)), 1u);
  EXPECT_TRUE(set->broken.empty());
  EXPECT_EQ(contexts.recheck(t0 + 60s), nullptr);  // nothing left to do
}

TEST_F(TlsClientsTest, GoodProfilesAreNotReadAgainAndReloadKeepsThemWhenFilesGo) {
  const CertFiles files = copyOf(client_a_, "kept");
  auto snap = snapshotWith("carrier-kept", files, pki_.ca().certificate);
  const std::uint32_t id = profileOf(*snap);
  TlsClientContexts contexts;
  auto first = contexts.update(*snap);
  ASSERT_EQ(first->ready.count(id), 1u);

  fs::remove(files.certificate);
  fs::remove(files.key);
  auto second = contexts.update(*snap);  // a NOTIFY about something else
  ASSERT_EQ(second->ready.count(id), 1u);
  EXPECT_EQ(second->ready.at(id), first->ready.at(id));
  auto reloaded = contexts.reload();  // SIGHUP with the files gone
  EXPECT_EQ(reloaded->ready.at(id), first->ready.at(id));
  EXPECT_EQ(contexts.stats().broken, 0u);
  EXPECT_EQ(contexts.stats().load_errors, 1u);
}

// The SIP side registers a context whose files are already gone: it still
// presents the client certificate, so nothing was read at send time.
TEST_F(TlsClientsTest, SipSideUsesTheReadyContextWithoutItsFiles) {
  startServer();
  const CertFiles files = copyOf(client_a_, "gone");
  auto snap =
      snapshotWith("carrier-gone", files, pki_.ca().certificate, server_->localEndpoint(0).port);
  TlsClientContexts contexts;
  auto set = contexts.update(*snap);
  ASSERT_EQ(set->ready.size(), 1u);
  fs::remove(files.certificate);
  fs::remove(files.key);

  auto client = makeClient();
  const std::size_t index = client->addTlsClient(set->ready.begin()->second);
  client->send(toServer(index), transport::test::sipMessage("gone"));
  ASSERT_TRUE(runUntil(io_, [&] { return server_sink_.messages.size() == 1; }));
  EXPECT_EQ(serverPeers(), std::vector<std::string>{TestPki::subjectOf(client_a_.certificate)});
  EXPECT_EQ(client->stats().tls_handshakes[1], 1u);
}

// Two trunks, one gateway address, different client certificates: two
// connections, each with its own certificate; each trunk reuses its own.
TEST_F(TlsClientsTest, ProfilesToTheSameAddressDoNotShareAConnection) {
  startServer();
  const std::uint16_t port = server_->localEndpoint(0).port;
  TlsClientContexts contexts;
  contexts.update(*snapshotWith("trunk-a", client_a_, pki_.ca().certificate, port));
  auto set_b = contexts.update(*snapshotWith("trunk-b", client_b_, pki_.ca().certificate, port));
  ASSERT_EQ(set_b->ready.size(), 2u);
  const std::uint32_t id_a =
      profileOf(*snapshotWith("trunk-a", client_a_, pki_.ca().certificate, port));
  const std::uint32_t id_b =
      profileOf(*snapshotWith("trunk-b", client_b_, pki_.ca().certificate, port));
  ASSERT_NE(id_a, id_b);

  auto client = makeClient();
  const std::size_t a = client->addTlsClient(set_b->ready.at(id_a));
  const std::size_t b = client->addTlsClient(set_b->ready.at(id_b));
  const auto ca = client->send(toServer(a), transport::test::sipMessage("a1"));
  const auto cb = client->send(toServer(b), transport::test::sipMessage("b1"));
  EXPECT_NE(ca, cb);
  ASSERT_TRUE(runUntil(io_, [&] { return server_sink_.messages.size() == 2; }));
  EXPECT_EQ(client->send(toServer(a), transport::test::sipMessage("a2")), ca);
  EXPECT_EQ(client->send(toServer(b), transport::test::sipMessage("b2")), cb);
  ASSERT_TRUE(runUntil(io_, [&] { return server_sink_.messages.size() == 4; }));

  std::vector<std::string> peers = serverPeers();
  std::sort(peers.begin(), peers.end());
  std::vector<std::string> expected{TestPki::subjectOf(client_a_.certificate),
                                    TestPki::subjectOf(client_b_.certificate)};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(peers, expected);
  EXPECT_EQ(client->stats().connections_opened, 2u);
  EXPECT_EQ(client->connectionInfo(ca)->tls_profile, a);
  EXPECT_EQ(client->connectionInfo(cb)->tls_profile, b);
}

TEST_F(TlsClientsTest, ReplacedContextKeepsTheProfileIndexAndItsConnection) {
  startServer();
  const std::uint16_t port = server_->localEndpoint(0).port;
  TlsClientContexts contexts;
  auto snap = snapshotWith("trunk-r", client_a_, pki_.ca().certificate, port);
  auto set = contexts.update(*snap);
  auto client = makeClient();
  const std::size_t index = client->addTlsClient(set->ready.at(profileOf(*snap)));
  const auto first = client->send(toServer(index), transport::test::sipMessage("r1"));
  ASSERT_TRUE(runUntil(io_, [&] { return server_sink_.messages.size() == 1; }));

  auto renewed = contexts.reload();
  ASSERT_NE(renewed->ready.at(profileOf(*snap)), set->ready.at(profileOf(*snap)));
  EXPECT_TRUE(client->replaceTlsClient(index, renewed->ready.at(profileOf(*snap))));
  EXPECT_FALSE(client->replaceTlsClient(0, renewed->ready.at(profileOf(*snap))));  // configured
  EXPECT_EQ(client->send(toServer(index), transport::test::sipMessage("r2")), first);
  ASSERT_TRUE(runUntil(io_, [&] { return server_sink_.messages.size() == 2; }));
}

struct Failure {
  transport::ErrorKind kind;
  transport::TlsFailure tls;
  std::size_t profile;
  std::uint64_t owner;
  std::string detail;
};

TEST_F(TlsClientsTest, FailedHandshakesAreClassified) {
  startServer();
  std::vector<Failure> failures;
  client_sink_.on_error = [&](const transport::TransportError& e) {
    failures.push_back({e.kind, e.tls_failure, e.tls_profile, e.owner, std::string(e.detail)});
  };
  auto client = makeClient();
  const CertFiles other_ca = pki_.makeCa("other-ca", "Other CA");

  transport::TlsClientOptions untrusted;
  untrusted.certificate_chain_file = client_a_.certificate;
  untrusted.private_key_file = client_a_.key;
  untrusted.ca_file = other_ca.certificate;
  untrusted.server_name = "carrier.test";
  transport::TlsClientOptions wrong_name = untrusted;
  wrong_name.ca_file = pki_.ca().certificate;
  wrong_name.server_name = "elsewhere.test";
  std::string error;
  auto c1 = transport::loadTlsClientContext(untrusted, &error);
  auto c2 = transport::loadTlsClientContext(wrong_name, &error);
  ASSERT_TRUE(c1 && c2) << error;
  const std::size_t p1 = client->addTlsClient(c1);
  const std::size_t p2 = client->addTlsClient(c2);

  client->send(toServer(p1, 7), transport::test::sipMessage("u"));
  ASSERT_TRUE(runUntil(io_, [&] { return failures.size() == 1; }));
  EXPECT_EQ(failures[0].kind, transport::ErrorKind::kHandshakeFailed);
  EXPECT_EQ(failures[0].tls, transport::TlsFailure::kUntrusted);
  EXPECT_EQ(failures[0].profile, p1);
  EXPECT_EQ(failures[0].owner, 7u);
  EXPECT_NE(failures[0].detail.find("certificate"), std::string::npos) << failures[0].detail;

  client->send(toServer(p2, 8), transport::test::sipMessage("n"));
  ASSERT_TRUE(runUntil(io_, [&] { return failures.size() == 2; }));
  EXPECT_EQ(failures[1].tls, transport::TlsFailure::kNameMismatch);
  EXPECT_EQ(failures[1].profile, p2);
  EXPECT_NE(failures[1].detail.find("hostname mismatch"), std::string::npos) << failures[1].detail;

  const auto& stats = client->stats();
  EXPECT_EQ(stats.tls_client_failures[static_cast<std::size_t>(transport::TlsFailure::kUntrusted)],
            1u);
  EXPECT_EQ(
      stats.tls_client_failures[static_cast<std::size_t>(transport::TlsFailure::kNameMismatch)],
      1u);
  EXPECT_EQ(stats.tls_handshake_failed[1], 2u);
  EXPECT_TRUE(server_sink_.messages.empty());
  EXPECT_EQ(transport::toString(transport::TlsFailure::kNameMismatch), "name_mismatch");
}

TEST(PerKeyRateLimitTest, OncePerIntervalPerKey) {
  PerKeyRateLimit limit(10s, 2);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(limit.allow("a", t0));
  EXPECT_FALSE(limit.allow("a", t0 + 9s));
  EXPECT_TRUE(limit.allow("b", t0 + 1s));  // another destination
  EXPECT_TRUE(limit.allow("a", t0 + 10s));
  EXPECT_FALSE(limit.allow("a", t0 + 12s));
  // Over max_keys: old entries are forgotten rather than growing without bound.
  EXPECT_TRUE(limit.allow("c", t0 + 12s));
  EXPECT_TRUE(limit.allow("d", t0 + 12s));
}

}  // namespace
}  // namespace sbc::app

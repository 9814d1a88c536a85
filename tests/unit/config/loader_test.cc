// loadSnapshot() against a real, migrated database.
#include <gtest/gtest.h>

#include <fstream>

#include "sbc/config/loader.h"
#include "sbc/config/tls_profiles.h"
#include "tests/pg/pg_test_support.h"

namespace sbc::cfg {
namespace {

using testpg::TestDatabase;

crypto::SecretKey key(std::uint8_t seed) {
  crypto::SecretKey k{};
  for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::uint8_t>(seed ^ (i * 13));
  return k;
}

// What the console does: encrypt, store as bytea.
std::string sealedLiteral(const crypto::SecretKey& k, std::string_view secret) {
  return "'\\x" + crypto::toHex(crypto::encryptSecret(k, secret)) + "'::bytea";
}

std::array<std::uint8_t, 16> v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
  return {a, b, c, d};
}

class Loader : public ::testing::Test {
 protected:
  SnapshotPtr load(LoadStats* st = nullptr) {
    pqxx::connection c(db_.dsn());
    return loadSnapshot(c, key_, 7, {}, st);
  }
  TestDatabase db_;
  crypto::SecretKey key_ = key(1);
};

TEST_F(Loader, EveryFieldLandsWhereItBelongs) {
  const auto pbx = std::to_string(db_.scalar<long>(
      "INSERT INTO trunks (name, kind, realm, enabled, auth_mode, max_calls, max_inbound,"
      " max_outbound, cps, cps_burst, reject_code, reject_reason, header_strip, header_allow_x,"
      " pai_trust, product_header, country_code, national_prefix, international_prefix, send_plus,"
      " pass_lnp_params, ported_out_action, media_policy, session_expires, min_se,"
      " max_call_seconds, ring_timeout_seconds, failover_timeout_ms)"
      " VALUES ('acme-pbx', 'pbx', 'inside', true, 'digest', 30, 20, 10, 2.5, 5, 486, '',"
      " '{P-Internal,X-Secret}', '{X-Account}', 'trusted', 'EdgeSBC', '44', '0', '00', false,"
      " false, 'route_by_lnp', 'srtp-mandatory', 600, 120, 3600, 45, 1500) RETURNING id"));
  const auto carrier = std::to_string(db_.scalar<long>(
      "INSERT INTO trunks (name, kind, realm, register_outbound, register_expires, register_user)"
      " VALUES ('big-carrier', 'carrier', 'outside', true, 600, 'acct42') RETURNING id"));
  db_.exec("UPDATE trunks SET max_calls = 31 WHERE id = " + pbx);  // version 2
  db_.exec("INSERT INTO trunk_acl (trunk_id, cidr) VALUES (" + pbx + ", '192.0.2.0/24'), (" + pbx +
           ", '2001:db8::/32'), (" + carrier + ", '198.51.100.7/32')");
  db_.exec(
      "INSERT INTO trunk_gateways (trunk_id, host, port, transport, priority, weight, enabled,"
      " options_ping, tls_server_name) VALUES"
      " (" +
      carrier +
      ", 'sbc2.carrier.example', 5061, 'tls', 20, 30, true, false, 'sip.carrier.example'),"
      " (" +
      carrier + ", '198.51.100.7', 5060, 'udp', 10, 70, false, true, '')");
  db_.exec(
      "INSERT INTO trunk_credentials (trunk_id, direction, username, secret, realm) VALUES"
      " (" +
      pbx + ", 'inbound', 'acme', " + sealedLiteral(key_, "pbx-pass") +
      ", 'sbc.example'),"
      " (" +
      carrier + ", 'outbound', 'acct42', " + sealedLiteral(key_, "carrier-pass") + ", '')");
  db_.exec("INSERT INTO dids (number, trunk_id, status) VALUES ('+14155550100', " + pbx +
           ", 'active'), ('+14155550101', " + pbx +
           ", 'ported_out'), ('+14155550102', NULL, 'reserved')");
  db_.exec(
      "INSERT INTO routes (prefix, trunk_id, priority, weight, enabled) VALUES"
      " ('1415', " +
      carrier + ", 5, 60, true), ('', " + carrier +
      ", 50, 100, true),"
      " ('44', " +
      carrier + ", 5, 100, false)");
  db_.exec(
      "INSERT INTO ported_numbers (number, routing_number) VALUES"
      " ('+14155550199', '+14150009999'), ('+442071234567', '+442070000000')");

  LoadStats st;
  auto s = load(&st);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->generation, 7u);
  EXPECT_GT(s->loaded_at.time_since_epoch().count(), 0);
  ASSERT_EQ(s->trunks.size(), 2u);

  const Trunk* p = s->trunkByName("acme-pbx");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(std::to_string(p->id), pbx);
  EXPECT_EQ(p->kind, TrunkKind::Pbx);
  EXPECT_EQ(p->realm, "inside");
  EXPECT_TRUE(p->enabled);
  EXPECT_EQ(p->auth, AuthMode::Digest);
  EXPECT_EQ(p->limits.max_calls, 31u);
  EXPECT_EQ(p->limits.max_inbound, 20u);
  EXPECT_EQ(p->limits.max_outbound, 10u);
  EXPECT_DOUBLE_EQ(p->limits.cps, 2.5);
  EXPECT_EQ(p->limits.cps_burst, 5u);
  EXPECT_EQ(p->limits.reject_code, 486);
  EXPECT_EQ(p->limits.reject_reason, "");
  EXPECT_EQ(p->headers.strip, (std::vector<std::string>{"P-Internal", "X-Secret"}));
  EXPECT_EQ(p->headers.allow_x, (std::vector<std::string>{"X-Account"}));
  EXPECT_EQ(p->headers.pai, PaiTrust::Trusted);
  EXPECT_EQ(p->headers.product, std::optional<std::string>("EdgeSBC"));
  EXPECT_EQ(p->numbers.country_code, "44");
  EXPECT_EQ(p->numbers.national_prefix, "0");
  EXPECT_EQ(p->numbers.international_prefix, "00");
  EXPECT_FALSE(p->numbers.send_plus);
  EXPECT_FALSE(p->pass_lnp_params);
  EXPECT_EQ(p->ported_out, PortedOutAction::RouteByLnp);
  EXPECT_EQ(p->media, MediaPolicy::SrtpMandatory);
  EXPECT_EQ(p->session_expires, 600u);
  EXPECT_EQ(p->min_se, 120u);
  EXPECT_EQ(p->max_call_seconds, 3600u);
  EXPECT_EQ(p->ring_timeout_seconds, 45u);
  EXPECT_EQ(p->failover_timeout_ms, 1500u);
  EXPECT_EQ(p->version, 2);
  EXPECT_EQ(p->inbound.username, "acme");
  EXPECT_EQ(p->inbound.password, "pbx-pass");
  EXPECT_EQ(p->inbound.realm, "sbc.example");
  EXPECT_FALSE(p->outbound.present());
  ASSERT_EQ(p->acl.size(), 2u);
  EXPECT_EQ(s->trunkByAddress(false, v4(192, 0, 2, 77))->name, "acme-pbx");
  std::array<std::uint8_t, 16> six{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  EXPECT_EQ(s->trunkByAddress(true, six)->name, "acme-pbx");
  EXPECT_TRUE(p->gateways.empty());

  const Trunk* c = s->trunkByName("big-carrier");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->kind, TrunkKind::Carrier);
  EXPECT_EQ(c->realm, "outside");
  EXPECT_TRUE(c->register_outbound);
  EXPECT_EQ(c->register_expires, 600u);
  EXPECT_EQ(c->register_user, "acct42");
  EXPECT_EQ(c->auth, AuthMode::Acl);  // defaults
  EXPECT_EQ(c->limits.reject_code, 503);
  EXPECT_EQ(c->limits.reject_reason, "Q.850;cause=34");
  EXPECT_FALSE(c->headers.product.has_value());
  EXPECT_EQ(c->media, MediaPolicy::Rtp);
  EXPECT_EQ(c->outbound.username, "acct42");
  EXPECT_EQ(c->outbound.password, "carrier-pass");
  EXPECT_EQ(s->trunkByAddress(false, v4(198, 51, 100, 7))->name, "big-carrier");
  ASSERT_EQ(c->gateways.size(), 2u);  // by priority
  EXPECT_EQ(c->gateways[0].host, "198.51.100.7");
  EXPECT_EQ(c->gateways[0].priority, 10);
  EXPECT_EQ(c->gateways[0].weight, 70);
  EXPECT_FALSE(c->gateways[0].enabled);
  EXPECT_TRUE(c->gateways[0].options_ping);
  EXPECT_EQ(c->gateways[0].transport, Transport::Udp);
  EXPECT_EQ(c->gateways[1].host, "sbc2.carrier.example");
  EXPECT_EQ(c->gateways[1].port, 5061);
  EXPECT_EQ(c->gateways[1].transport, Transport::Tls);
  EXPECT_EQ(c->gateways[1].tls_server_name, "sip.carrier.example");
  EXPECT_FALSE(c->gateways[1].options_ping);
  EXPECT_GT(c->gateways[1].id, 0);

  ASSERT_EQ(s->dids.size(), 3u);
  ASSERT_NE(s->did("14155550100"), nullptr);
  EXPECT_EQ(std::to_string(s->did("14155550100")->trunk), pbx);
  EXPECT_EQ(s->did("14155550100")->status, DidStatus::Active);
  EXPECT_EQ(s->did("14155550101")->status, DidStatus::PortedOut);
  EXPECT_EQ(s->did("14155550102")->status, DidStatus::Reserved);
  EXPECT_EQ(s->did("14155550102")->trunk, 0);
  EXPECT_EQ(s->did("+14155550100"), nullptr);  // keys are digits only

  ASSERT_EQ(s->routes.size(), 2u);  // the disabled one is not loaded
  auto r = s->routesFor("14155551234");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0]->prefix, "1415");
  EXPECT_EQ(r[0]->priority, 5);
  EXPECT_EQ(r[0]->weight, 60);
  auto uk = s->routesFor("442071234567");
  ASSERT_EQ(uk.size(), 1u);
  EXPECT_EQ(uk[0]->prefix, "");

  ASSERT_EQ(s->ported.size(), 2u);
  EXPECT_EQ(s->routingNumber(14155550199u), 14150009999u);
  EXPECT_EQ(s->routingNumber(442071234567u), 442070000000u);

  EXPECT_EQ(st.credentials, 2u);
  EXPECT_EQ(st.credential_errors, 0u);
  EXPECT_EQ(st.acl_entries, 3u);
  EXPECT_EQ(st.gateways, 2u);
}

TEST_F(Loader, ASecretThatDoesNotDecryptLeavesThatCredentialEmpty) {
  const auto a = std::to_string(db_.scalar<long>(
      "INSERT INTO trunks (name, kind, auth_mode) VALUES ('a', 'pbx', 'digest') RETURNING id"));
  const auto b = std::to_string(db_.scalar<long>(
      "INSERT INTO trunks (name, kind, auth_mode) VALUES ('b', 'pbx', 'digest') RETURNING id"));
  db_.exec(
      "INSERT INTO trunk_credentials (trunk_id, direction, username, secret) VALUES"
      " (" +
      a + ", 'inbound', 'ua', " + sealedLiteral(key(99), "other key") +
      "),"
      " (" +
      b + ", 'inbound', 'ub', " + sealedLiteral(key_, "right key") + ")");
  LoadStats st;
  auto s = load(&st);
  EXPECT_EQ(st.credential_errors, 1u);
  EXPECT_FALSE(s->trunkByName("a")->inbound.present());
  EXPECT_TRUE(s->trunkByName("a")->inbound.password.empty());
  EXPECT_EQ(s->trunkByName("b")->inbound.password, "right key");
}

TEST_F(Loader, TrunkTlsClientProfileReachesItsTlsGateways) {
  const auto t = std::to_string(db_.scalar<long>(
      "INSERT INTO trunks (name, kind, tls_client_cert, tls_client_key, tls_ca_file, tls_verify)"
      " VALUES ('tls', 'carrier', '/etc/sbc/c.pem', '/etc/sbc/c.key', '/etc/sbc/ca.pem', false)"
      " RETURNING id"));
  db_.exec(
      "INSERT INTO trunk_gateways (trunk_id, host, port, transport, tls_server_name) VALUES"
      " (" +
      t +
      ", 'sip.carrier.test', 5061, 'tls', ''),"
      " (" +
      t +
      ", '192.0.2.5', 5061, 'tls', 'edge.carrier.test'),"
      " (" +
      t + ", '192.0.2.6', 5060, 'udp', '')");
  db_.exec("INSERT INTO trunks (name, kind) VALUES ('plain', 'carrier')");
  auto s = load();
  const Trunk* tr = s->trunkByName("tls");
  ASSERT_NE(tr, nullptr);
  EXPECT_EQ(tr->tls.certificate_file, "/etc/sbc/c.pem");
  EXPECT_EQ(tr->tls.private_key_file, "/etc/sbc/c.key");
  EXPECT_EQ(tr->tls.ca_file, "/etc/sbc/ca.pem");
  EXPECT_FALSE(tr->tls.verify);
  EXPECT_TRUE(s->trunkByName("plain")->tls.verify);  // verification defaults on
  ASSERT_EQ(tr->gateways.size(), 3u);
  auto& reg = TlsProfileRegistry::instance();
  for (const Gateway& g : tr->gateways) {
    if (g.transport != Transport::Tls) {
      EXPECT_EQ(g.tls_profile, 0u) << g.host;
      continue;
    }
    auto p = reg.get(g.tls_profile);
    ASSERT_TRUE(p.has_value()) << g.host;
    EXPECT_EQ(p->ca_file, "/etc/sbc/ca.pem");
    EXPECT_FALSE(p->verify);
    EXPECT_EQ(p->server_name,
              g.host == "sip.carrier.test" ? "sip.carrier.test" : "edge.carrier.test");
  }
}

TEST_F(Loader, TheDatabaseRefusesRelativeOrUnpairedTlsFiles) {
  EXPECT_THROW(db_.exec("INSERT INTO trunks (name, kind, tls_ca_file) VALUES ('a', 'carrier', "
                        "'certs/ca.pem')"),
               pqxx::check_violation);
  EXPECT_THROW(db_.exec("INSERT INTO trunks (name, kind, tls_client_cert) VALUES ('b', 'carrier', "
                        "'/etc/sbc/c.pem')"),
               pqxx::check_violation);
  EXPECT_THROW(db_.exec("INSERT INTO trunks (name, kind, tls_client_cert, tls_client_key) VALUES "
                        "('c', 'carrier', '/etc/sbc/c.pem', 'c.key')"),
               pqxx::check_violation);
  EXPECT_NO_THROW(
      db_.exec("INSERT INTO trunks (name, kind, tls_client_cert, tls_client_key) "
               "VALUES ('d', 'carrier', '/etc/sbc/c.pem', '/etc/sbc/c.key')"));
}

TEST_F(Loader, AMillionPortedNumbersLoadFastAndSmall) {
  db_.exec(
      "INSERT INTO ported_numbers (number, routing_number, source)"
      " SELECT '+1' || (2000000000 + g * 7)::text, '+1' || (3000000000 + g)::text, 'bulk'"
      " FROM generate_series(1, 1000000) g");
  auto rss = [] {
    std::ifstream f("/proc/self/statm");
    long pages = 0, resident = 0;
    f >> pages >> resident;
    return resident * 4096L;
  };
  const long before = rss();
  LoadStats st;
  const auto t0 = std::chrono::steady_clock::now();
  auto s = load(&st);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  const long after = rss();
  ASSERT_EQ(s->ported.size(), 1'000'000u);
  const double bytes_each = static_cast<double>(s->ported.capacity() * sizeof(PortedEntry)) /
                            static_cast<double>(s->ported.size());
  std::printf(
      "1,000,000 ported numbers: loaded in %lld ms (stream %lld ms), vector %.1f MB "
      "(%.1f bytes/number), RSS +%.1f MB\n",
      static_cast<long long>(ms), static_cast<long long>(st.ported_duration.count() / 1000),
      static_cast<double>(s->ported.capacity() * sizeof(PortedEntry)) / 1e6, bytes_each,
      static_cast<double>(after - before) / 1e6);
  EXPECT_EQ(sizeof(PortedEntry), 16u);
  EXPECT_LE(s->ported.capacity(), 1'000'000u + 1'000'000u / 16 + 16);
  EXPECT_LT(ms, 15'000);  // a few seconds on a loaded CI machine under sanitizers
  EXPECT_EQ(s->routingNumber(12000000007u), 13000000001u);
  EXPECT_EQ(s->routingNumber(12007000000u), 13001000000u);
  EXPECT_FALSE(s->routingNumber(12000000008u));
  EXPECT_TRUE(std::is_sorted(
      s->ported.begin(), s->ported.end(),
      [](const PortedEntry& a, const PortedEntry& b) { return a.number < b.number; }));
}

TEST_F(Loader, ReusesPortedNumbersWhenAsked) {
  db_.exec(
      "INSERT INTO ported_numbers (number, routing_number) VALUES ('+14155550199', "
      "'+14150009999')");
  std::vector<PortedEntry> previous{{1, 2}, {3, 4}};
  pqxx::connection c(db_.dsn());
  LoadOptions o;
  o.reuse_ported = &previous;
  LoadStats st;
  auto s = loadSnapshot(c, key_, 1, o, &st);
  EXPECT_TRUE(st.ported_reused);
  ASSERT_EQ(s->ported.size(), 2u);
  EXPECT_EQ(s->routingNumber(3), 4u);
}

TEST_F(Loader, TrunkMediaLatchDefaultsToStrict) {
  db_.exec("INSERT INTO trunks (name, kind, media_latch) VALUES ('any', 'pbx', 'window_any')");
  db_.exec("INSERT INTO trunks (name, kind) VALUES ('strict', 'pbx')");
  EXPECT_THROW(db_.exec("INSERT INTO trunks (name, kind, media_latch) VALUES ('x', 'pbx', 'any')"),
               pqxx::check_violation);
  auto s = load();
  EXPECT_EQ(s->trunkByName("any")->media_latch, MediaLatch::WindowAny);
  EXPECT_EQ(s->trunkByName("strict")->media_latch, MediaLatch::Strict);
}

}  // namespace
}  // namespace sbc::cfg

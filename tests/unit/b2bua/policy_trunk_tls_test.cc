// Per-trunk TLS client profiles from routing to the destination, gateways
// and registrars given by DNS name (names in the URIs, addresses from the
// cache), and the node's static hosts in front of DNS.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>

#include "sbc/b2bua/dns_cache.h"
#include "sbc/b2bua/outbound_registrar.h"
#include "sbc/b2bua/routing.h"
#include "sbc/config/tls_profiles.h"
#include "sbc/txn/fake_timer_service.h"
#include "tests/unit/b2bua/policy_fixtures.h"

namespace sbc::b2bua {
namespace {

using namespace std::chrono_literals;

struct Names : HealthView {
  bool isDown(std::int64_t) const override { return false; }
  std::optional<std::string> addressOf(std::string_view host) const override {
    if (isIpLiteral(host)) return std::string(host);
    auto it = names.find(std::string(host));
    if (it == names.end()) return std::nullopt;
    return it->second;
  }
  std::map<std::string, std::string> names;
};

class TrunkTlsRouting : public ::testing::Test {
 protected:
  TrunkTlsRouting() : registrar_(timers_) {
    cfg::Trunk pbx = testing::pbx(1, "pbx");
    snap_.trunks.push_back(pbx);
    cfg::Trunk c = testing::carrier(10, "carrier");
    c.tls.certificate_file = "/etc/sbc/carrier-client.pem";
    c.tls.private_key_file = "/etc/sbc/carrier-client.key";
    c.tls.ca_file = "/etc/sbc/carrier-ca.pem";
    c.gateways.push_back(testing::gateway(1001, "sip.carrier.example", 10));
    c.gateways.push_back(testing::gateway(1002, "192.0.2.9", 20));
    c.gateways.push_back(testing::gateway(1003, "192.0.2.10", 30));
    c.gateways[0].transport = cfg::Transport::Tls;
    c.gateways[1].transport = cfg::Transport::Tls;
    c.gateways[1].tls_server_name = "edge.carrier.example";
    snap_.trunks.push_back(c);
    snap_.routes.push_back({"", 10, 10, 100});
    snap_.index();
    health_.names["sip.carrier.example"] = "198.51.100.7";
  }
  RoutingDecision route() {
    Router r({}, &health_, &registrar_, 1);
    sip::Message m = testing::parseSip(
        testing::request("INVITE", "sip:+12125550123@sbc", "+14155550100", "x", ""));
    return r.route(m, *snap_.trunk(1), snap_);
  }

  txn::FakeTimerService timers_;
  Registrar registrar_;
  Names health_;
  cfg::Snapshot snap_;
};

TEST_F(TrunkTlsRouting, TlsGatewaysCarryTheTrunkProfileWithTheirName) {
  RoutingDecision d = route();
  ASSERT_EQ(d.targets.size(), 3u);
  auto& reg = cfg::TlsProfileRegistry::instance();

  // By name: sent to the address, the name in the URIs, SNI and verification.
  EXPECT_EQ(d.targets[0].host, "198.51.100.7");
  EXPECT_EQ(d.targets[0].uri_host, "sip.carrier.example");
  auto p0 = reg.get(d.targets[0].tls_profile);
  ASSERT_TRUE(p0.has_value());
  EXPECT_EQ(p0->server_name, "sip.carrier.example");
  EXPECT_EQ(p0->certificate_file, "/etc/sbc/carrier-client.pem");
  EXPECT_EQ(p0->private_key_file, "/etc/sbc/carrier-client.key");
  EXPECT_EQ(p0->ca_file, "/etc/sbc/carrier-ca.pem");
  EXPECT_TRUE(p0->verify);

  // By address with a configured server name: that name.
  EXPECT_EQ(d.targets[1].host, "192.0.2.9");
  EXPECT_TRUE(d.targets[1].uri_host.empty());
  auto p1 = reg.get(d.targets[1].tls_profile);
  ASSERT_TRUE(p1.has_value());
  EXPECT_EQ(p1->server_name, "edge.carrier.example");
  EXPECT_NE(d.targets[0].tls_profile, d.targets[1].tls_profile);

  // Not TLS: no profile.
  EXPECT_EQ(d.targets[2].tls_profile, 0u);
}

TEST_F(TrunkTlsRouting, AnIpGatewayWithoutServerNameSendsNoSni) {
  snap_.trunks[1].gateways[1].tls_server_name.clear();
  snap_.index();
  auto p = cfg::TlsProfileRegistry::instance().get(snap_.trunks[1].gateways[1].tls_profile);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->server_name, "");  // the certificate must then match the IP
}

TEST_F(TrunkTlsRouting, ProfilesAreStableAcrossSnapshotsAndFollowChanges) {
  const std::uint32_t before = snap_.trunks[1].gateways[0].tls_profile;
  cfg::Snapshot again = snap_;
  again.index();
  EXPECT_EQ(again.trunks[1].gateways[0].tls_profile, before);
  again.trunks[1].tls.verify = false;
  again.index();
  const std::uint32_t after = again.trunks[1].gateways[0].tls_profile;
  EXPECT_NE(after, before);
  EXPECT_FALSE(cfg::TlsProfileRegistry::instance().get(after)->verify);
}

// ---- outbound registration to a registrar given by name

class NamedRegistrar : public ::testing::Test {
 protected:
  NamedRegistrar() {
    cfg::Trunk c = testing::carrier(10, "carrier");
    c.register_outbound = true;
    c.register_user = "4155550000";
    c.outbound = {"acct", "pw", ""};
    c.gateways.push_back(testing::gateway(1, "registrar.carrier.example", 10));
    c.gateways[0].transport = cfg::Transport::Tls;
    c.gateways[0].port = 5061;
    snap_.trunks.push_back(c);
    snap_.index();
  }
  txn::FakeTimerService timers_;
  testing::FakeRequestSender sender_;
  Names health_;
  cfg::Snapshot snap_;
};

TEST_F(NamedRegistrar, NameInTheUrisAddressFromTheCache) {
  health_.names["registrar.carrier.example"] = "198.51.100.40";
  OutboundRegistrar r(sender_, timers_, &health_);
  r.setSnapshot(snap_);
  ASSERT_EQ(sender_.sent.size(), 1u);
  const auto& s = sender_.sent.back();
  EXPECT_EQ(s.request.requestUriText(), "sip:registrar.carrier.example:5061;transport=tls");
  EXPECT_EQ(s.request.to()->uri.text, "sip:4155550000@registrar.carrier.example:5061");
  EXPECT_EQ(s.request.from()->uri.text, "sip:4155550000@registrar.carrier.example:5061");
  EXPECT_EQ(s.to.address, "198.51.100.40");
  EXPECT_EQ(s.to.port, 5061);
  EXPECT_EQ(s.to.protocol, txn::Protocol::Tls);
  EXPECT_EQ(s.to.tls_profile, snap_.trunks[0].gateways[0].tls_profile);
  EXPECT_NE(s.to.tls_profile, 0u);
}

TEST_F(NamedRegistrar, WaitsForTheNameThenRegisters) {
  OutboundRegistrarOptions o;
  o.dns_wait = 1s;
  OutboundRegistrar r(sender_, timers_, &health_, o);
  r.setSnapshot(snap_);
  EXPECT_TRUE(sender_.sent.empty());  // nothing to send to yet, and no blocking
  EXPECT_NE(r.status()[0].state, OutboundState::Failed);
  health_.names["registrar.carrier.example"] = "198.51.100.41";
  timers_.advance(1s);
  ASSERT_EQ(sender_.sent.size(), 1u);
  EXPECT_EQ(sender_.sent.back().to.address, "198.51.100.41");
}

TEST_F(NamedRegistrar, ANameThatNeverResolvesFailsAfterAFewTries) {
  OutboundRegistrarOptions o;
  o.dns_wait = 1s;
  OutboundRegistrar r(sender_, timers_, &health_, o);
  r.setSnapshot(snap_);
  timers_.advance(10s);
  EXPECT_TRUE(sender_.sent.empty());
  EXPECT_EQ(r.status()[0].state, OutboundState::Failed);
}

// ---- static hosts in front of DNS

TEST(StaticHosts, AnsweredWithoutAskingDns) {
  int asked = 0;
  DnsCacheOptions o;
  o.worker = false;
  o.hosts["carrier.test"] = {"127.0.0.3"};
  o.resolve = [&asked](const std::string&) {
    ++asked;
    return DnsAnswer{{"192.0.2.99"}, {}};
  };
  DnsCache cache(o);
  cache.setNames({"carrier.test", "other.test"});
  cache.refreshDue(DnsCache::Clock::now() + 1s);
  EXPECT_EQ(cache.lookup("carrier.test"), "127.0.0.3");
  EXPECT_EQ(cache.lookup("other.test"), "192.0.2.99");
  EXPECT_EQ(asked, 1);  // other.test only
}

}  // namespace
}  // namespace sbc::b2bua

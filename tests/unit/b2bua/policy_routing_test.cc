#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "sbc/b2bua/routing.h"
#include "sbc/txn/fake_timer_service.h"
#include "tests/unit/b2bua/policy_fixtures.h"

namespace sbc::b2bua {
namespace {

using testing::parseSip;

struct DownSet : HealthView {
  bool isDown(std::int64_t id) const override { return down.contains(id); }
  std::set<std::int64_t> down;
};

class RoutingTest : public ::testing::Test {
 protected:
  RoutingTest() : registrar_(timers_) {
    cfg::Trunk pbx = testing::pbx(1, "pbx-acl");
    pbx.acl.push_back(testing::cidr("10.0.0.0/24"));
    pbx.gateways.push_back(testing::gateway(101, "10.0.0.5"));
    pbx.numbers.send_plus = false;
    pbx.numbers.national_prefix = "1";
    snap_.trunks.push_back(pbx);

    cfg::Trunk reg = testing::pbx(2, "pbx-reg", cfg::AuthMode::Register);
    snap_.trunks.push_back(reg);

    cfg::Trunk a = testing::carrier(10, "carrierA");
    a.gateways.push_back(testing::gateway(1001, "198.51.100.10", 10, 100));
    a.gateways.push_back(testing::gateway(1002, "198.51.100.11", 10, 100));
    a.gateways.push_back(testing::gateway(1003, "198.51.100.12", 20, 100));
    cfg::Gateway off = testing::gateway(1004, "198.51.100.13", 5, 100);
    off.enabled = false;
    a.gateways.push_back(off);
    a.gateways[1].transport = cfg::Transport::Tls;
    a.gateways[1].tls_server_name = "sip.carrier-a.example";
    a.pass_lnp_params = true;
    snap_.trunks.push_back(a);

    cfg::Trunk b = testing::carrier(11, "carrierB");
    b.gateways.push_back(testing::gateway(1101, "192.0.2.50"));
    b.pass_lnp_params = false;
    b.numbers.send_plus = false;
    snap_.trunks.push_back(b);

    cfg::Trunk dis = testing::carrier(12, "disabled");
    dis.enabled = false;
    dis.gateways.push_back(testing::gateway(1201, "192.0.2.60"));
    snap_.trunks.push_back(dis);

    cfg::Trunk nogw = testing::carrier(13, "no-gateways");
    snap_.trunks.push_back(nogw);

    snap_.routes.push_back({"1", 10, 10, 70});
    snap_.routes.push_back({"1", 11, 10, 30});
    snap_.routes.push_back({"44", 10, 10, 100});
    snap_.routes.push_back({"1999", 10, 10, 100});
    snap_.routes.push_back({"1999", 11, 20, 100});
    snap_.routes.push_back({"49", 12, 10, 100});
    snap_.routes.push_back({"39", 13, 10, 100});

    snap_.dids["14155550100"] = {"14155550100", 1, cfg::DidStatus::Active};
    snap_.dids["14155550101"] = {"14155550101", 2, cfg::DidStatus::Active};
    snap_.dids["14155550102"] = {"14155550102", 1, cfg::DidStatus::PortingIn};
    snap_.dids["14155550103"] = {"14155550103", 1, cfg::DidStatus::Reserved};
    snap_.dids["14155550104"] = {"14155550104", 1, cfg::DidStatus::PortedOut};
    snap_.ported.push_back({14155550104, 19998887777});
    snap_.ported.push_back({14155550177, 19998886666});
    snap_.index();
  }

  RoutingDecision route(std::string_view ruri, cfg::TrunkId from_id,
                        std::string_view from_user = "+14155550123", std::uint64_t seed = 1,
                        std::string_view extra = "") {
    Router r({}, &health_, &registrar_, seed);
    sip::Message m = parseSip(testing::request("INVITE", ruri, from_user, "x", extra));
    return r.route(m, *snap_.trunk(from_id), snap_);
  }

  static std::vector<std::int64_t> gatewaysOf(const RoutingDecision& d) {
    std::vector<std::int64_t> out;
    for (const auto& t : d.targets) out.push_back(t.gateway_id);
    return out;
  }

  txn::FakeTimerService timers_;
  Registrar registrar_;
  DownSet health_;
  cfg::Snapshot snap_;
};

TEST_F(RoutingTest, OutboundNormalizesAndFormatsPerCarrier) {
  RoutingDecision d = route("sip:1-415-555-0199@sbc.example.com", 1, "4155550123");
  EXPECT_EQ(d.direction, Direction::Outbound);
  EXPECT_EQ(d.cause, RejectCause::None);
  EXPECT_EQ(d.callee, "14155550199");
  EXPECT_EQ(d.caller, "14155550123");
  ASSERT_EQ(d.targets.size(), 4u);  // 3 enabled gateways of A + 1 of B
  for (const Target& t : d.targets) {
    if (t.trunk->id == 10) {
      EXPECT_EQ(t.request_user, "+14155550199;npdi");
      EXPECT_EQ(t.to_user, "+14155550199");
      EXPECT_EQ(t.from_user, "+14155550123");
    } else {
      EXPECT_EQ(t.trunk->id, 11);
      EXPECT_EQ(t.request_user, "14155550199");  // no LNP params, no plus
      EXPECT_EQ(t.from_user, "14155550123");
    }
  }
  EXPECT_TRUE(d.npdi);
  EXPECT_TRUE(d.routing_number.empty());
}

TEST_F(RoutingTest, GatewaysByPriorityThenWeight) {
  std::map<std::int64_t, int> first;
  for (std::uint64_t seed = 1; seed <= 400; ++seed) {
    RoutingDecision d = route("sip:+442079460000@sbc", 1, "+14155550123", seed);
    ASSERT_EQ(d.targets.size(), 3u);
    EXPECT_EQ(d.targets[2].gateway_id, 1003);  // priority 20 after both 10s
    ++first[d.targets[0].gateway_id];
  }
  EXPECT_GT(first[1001], 140);
  EXPECT_GT(first[1002], 140);
  RoutingDecision d = route("sip:+442079460000@sbc", 1);
  for (const Target& t : d.targets) {
    if (t.gateway_id == 1002) {
      EXPECT_EQ(t.protocol, txn::Protocol::Tls);
      EXPECT_EQ(t.tls_server_name, "sip.carrier-a.example");
    } else {
      EXPECT_EQ(t.protocol, txn::Protocol::Udp);
      EXPECT_EQ(t.tls_server_name, t.host);
    }
    EXPECT_EQ(t.port, 5060);
  }
}

TEST_F(RoutingTest, EqualPriorityTrunksByWeight) {
  int a_first = 0;
  const int n = 4000;
  for (int seed = 1; seed <= n; ++seed) {
    RoutingDecision d = route("sip:+14155550199@sbc", 1, "+14155550123", seed);
    ASSERT_FALSE(d.targets.empty());
    if (d.targets[0].trunk->id == 10) ++a_first;
  }
  // Weights 70/30.
  EXPECT_NEAR(static_cast<double>(a_first) / n, 0.70, 0.04);
}

TEST_F(RoutingTest, DownGatewaysSkippedUnlessAllDown) {
  health_.down = {1001, 1003};
  RoutingDecision d = route("sip:+442079460000@sbc", 1);
  EXPECT_EQ(gatewaysOf(d), std::vector<std::int64_t>{1002});
  health_.down = {1001, 1002, 1003};
  d = route("sip:+442079460000@sbc", 1);
  ASSERT_EQ(d.targets.size(), 3u);  // all down: try them anyway
  EXPECT_EQ(d.targets[2].gateway_id, 1003);
  // One trunk entirely down, another up: only the up one.
  d = route("sip:+14155550199@sbc", 1);
  EXPECT_EQ(gatewaysOf(d), std::vector<std::int64_t>{1101});
}

TEST_F(RoutingTest, OutboundLnpLookupRoutesOnRoutingNumber) {
  RoutingDecision d = route("sip:+14155550177@sbc", 1);
  EXPECT_EQ(d.routing_number, "19998886666");
  EXPECT_TRUE(d.npdi);
  ASSERT_EQ(d.targets.size(), 4u);  // route "1999": A at priority 10, then B at 20
  EXPECT_EQ(d.targets[0].trunk->id, 10);
  EXPECT_EQ(d.targets[0].request_user, "+14155550177;rn=+19998886666;npdi");
  EXPECT_EQ(d.targets[3].trunk->id, 11);
  EXPECT_EQ(d.targets[3].request_user, "14155550177");  // stripped for B
}

TEST_F(RoutingTest, OutboundUpstreamRnAndNpdi) {
  RoutingDecision d = route("sip:+14155550177;rn=+19990001111;npdi@sbc;user=phone", 1);
  EXPECT_EQ(d.routing_number, "19990001111");
  ASSERT_FALSE(d.targets.empty());
  EXPECT_EQ(d.targets[0].request_user, "+14155550177;rn=+19990001111;npdi");
  d = route("tel:+14155550177;npdi", 1);
  EXPECT_TRUE(d.routing_number.empty());  // npdi: no lookup
  for (const Target& t : d.targets) {
    EXPECT_EQ(t.request_user, t.trunk->id == 10 ? "+14155550177;npdi" : "14155550177");
  }
}

TEST_F(RoutingTest, OutboundFailures) {
  RoutingDecision d = route("sip:+33123456789@sbc", 1);
  EXPECT_TRUE(d.targets.empty());
  EXPECT_EQ(d.cause, RejectCause::NoRoute);
  EXPECT_EQ(d.reject_code, 404);
  EXPECT_EQ(d.reject_reason, "No Route");
  d = route("sip:+4930123456@sbc", 1);  // only a disabled trunk
  EXPECT_EQ(d.reject_code, 503);
  d = route("sip:+390612345678@sbc", 1);  // a trunk without gateways
  EXPECT_EQ(d.reject_code, 503);
  d = route("sip:555@sbc", 1);
  EXPECT_EQ(d.reject_code, 484);
  d = route("sip:sbc.example.com", 1);
  EXPECT_EQ(d.reject_code, 484);
  d = route("sip:alice@sbc", 1);
  EXPECT_EQ(d.reject_code, 404);
  EXPECT_EQ(d.cause, RejectCause::Forbidden);
  snap_.trunks[0].enabled = false;
  d = route("sip:+14155550199@sbc", 1);
  EXPECT_EQ(d.reject_code, 403);
}

TEST_F(RoutingTest, CallerFromFromAndPai) {
  RoutingDecision d = route("sip:+14155550199@sbc", 1, "anonymous", 1,
                            "P-Asserted-Identity: <sip:+14155550123@pbx>\r\n");
  EXPECT_TRUE(d.caller.empty());
  EXPECT_EQ(d.asserted, "14155550123");
  ASSERT_FALSE(d.targets.empty());
  EXPECT_TRUE(d.targets[0].from_user.empty());  // keep "anonymous" as received
}

TEST_F(RoutingTest, InboundToActiveDidOnGatewayPbx) {
  RoutingDecision d = route("sip:+14155550100@203.0.113.1", 10);
  EXPECT_EQ(d.direction, Direction::Inbound);
  ASSERT_EQ(d.targets.size(), 1u);
  EXPECT_EQ(d.targets[0].trunk->id, 1);
  EXPECT_EQ(d.targets[0].gateway_id, 101);
  EXPECT_EQ(d.targets[0].host, "10.0.0.5");
  EXPECT_EQ(d.targets[0].request_user, "14155550100");  // PBX wants no plus
  EXPECT_EQ(d.targets[0].from_user, "14155550123");
  EXPECT_TRUE(d.targets[0].registered_contact.empty());
}

TEST_F(RoutingTest, InboundToRegisteredPbx) {
  RoutingDecision d = route("sip:+14155550101@203.0.113.1", 10);
  EXPECT_EQ(d.reject_code, 480);  // not registered
  txn::Peer nat;
  nat.protocol = txn::Protocol::Tcp;
  nat.address = "203.0.113.9";
  nat.port = 31000;
  nat.connection = 77;
  sip::Message reg =
      parseSip(testing::request("REGISTER", "sip:sbc", "pbx2", "pbx2",
                                "Contact: <sip:pbx2@192.168.1.20:5060;transport=tcp>\r\n"));
  ASSERT_EQ(registrar_.handleRegister(reg, nat, *snap_.trunk(2), "t").statusCode(), 200);
  d = route("sip:+14155550101@203.0.113.1", 10);
  ASSERT_EQ(d.targets.size(), 1u);
  const Target& t = d.targets[0];
  EXPECT_EQ(t.trunk->id, 2);
  EXPECT_EQ(t.host, "203.0.113.9");
  EXPECT_EQ(t.port, 31000);
  EXPECT_EQ(t.protocol, txn::Protocol::Tcp);
  EXPECT_EQ(t.connection, 77u);
  EXPECT_EQ(t.registered_contact, "sip:pbx2@192.168.1.20:5060;transport=tcp");
  EXPECT_EQ(t.gateway_id, 0);
  EXPECT_EQ(t.to_user, "+14155550101");
}

TEST_F(RoutingTest, InboundNotOurNumbers) {
  for (auto ruri : {"sip:+14155550102@x", "sip:+14155550103@x", "sip:+14155550999@x"}) {
    RoutingDecision d = route(ruri, 10);
    EXPECT_EQ(d.cause, RejectCause::NotOurNumber) << ruri;
    EXPECT_EQ(d.reject_code, 404) << ruri;
    EXPECT_TRUE(d.targets.empty());
  }
}

TEST_F(RoutingTest, InboundPortedOutPerTrunkAction) {
  RoutingDecision d = route("sip:+14155550104@x", 10);
  EXPECT_EQ(d.cause, RejectCause::PortedOut);
  EXPECT_EQ(d.reject_code, 404);
  snap_.trunks[2].ported_out = cfg::PortedOutAction::RouteByLnp;  // carrierA
  d = route("sip:+14155550104@x", 10);
  EXPECT_EQ(d.cause, RejectCause::None);
  EXPECT_EQ(d.routing_number, "19998887777");
  // Never back to the carrier it came from.
  ASSERT_EQ(d.targets.size(), 1u);
  EXPECT_EQ(d.targets[0].trunk->id, 11);
}

TEST(WeightedShuffle, ZeroWeightsGoLastInOrder) {
  std::mt19937_64 rng(5);
  std::vector<int> w = {0, 5, 0, 7};
  std::vector<int> idx = {0, 1, 2, 3};
  weightedShuffle(
      idx, 0, idx.size(), [&](int i) { return w[static_cast<std::size_t>(i)]; }, rng);
  EXPECT_EQ(idx[2], 0);
  EXPECT_EQ(idx[3], 2);
}

}  // namespace
}  // namespace sbc::b2bua

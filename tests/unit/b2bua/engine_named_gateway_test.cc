// A gateway configured by DNS name: the B leg's Request-URI and To carry the
// name (RFC 3263: the name is the target), the INVITE goes to the address
// routing resolved, and the TLS client profile travels with the destination.
#include <gtest/gtest.h>

#include "support_engine_harness.h"

namespace sbc::b2bua::testing {
namespace {

void routeToNamedGateway(Harness& h) {
  h.policy.router = [](const sip::Message&, const cfg::Trunk&, const cfg::Snapshot& snap) {
    RoutingDecision d;
    d.direction = Direction::Outbound;
    d.caller = "12125550199";
    d.callee = "14155550100";
    Target t;
    t.trunk = snap.trunk(2);
    t.host = "198.51.100.10";
    t.uri_host = "sip.carrier.example";
    t.port = 5060;
    t.gateway_id = 1;
    t.request_user = "+14155550100";
    t.to_user = "+14155550100";
    t.tls_profile = 42;
    d.targets.push_back(t);
    return d;
  };
}

TEST(EngineNamedGateway, UrisCarryTheNameBytesGoToTheAddress) {
  Harness h;
  routeToNamedGateway(h);
  h.fromPbx(pbxInvite());
  auto sent = h.take(h.carrier.address);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].to.address, "198.51.100.10");
  EXPECT_EQ(sent[0].to.tls_profile, 42u);
  sip::Message inv = sent[0].message();
  EXPECT_EQ(inv.requestUriText(), "sip:+14155550100@sip.carrier.example:5060");
  EXPECT_EQ(inv.to()->uri.text, "sip:+14155550100@sip.carrier.example");
  h.fromCarrier(respond(inv, 486));
  h.expect(h.carrier.address, "ACK");
  h.expect(h.pbx.address, "SIP/2.0 486");
}

TEST(EngineNamedGateway, AnIpGatewayKeepsItsAddressInTheUris) {
  Harness h;
  h.fromPbx(pbxInvite());
  sip::Message inv = h.expect(h.carrier.address, "INVITE");
  EXPECT_EQ(inv.requestUriText(), "sip:+14155550100@198.51.100.10:5060");
  EXPECT_EQ(inv.to()->uri.text, "sip:+14155550100@198.51.100.10");
  h.fromCarrier(respond(inv, 486));
  h.expect(h.carrier.address, "ACK");
  h.expect(h.pbx.address, "SIP/2.0 486");
}

}  // namespace
}  // namespace sbc::b2bua::testing

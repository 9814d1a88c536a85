// The failover re-anchor path end to end inside one process: the real B2BUA
// engine (scripted SIP peers, tests/unit/b2bua harness) with the real
// RelayAnchor and RelayClient over a scripted relay. A failover to a trunk
// in another realm, or with another media policy or latching rule, must send
// the second attempt an offer made by new relay sessions for that trunk.
#include <gtest/gtest.h>

#include <string>

#include "sbc/media/relay_anchor.h"
#include "tests/unit/b2bua/support_engine_harness.h"
#include "tests/unit/media/fake_relay.h"

namespace sbc::media {
namespace {

using namespace std::chrono_literals;
using b2bua::testing::Harness;
using b2bua::testing::kCarrierSdp;
using b2bua::testing::pbxInvite;
using b2bua::testing::respond;
using b2bua::testing::ResponseSpec;
namespace asio = boost::asio;
using test::FakeRelay;
using test::runUntil;

// The relay's address per realm, as a real relay with inside/outside
// addresses answers.
constexpr std::string_view kInsideRelay = "10.1.0.1";
constexpr std::string_view kOutsideRelay = "10.2.0.1";

struct EngineReanchorTest : ::testing::Test {
  asio::io_context io;
  FakeRelay relay{io};
  std::unique_ptr<RelayClient> client;
  std::unique_ptr<RelayAnchor> anchor;
  // Declared last: its destructor shuts the engine down, which releases
  // media through the anchor above.
  std::unique_ptr<Harness> h;
  std::shared_ptr<cfg::Snapshot> first_snapshot;
  std::string second_host = "198.51.100.11";

  // Trunk 3: the second carrier, reached through `realm` with `media`.
  void SetUp() override {
    relay.script = [](const relayctl::Request& r) -> std::optional<relayctl::Response> {
      auto rsp = FakeRelay::defaultReply(r);
      if (const auto* c = std::get_if<relayctl::CreateRequest>(&r.body)) {
        auto& cr = std::get<relayctl::CreateResponse>(rsp->body);
        for (int k = 0; k < 2; ++k) {
          cr.legs[k].localAddress = c->legs[k].realm == relayctl::Realm::kInside
                                        ? std::string(kInsideRelay)
                                        : std::string(kOutsideRelay);
        }
      }
      return rsp;
    };
    RelayClientOptions o;
    o.relays.push_back({"127.0.0.1", relay.port()});
    o.ping_interval = 100ms;
    o.request_timeout = 500ms;
    client = std::make_unique<RelayClient>(io, o);
    RelayAnchorOptions ao;
    ao.session_prefix = "node1.abcd";
    anchor = std::make_unique<RelayAnchor>(*client, ao);
    client->start();
    ASSERT_TRUE(runUntil(io, [&] { return client->healthy(0); }));
  }

  void makeEngine(std::string_view realm, cfg::MediaPolicy media,
                  cfg::MediaLatch latch = cfg::MediaLatch::Strict) {
    h = std::make_unique<Harness>();
    first_snapshot = h->snapshot;
    auto snap = std::make_shared<cfg::Snapshot>(*h->snapshot);
    cfg::Trunk second = *snap->trunk(2);
    second.id = 3;
    second.name = "carrier2";
    second.realm = std::string(realm);
    second.media = media;
    second.media_latch = latch;
    snap->trunks.push_back(second);
    snap->index();
    h->snapshot = snap;  // the harness's own stays alive for its trunk pointers
    h->policy.by_address[second_host] = 3;
    h->policy.router = [host = second_host](const sip::Message&, const cfg::Trunk&,
                                            const cfg::Snapshot& s) {
      b2bua::RoutingDecision d;
      d.caller = "12125550199";
      d.callee = "14155550100";
      d.direction = b2bua::Direction::Outbound;
      for (cfg::TrunkId id : {cfg::TrunkId{2}, cfg::TrunkId{3}}) {
        b2bua::Target t;
        t.trunk = s.trunk(id);
        t.host = id == 2 ? "198.51.100.10" : host;
        t.port = 5060;
        t.gateway_id = id;
        t.request_user = "+14155550100";
        t.to_user = "+14155550100";
        d.targets.push_back(t);
      }
      return d;
    };
    h->engine = std::make_unique<b2bua::Engine>(
        h->clock, h->wire, h->policy, h->limits, h->config, h->snapshot,
        [this](b2bua::CallRecord&& r) { h->cdrs.push_back(std::move(r)); }, anchor.get());
  }

  // The INVITE sent to `address`, once the relay answered what it needed.
  sip::Message inviteTo(const std::string& address) {
    runUntil(io, [&] { return h->count(address, "INVITE") > 0; });
    return h->expect(address, "INVITE");
  }

  void TearDown() override {
    if (h) h->engine->shutdown();
    runUntil(io, [&] {
      return relay.receivedOf<relayctl::DestroyRequest>().size() ==
             relay.receivedOf<relayctl::CreateRequest>().size();
    });
    h.reset();
  }
};

// Copies: the fake relay's request list grows (and moves) as the loop runs.
template <typename Request>
std::vector<Request> sent(const FakeRelay& relay) {
  std::vector<Request> out;
  for (const Request* r : relay.receivedOf<Request>()) out.push_back(*r);
  return out;
}

std::string body(const sip::Message& m) {
  return std::string(m.body());
}

TEST_F(EngineReanchorTest, FailoverToAnotherRealmAndPolicyOffersTheNewRealmsRelayWithSrtp) {
  makeEngine("inside", cfg::MediaPolicy::SrtpMandatory);
  h->fromPbx(pbxInvite());
  sip::Message first = inviteTo(h->carrier.address);
  EXPECT_NE(body(first).find("c=IN IP4 10.2.0.1"), std::string::npos) << body(first);
  EXPECT_NE(body(first).find("RTP/AVP"), std::string::npos);
  EXPECT_EQ(body(first).find("a=crypto"), std::string::npos);

  h->fromCarrier(respond(first, 503));
  sip::Message second = inviteTo(second_host);
  const std::string sdp = body(second);
  // The second carrier is on the inside realm: the relay's inside address,
  // SRTP with the relay's key, nothing of the first anchoring.
  EXPECT_NE(sdp.find("c=IN IP4 10.1.0.1"), std::string::npos) << sdp;
  EXPECT_EQ(sdp.find("10.2.0.1"), std::string::npos) << sdp;
  EXPECT_NE(sdp.find("m=audio 40002 RTP/SAVP"), std::string::npos) << sdp;
  EXPECT_NE(sdp.find("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"), std::string::npos) << sdp;
  EXPECT_EQ(sdp.find("10.1.1.50"), std::string::npos) << "the PBX's address leaked";

  auto creates = sent<relayctl::CreateRequest>(relay);
  ASSERT_EQ(creates.size(), 2u);
  EXPECT_EQ(creates[0].legs[1].realm, relayctl::Realm::kOutside);
  EXPECT_FALSE(creates[0].legs[1].crypto.has_value());
  EXPECT_EQ(creates[1].legs[0].realm, relayctl::Realm::kInside);
  EXPECT_EQ(creates[1].legs[1].realm, relayctl::Realm::kInside);
  ASSERT_TRUE(creates[1].legs[1].crypto.has_value());
  EXPECT_TRUE(creates[1].legs[1].crypto->generate);
  EXPECT_NE(creates[1].callId, creates[0].callId);
  // The first attempt's session went before the second was made.
  ASSERT_TRUE(runUntil(io, [&] { return !relay.receivedOf<relayctl::DestroyRequest>().empty(); }));
  EXPECT_EQ(relay.receivedOf<relayctl::DestroyRequest>()[0]->callId, creates[0].callId);
  EXPECT_EQ(anchor->stats().reanchored, 1u);

  // The carrier's answer goes back to the PBX through the new session.
  ResponseSpec ok;
  ok.contact = "<sip:carrier@198.51.100.11:5060>";
  ok.body = std::string(kCarrierSdp);
  ok.body.replace(ok.body.find("RTP/AVP"), 7, "RTP/SAVP");
  ok.body +=
      "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n";
  h->fromCarrier(respond(second, 200, ok), h->carrier2);
  ASSERT_TRUE(runUntil(io, [&] { return h->count(h->pbx.address, "SIP/2.0 200") > 0; }));
  sip::Message answered = h->expect(h->pbx.address, "SIP/2.0 200");
  EXPECT_NE(body(answered).find("c=IN IP4 10.1.0.1"), std::string::npos) << body(answered);
  EXPECT_NE(body(answered).find("RTP/AVP"), std::string::npos);
  EXPECT_EQ(body(answered).find("a=crypto"), std::string::npos);
  auto updates = sent<relayctl::UpdateRequest>(relay);
  ASSERT_FALSE(updates.empty());
  EXPECT_EQ(updates.back().callId, creates[1].callId);
}

TEST_F(EngineReanchorTest, FailoverWithinTheSameRealmAndPolicyKeepsTheSession) {
  makeEngine("outside", cfg::MediaPolicy::Rtp);
  h->fromPbx(pbxInvite());
  sip::Message first = inviteTo(h->carrier.address);
  h->fromCarrier(respond(first, 503));
  sip::Message second = inviteTo(second_host);
  EXPECT_EQ(body(second).substr(body(second).find("m=audio")),
            body(first).substr(body(first).find("m=audio")));
  EXPECT_EQ(relay.receivedOf<relayctl::CreateRequest>().size(), 1u);
  EXPECT_TRUE(relay.receivedOf<relayctl::DestroyRequest>().empty());
  EXPECT_EQ(anchor->stats().reanchored, 0u);
}

TEST_F(EngineReanchorTest, FailoverToAWindowAnyTrunkReanchorsWithThatLatch) {
  makeEngine("outside", cfg::MediaPolicy::Rtp, cfg::MediaLatch::WindowAny);
  h->fromPbx(pbxInvite());
  sip::Message first = inviteTo(h->carrier.address);
  h->fromCarrier(respond(first, 503));
  inviteTo(second_host);
  auto creates = sent<relayctl::CreateRequest>(relay);
  ASSERT_EQ(creates.size(), 2u);
  EXPECT_EQ(creates[0].legs[1].latch, relayctl::LatchMode::kStrict);
  EXPECT_EQ(creates[1].legs[1].latch, relayctl::LatchMode::kWindowAny);
  EXPECT_EQ(creates[1].legs[0].latch, relayctl::LatchMode::kStrict);  // the PBX's trunk
}

}  // namespace
}  // namespace sbc::media

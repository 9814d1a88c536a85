// RelayAnchor over a scripted relay: the create/update/destroy it sends for
// an offer/answer, the SDP each leg gets, and calls ended by relay events.
#include "sbc/media/relay_anchor.h"

#include <gtest/gtest.h>

#include <set>

#include "tests/unit/media/fake_relay.h"

namespace sbc::media {
namespace {

using namespace std::chrono_literals;
using b2bua::LegSide;
using b2bua::MediaResult;
namespace asio = boost::asio;
using test::FakeRelay;
using test::runUntil;

constexpr std::string_view kCarrierKey = "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz";

const std::string kPbxOffer =
    "v=0\r\no=pbx 1 1 IN IP4 127.0.0.2\r\ns=pbx\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\n"
    "m=audio 10000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=ptime:20\r\n";
const std::string kCarrierAnswer =
    "v=0\r\no=car 2 2 IN IP4 127.0.0.3\r\ns=car\r\nc=IN IP4 127.0.0.3\r\nt=0 0\r\n"
    "m=audio 20000 RTP/SAVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"
    "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" +
    std::string(kCarrierKey) + "\r\n";

struct RelayAnchorTest : ::testing::Test {
  asio::io_context io;
  FakeRelay relay{io};
  std::unique_ptr<RelayClient> client;
  std::unique_ptr<RelayAnchor> anchor;
  std::vector<std::pair<b2bua::CallHandle, b2bua::EndReason>> ended;

  void SetUp() override {
    RelayClientOptions o;
    o.relays.push_back({"127.0.0.1", relay.port()});
    o.ping_interval = 100ms;
    o.request_timeout = 100ms;
    o.grace = 300ms;
    o.reconnect_min = 20ms;
    client = std::make_unique<RelayClient>(io, o);
    RelayAnchorOptions ao;
    ao.media_timeout_seconds = 3;
    ao.session_prefix = "node1.abcd";
    anchor = std::make_unique<RelayAnchor>(*client, ao);
    anchor->setEndCall([this](b2bua::CallHandle h, b2bua::EndReason r) {
      ended.emplace_back(h, r);
      anchor->release(h);  // as the engine does when it ends a call
    });
    client->start();
    ASSERT_TRUE(runUntil(io, [&] { return client->healthy(0); }));
  }

  std::optional<MediaResult> offer(b2bua::CallHandle h, LegSide from, const std::string& sdp,
                                   cfg::MediaPolicy a = cfg::MediaPolicy::Rtp,
                                   cfg::MediaPolicy b = cfg::MediaPolicy::SrtpMandatory) {
    anchor->setLegs(h, {"inside", a}, {"outside", b});
    std::optional<MediaResult> got;
    anchor->anchorOffer(h, from, sdp, [&](MediaResult r) { got = std::move(r); });
    runUntil(io, [&] { return got.has_value(); });
    return got;
  }
  std::optional<MediaResult> answer(b2bua::CallHandle h, LegSide from, const std::string& sdp) {
    std::optional<MediaResult> got;
    anchor->anchorAnswer(h, from, sdp, [&](MediaResult r) { got = std::move(r); });
    runUntil(io, [&] { return got.has_value(); });
    return got;
  }
};

TEST_F(RelayAnchorTest, RtpPbxToSrtpCarrier) {
  auto o = offer(1, LegSide::A, kPbxOffer);
  ASSERT_TRUE(o && o->ok);
  auto creates = relay.receivedOf<relayctl::CreateRequest>();
  ASSERT_EQ(creates.size(), 1u);
  const relayctl::CreateRequest& c = *creates[0];
  EXPECT_EQ(c.callId, "node1.abcd-1");
  EXPECT_EQ(c.legs[0].realm, relayctl::Realm::kInside);
  EXPECT_EQ(c.legs[1].realm, relayctl::Realm::kOutside);
  EXPECT_EQ(c.legs[0].rtp, (relayctl::Endpoint{"127.0.0.2", 10000}));
  EXPECT_FALSE(c.legs[0].crypto.has_value());
  ASSERT_TRUE(c.legs[1].crypto.has_value());
  EXPECT_TRUE(c.legs[1].crypto->generate);
  EXPECT_EQ(c.legs[1].crypto->suite, "AES_CM_128_HMAC_SHA1_80");
  EXPECT_EQ(c.legs[0].mediaTimeoutSeconds, 3u);
  EXPECT_EQ(c.legs[1].payloadTypes, c.legs[0].payloadTypes);
  EXPECT_EQ(c.legs[1].telephoneEventPt, 101);
  // The carrier gets the relay's outside address, SAVP and the relay's key.
  EXPECT_NE(o->sdp.find("c=IN IP4 10.2.0.1"), std::string::npos) << o->sdp;
  EXPECT_NE(o->sdp.find("m=audio 40002 RTP/SAVP 0 101"), std::string::npos) << o->sdp;
  EXPECT_NE(o->sdp.find("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:AAECAwQF"), std::string::npos);
  EXPECT_EQ(o->sdp.find("127.0.0.2"), std::string::npos);

  auto a = answer(1, LegSide::B, kCarrierAnswer);
  ASSERT_TRUE(a && a->ok);
  auto updates = relay.receivedOf<relayctl::UpdateRequest>();
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(updates[0]->legs[1].rtp, (relayctl::Endpoint{"127.0.0.3", 20000}));
  ASSERT_TRUE(updates[0]->legs[1].crypto.has_value());
  EXPECT_EQ(updates[0]->legs[1].crypto->key, kCarrierKey);
  EXPECT_EQ(updates[0]->legs[0], relayctl::LegUpdate{});
  // The PBX gets plain RTP on the relay's inside address.
  EXPECT_NE(a->sdp.find("c=IN IP4 10.1.0.1"), std::string::npos) << a->sdp;
  EXPECT_NE(a->sdp.find("m=audio 40000 RTP/AVP 0 101"), std::string::npos) << a->sdp;
  EXPECT_EQ(a->sdp.find("a=crypto"), std::string::npos);
  EXPECT_EQ(a->sdp.find("127.0.0.3"), std::string::npos);
  EXPECT_EQ(anchor->relayOf(1), "127.0.0.1:" + std::to_string(relay.port()));

  std::optional<std::array<relayctl::LegStats, 2>> stats;
  anchor->setStatsSink([&](b2bua::CallHandle h, const std::array<relayctl::LegStats, 2>* s) {
    EXPECT_EQ(h, 1u);
    ASSERT_NE(s, nullptr);
    stats = *s;
  });
  anchor->release(1);
  anchor->release(1);  // idempotent
  EXPECT_EQ(anchor->destroyPending(1), "127.0.0.1:" + std::to_string(relay.port()));
  ASSERT_TRUE(runUntil(io, [&] { return stats.has_value(); }));
  EXPECT_EQ((*stats)[0].packetsIn, 50u);
  EXPECT_EQ(relay.receivedOf<relayctl::DestroyRequest>().size(), 1u);
  EXPECT_EQ(anchor->sessionCount(), 0u);
  EXPECT_FALSE(anchor->destroyPending(1).has_value());
}

TEST_F(RelayAnchorTest, EarlyMediaAnswerThen2xxAnswerTheSameOffer) {
  ASSERT_TRUE(offer(11, LegSide::A, kPbxOffer)->ok);
  auto early = answer(11, LegSide::B, kCarrierAnswer);  // in a 183
  ASSERT_TRUE(early && early->ok);
  auto final_answer = answer(11, LegSide::B, kCarrierAnswer);  // in the 200
  ASSERT_TRUE(final_answer && final_answer->ok);
  EXPECT_EQ(final_answer->sdp, early->sdp);
  auto updates = relay.receivedOf<relayctl::UpdateRequest>();
  ASSERT_EQ(updates.size(), 2u);
  EXPECT_FALSE(updates[1]->legs[1].crypto.has_value());  // same key: no re-key
  // An answer from the offering leg itself is refused.
  auto wrong = answer(11, LegSide::A, kPbxOffer);
  ASSERT_TRUE(wrong.has_value());
  EXPECT_FALSE(wrong->ok);
}

TEST_F(RelayAnchorTest, ReOfferUpdatesTheSessionForHold) {
  ASSERT_TRUE(offer(2, LegSide::A, kPbxOffer, cfg::MediaPolicy::Rtp, cfg::MediaPolicy::Rtp)->ok);
  std::string plain_answer = kCarrierAnswer;
  plain_answer.replace(plain_answer.find("RTP/SAVP"), 8, "RTP/AVP");
  ASSERT_TRUE(answer(2, LegSide::B, plain_answer)->ok);
  // The callee puts the call on hold.
  std::string hold = plain_answer;
  hold.replace(hold.find("o=car 2 2"), 9, "o=car 2 3");
  hold += "a=sendonly\r\n";
  auto o = offer(2, LegSide::B, hold, cfg::MediaPolicy::Rtp, cfg::MediaPolicy::Rtp);
  ASSERT_TRUE(o && o->ok);
  EXPECT_EQ(relay.receivedOf<relayctl::CreateRequest>().size(), 1u);
  auto updates = relay.receivedOf<relayctl::UpdateRequest>();
  ASSERT_EQ(updates.size(), 2u);
  EXPECT_EQ(updates[1]->legs[1].direction, relayctl::Direction::kSendOnly);
  EXPECT_NE(o->sdp.find("a=sendonly"), std::string::npos);
  EXPECT_NE(o->sdp.find("c=IN IP4 10.1.0.1"), std::string::npos) << o->sdp;
  // ... and the PBX answers recvonly.
  std::string pbx_answer = kPbxOffer + "a=recvonly\r\n";
  auto a = answer(2, LegSide::A, pbx_answer);
  ASSERT_TRUE(a && a->ok);
  EXPECT_NE(a->sdp.find("c=IN IP4 10.2.0.1"), std::string::npos) << a->sdp;
  EXPECT_EQ(relay.receivedOf<relayctl::UpdateRequest>().back()->legs[0].direction,
            relayctl::Direction::kRecvOnly);
}

TEST_F(RelayAnchorTest, RefusedOffersDoNotTouchTheRelay) {
  auto o = offer(3, LegSide::A, kPbxOffer, cfg::MediaPolicy::SrtpMandatory);
  ASSERT_TRUE(o.has_value());
  EXPECT_FALSE(o->ok);
  EXPECT_TRUE(relay.receivedOf<relayctl::CreateRequest>().empty());
  o = offer(4, LegSide::A, "garbage");
  ASSERT_TRUE(o.has_value());
  EXPECT_FALSE(o->ok);
  EXPECT_EQ(anchor->stats().not_acceptable, 2u);
  anchor->release(3);
  anchor->release(4);
  EXPECT_EQ(anchor->sessionCount(), 0u);
}

TEST_F(RelayAnchorTest, AnswerWithoutOurCryptoFails) {
  ASSERT_TRUE(offer(5, LegSide::A, kPbxOffer)->ok);
  std::string bad = kCarrierAnswer;
  bad.replace(bad.find("crypto:1"), 8, "crypto:9");
  auto a = answer(5, LegSide::B, bad);
  ASSERT_TRUE(a.has_value());
  EXPECT_FALSE(a->ok);
}

TEST_F(RelayAnchorTest, RelayErrorFailsTheOffer) {
  relay.script = [](const relayctl::Request& r) -> std::optional<relayctl::Response> {
    auto rsp = FakeRelay::defaultReply(r);
    if (std::holds_alternative<relayctl::CreateRequest>(r.body)) {
      rsp->body = relayctl::Error{relayctl::ErrorCode::kNoPorts, {}, "full"};
    }
    return rsp;
  };
  auto o = offer(6, LegSide::A, kPbxOffer);
  ASSERT_TRUE(o.has_value());
  EXPECT_FALSE(o->ok);
  EXPECT_EQ(anchor->stats().failures, 1u);
}

TEST_F(RelayAnchorTest, MediaTimeoutEventEndsTheCall) {
  ASSERT_TRUE(offer(7, LegSide::A, kPbxOffer)->ok);
  relayctl::Event e;
  e.kind = relayctl::EventKind::kMediaTimeout;
  e.callId = "node1.abcd-99";  // not ours: ignored
  relay.sendLine(relayctl::encode(e));
  e.callId = "other-7";
  relay.sendLine(relayctl::encode(e));
  e.callId = "node1.abcd-7";
  relay.sendLine(relayctl::encode(e));
  ASSERT_TRUE(runUntil(io, [&] { return !ended.empty(); }));
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].first, 7u);
  EXPECT_EQ(ended[0].second, b2bua::EndReason::MediaTimeout);
  ASSERT_TRUE(
      runUntil(io, [&] { return relay.receivedOf<relayctl::DestroyRequest>().size() == 1; }));
}

TEST_F(RelayAnchorTest, CallsOnALostRelayAreEnded) {
  ASSERT_TRUE(offer(8, LegSide::A, kPbxOffer)->ok);
  relay.stopListening();
  relay.dropConnection();
  ASSERT_TRUE(runUntil(
      io, [&] { return !ended.empty(); }, 3000ms));
  EXPECT_EQ(ended[0].first, 8u);
  EXPECT_EQ(ended[0].second, b2bua::EndReason::RelayLost);
  // No relay: a new call cannot be anchored.
  auto o = offer(9, LegSide::A, kPbxOffer);
  ASSERT_TRUE(o.has_value());
  EXPECT_FALSE(o->ok);
  EXPECT_EQ(anchor->stats().no_relay, 1u);
}

TEST_F(RelayAnchorTest, ReleaseWhileCreatingDestroysWhenTheRelayAnswers) {
  anchor->setLegs(10, {"inside", cfg::MediaPolicy::Rtp}, {"outside", cfg::MediaPolicy::Rtp});
  bool ran = false;
  anchor->anchorOffer(10, LegSide::A, kPbxOffer, [&](const MediaResult&) { ran = true; });
  anchor->release(10);
  ASSERT_TRUE(
      runUntil(io, [&] { return relay.receivedOf<relayctl::DestroyRequest>().size() == 1; }));
  EXPECT_FALSE(ran);  // the engine has forgotten the call; nothing to continue
  EXPECT_EQ(anchor->sessionCount(), 0u);
}

// ---- several media lines, failover re-anchoring, SAVP -> AVP

const std::string kTwoStreamOffer =
    "v=0\r\no=pbx 1 1 IN IP4 127.0.0.2\r\ns=pbx\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\n"
    "m=audio 10000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
    "m=video 10002 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
    "a=ssrc:42 cname:pbx@127.0.0.2\r\n"
    "m=audio 0 RTP/AVP 8\r\n";

TEST_F(RelayAnchorTest, EachMediaLineGetsARelaySessionOfItsOwn) {
  // The second stream's session gets other ports, as a real relay's would.
  relay.script = [](const relayctl::Request& r) -> std::optional<relayctl::Response> {
    auto rsp = FakeRelay::defaultReply(r);
    const auto* c = std::get_if<relayctl::CreateRequest>(&r.body);
    auto* cr = std::get_if<relayctl::CreateResponse>(&rsp->body);
    if (c && cr && c->callId.ends_with("_m1")) {
      for (auto& l : cr->legs) l.rtpPort = static_cast<std::uint16_t>(l.rtpPort + 10);
    }
    return rsp;
  };
  auto o = offer(21, LegSide::A, kTwoStreamOffer, cfg::MediaPolicy::Rtp, cfg::MediaPolicy::Rtp);
  ASSERT_TRUE(o && o->ok);
  auto creates = relay.receivedOf<relayctl::CreateRequest>();
  ASSERT_EQ(creates.size(), 2u);
  std::set<std::string> ids{creates[0]->callId, creates[1]->callId};
  EXPECT_EQ(ids, (std::set<std::string>{"node1.abcd-21", "node1.abcd-21_m1"}));
  for (const auto* c : creates) {
    const bool video = c->callId.ends_with("_m1");
    EXPECT_EQ(c->legs[0].rtp, (relayctl::Endpoint{"127.0.0.2", video ? std::uint16_t{10002}
                                                                     : std::uint16_t{10000}}));
    EXPECT_EQ(c->legs[0].payloadTypes.front().encoding, video ? "H264" : "PCMU");
  }
  EXPECT_NE(o->sdp.find("m=audio 40002 RTP/AVP 0\r\n"), std::string::npos) << o->sdp;
  EXPECT_NE(o->sdp.find("m=video 40012 RTP/AVP 96\r\n"), std::string::npos) << o->sdp;
  EXPECT_NE(o->sdp.find("m=audio 0 RTP/AVP 8\r\n"), std::string::npos) << o->sdp;  // kept rejected
  EXPECT_EQ(o->sdp.find("127.0.0.2"), std::string::npos) << o->sdp;  // a=ssrc cname too

  // The carrier takes the audio and declines the video.
  const std::string answer_sdp =
      "v=0\r\no=car 2 2 IN IP4 127.0.0.3\r\ns=car\r\nc=IN IP4 127.0.0.3\r\nt=0 0\r\n"
      "m=audio 20000 RTP/AVP 0\r\nm=video 0 RTP/AVP 96\r\nm=audio 0 RTP/AVP 8\r\n";
  auto a = answer(21, LegSide::B, answer_sdp);
  ASSERT_TRUE(a && a->ok);
  auto updates = relay.receivedOf<relayctl::UpdateRequest>();
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(updates[0]->callId, "node1.abcd-21");
  EXPECT_EQ(updates[0]->legs[1].rtp, (relayctl::Endpoint{"127.0.0.3", 20000}));
  EXPECT_NE(a->sdp.find("m=audio 40000 RTP/AVP 0\r\n"), std::string::npos) << a->sdp;
  EXPECT_NE(a->sdp.find("m=video 0 RTP/AVP 96\r\n"), std::string::npos) << a->sdp;
  EXPECT_NE(a->sdp.find("m=audio 0 RTP/AVP 8\r\n"), std::string::npos) << a->sdp;
  EXPECT_EQ(a->sdp.find("127.0.0.3"), std::string::npos) << a->sdp;

  // Both sessions go at the end; the CDR gets their sums.
  std::optional<std::array<relayctl::LegStats, 2>> stats;
  anchor->setStatsSink([&](b2bua::CallHandle, const std::array<relayctl::LegStats, 2>* s) {
    ASSERT_NE(s, nullptr);
    stats = *s;
  });
  anchor->release(21);
  ASSERT_TRUE(runUntil(io, [&] { return stats.has_value(); }));
  EXPECT_EQ(relay.receivedOf<relayctl::DestroyRequest>().size(), 2u);
  EXPECT_EQ((*stats)[0].packetsIn, 100u);
  EXPECT_EQ((*stats)[1].packetsIn, 98u);
  EXPECT_EQ(anchor->sessionCount(), 0u);
}

TEST_F(RelayAnchorTest, FailoverToATrunkWithAnotherPolicyReanchors) {
  auto first = offer(31, LegSide::A, kPbxOffer, cfg::MediaPolicy::Rtp, cfg::MediaPolicy::Rtp);
  ASSERT_TRUE(first && first->ok);
  EXPECT_EQ(first->sdp.find("a=crypto"), std::string::npos);
  // The first carrier fails; the next one is srtp-mandatory: the engine
  // anchors the caller's offer again with the new B leg.
  auto second =
      offer(31, LegSide::A, kPbxOffer, cfg::MediaPolicy::Rtp, cfg::MediaPolicy::SrtpMandatory);
  ASSERT_TRUE(second && second->ok);
  auto destroys = relay.receivedOf<relayctl::DestroyRequest>();
  ASSERT_EQ(destroys.size(), 1u);
  EXPECT_EQ(destroys[0]->callId, "node1.abcd-31");
  auto creates = relay.receivedOf<relayctl::CreateRequest>();
  ASSERT_EQ(creates.size(), 2u);
  EXPECT_EQ(creates[1]->callId, "node1.abcd-31_m0_g1");
  ASSERT_TRUE(creates[1]->legs[1].crypto.has_value());
  EXPECT_TRUE(creates[1]->legs[1].crypto->generate);
  EXPECT_NE(second->sdp.find("RTP/SAVP"), std::string::npos) << second->sdp;
  EXPECT_NE(second->sdp.find("a=crypto:1 AES_CM_128_HMAC_SHA1_80"), std::string::npos);
  EXPECT_EQ(anchor->stats().reanchored, 1u);
  // The same target again changes nothing.
  ASSERT_TRUE(
      offer(31, LegSide::A, kPbxOffer, cfg::MediaPolicy::Rtp, cfg::MediaPolicy::SrtpMandatory)->ok);
  EXPECT_EQ(relay.receivedOf<relayctl::CreateRequest>().size(), 2u);
  auto a = answer(31, LegSide::B, kCarrierAnswer);
  ASSERT_TRUE(a && a->ok);
  EXPECT_EQ(relay.receivedOf<relayctl::UpdateRequest>().back()->callId, "node1.abcd-31_m0_g1");
  // A media timeout on the old session no longer concerns the call.
  relayctl::Event e;
  e.kind = relayctl::EventKind::kMediaTimeout;
  e.callId = "node1.abcd-31";
  relay.sendLine(relayctl::encode(e));
  EXPECT_FALSE(runUntil(
      io, [&] { return !ended.empty(); }, 300ms));
  e.callId = "node1.abcd-31_m0_g1";
  relay.sendLine(relayctl::encode(e));
  ASSERT_TRUE(runUntil(io, [&] { return !ended.empty(); }));
  EXPECT_EQ(ended.size(), 1u);
}

TEST_F(RelayAnchorTest, ReOfferFromSavpToAvpTurnsTheLegPlain) {
  const std::string savp_offer =
      "v=0\r\no=pbx 1 1 IN IP4 127.0.0.2\r\ns=pbx\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\n"
      "m=audio 10000 RTP/SAVP 0\r\na=crypto:7 AES_CM_128_HMAC_SHA1_80 inline:" +
      std::string(kCarrierKey) + "\r\n";
  ASSERT_TRUE(
      offer(41, LegSide::A, savp_offer, cfg::MediaPolicy::SrtpOptional, cfg::MediaPolicy::Rtp)->ok);
  std::string plain_answer = kCarrierAnswer.substr(0, kCarrierAnswer.find("a=crypto"));
  plain_answer.replace(plain_answer.find("RTP/SAVP"), 8, "RTP/AVP");
  auto a = answer(41, LegSide::B, plain_answer);
  ASSERT_TRUE(a && a->ok);
  EXPECT_NE(a->sdp.find("a=crypto:7 "), std::string::npos) << a->sdp;
  // The PBX re-offers plain RTP: the relay drops both keys of its leg.
  std::string avp_offer = savp_offer.substr(0, savp_offer.find("a=crypto"));
  avp_offer.replace(avp_offer.find("RTP/SAVP"), 8, "RTP/AVP");
  avp_offer.replace(avp_offer.find("o=pbx 1 1"), 9, "o=pbx 1 2");
  ASSERT_TRUE(
      offer(41, LegSide::A, avp_offer, cfg::MediaPolicy::SrtpOptional, cfg::MediaPolicy::Rtp)->ok);
  auto updates = relay.receivedOf<relayctl::UpdateRequest>();
  ASSERT_EQ(updates.size(), 2u);
  EXPECT_TRUE(updates[1]->legs[0].plain);
  EXPECT_FALSE(updates[1]->legs[0].crypto.has_value());
  EXPECT_FALSE(updates[1]->legs[1].plain);
  auto a2 = answer(41, LegSide::B, plain_answer);
  ASSERT_TRUE(a2 && a2->ok);
  EXPECT_NE(a2->sdp.find("RTP/AVP"), std::string::npos) << a2->sdp;
  EXPECT_EQ(a2->sdp.find("a=crypto"), std::string::npos) << a2->sdp;
  // ... and back to SAVP with a new key: the leg is keyed again.
  std::string rekey = savp_offer;
  rekey.replace(rekey.find("o=pbx 1 1"), 9, "o=pbx 1 3");
  rekey.replace(rekey.find(std::string(kCarrierKey)), kCarrierKey.size(),
                "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd");
  ASSERT_TRUE(
      offer(41, LegSide::A, rekey, cfg::MediaPolicy::SrtpOptional, cfg::MediaPolicy::Rtp)->ok);
  updates = relay.receivedOf<relayctl::UpdateRequest>();
  ASSERT_TRUE(updates.back()->legs[0].crypto.has_value());
  EXPECT_EQ(updates.back()->legs[0].crypto->key, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd");
  auto a3 = answer(41, LegSide::B, plain_answer);
  ASSERT_TRUE(a3 && a3->ok);
  EXPECT_NE(a3->sdp.find("a=crypto:7 "), std::string::npos) << a3->sdp;
}

// audio + video, both answered.
const std::string kTwoStreamAnswer =
    "v=0\r\no=car 2 2 IN IP4 127.0.0.3\r\ns=car\r\nc=IN IP4 127.0.0.3\r\nt=0 0\r\n"
    "m=audio 20000 RTP/AVP 0\r\nm=video 20002 RTP/AVP 96\r\nm=audio 0 RTP/AVP 8\r\n";

std::string withVersion(std::string sdp, char v) {
  sdp[sdp.find(" 1 1 IN") + 3] = v;
  return sdp;
}

TEST_F(RelayAnchorTest, ReOfferTurningAStreamOffDestroysItsSessionAtTheAnswer) {
  ASSERT_TRUE(
      offer(51, LegSide::A, kTwoStreamOffer, cfg::MediaPolicy::Rtp, cfg::MediaPolicy::Rtp)->ok);
  ASSERT_TRUE(answer(51, LegSide::B, kTwoStreamAnswer)->ok);
  ASSERT_EQ(relay.receivedOf<relayctl::CreateRequest>().size(), 2u);

  // re-INVITE: the PBX turns the video off (port 0).
  std::string off = withVersion(kTwoStreamOffer, '2');
  off.replace(off.find("m=video 10002"), 13, "m=video 0");
  auto o = offer(51, LegSide::A, off, cfg::MediaPolicy::Rtp, cfg::MediaPolicy::Rtp);
  ASSERT_TRUE(o && o->ok);
  EXPECT_NE(o->sdp.find("m=video 0 RTP/AVP 96\r\n"), std::string::npos) << o->sdp;
  EXPECT_NE(o->sdp.find("m=audio 40002 RTP/AVP 0\r\n"), std::string::npos) << o->sdp;
  // Not before the answer: a refused re-INVITE leaves the video as it was.
  EXPECT_TRUE(relay.receivedOf<relayctl::DestroyRequest>().empty());

  std::string declined = kTwoStreamAnswer;
  declined.replace(declined.find("m=video 20002"), 13, "m=video 0");
  auto a = answer(51, LegSide::B, declined);
  ASSERT_TRUE(a && a->ok);
  EXPECT_NE(a->sdp.find("m=video 0 RTP/AVP 96\r\n"), std::string::npos) << a->sdp;
  EXPECT_NE(a->sdp.find("m=audio 40000 RTP/AVP 0\r\n"), std::string::npos) << a->sdp;
  ASSERT_TRUE(
      runUntil(io, [&] { return relay.receivedOf<relayctl::DestroyRequest>().size() == 1; }));
  EXPECT_EQ(relay.receivedOf<relayctl::DestroyRequest>()[0]->callId, "node1.abcd-51_m1");
  EXPECT_EQ(anchor->stats().streams_removed, 1u);
  // Only the audio session was told about the answer.
  EXPECT_EQ(relay.receivedOf<relayctl::UpdateRequest>().back()->callId, "node1.abcd-51");

  // A media timeout of the gone video session is nobody's business.
  relayctl::Event e;
  e.kind = relayctl::EventKind::kSessionExpired;
  e.callId = "node1.abcd-51_m1";
  relay.sendLine(relayctl::encode(e));
  EXPECT_FALSE(runUntil(
      io, [&] { return !ended.empty(); }, 200ms));

  // Turned on again by a later re-offer: a new session for it.
  auto on = offer(51, LegSide::A, withVersion(kTwoStreamOffer, '3'), cfg::MediaPolicy::Rtp,
                  cfg::MediaPolicy::Rtp);
  ASSERT_TRUE(on && on->ok);
  auto creates = relay.receivedOf<relayctl::CreateRequest>();
  ASSERT_EQ(creates.size(), 3u);
  EXPECT_EQ(creates[2]->callId, "node1.abcd-51_m1");
  EXPECT_NE(on->sdp.find("m=video 40002 RTP/AVP 96\r\n"), std::string::npos) << on->sdp;
  ASSERT_TRUE(answer(51, LegSide::B, kTwoStreamAnswer)->ok);

  // The CDR sums every stream the call had, the one destroyed early too.
  std::optional<std::array<relayctl::LegStats, 2>> stats;
  anchor->setStatsSink([&](b2bua::CallHandle, const std::array<relayctl::LegStats, 2>* st) {
    ASSERT_NE(st, nullptr);
    stats = *st;
  });
  anchor->release(51);
  ASSERT_TRUE(runUntil(io, [&] { return stats.has_value(); }));
  EXPECT_EQ(relay.receivedOf<relayctl::DestroyRequest>().size(), 3u);
  EXPECT_EQ((*stats)[0].packetsIn, 150u);
  EXPECT_EQ((*stats)[1].packetsIn, 147u);
}

TEST_F(RelayAnchorTest, ReOfferDroppingTheSecondStreamDestroysItsSession) {
  ASSERT_TRUE(
      offer(52, LegSide::A, kTwoStreamOffer, cfg::MediaPolicy::Rtp, cfg::MediaPolicy::Rtp)->ok);
  ASSERT_TRUE(answer(52, LegSide::B, kTwoStreamAnswer)->ok);
  // A re-INVITE with the audio line only (not RFC 3264, but seen in the wild).
  std::string audio_only = withVersion(kTwoStreamOffer, '2');
  audio_only.erase(audio_only.find("m=video"));
  auto o = offer(52, LegSide::A, audio_only, cfg::MediaPolicy::Rtp, cfg::MediaPolicy::Rtp);
  ASSERT_TRUE(o && o->ok);
  EXPECT_EQ(o->sdp.find("m=video"), std::string::npos) << o->sdp;
  const std::string audio_answer = kTwoStreamAnswer.substr(0, kTwoStreamAnswer.find("m=video"));
  auto a = answer(52, LegSide::B, audio_answer);
  ASSERT_TRUE(a && a->ok);
  EXPECT_NE(a->sdp.find("m=audio 40000 RTP/AVP 0\r\n"), std::string::npos) << a->sdp;
  ASSERT_TRUE(
      runUntil(io, [&] { return relay.receivedOf<relayctl::DestroyRequest>().size() == 1; }));
  EXPECT_EQ(relay.receivedOf<relayctl::DestroyRequest>()[0]->callId, "node1.abcd-52_m1");
  anchor->release(52);
  ASSERT_TRUE(
      runUntil(io, [&] { return relay.receivedOf<relayctl::DestroyRequest>().size() == 2; }));
  EXPECT_EQ(relay.receivedOf<relayctl::DestroyRequest>()[1]->callId, "node1.abcd-52");
}

TEST_F(RelayAnchorTest, StreamDeclinedByAnEarlyAnswerStaysDeclinedInTheFinalOne) {
  ASSERT_TRUE(
      offer(53, LegSide::A, kTwoStreamOffer, cfg::MediaPolicy::Rtp, cfg::MediaPolicy::Rtp)->ok);
  std::string declined = kTwoStreamAnswer;
  declined.replace(declined.find("m=video 20002"), 13, "m=video 0");
  ASSERT_TRUE(answer(53, LegSide::B, declined)->ok);  // 183
  ASSERT_TRUE(
      runUntil(io, [&] { return relay.receivedOf<relayctl::DestroyRequest>().size() == 1; }));
  // The 200 takes the video after all: its session is gone, so the PBX is
  // told it was declined rather than given a port nobody listens on.
  auto a = answer(53, LegSide::B, kTwoStreamAnswer);
  ASSERT_TRUE(a && a->ok);
  EXPECT_NE(a->sdp.find("m=video 0 RTP/AVP 96\r\n"), std::string::npos) << a->sdp;
  EXPECT_NE(a->sdp.find("m=audio 40000 RTP/AVP 0\r\n"), std::string::npos) << a->sdp;
  EXPECT_EQ(relay.receivedOf<relayctl::CreateRequest>().size(), 2u);
}

TEST_F(RelayAnchorTest, CreateCarriesEachLegsLatchingRule) {
  anchor->setLegs(61, {"inside", cfg::MediaPolicy::Rtp, cfg::MediaLatch::WindowAny},
                  {"outside", cfg::MediaPolicy::Rtp, cfg::MediaLatch::Strict});
  std::optional<MediaResult> got;
  anchor->anchorOffer(61, LegSide::A, kPbxOffer, [&](MediaResult r) { got = std::move(r); });
  ASSERT_TRUE(runUntil(io, [&] { return got.has_value(); }));
  ASSERT_TRUE(got->ok);
  auto creates = relay.receivedOf<relayctl::CreateRequest>();
  ASSERT_EQ(creates.size(), 1u);
  EXPECT_EQ(creates[0]->legs[0].latch, relayctl::LatchMode::kWindowAny);
  EXPECT_EQ(creates[0]->legs[1].latch, relayctl::LatchMode::kStrict);
}

}  // namespace
}  // namespace sbc::media

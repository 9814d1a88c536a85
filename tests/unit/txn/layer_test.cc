// The TransactionLayer as a whole: a B2BUA-style TU driving both sides,
// received/rport stamping, re-entrant callbacks, and that every transaction
// is gone once its timers have run.
#include <gtest/gtest.h>

#include <map>

#include "sbc/txn/builders.h"
#include "txn_test_support.h"

namespace sbc::txn::testing {
namespace {

using V = std::vector<long>;

TEST(Layer, NewRequestFromNatGetsReceivedRportAndResponsesGoThere) {
  Harness h;
  RequestSpec spec;
  spec.via = "SIP/2.0/UDP 10.0.0.1:5060;rport;branch=z9hG4bKnat1";
  sip::Message req = request(spec);
  const Peer nat = udpPeer("203.0.113.5", 34567);
  ASSERT_EQ(h.layer.onMessage(copyOf(req), nat), Disposition::NewServerTransaction);
  ServerTransaction* st = h.layer.findServer(h.tu.last_server);
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(st->request().topVia()->received, "203.0.113.5");
  EXPECT_EQ(st->request().topVia()->rport_value, 34567);
  EXPECT_EQ(st->peer(), nat);
  EXPECT_EQ(st->responseDestination().port, 34567);
  // The unstamped retransmission still matches.
  EXPECT_EQ(h.layer.onMessage(copyOf(req), nat), Disposition::RequestRetransmission);
  ASSERT_TRUE(st->sendResponse(sip::makeResponse(st->request(), 486, {}, "x")));
  EXPECT_EQ(h.sender.last().to.address, "203.0.113.5");
  EXPECT_EQ(h.sender.last().to.port, 34567);
  sip::Message sent = h.sender.last().message();
  EXPECT_EQ(sent.topVia()->received, "203.0.113.5");
  EXPECT_EQ(sent.topVia()->rport_value, 34567);
}

TEST(Layer, StampingCanBeTurnedOff) {
  LayerOptions opts;
  opts.stamp_received = false;
  Harness h(opts);
  RequestSpec spec;
  spec.via = "SIP/2.0/UDP 10.0.0.1:5060;rport;branch=z9hG4bKnat2";
  h.layer.onMessage(request(spec), udpPeer("203.0.113.5", 34567));
  EXPECT_TRUE(h.layer.findServer(h.tu.last_server)->request().topVia()->received.empty());
}

// A B2BUA in miniature: every incoming INVITE is relayed as a new client
// transaction, and the far side's final response is relayed back.
class RelayTu : public RecordingTu {
 public:
  RelayTu(FakeTimerService& clock) : RecordingTu(clock) {}
  TransactionLayer* layer = nullptr;
  std::unordered_map<std::uint64_t, TxnId> server_of_client;
  int branch_counter = 0;

  void onNewRequest(ServerTransaction& st, const sip::Message& req) override {
    RecordingTu::onNewRequest(st, req);
    if (req.method() == sip::Method::Cancel) {
      ServerTransaction* inv = layer->findInviteServerTransactionForCancel(req);
      st.sendResponse(sip::makeResponse(req, inv ? 200 : 481));
      if (inv) inv->sendResponse(sip::makeResponse(inv->request(), 487, {}, "b2b"));
      return;
    }
    RequestSpec out;
    out.method = std::string(req.methodText());
    out.via = "SIP/2.0/UDP 198.51.100.1:5060;branch=" + makeBranch("b2b");
    sip::Message fwd = request(out);
    SendResult r = layer->sendRequest(std::move(fwd), udpPeer("198.51.100.200", 5060));
    ASSERT_TRUE(r.ok());
    server_of_client[r.id.value] = st.id();
  }
  void onResponse(ClientTransaction& ct, const sip::Message& resp) override {
    RecordingTu::onResponse(ct, resp);
    if (resp.statusCode() < 200) return;
    TxnId server = server_of_client[ct.id().value];
    if (ServerTransaction* st = layer->findServer(server)) {
      st->sendResponse(sip::makeResponse(st->request(), resp.statusCode(), {}, "b2b"));
    }
  }
  void onTimeout(Transaction& t, TimerId which) override {
    RecordingTu::onTimeout(t, which);
    if (which != TimerId::B && which != TimerId::F) return;
    if (ServerTransaction* st = layer->findServer(server_of_client[t.id().value])) {
      st->sendResponse(sip::makeResponse(st->request(), 408, {}, "b2b"));
    }
  }
};

struct RelayHarness {
  RelayHarness() : sender(clock), tu(clock), layer(clock, sender, tu) { tu.layer = &layer; }
  FakeTimerService clock;
  FakeSender sender;
  RelayTu tu;
  TransactionLayer layer;
};

TEST(Layer, RelayedCallsEndWithAnEmptyMapAndNoTimers) {
  RelayHarness h;
  std::vector<sip::Message> outbound;
  const int kCalls = 50;
  for (int i = 0; i < kCalls; ++i) {
    RequestSpec in;
    in.via = "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKin" + std::to_string(i);
    in.call_id = "call-" + std::to_string(i);
    in.method = i % 2 ? "INVITE" : "OPTIONS";
    ASSERT_EQ(h.layer.onMessage(request(in), udpPeer()), Disposition::NewServerTransaction);
    outbound.push_back(h.sender.last().message());
  }
  EXPECT_EQ(h.layer.size(), 2u * kCalls);
  // The far side answers a third with 200, a third with 486, and never the rest.
  for (int i = 0; i < kCalls; ++i) {
    if (i % 3 == 2) continue;
    h.layer.onMessage(responseTo(outbound[i], i % 3 == 0 ? 200 : 486), udpPeer("198.51.100.200"));
  }
  // INVITE calls that were rejected get the caller's ACK.
  for (int i = 0; i < kCalls; ++i) {
    if (i % 2 == 1 && i % 3 == 1) {
      RequestSpec ack;
      ack.method = "ACK";
      ack.via = "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKin" + std::to_string(i);
      ack.call_id = "call-" + std::to_string(i);
      ack.to = "Bob <sip:bob@biloxi.example.com>;tag=b2b";
      EXPECT_EQ(h.layer.onMessage(request(ack), udpPeer()), Disposition::AckAbsorbed);
    }
  }
  h.clock.advance(40s);  // B/F fire at 32 s, so the unanswered get 408s
  EXPECT_GT(h.tu.count("timeout"), 0u);
  h.clock.runAll();
  EXPECT_EQ(h.layer.size(), 0u);
  EXPECT_EQ(h.clock.pending(), 0u);
  EXPECT_EQ(h.tu.count("terminated"), 2u * kCalls);
  // Every caller got the right final answer: 200, 486, or 408 after B/F.
  std::map<std::string, int> final_code;
  for (const SentMessage& m : h.sender.sent) {
    if (!m.wire.starts_with("SIP/2.0 ")) continue;
    sip::Message r = m.message();
    if (r.statusCode() >= 200) final_code[std::string(*r.callId())] = r.statusCode();
  }
  ASSERT_EQ(final_code.size(), static_cast<std::size_t>(kCalls));
  for (int i = 0; i < kCalls; ++i) {
    const int expected = i % 3 == 0 ? 200 : i % 3 == 1 ? 486 : 408;
    EXPECT_EQ(final_code["call-" + std::to_string(i)], expected) << i;
  }
}

TEST(Layer, CancelRaceThroughTheRelay) {
  RelayHarness h;
  RequestSpec in;
  in.via = "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKrace";
  h.layer.onMessage(request(in), udpPeer());
  TxnId inbound = h.tu.last_server;
  RequestSpec cancel = in;
  cancel.method = "CANCEL";
  h.clock.advance(100ms);
  h.layer.onMessage(request(cancel), udpPeer());
  EXPECT_EQ(h.sender.timesOf("SIP/2.0 200"), (V{100}));
  EXPECT_EQ(h.sender.timesOf("SIP/2.0 487"), (V{100}));
  EXPECT_EQ(h.layer.find(inbound)->state(), TxnState::Completed);
  // A second CANCEL is a retransmission: its 200 is resent, no new 487.
  h.layer.onMessage(request(cancel), udpPeer());
  EXPECT_EQ(h.sender.timesOf("SIP/2.0 200"), (V{100, 100}));
  EXPECT_EQ(h.sender.countOf("SIP/2.0 487"), 1u);
}

TEST(Layer, DestroyingTheLayerWithLiveTransactionsIsClean) {
  FakeTimerService clock;
  FakeSender sender(clock);
  RecordingTu tu(clock);
  {
    TransactionLayer layer(clock, sender, tu);
    layer.onMessage(request(RequestSpec{}), udpPeer());
    RequestSpec out;
    out.via = "SIP/2.0/UDP 198.51.100.1:5060;branch=z9hG4bKlive";
    layer.sendRequest(request(out), udpPeer());
    EXPECT_EQ(layer.size(), 2u);
    EXPECT_GT(clock.pending(), 0u);
  }
  EXPECT_EQ(clock.pending(), 0u);  // every timer cancelled with its transaction
  EXPECT_EQ(tu.count("terminated"), 0u);
}

TEST(Layer, StatelessSendUsesNoTransaction) {
  Harness h;
  sip::Message r = sip::Message::createResponse(200);
  h.layer.sendStateless(r, udpPeer());
  ASSERT_EQ(h.sender.sent.size(), 1u);
  EXPECT_EQ(h.sender.last().owner, TxnId{});
  EXPECT_EQ(h.layer.size(), 0u);
}

TEST(Layer, UserDataStaysWithTheTransaction) {
  Harness h;
  h.tu.on_new_request = [](ServerTransaction& st, const sip::Message&) { st.setUserData(77); };
  h.layer.onMessage(request(RequestSpec{}), udpPeer());
  EXPECT_EQ(h.layer.find(h.tu.last_server)->userData(), 77u);
}

}  // namespace
}  // namespace sbc::txn::testing

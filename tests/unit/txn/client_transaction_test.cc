// INVITE and non-INVITE client transactions (RFC 3261 17.1, RFC 6026 7.2):
// every state, every timer, on UDP and TCP, with exact times.
#include <gtest/gtest.h>

#include "sbc/txn/builders.h"
#include "txn_test_support.h"

namespace sbc::txn::testing {
namespace {

using V = std::vector<long>;

class ClientTest : public ::testing::Test {
 protected:
  TxnId sendInvite(const Destination& to, RequestSpec spec = {}) {
    spec.via = std::string("SIP/2.0/") + (to.protocol == Protocol::Udp ? "UDP" : "TCP") +
               " 198.51.100.1:5060;branch=z9hG4bKclient1";
    invite_ = request(spec);
    SendResult r = h.layer.sendRequest(copyOf(invite_), to);
    EXPECT_TRUE(r.ok()) << toString(r.error);
    return r.id;
  }
  TxnId sendOptions(const Destination& to) {
    RequestSpec spec;
    spec.method = "OPTIONS";
    spec.via = std::string("SIP/2.0/") + (to.protocol == Protocol::Udp ? "UDP" : "TCP") +
               " 198.51.100.1:5060;branch=z9hG4bKopts1";
    options_ = request(spec);
    SendResult r = h.layer.sendRequest(copyOf(options_), to);
    EXPECT_TRUE(r.ok()) << toString(r.error);
    return r.id;
  }
  Disposition receive(const sip::Message& m, const Peer& from = udpPeer()) {
    return h.layer.onMessage(copyOf(m), from);
  }
  TxnState stateOf(TxnId id) {
    Transaction* t = h.layer.find(id);
    return t ? t->state() : TxnState::Terminated;
  }

  Harness h;
  sip::Message invite_;
  sip::Message options_;
};

// ---------------------------------------------------------------- INVITE

TEST_F(ClientTest, InviteUdpTimerADoublesWithoutCapUntilTimerB) {
  TxnId id = sendInvite(udpPeer());
  EXPECT_EQ(stateOf(id), TxnState::Calling);
  EXPECT_EQ(h.sender.last().to, udpPeer());
  EXPECT_EQ(h.sender.last().owner, id);
  h.clock.advance(31999ms);
  EXPECT_EQ(stateOf(id), TxnState::Calling);
  EXPECT_EQ(h.tu.count("timeout"), 0u);
  h.clock.advance(1ms);
  // A = T1, 2T1, 4T1, ... with no T2 cap (RFC 3261 17.1.1.2); B = 64*T1.
  EXPECT_EQ(h.sender.timesOf("INVITE "), (V{0, 500, 1500, 3500, 7500, 15500, 31500}));
  ASSERT_EQ(h.tu.count("timeout"), 1u);
  EXPECT_EQ(h.tu.of("timeout")[0].detail, "B");
  EXPECT_EQ(h.tu.of("timeout")[0].at, 32000ms);
  EXPECT_EQ(h.layer.size(), 0u);
  EXPECT_EQ(h.tu.count("terminated"), 1u);
  h.clock.advance(100s);
  EXPECT_EQ(h.sender.countOf("INVITE "), 7u);
  EXPECT_EQ(h.clock.pending(), 0u);
  // Every retransmission is byte-identical to the first transmission.
  for (const auto& s : h.sender.sent) EXPECT_EQ(s.wire, h.sender.sent[0].wire);
}

TEST_F(ClientTest, InviteTcpHasNoTimerAButTimerB) {
  TxnId id = sendInvite(tcpPeer());
  h.clock.advance(32000ms);
  EXPECT_EQ(h.sender.timesOf("INVITE "), (V{0}));
  ASSERT_EQ(h.tu.count("timeout"), 1u);
  EXPECT_EQ(h.tu.of("timeout")[0].at, 32000ms);
  EXPECT_EQ(stateOf(id), TxnState::Terminated);
}

TEST_F(ClientTest, ConfigurableT1ScalesTimers) {
  LayerOptions opts;
  opts.timers.t1 = 100ms;
  Harness hh(opts);
  RequestSpec spec;
  spec.via = "SIP/2.0/UDP 198.51.100.1:5060;branch=z9hG4bKshort";
  ASSERT_TRUE(hh.layer.sendRequest(request(spec), udpPeer()).ok());
  hh.clock.advance(6400ms);
  EXPECT_EQ(hh.sender.timesOf("INVITE "), (V{0, 100, 300, 700, 1500, 3100, 6300}));
  ASSERT_EQ(hh.tu.count("timeout"), 1u);
  EXPECT_EQ(hh.tu.of("timeout")[0].at, 6400ms);
}

TEST_F(ClientTest, ProvisionalStopsRetransmissionsAndTimerB) {
  TxnId id = sendInvite(udpPeer());
  h.clock.advance(700ms);  // one retransmission at 500
  EXPECT_EQ(receive(responseTo(invite_, 100)), Disposition::Response);
  EXPECT_EQ(stateOf(id), TxnState::Proceeding);
  receive(responseTo(invite_, 180));
  h.clock.advance(300s);
  EXPECT_EQ(h.sender.timesOf("INVITE "), (V{0, 500}));
  EXPECT_EQ(h.tu.count("timeout"), 0u);  // B only guards Calling
  EXPECT_EQ(stateOf(id), TxnState::Proceeding);
  auto responses = h.tu.of("response");
  ASSERT_EQ(responses.size(), 2u);
  EXPECT_EQ(responses[0].code, 100);
  EXPECT_EQ(responses[1].code, 180);
  EXPECT_EQ(h.layer.findClient(id)->lastStatus(), 180);
}

TEST_F(ClientTest, NonSuccessFinalSendsAckAndTimerDUdp) {
  RequestSpec spec;
  spec.routes = {"<sip:proxy1.example.com;lr>", "<sip:proxy2.example.com;lr>"};
  TxnId id = sendInvite(udpPeer(), spec);
  h.clock.advance(200ms);
  receive(responseTo(invite_, 180));
  h.clock.advance(800ms);  // t = 1000
  sip::Message busy = responseTo(invite_, 486, "callee-tag-9");
  receive(busy);
  EXPECT_EQ(stateOf(id), TxnState::Completed);
  ASSERT_EQ(h.sender.countOf("ACK "), 1u);
  EXPECT_EQ(h.sender.timesOf("ACK "), (V{1000}));

  // RFC 3261 17.1.1.3, field by field.
  sip::Message ack = h.sender.last().message();
  EXPECT_EQ(h.sender.last().startLine(), "ACK sip:bob@biloxi.example.com SIP/2.0");
  EXPECT_EQ(h.sender.last().to, udpPeer());
  ASSERT_TRUE(ack.vias());
  ASSERT_EQ(ack.vias()->size(), 1u);
  EXPECT_EQ(ack.topVia()->text, invite_.topVia()->text);
  EXPECT_EQ(ack.header(sip::HeaderId::From)->value, invite_.header(sip::HeaderId::From)->value);
  EXPECT_EQ(ack.header(sip::HeaderId::To)->value, busy.header(sip::HeaderId::To)->value);
  EXPECT_EQ(ack.to()->tag, "callee-tag-9");
  EXPECT_EQ(*ack.callId(), *invite_.callId());
  EXPECT_EQ(ack.cseq()->number, 314159u);
  EXPECT_EQ(ack.cseq()->method, sip::Method::Ack);
  ASSERT_TRUE(ack.routes());
  ASSERT_EQ(ack.routes()->size(), 2u);
  EXPECT_EQ((*ack.routes())[0].uri.host, "proxy1.example.com");
  EXPECT_EQ((*ack.routes())[1].uri.host, "proxy2.example.com");
  EXPECT_EQ(*ack.maxForwards(), 70u);
  EXPECT_TRUE(ack.body().empty());
  EXPECT_EQ(ack.header(sip::HeaderId::Contact), nullptr);

  // The final response reaches the TU once; its retransmissions only get the
  // ACK again.
  receive(busy);
  h.clock.advance(1000ms);
  receive(busy);
  EXPECT_EQ(h.sender.timesOf("ACK "), (V{1000, 1000, 2000}));
  EXPECT_EQ(h.sender.last().wire, h.layer.findClient(id)->ackWire());  // byte-identical resends
  auto responses = h.tu.of("response");
  ASSERT_EQ(responses.size(), 2u);
  EXPECT_EQ(responses[1].code, 486);
  EXPECT_EQ(responses[1].detail, "Completed");

  // Timer D: 32 s on UDP, from the first final response.
  h.clock.advance(30999ms);  // t = 32999
  EXPECT_EQ(stateOf(id), TxnState::Completed);
  h.clock.advance(1ms);
  EXPECT_EQ(stateOf(id), TxnState::Terminated);
  EXPECT_EQ(h.layer.size(), 0u);
  EXPECT_EQ(h.tu.count("timeout"), 0u);
  // After D a late retransmission is stray.
  EXPECT_EQ(receive(busy), Disposition::StrayResponse);
}

TEST_F(ClientTest, NonSuccessFinalOnTcpTimerDIsZero) {
  TxnId id = sendInvite(tcpPeer());
  h.clock.advance(3s);
  receive(responseTo(invite_, 503), tcpPeer());
  EXPECT_EQ(h.sender.timesOf("ACK "), (V{3000}));
  EXPECT_EQ(stateOf(id), TxnState::Completed);
  h.clock.advance(0ms);
  EXPECT_EQ(stateOf(id), TxnState::Terminated);
  EXPECT_EQ(h.layer.size(), 0u);
}

TEST_F(ClientTest, FinalInCallingAlsoStopsTimerA) {
  TxnId id = sendInvite(udpPeer());
  h.clock.advance(600ms);
  receive(responseTo(invite_, 404));
  h.clock.advance(31999ms);
  EXPECT_EQ(h.sender.timesOf("INVITE "), (V{0, 500}));
  EXPECT_EQ(stateOf(id), TxnState::Completed);
  h.clock.advance(1ms);
  EXPECT_EQ(stateOf(id), TxnState::Terminated);
}

TEST_F(ClientTest, SuccessMovesToAcceptedAndPassesEvery2xxUntilTimerM) {
  TxnId id = sendInvite(udpPeer());
  h.clock.advance(100ms);
  receive(responseTo(invite_, 180));
  h.clock.advance(900ms);  // t = 1000
  sip::Message ok = responseTo(invite_, 200, "fork-a");
  receive(ok);
  EXPECT_EQ(stateOf(id), TxnState::Accepted);
  EXPECT_EQ(h.sender.countOf("ACK "), 0u);  // the TU ACKs a 2xx (RFC 3261 13.2.2.4)
  h.clock.advance(500ms);
  receive(ok);                                  // retransmission: to the TU as well (RFC 6026 7.2)
  receive(responseTo(invite_, 200, "fork-b"));  // a forked 2xx: to the TU
  receive(responseTo(invite_, 486, "fork-c"));  // a non-2xx now: dropped
  receive(responseTo(invite_, 183, "fork-d"));  // a provisional now: dropped
  auto responses = h.tu.of("response");
  ASSERT_EQ(responses.size(), 4u);
  EXPECT_EQ(responses[1].code, 200);
  EXPECT_EQ(responses[1].at, 1000ms);
  EXPECT_EQ(responses[1].detail, "Accepted");
  EXPECT_EQ(responses[2].code, 200);
  EXPECT_EQ(responses[2].at, 1500ms);
  EXPECT_EQ(responses[3].code, 200);
  // Timer M = 64*T1 from the first 2xx.
  h.clock.advance(31499ms);  // t = 32999
  EXPECT_EQ(stateOf(id), TxnState::Accepted);
  h.clock.advance(1ms);
  EXPECT_EQ(stateOf(id), TxnState::Terminated);
  EXPECT_EQ(h.sender.countOf("INVITE "), 1u);  // 180 arrived before A fired
  // Later 2xx have no transaction: stray, to the TU, which may ACK + BYE.
  EXPECT_EQ(receive(ok), Disposition::StrayResponse);
  EXPECT_EQ(h.tu.count("stray_response"), 1u);
  EXPECT_EQ(h.layer.size(), 0u);
}

TEST_F(ClientTest, SuccessOnTcpStillWaitsForTimerM) {
  TxnId id = sendInvite(tcpPeer());
  receive(responseTo(invite_, 200), tcpPeer());
  h.clock.advance(31999ms);
  EXPECT_EQ(stateOf(id), TxnState::Accepted);
  h.clock.advance(1ms);
  EXPECT_EQ(stateOf(id), TxnState::Terminated);
}

TEST_F(ClientTest, TransportErrorFromSendReportsAndTerminates) {
  h.sender.fail_next_sends = 1;
  TxnId id = sendInvite(udpPeer());
  EXPECT_EQ(h.tu.count("transport_error"), 0u);  // never inside sendRequest()
  h.clock.advance(0ms);
  ASSERT_EQ(h.tu.count("transport_error"), 1u);
  EXPECT_EQ(h.tu.of("transport_error")[0].id, id);
  EXPECT_EQ(stateOf(id), TxnState::Terminated);
  EXPECT_EQ(h.clock.pending(), 0u);
}

TEST_F(ClientTest, AsynchronousTransportErrorTerminates) {
  TxnId id = sendOptions(tcpPeer());
  h.clock.advance(50ms);
  h.layer.onTransportError(id);
  EXPECT_EQ(h.tu.count("transport_error"), 1u);
  EXPECT_EQ(stateOf(id), TxnState::Terminated);
  h.layer.onTransportError(id);  // a second report for a gone transaction: ignored
  EXPECT_EQ(h.tu.count("transport_error"), 1u);
}

TEST_F(ClientTest, TimerCReportsOnceAndTransactionStays) {
  LayerOptions opts;
  opts.timers.timer_c = 180s;
  Harness hh(opts);
  RequestSpec spec;
  spec.via = "SIP/2.0/UDP 198.51.100.1:5060;branch=z9hG4bKtimerc";
  sip::Message inv = request(spec);
  TxnId id = hh.layer.sendRequest(copyOf(inv), udpPeer()).id;
  hh.layer.onMessage(responseTo(inv, 100), udpPeer());
  hh.clock.advance(60s);
  hh.layer.onMessage(responseTo(inv, 180), udpPeer());  // restarts C at t = 60 s
  hh.clock.advance(179999ms);
  EXPECT_EQ(hh.tu.count("timeout"), 0u);
  hh.clock.advance(1ms);
  ASSERT_EQ(hh.tu.count("timeout"), 1u);
  EXPECT_EQ(hh.tu.of("timeout")[0].detail, "C");
  EXPECT_EQ(hh.tu.of("timeout")[0].at, 240s);
  EXPECT_EQ(hh.layer.find(id)->state(), TxnState::Proceeding);
}

TEST_F(ClientTest, CancelBeforeProvisionalIsDeferredUntilFirst1xx) {
  RequestSpec spec;
  spec.routes = {"<sip:proxy1.example.com;lr>"};
  TxnId id = sendInvite(udpPeer(), spec);
  SendResult early = h.layer.sendCancel(id);
  EXPECT_EQ(early.error, SendError::Deferred);
  EXPECT_TRUE(h.layer.findClient(id)->cancelPending());
  h.clock.advance(700ms);
  EXPECT_EQ(h.sender.countOf("CANCEL "), 0u);
  receive(responseTo(invite_, 100));
  EXPECT_EQ(h.sender.timesOf("CANCEL "), (V{700}));
  sip::Message cancel = h.sender.last().message();
  EXPECT_EQ(h.sender.last().startLine(), "CANCEL sip:bob@biloxi.example.com SIP/2.0");
  EXPECT_EQ(cancel.topVia()->branch, invite_.topVia()->branch);
  EXPECT_EQ(cancel.vias()->size(), 1u);
  EXPECT_EQ(cancel.cseq()->number, invite_.cseq()->number);
  EXPECT_EQ(cancel.cseq()->method, sip::Method::Cancel);
  EXPECT_EQ(cancel.header(sip::HeaderId::To)->value, invite_.header(sip::HeaderId::To)->value);
  EXPECT_EQ(cancel.header(sip::HeaderId::From)->value, invite_.header(sip::HeaderId::From)->value);
  EXPECT_EQ(*cancel.callId(), *invite_.callId());
  EXPECT_EQ(cancel.routes()->size(), 1u);
  EXPECT_EQ(h.layer.size(), 2u);  // INVITE + CANCEL client transactions
  // The 200 for the CANCEL and the 487 for the INVITE go to their own
  // transactions although they share the branch (CSeq method differs).
  receive(responseTo(cancel, 200));
  receive(responseTo(invite_, 487));
  auto responses = h.tu.of("response");
  ASSERT_EQ(responses.size(), 3u);
  EXPECT_EQ(responses[1].code, 200);
  EXPECT_NE(responses[1].id, id);
  EXPECT_EQ(responses[2].code, 487);
  EXPECT_EQ(responses[2].id, id);
  EXPECT_EQ(h.sender.countOf("ACK "), 1u);
  h.clock.runAll();
  EXPECT_EQ(h.layer.size(), 0u);
}

TEST_F(ClientTest, CancelRules) {
  TxnId id = sendInvite(udpPeer());
  receive(responseTo(invite_, 180));
  SendResult c = h.layer.sendCancel(id);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(h.layer.find(c.id)->kind(), TxnKind::NonInviteClient);
  receive(responseTo(invite_, 486));
  EXPECT_EQ(h.layer.sendCancel(id).error, SendError::BadState);
  EXPECT_EQ(h.layer.sendCancel(TxnId{999}).error, SendError::NoSuchTransaction);
  // A deferred CANCEL is dropped when a final response comes first.
  RequestSpec spec;
  spec.via = "SIP/2.0/UDP 198.51.100.1:5060;branch=z9hG4bKother";
  sip::Message inv2 = request(spec);
  TxnId id2 = h.layer.sendRequest(copyOf(inv2), udpPeer()).id;
  EXPECT_EQ(h.layer.sendCancel(id2).error, SendError::Deferred);
  receive(responseTo(inv2, 603));
  EXPECT_EQ(h.sender.countOf("CANCEL "), 1u);
}

// ------------------------------------------------------------ non-INVITE

TEST_F(ClientTest, NonInviteUdpTimerECappedAtT2UntilTimerF) {
  TxnId id = sendOptions(udpPeer());
  EXPECT_EQ(stateOf(id), TxnState::Trying);
  h.clock.advance(31999ms);
  EXPECT_EQ(h.tu.count("timeout"), 0u);
  h.clock.advance(1ms);
  EXPECT_EQ(h.sender.timesOf("OPTIONS "),
            (V{0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500}));
  ASSERT_EQ(h.tu.count("timeout"), 1u);
  EXPECT_EQ(h.tu.of("timeout")[0].detail, "F");
  EXPECT_EQ(h.tu.of("timeout")[0].at, 32000ms);
  EXPECT_EQ(stateOf(id), TxnState::Terminated);
  EXPECT_EQ(h.clock.pending(), 0u);
}

TEST_F(ClientTest, NonInviteProceedingRetransmitsEveryT2) {
  TxnId id = sendOptions(udpPeer());
  h.clock.advance(200ms);
  receive(responseTo(options_, 100));
  EXPECT_EQ(stateOf(id), TxnState::Proceeding);
  h.clock.advance(31800ms);
  // E fires at 500 (already scheduled), then every T2 (RFC 3261 17.1.2.2).
  EXPECT_EQ(h.sender.timesOf("OPTIONS "),
            (V{0, 500, 4500, 8500, 12500, 16500, 20500, 24500, 28500}));
  ASSERT_EQ(h.tu.count("timeout"), 1u);
  EXPECT_EQ(h.tu.of("timeout")[0].at, 32000ms);
}

TEST_F(ClientTest, NonInviteFinalCompletesAndTimerKIsT4OnUdp) {
  TxnId id = sendOptions(udpPeer());
  h.clock.advance(600ms);
  sip::Message ok = responseTo(options_, 200);
  receive(ok);
  EXPECT_EQ(stateOf(id), TxnState::Completed);
  receive(ok);                         // absorbed
  receive(responseTo(options_, 180));  // absorbed
  EXPECT_EQ(h.tu.count("response"), 1u);
  h.clock.advance(4999ms);
  EXPECT_EQ(stateOf(id), TxnState::Completed);
  h.clock.advance(1ms);
  EXPECT_EQ(stateOf(id), TxnState::Terminated);
  EXPECT_EQ(h.sender.timesOf("OPTIONS "), (V{0, 500}));
  EXPECT_EQ(h.layer.stats().response_retransmissions, 2u);
}

TEST_F(ClientTest, NonInviteTcpNoRetransmissionsKZero) {
  TxnId id = sendOptions(tcpPeer());
  h.clock.advance(10s);
  EXPECT_EQ(h.sender.timesOf("OPTIONS "), (V{0}));
  receive(responseTo(options_, 100), tcpPeer());
  receive(responseTo(options_, 200), tcpPeer());
  EXPECT_EQ(stateOf(id), TxnState::Completed);
  h.clock.advance(0ms);
  EXPECT_EQ(stateOf(id), TxnState::Terminated);
}

TEST_F(ClientTest, NonInviteTcpTimerF) {
  sendOptions(tcpPeer());
  h.clock.advance(32s);
  EXPECT_EQ(h.tu.of("timeout").at(0).detail, "F");
  EXPECT_EQ(h.tu.of("timeout").at(0).at, 32000ms);
  EXPECT_EQ(h.sender.timesOf("OPTIONS "), (V{0}));
}

TEST_F(ClientTest, SendRequestRejectsWhatCannotBeATransaction) {
  RequestSpec spec;
  spec.via = "SIP/2.0/UDP 198.51.100.1:5060;branch=z9hG4bKdup";
  EXPECT_TRUE(h.layer.sendRequest(request(spec), udpPeer()).ok());
  EXPECT_EQ(h.layer.sendRequest(request(spec), udpPeer()).error, SendError::DuplicateBranch);
  spec.via = "SIP/2.0/UDP 198.51.100.1:5060;branch=1234";
  EXPECT_EQ(h.layer.sendRequest(request(spec), udpPeer()).error, SendError::NoBranch);
  spec.via = "SIP/2.0/UDP 198.51.100.1:5060;branch=z9hG4bKack";
  spec.method = "ACK";
  EXPECT_EQ(h.layer.sendRequest(request(spec), udpPeer()).error, SendError::AckNotAllowed);
  EXPECT_EQ(h.layer.sendRequest(sip::Message::createResponse(200), udpPeer()).error,
            SendError::NotARequest);
  EXPECT_EQ(h.layer.size(), 1u);
}

TEST_F(ClientTest, ResponseMatchingUsesBranchAndCSeqMethod) {
  sendInvite(udpPeer());
  sip::Message other = responseTo(invite_, 200);
  // Same branch but CSeq method OPTIONS: no such client transaction.
  RequestSpec spec;
  spec.method = "OPTIONS";
  spec.via = invite_.topVia()->text;
  sip::Message opt = request(spec);
  EXPECT_EQ(receive(responseTo(opt, 200)), Disposition::StrayResponse);
  // Different branch: stray.
  spec.method = "INVITE";
  spec.via = "SIP/2.0/UDP 198.51.100.1:5060;branch=z9hG4bKunknown";
  EXPECT_EQ(receive(responseTo(request(spec), 200)), Disposition::StrayResponse);
  EXPECT_EQ(receive(other), Disposition::Response);
  EXPECT_EQ(h.layer.stats().stray_responses, 2u);
}

}  // namespace
}  // namespace sbc::txn::testing

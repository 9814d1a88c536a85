// INVITE and non-INVITE server transactions (RFC 3261 17.2, RFC 6026 7.1):
// every state, every timer, on UDP and TCP, with exact times.
#include <gtest/gtest.h>

#include "txn_test_support.h"

namespace sbc::txn::testing {
namespace {

using V = std::vector<long>;

class ServerTest : public ::testing::Test {
 protected:
  // Receives a request from `from`; returns the server transaction's id.
  TxnId receiveNew(RequestSpec spec, const Peer& from = udpPeer()) {
    if (from.protocol != Protocol::Udp) {
      spec.via =
          "SIP/2.0/TCP 192.0.2.10:5060;branch=" + std::string(request(spec).topVia()->branch);
    }
    req_ = request(spec);
    from_ = from;
    EXPECT_EQ(h.layer.onMessage(copyOf(req_), from), Disposition::NewServerTransaction);
    return h.tu.last_server;
  }
  TxnId receiveInvite(const Peer& from = udpPeer()) { return receiveNew(RequestSpec{}, from); }
  TxnId receiveOptions(const Peer& from = udpPeer()) {
    RequestSpec spec;
    spec.method = "OPTIONS";
    spec.via = "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKopt77";
    return receiveNew(spec, from);
  }
  Disposition again() { return h.layer.onMessage(copyOf(req_), from_); }
  bool respond(TxnId id, int code, std::string_view tag = "uas-tag") {
    return h.layer.sendResponse(id, sip::makeResponse(req_, code, {}, code == 100 ? "" : tag));
  }
  // The ACK a UAC sends for our non-2xx: same branch (RFC 3261 17.1.1.3).
  sip::Message ackFor(std::string_view to_tag = "uas-tag") {
    RequestSpec spec;
    spec.method = "ACK";
    spec.via = std::string(req_.topVia()->text);
    spec.to = "Bob <sip:bob@biloxi.example.com>;tag=" + std::string(to_tag);
    return request(spec);
  }
  TxnState stateOf(TxnId id) {
    Transaction* t = h.layer.find(id);
    return t ? t->state() : TxnState::Terminated;
  }

  Harness h;
  sip::Message req_;
  Peer from_;
};

// ---------------------------------------------------------------- INVITE

TEST_F(ServerTest, InviteGetsAutomatic100TryingAfter200ms) {
  TxnId id = receiveInvite();
  ServerTransaction* st = h.layer.findServer(id);
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(st->state(), TxnState::Proceeding);
  EXPECT_EQ(st->kind(), TxnKind::InviteServer);
  EXPECT_FALSE(st->rfc2543());
  h.clock.advance(199ms);
  EXPECT_TRUE(h.sender.sent.empty());
  h.clock.advance(1ms);
  ASSERT_EQ(h.sender.sent.size(), 1u);
  EXPECT_EQ(h.sender.last().startLine(), "SIP/2.0 100 Trying");
  EXPECT_EQ(h.sender.last().at, 200ms);
  EXPECT_EQ(h.sender.last().owner, id);
  sip::Message trying = h.sender.last().message();
  EXPECT_EQ(trying.topVia()->branch, "z9hG4bKnashds8");
  EXPECT_EQ(*trying.callId(), *req_.callId());
  EXPECT_EQ(trying.cseq()->number, 314159u);
  EXPECT_TRUE(trying.to()->tag.empty());
  // Sent back to the source (no rport: the sent-by port, RFC 3261 18.2.2).
  EXPECT_EQ(h.sender.last().to, udpPeer("192.0.2.10", 5060));
  // A retransmitted INVITE gets the 100 again.
  h.clock.advance(300ms);
  EXPECT_EQ(again(), Disposition::RequestRetransmission);
  EXPECT_EQ(h.sender.timesOf("SIP/2.0 100"), (V{200, 500}));
  EXPECT_EQ(h.tu.count("new"), 1u);
}

TEST_F(ServerTest, TuProvisionalSuppresses100AndIsResentOnRetransmission) {
  TxnId id = receiveInvite();
  h.clock.advance(50ms);
  EXPECT_EQ(again(), Disposition::RequestRetransmission);  // nothing to resend yet
  EXPECT_TRUE(h.sender.sent.empty());
  ASSERT_TRUE(respond(id, 180));
  h.clock.advance(1000ms);
  EXPECT_EQ(h.sender.countOf("SIP/2.0 100"), 0u);
  again();
  ASSERT_TRUE(respond(id, 183));
  again();
  EXPECT_EQ(h.sender.timesOf("SIP/2.0 180"), (V{50, 1050}));
  EXPECT_EQ(h.sender.timesOf("SIP/2.0 183"), (V{1050, 1050}));
  EXPECT_EQ(stateOf(id), TxnState::Proceeding);
  EXPECT_EQ(h.layer.stats().request_retransmissions, 3u);
}

TEST_F(ServerTest, TuCanAnswerInsideOnNewRequest) {
  h.tu.on_new_request = [](ServerTransaction& st, const sip::Message& r) {
    EXPECT_TRUE(st.sendResponse(sip::makeResponse(r, 100)));
  };
  receiveInvite();
  EXPECT_EQ(h.sender.timesOf("SIP/2.0 100"), (V{0}));
  h.clock.advance(1s);
  EXPECT_EQ(h.sender.countOf("SIP/2.0 100"), 1u);
}

TEST_F(ServerTest, InviteNonSuccessUdpTimerGCappedAtT2UntilTimerH) {
  TxnId id = receiveInvite();
  h.clock.advance(1000ms);
  ASSERT_TRUE(respond(id, 486));
  EXPECT_EQ(stateOf(id), TxnState::Completed);
  EXPECT_FALSE(respond(id, 500));  // one final response only
  h.clock.advance(31999ms);
  EXPECT_EQ(stateOf(id), TxnState::Completed);
  EXPECT_EQ(h.tu.count("timeout"), 0u);
  h.clock.advance(1ms);
  // G = T1, 2T1, 4T1, then T2 (RFC 3261 17.2.1); H = 64*T1 after the 486.
  EXPECT_EQ(h.sender.timesOf("SIP/2.0 486"),
            (V{1000, 1500, 2500, 4500, 8500, 12500, 16500, 20500, 24500, 28500, 32500}));
  ASSERT_EQ(h.tu.count("timeout"), 1u);
  EXPECT_EQ(h.tu.of("timeout")[0].detail, "H");
  EXPECT_EQ(h.tu.of("timeout")[0].at, 33000ms);
  EXPECT_EQ(stateOf(id), TxnState::Terminated);
  EXPECT_EQ(h.layer.size(), 0u);
  EXPECT_EQ(h.clock.pending(), 0u);
}

TEST_F(ServerTest, InviteNonSuccessRetransmittedInviteGetsTheFinalAgain) {
  TxnId id = receiveInvite();
  ASSERT_TRUE(respond(id, 180, "t180"));
  ServerTransaction* st = h.layer.findServer(id);
  ASSERT_NE(st->lastResponse(), nullptr);
  EXPECT_EQ(st->lastResponse()->statusCode(), 180);
  EXPECT_EQ(st->toTag(), "t180");
  ASSERT_TRUE(respond(id, 404, "t180"));
  // Only the bytes of a final response are kept; they are what is resent.
  EXPECT_EQ(st->lastResponse(), nullptr);
  EXPECT_EQ(st->lastStatus(), 404);
  EXPECT_EQ(st->lastResponseWire(), h.sender.last().wire);
  h.clock.advance(300ms);
  EXPECT_EQ(again(), Disposition::RequestRetransmission);
  h.clock.advance(200ms);  // and Timer G at T1
  EXPECT_EQ(h.sender.timesOf("SIP/2.0 404"), (V{0, 300, 500}));
  for (const SentMessage& m : h.sender.sent) {
    if (m.wire.starts_with("SIP/2.0 404")) {
      EXPECT_EQ(m.wire, st->lastResponseWire());
    }
  }
  EXPECT_EQ(h.sender.countOf("SIP/2.0 180"), 1u);
}

TEST_F(ServerTest, AckConfirmsAndTimerIIsT4OnUdp) {
  TxnId id = receiveInvite();
  ASSERT_TRUE(respond(id, 486));
  h.clock.advance(700ms);  // G fired at 500
  sip::Message ack = ackFor();
  EXPECT_EQ(h.layer.onMessage(copyOf(ack), udpPeer()), Disposition::AckAbsorbed);
  EXPECT_EQ(stateOf(id), TxnState::Confirmed);
  EXPECT_EQ(h.tu.count("stray_ack"), 0u);  // the TU never sees this ACK
  // Confirmed absorbs ACK and INVITE retransmissions silently.
  EXPECT_EQ(h.layer.onMessage(copyOf(ack), udpPeer()), Disposition::AckAbsorbed);
  EXPECT_EQ(again(), Disposition::RequestRetransmission);
  h.clock.advance(4999ms);
  EXPECT_EQ(stateOf(id), TxnState::Confirmed);
  h.clock.advance(1ms);
  EXPECT_EQ(stateOf(id), TxnState::Terminated);
  EXPECT_EQ(h.sender.timesOf("SIP/2.0 486"), (V{0, 500}));  // no G after the ACK
  EXPECT_EQ(h.sender.countOf("SIP/2.0 100"), 0u);           // answered before the 200 ms
  EXPECT_EQ(h.tu.count("timeout"), 0u);
  EXPECT_EQ(h.clock.pending(), 0u);
}

TEST_F(ServerTest, InviteTcpNoTimerGTimerHAndZeroTimerI) {
  TxnId id = receiveInvite(tcpPeer());
  ASSERT_TRUE(respond(id, 480));
  EXPECT_EQ(h.sender.last().to.connection, 7u);  // back on the request's connection
  h.clock.advance(32s);
  EXPECT_EQ(h.sender.timesOf("SIP/2.0 480"), (V{0}));
  EXPECT_EQ(h.tu.of("timeout").at(0).detail, "H");
  EXPECT_EQ(h.tu.of("timeout").at(0).at, 32000ms);

  TxnId id2 = receiveNew(
      [] {
        RequestSpec s;
        s.via = "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKsecond";
        return s;
      }(),
      tcpPeer());
  ASSERT_TRUE(respond(id2, 480));
  h.layer.onMessage(ackFor(), tcpPeer());
  EXPECT_EQ(stateOf(id2), TxnState::Confirmed);
  h.clock.advance(0ms);
  EXPECT_EQ(stateOf(id2), TxnState::Terminated);
}

TEST_F(ServerTest, SuccessMovesToAcceptedAbsorbsInviteAndPassesAckUntilTimerL) {
  TxnId id = receiveInvite();
  ASSERT_TRUE(respond(id, 180));
  h.clock.advance(2000ms);
  ASSERT_TRUE(respond(id, 200));
  EXPECT_EQ(stateOf(id), TxnState::Accepted);
  h.clock.advance(500ms);
  // RFC 6026 7.1: INVITE retransmissions are absorbed (not answered: the TU
  // retransmits its 2xx itself, through the transaction while it lives).
  EXPECT_EQ(again(), Disposition::RequestRetransmission);
  EXPECT_EQ(h.sender.timesOf("SIP/2.0 200"), (V{2000}));
  EXPECT_EQ(h.sender.countOf("SIP/2.0 180"), 1u);
  EXPECT_TRUE(respond(id, 200));   // a TU retransmission of the 2xx
  EXPECT_FALSE(respond(id, 486));  // not after a 2xx
  EXPECT_FALSE(respond(id, 180));
  EXPECT_EQ(h.sender.timesOf("SIP/2.0 200"), (V{2000, 2500}));
  EXPECT_EQ(h.tu.count("new"), 1u);

  // The ACK for the 2xx has its own branch: it matches nothing and goes to
  // the TU.
  RequestSpec ack;
  ack.method = "ACK";
  ack.via = "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKack2xx";
  ack.to = "Bob <sip:bob@biloxi.example.com>;tag=uas-tag";
  EXPECT_EQ(h.layer.onMessage(request(ack), udpPeer()), Disposition::AckToTu);
  ASSERT_EQ(h.tu.count("stray_ack"), 1u);
  EXPECT_EQ(h.tu.of("stray_ack")[0].detail, "none");
  // An ACK that does match the transaction in Accepted goes to the TU too,
  // with the transaction (RFC 6026 7.1).
  EXPECT_EQ(h.layer.onMessage(ackFor(), udpPeer()), Disposition::AckToTu);
  ASSERT_EQ(h.tu.count("stray_ack"), 2u);
  EXPECT_EQ(h.tu.of("stray_ack")[1].detail, "accepted");
  EXPECT_EQ(h.tu.of("stray_ack")[1].id, id);
  EXPECT_EQ(stateOf(id), TxnState::Accepted);

  // Timer L = 64*T1 from the first 2xx, on any transport.
  h.clock.advance(31499ms);  // t = 33999
  EXPECT_EQ(stateOf(id), TxnState::Accepted);
  h.clock.advance(1ms);
  EXPECT_EQ(stateOf(id), TxnState::Terminated);
  EXPECT_EQ(h.tu.count("timeout"), 0u);
  EXPECT_EQ(h.layer.size(), 0u);
  // After L, the TU retransmits statelessly.
  EXPECT_FALSE(respond(id, 200));
}

TEST_F(ServerTest, TransportErrorOnFinalTerminatesAndReportsLater) {
  TxnId id = receiveInvite();
  h.sender.fail_next_sends = 1;
  ASSERT_TRUE(respond(id, 503));
  EXPECT_EQ(h.tu.count("transport_error"), 0u);
  h.clock.advance(0ms);
  ASSERT_EQ(h.tu.count("transport_error"), 1u);
  EXPECT_EQ(stateOf(id), TxnState::Terminated);
  EXPECT_EQ(h.clock.pending(), 0u);
}

TEST_F(ServerTest, TransportErrorInAcceptedKeepsTheTransaction) {
  TxnId id = receiveInvite(tcpPeer());
  ASSERT_TRUE(respond(id, 200));
  h.layer.onTransportError(id);
  EXPECT_EQ(h.tu.count("transport_error"), 1u);
  EXPECT_EQ(stateOf(id), TxnState::Accepted);
}

// ------------------------------------------------------------ non-INVITE

TEST_F(ServerTest, NonInviteTryingAbsorbsThenCompletedResendsUntilTimerJ) {
  TxnId id = receiveOptions();
  EXPECT_EQ(stateOf(id), TxnState::Trying);
  h.clock.advance(300ms);
  EXPECT_EQ(again(), Disposition::RequestRetransmission);
  EXPECT_TRUE(h.sender.sent.empty());  // no automatic 100 for non-INVITE
  h.clock.advance(700ms);              // t = 1000
  ASSERT_TRUE(respond(id, 200));
  EXPECT_EQ(stateOf(id), TxnState::Completed);
  EXPECT_FALSE(respond(id, 500));
  h.clock.advance(1500ms);
  again();
  EXPECT_EQ(h.sender.timesOf("SIP/2.0 200"), (V{1000, 2500}));
  // J = 64*T1 on UDP.
  h.clock.advance(30499ms);  // t = 32999
  EXPECT_EQ(stateOf(id), TxnState::Completed);
  h.clock.advance(1ms);
  EXPECT_EQ(stateOf(id), TxnState::Terminated);
  // A retransmission after J is a new request again.
  EXPECT_EQ(again(), Disposition::NewServerTransaction);
}

TEST_F(ServerTest, NonInviteProceedingResendsProvisional) {
  TxnId id = receiveOptions();
  ASSERT_TRUE(respond(id, 100));
  EXPECT_EQ(stateOf(id), TxnState::Proceeding);
  h.clock.advance(500ms);
  again();
  EXPECT_EQ(h.sender.timesOf("SIP/2.0 100"), (V{0, 500}));
  ASSERT_TRUE(respond(id, 202));
  EXPECT_EQ(stateOf(id), TxnState::Completed);
}

TEST_F(ServerTest, NonInviteTcpTimerJIsZero) {
  TxnId id = receiveOptions(tcpPeer());
  ASSERT_TRUE(respond(id, 200));
  EXPECT_EQ(stateOf(id), TxnState::Completed);
  h.clock.advance(0ms);
  EXPECT_EQ(stateOf(id), TxnState::Terminated);
  EXPECT_EQ(h.layer.size(), 0u);
}

TEST_F(ServerTest, NonInviteNeverAnsweredIsDroppedByTheGuard) {
  TxnId id = receiveOptions();
  h.clock.advance(36999ms);  // 64*T1 + T4
  EXPECT_EQ(stateOf(id), TxnState::Trying);
  h.clock.advance(1ms);
  ASSERT_EQ(h.tu.count("timeout"), 1u);
  EXPECT_EQ(h.tu.of("timeout")[0].detail, "ServerGuard");
  EXPECT_EQ(stateOf(id), TxnState::Terminated);
}

TEST_F(ServerTest, InvalidResponsesAreRefused) {
  TxnId id = receiveOptions();
  EXPECT_FALSE(h.layer.sendResponse(id, request(RequestSpec{})));  // a request
  EXPECT_FALSE(h.layer.sendResponse(TxnId{12345}, sip::makeResponse(req_, 200)));
  EXPECT_EQ(stateOf(id), TxnState::Trying);
}

}  // namespace
}  // namespace sbc::txn::testing

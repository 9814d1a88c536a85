// Request matching (RFC 3261 17.2.3), the RFC 2543 fallback, CANCEL matching
// (RFC 3261 9.2) and the RFC 4475 badbranch torture message.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "sbc/txn/matching.h"
#include "txn_test_support.h"

namespace sbc::txn::testing {
namespace {

std::string readFixture(const std::string& name) {
  std::ifstream in(std::string(SBC_FIXTURES_DIR) + "/rfc4475/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string replaceAll(std::string s, std::string_view from, std::string_view to) {
  for (std::size_t pos = s.find(from); pos != std::string::npos;
       pos = s.find(from, pos + to.size())) {
    s.replace(pos, from.size(), to);
  }
  return s;
}

class MatchingTest : public ::testing::Test {
 protected:
  Disposition receive(std::string text, const Peer& from = udpPeer("192.0.2.1", 5060)) {
    return h.layer.onMessage(parse(std::move(text)), from);
  }
  Harness h;
};

// RFC 4475 3.3.? badbranch: branch "z9hG4bK" alone is the cookie with no
// identifier; RFC 4475 allows falling back to RFC 2543 matching, which we do.
TEST_F(MatchingTest, Rfc4475BadBranchIsMatchedWithRfc2543Rules) {
  const std::string bytes = readFixture("badbranch.dat");
  sip::Message m = parse(bytes);
  ASSERT_EQ(m.topVia()->branch, "z9hG4bK");
  EXPECT_FALSE(m.topVia()->hasRfc3261Branch());

  ASSERT_EQ(receive(bytes), Disposition::NewServerTransaction);
  ServerTransaction* st = h.layer.findServer(h.tu.last_server);
  ASSERT_NE(st, nullptr);
  EXPECT_TRUE(st->rfc2543());
  EXPECT_EQ(st->kind(), TxnKind::NonInviteServer);
  EXPECT_EQ(st->request().methodText(), "OPTIONS");

  // The same message again is a retransmission of that transaction.
  EXPECT_EQ(receive(bytes), Disposition::RequestRetransmission);
  ASSERT_TRUE(st->sendResponse(sip::makeResponse(st->request(), 200, {}, "srv")));
  EXPECT_EQ(receive(bytes), Disposition::RequestRetransmission);
  EXPECT_EQ(h.sender.countOf("SIP/2.0 200"), 2u);
  EXPECT_EQ(h.tu.count("new"), 1u);

  // Each field of the RFC 2543 identity makes a different transaction.
  EXPECT_EQ(
      receive(replaceAll(bytes, "OPTIONS sip:user@example.com", "OPTIONS sip:other@example.com")),
      Disposition::NewServerTransaction);
  EXPECT_EQ(receive(replaceAll(bytes, "tag=33242", "tag=33243")),
            Disposition::NewServerTransaction);
  EXPECT_EQ(receive(replaceAll(bytes, "CSeq: 8 OPTIONS", "CSeq: 9 OPTIONS")),
            Disposition::NewServerTransaction);
  EXPECT_EQ(receive(replaceAll(bytes, "badbranch.sadon", "otherbranch.sadon")),
            Disposition::NewServerTransaction);
  EXPECT_EQ(
      receive(replaceAll(bytes, "To: sip:user@example.com", "To: sip:user@example.com;tag=x")),
      Disposition::NewServerTransaction);
  EXPECT_EQ(receive(replaceAll(bytes, "UDP 192.0.2.1;", "UDP 192.0.2.1:5070;")),
            Disposition::NewServerTransaction);
  EXPECT_EQ(h.tu.count("new"), 7u);
  // URI comparison is RFC 3261 19.1.4, not bytes: a case change in the host
  // still matches.
  EXPECT_EQ(
      receive(replaceAll(bytes, "OPTIONS sip:user@example.com", "OPTIONS sip:user@EXAMPLE.com")),
      Disposition::RequestRetransmission);
}

TEST_F(MatchingTest, Rfc3261SentByComparesHostCaseInsensitiveWithDefaultPort) {
  RequestSpec spec;
  spec.via = "SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds";
  ASSERT_EQ(h.layer.onMessage(request(spec), udpPeer()), Disposition::NewServerTransaction);
  spec.via = "SIP/2.0/UDP PC33.Atlanta.Example.COM:5060;branch=z9hG4bK776asdhds";
  EXPECT_EQ(h.layer.onMessage(request(spec), udpPeer()), Disposition::RequestRetransmission);
  // Another sent-by or branch is another transaction (branch is case-sensitive).
  spec.via = "SIP/2.0/UDP pc34.atlanta.example.com;branch=z9hG4bK776asdhds";
  EXPECT_EQ(h.layer.onMessage(request(spec), udpPeer()), Disposition::NewServerTransaction);
  spec.via = "SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776ASDHDS";
  EXPECT_EQ(h.layer.onMessage(request(spec), udpPeer()), Disposition::NewServerTransaction);
  // The method is part of the key: an OPTIONS reusing the branch is new.
  spec.via = "SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds";
  spec.method = "OPTIONS";
  EXPECT_EQ(h.layer.onMessage(request(spec), udpPeer()), Disposition::NewServerTransaction);
  EXPECT_EQ(h.layer.size(), 4u);
}

TEST_F(MatchingTest, CancelMatchesTheInviteServerTransaction) {
  RequestSpec inv;
  inv.via = "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKcancelme";
  h.layer.onMessage(request(inv), udpPeer());
  TxnId invite_id = h.tu.last_server;

  RequestSpec cancel = inv;
  cancel.method = "CANCEL";
  sip::Message c = request(cancel);
  ServerTransaction* target = h.layer.findInviteServerTransactionForCancel(c);
  ASSERT_NE(target, nullptr);
  EXPECT_EQ(target->id(), invite_id);
  // The CANCEL is a transaction of its own (RFC 3261 9.2).
  EXPECT_EQ(h.layer.onMessage(copyOf(c), udpPeer()), Disposition::NewServerTransaction);
  EXPECT_NE(h.tu.last_server, invite_id);
  EXPECT_EQ(h.layer.findServer(h.tu.last_server)->kind(), TxnKind::NonInviteServer);
  EXPECT_EQ(h.layer.onMessage(copyOf(c), udpPeer()), Disposition::RequestRetransmission);

  cancel.via = "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKnotthis";
  EXPECT_EQ(h.layer.findInviteServerTransactionForCancel(request(cancel)), nullptr);
  cancel.via = "SIP/2.0/UDP 192.0.2.11:5060;branch=z9hG4bKcancelme";
  EXPECT_EQ(h.layer.findInviteServerTransactionForCancel(request(cancel)), nullptr);
  // A non-INVITE with that branch is never "the INVITE to cancel".
  RequestSpec opt = inv;
  opt.method = "OPTIONS";
  opt.via = "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKopt";
  h.layer.onMessage(request(opt), udpPeer());
  opt.method = "CANCEL";
  EXPECT_EQ(h.layer.findInviteServerTransactionForCancel(request(opt)), nullptr);
}

TEST_F(MatchingTest, Rfc2543InviteRetransmissionAckAndCancel) {
  RequestSpec inv;
  inv.via = "SIP/2.0/UDP 192.0.2.20:5060";  // no branch at all
  ASSERT_EQ(h.layer.onMessage(request(inv), udpPeer()), Disposition::NewServerTransaction);
  TxnId id = h.tu.last_server;
  EXPECT_TRUE(h.layer.findServer(id)->rfc2543());
  EXPECT_EQ(h.layer.onMessage(request(inv), udpPeer()), Disposition::RequestRetransmission);

  RequestSpec cancel = inv;
  cancel.method = "CANCEL";
  ServerTransaction* target = h.layer.findInviteServerTransactionForCancel(request(cancel));
  ASSERT_NE(target, nullptr);
  EXPECT_EQ(target->id(), id);
  cancel.ruri = "sip:carol@biloxi.example.com";
  EXPECT_EQ(h.layer.findInviteServerTransactionForCancel(request(cancel)), nullptr);

  ASSERT_TRUE(
      h.layer.sendResponse(id, sip::makeResponse(h.layer.find(id)->request(), 486, {}, "t486")));
  // The ACK matches through the To tag of the response we sent.
  RequestSpec ack = inv;
  ack.method = "ACK";
  ack.to = "Bob <sip:bob@biloxi.example.com>;tag=wrong";
  EXPECT_EQ(h.layer.onMessage(request(ack), udpPeer()), Disposition::AckToTu);
  EXPECT_EQ(h.layer.find(id)->state(), TxnState::Completed);
  ack.to = "Bob <sip:bob@biloxi.example.com>;tag=t486";
  EXPECT_EQ(h.layer.onMessage(request(ack), udpPeer()), Disposition::AckAbsorbed);
  EXPECT_EQ(h.layer.find(id)->state(), TxnState::Confirmed);
  EXPECT_EQ(h.tu.count("stray_ack"), 1u);
}

TEST_F(MatchingTest, Rfc2543AckFor2xxReachesTuWithTheAcceptedTransaction) {
  RequestSpec inv;
  inv.via = "SIP/2.0/UDP 192.0.2.20:5060;branch=oldstyle1";  // a branch without the cookie
  h.layer.onMessage(request(inv), udpPeer());
  TxnId id = h.tu.last_server;
  ASSERT_TRUE(
      h.layer.sendResponse(id, sip::makeResponse(h.layer.find(id)->request(), 200, {}, "ok1")));
  RequestSpec ack = inv;
  ack.method = "ACK";
  ack.to = "Bob <sip:bob@biloxi.example.com>;tag=ok1";
  EXPECT_EQ(h.layer.onMessage(request(ack), udpPeer()), Disposition::AckToTu);
  ASSERT_EQ(h.tu.count("stray_ack"), 1u);
  EXPECT_EQ(h.tu.of("stray_ack")[0].id, id);
  EXPECT_EQ(h.layer.find(id)->state(), TxnState::Accepted);
  // The INVITE retransmitted in Accepted is absorbed.
  EXPECT_EQ(h.layer.onMessage(request(inv), udpPeer()), Disposition::RequestRetransmission);
  EXPECT_EQ(h.sender.countOf("SIP/2.0 200"), 1u);
}

TEST_F(MatchingTest, UnusableMessagesAreDropped) {
  // No Via: nothing can be matched or answered.
  auto no_via = sip::Message::createRequest(sip::Method::Options, "sip:bob@biloxi.example.com");
  ASSERT_TRUE(no_via);
  EXPECT_EQ(h.layer.onMessage(std::move(no_via).value(), udpPeer()), Disposition::Dropped);
  auto ack = sip::Message::createRequest(sip::Method::Ack, "sip:bob@biloxi.example.com");
  ASSERT_TRUE(ack);
  EXPECT_EQ(h.layer.onMessage(std::move(ack).value(), udpPeer()), Disposition::Dropped);
  sip::Message response = sip::Message::createResponse(200);
  EXPECT_EQ(h.layer.onMessage(std::move(response), udpPeer()), Disposition::Dropped);
  EXPECT_EQ(h.layer.stats().dropped, 3u);
  EXPECT_EQ(h.layer.size(), 0u);
  EXPECT_EQ(h.tu.events.size(), 0u);
}

TEST(MatchingKeys, ServerKeyNormalisesSentBy) {
  auto a = sip::parseVia("SIP/2.0/UDP Host.Example.com;branch=z9hG4bKx");
  auto b = sip::parseVia("SIP/2.0/UDP host.example.COM:5060;branch=z9hG4bKx");
  auto c = sip::parseVia("SIP/2.0/TLS host.example.com;branch=z9hG4bKx");
  auto d = sip::parseVia("SIP/2.0/TLS host.example.com:5061;branch=z9hG4bKx");
  ASSERT_TRUE(a && b && c && d);
  std::string ka, kb, kc, kd;
  appendServerKey(ka, *a, "INVITE");
  appendServerKey(kb, *b, "INVITE");
  appendServerKey(kc, *c, "INVITE");
  appendServerKey(kd, *d, "INVITE");
  EXPECT_EQ(ka, kb);
  EXPECT_EQ(kc, kd);
  EXPECT_NE(ka, kc);
  EXPECT_EQ(sentByPort(*c), 5061);
}

}  // namespace
}  // namespace sbc::txn::testing

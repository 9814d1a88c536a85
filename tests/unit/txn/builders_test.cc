// ACK/CANCEL construction, branch generation and response routing helpers.
#include <gtest/gtest.h>

#include <set>

#include "sbc/txn/builders.h"
#include "txn_test_support.h"

namespace sbc::txn::testing {
namespace {

TEST(Builders, AckForNon2xxCopiesExactlyWhatRfc3261Requires) {
  RequestSpec spec;
  spec.via = "SIP/2.0/UDP 198.51.100.1:5060;branch=z9hG4bKtop";
  spec.routes = {"<sip:p1.example.com;lr>, <sip:p2.example.com;lr>"};
  spec.extra = "Via: SIP/2.0/UDP 10.1.1.1;branch=z9hG4bKlower\r\nSubject: lunch\r\n";
  spec.body = "v=0\r\n";
  sip::Message invite = request(spec);
  ASSERT_EQ(invite.vias()->size(), 2u);
  sip::Message resp = responseTo(invite, 404, "nf-tag");

  auto ack = makeAck(invite, resp);
  ASSERT_TRUE(ack);
  sip::Message a = parse(ack->serialize());
  EXPECT_EQ(a.method(), sip::Method::Ack);
  EXPECT_EQ(a.requestUriText(), "sip:bob@biloxi.example.com");
  ASSERT_EQ(a.vias()->size(), 1u);
  EXPECT_EQ(a.topVia()->branch, "z9hG4bKtop");
  EXPECT_EQ(a.from()->tag, "1928301774");
  EXPECT_EQ(a.to()->tag, "nf-tag");
  EXPECT_EQ(a.to()->uri.user, "bob");
  EXPECT_EQ(*a.callId(), "a84b4c76e66710@pc33.atlanta.example.com");
  EXPECT_EQ(a.cseq()->number, 314159u);
  EXPECT_EQ(a.cseq()->method_text, "ACK");
  ASSERT_EQ(a.routes()->size(), 2u);
  EXPECT_EQ((*a.routes())[1].uri.host, "p2.example.com");
  EXPECT_EQ(*a.maxForwards(), 70u);
  EXPECT_EQ(a.header("Subject"), nullptr);
  EXPECT_EQ(a.header(sip::HeaderId::Contact), nullptr);
  EXPECT_EQ(a.header(sip::HeaderId::ContentType), nullptr);
  EXPECT_TRUE(a.body().empty());
  EXPECT_EQ(*a.contentLength(), 0u);
}

TEST(Builders, CancelKeepsBranchAndToWithoutTag) {
  RequestSpec spec;
  spec.via = "SIP/2.0/TCP 198.51.100.1:5060;branch=z9hG4bKinv";
  sip::Message invite = request(spec);
  auto cancel = makeCancel(invite);
  ASSERT_TRUE(cancel);
  sip::Message c = parse(cancel->serialize());
  EXPECT_EQ(c.methodText(), "CANCEL");
  EXPECT_EQ(c.requestUriText(), invite.requestUriText());
  EXPECT_EQ(c.topVia()->text, invite.topVia()->text);
  EXPECT_EQ(c.cseq()->number, 314159u);
  EXPECT_EQ(c.cseq()->method, sip::Method::Cancel);
  EXPECT_TRUE(c.to()->tag.empty());
  EXPECT_EQ(c.from()->tag, "1928301774");
}

TEST(Builders, BuildersRefuseResponses) {
  sip::Message r = sip::Message::createResponse(200);
  EXPECT_FALSE(makeCancel(r));
  EXPECT_FALSE(makeAck(r, r));
}

TEST(Builders, BranchesCarryCookieTagAndDoNotRepeat) {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    std::string b = makeBranch("s3x");
    ASSERT_TRUE(b.starts_with("z9hG4bKs3x"));
    ASSERT_EQ(b.size(), 7u + 3u + 16u);
    seen.insert(std::move(b));
  }
  EXPECT_EQ(seen.size(), 10000u);
  EXPECT_TRUE(sip::parseVia("SIP/2.0/UDP h;branch=" + makeBranch())->hasRfc3261Branch());
}

TEST(Builders, StampReceivedAndRport) {
  RequestSpec spec;
  spec.via = "SIP/2.0/UDP 10.0.0.1:5060;rport;branch=z9hG4bKnat;x=\"q\"";
  sip::Message m = request(spec);
  EXPECT_TRUE(stampReceived(m, udpPeer("203.0.113.5", 34567)));
  auto v = m.topVia();
  ASSERT_TRUE(v);
  EXPECT_EQ(v->host, "10.0.0.1");
  EXPECT_EQ(v->port, 5060);
  EXPECT_EQ(v->branch, "z9hG4bKnat");
  EXPECT_EQ(v->received, "203.0.113.5");
  EXPECT_TRUE(v->rport);
  EXPECT_EQ(v->rport_value, 34567);
  EXPECT_EQ(v->params.get("x"), "q");
  // Idempotent: stamping again changes nothing.
  EXPECT_FALSE(stampReceived(m, udpPeer("203.0.113.5", 34567)));
  // Responses echo the stamped Via.
  EXPECT_EQ(sip::makeResponse(m, 200).topVia()->received, "203.0.113.5");

  RequestSpec same;
  same.via = "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKsame";
  sip::Message s = request(same);
  EXPECT_FALSE(stampReceived(s, udpPeer("192.0.2.10", 5060)));  // nothing to say
  EXPECT_TRUE(s.topVia()->received.empty());

  RequestSpec v6;
  v6.via = "SIP/2.0/UDP [2001:db8::1]:5062;branch=z9hG4bK6";
  sip::Message m6 = request(v6);
  EXPECT_TRUE(stampReceived(m6, udpPeer("2001:db8::99", 5062)));
  EXPECT_EQ(m6.topVia()->host, "2001:db8::1");
  EXPECT_EQ(m6.topVia()->port, 5062);
  EXPECT_EQ(m6.topVia()->received, "2001:db8::99");
}

TEST(Builders, ResponseDestinationFollowsRfc3261And3581) {
  RequestSpec spec;
  spec.via = "SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bKd";
  sip::Message plain = request(spec);
  Destination d = responseDestination(plain, udpPeer("203.0.113.5", 40000));
  EXPECT_EQ(d.address, "203.0.113.5");  // received
  EXPECT_EQ(d.port, 5070);              // sent-by port without rport
  EXPECT_EQ(responseDestination(plain, udpPeer("203.0.113.5", 40000), true).port, 40000);

  spec.via = "SIP/2.0/UDP 10.0.0.1:5070;rport;branch=z9hG4bKd";
  EXPECT_EQ(responseDestination(request(spec), udpPeer("203.0.113.5", 40000)).port, 40000);

  spec.via = "SIP/2.0/TCP 10.0.0.1;branch=z9hG4bKd";
  Destination t = responseDestination(request(spec), tcpPeer("203.0.113.5", 40001, 42));
  EXPECT_EQ(t.protocol, Protocol::Tcp);
  EXPECT_EQ(t.connection, 42u);
  EXPECT_EQ(t.address, "203.0.113.5");
  EXPECT_EQ(t.port, 5060);
}

}  // namespace
}  // namespace sbc::txn::testing

// The layer's lookup tables: RFC 2543 transactions sharing a hash key (a
// chain that must survive any of its members ending), keys and Call-IDs
// longer than the inline buffers, and reserve() leaving no rehash to do.
#include <gtest/gtest.h>

#include <string>

#include "sbc/txn/inline_string.h"
#include "txn_test_support.h"

namespace sbc::txn::testing {
namespace {

// RFC 2543 OPTIONS (no branch cookie) that differ only in the Request-URI:
// the same hashed key (Call-ID, CSeq, From tag, sent-by, method), three
// transactions (RFC 3261 17.2.3 compares the Request-URI on candidates).
RequestSpec oldStyle(const std::string& user) {
  RequestSpec spec;
  spec.method = "OPTIONS";
  spec.ruri = "sip:" + user + "@biloxi.example.com";
  spec.via = "SIP/2.0/UDP 192.0.2.20:5060";
  return spec;
}

class TableTest : public ::testing::Test {
 protected:
  TxnId receiveNew(const RequestSpec& spec) {
    EXPECT_EQ(h.layer.onMessage(request(spec), udpPeer()), Disposition::NewServerTransaction);
    return h.tu.last_server;
  }
  Disposition again(const RequestSpec& spec) { return h.layer.onMessage(request(spec), udpPeer()); }
  void answer(TxnId id) {
    ASSERT_TRUE(h.layer.sendResponse(id, sip::makeResponse(h.layer.find(id)->request(), 200, {},
                                                           "t" + std::to_string(id.value))));
  }
  Harness h;
};

TEST_F(TableTest, Rfc2543ChainSurvivesItsFirstMemberEnding) {
  const RequestSpec a = oldStyle("a");
  const RequestSpec b = oldStyle("b");
  const RequestSpec c = oldStyle("c");
  const TxnId ida = receiveNew(a);
  const TxnId idb = receiveNew(b);
  const TxnId idc = receiveNew(c);
  EXPECT_EQ(h.layer.size(), 3u);
  answer(ida);  // the first received ends first (Timer J, 64*T1 on UDP)
  h.clock.advance(std::chrono::seconds(5));
  answer(idb);
  answer(idc);
  h.clock.advance(std::chrono::seconds(28));
  EXPECT_EQ(h.layer.find(ida), nullptr);
  EXPECT_EQ(again(b), Disposition::RequestRetransmission);
  EXPECT_EQ(again(c), Disposition::RequestRetransmission);
  EXPECT_EQ(h.tu.count("new"), 3u);
  h.clock.advance(std::chrono::seconds(5));
  EXPECT_EQ(h.layer.size(), 0u);
  // All gone: each is new again, and matched again.
  receiveNew(c);
  receiveNew(a);
  EXPECT_EQ(again(a), Disposition::RequestRetransmission);
  EXPECT_EQ(again(c), Disposition::RequestRetransmission);
}

TEST_F(TableTest, Rfc2543ChainSurvivesLaterMembersEnding) {
  const RequestSpec a = oldStyle("a");
  const RequestSpec b = oldStyle("b");
  const RequestSpec c = oldStyle("c");
  const TxnId ida = receiveNew(a);
  const TxnId idb = receiveNew(b);
  const TxnId idc = receiveNew(c);
  answer(idb);
  h.clock.advance(std::chrono::seconds(5));
  answer(idc);
  h.clock.advance(std::chrono::seconds(5));
  answer(ida);
  h.clock.advance(std::chrono::seconds(23));  // b ended
  EXPECT_EQ(h.layer.find(idb), nullptr);
  EXPECT_EQ(again(a), Disposition::RequestRetransmission);
  EXPECT_EQ(again(c), Disposition::RequestRetransmission);
  h.clock.advance(std::chrono::seconds(5));  // c ended
  EXPECT_EQ(h.layer.find(idc), nullptr);
  EXPECT_EQ(again(a), Disposition::RequestRetransmission);
  EXPECT_EQ(h.tu.count("new"), 3u);
  EXPECT_EQ(again(b), Disposition::NewServerTransaction);
  h.clock.advance(std::chrono::seconds(5));  // a ended; the new b is unanswered
  EXPECT_EQ(h.layer.find(ida), nullptr);
  EXPECT_EQ(again(b), Disposition::RequestRetransmission);
  EXPECT_EQ(again(a), Disposition::NewServerTransaction);
  EXPECT_EQ(h.layer.size(), 2u);
}

TEST_F(TableTest, KeysAndCallIdsLongerThanTheInlineBuffersStillMatch) {
  const std::string long_branch = "z9hG4bK" + std::string(120, 'x');
  const std::string long_call_id = std::string(200, 'c') + "@192.0.2.10";
  RequestSpec spec;
  spec.via = "SIP/2.0/UDP a-rather-long-host-name.pbx.example.com:5060;branch=" + long_branch;
  spec.call_id = long_call_id;
  const TxnId id = receiveNew(spec);
  EXPECT_EQ(h.layer.find(id)->callId(), long_call_id);
  EXPECT_EQ(again(spec), Disposition::RequestRetransmission);
  RequestSpec other = spec;
  other.via.back() = 'y';  // same length, last byte differs
  EXPECT_EQ(again(other), Disposition::NewServerTransaction);

  // Client side: responses find the transaction by the long branch.
  RequestSpec out = spec;
  out.via = "SIP/2.0/UDP 192.0.2.99:5060;branch=" + long_branch + "out";
  sip::Message invite = request(out);
  SendResult sent = h.layer.sendRequest(copyOf(invite), udpPeer("192.0.2.30"));
  ASSERT_TRUE(sent.ok());
  EXPECT_EQ(h.layer.find(sent.id)->callId(), long_call_id);
  EXPECT_EQ(h.layer.sendRequest(copyOf(invite), udpPeer("192.0.2.30")).error,
            SendError::DuplicateBranch);
  EXPECT_EQ(h.layer.onMessage(responseTo(invite, 180), udpPeer("192.0.2.30")),
            Disposition::Response);
  EXPECT_EQ(h.layer.findClient(sent.id)->lastStatus(), 180);
}

TEST_F(TableTest, ReserveLeavesNoRehashForThatManyTransactions) {
  constexpr int kCount = 3000;
  h.layer.reserve(kCount);
  const std::size_t buckets = h.layer.bucketCount();
  RequestSpec spec;
  for (int i = 0; i < kCount; ++i) {
    spec.via = "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKres" + std::to_string(i);
    ASSERT_EQ(h.layer.onMessage(request(spec), udpPeer()), Disposition::NewServerTransaction);
  }
  EXPECT_EQ(h.layer.size(), static_cast<std::size_t>(kCount));
  EXPECT_EQ(h.layer.bucketCount(), buckets);
  // Every one still found by its own key.
  spec.via = "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKres1234";
  EXPECT_EQ(h.layer.onMessage(request(spec), udpPeer()), Disposition::RequestRetransmission);
}

TEST(InlineString, ShortInlineLongOnHeapAndSelfAssignment) {
  InlineString<8> s;
  EXPECT_TRUE(s.empty());
  s.assign("12345678");
  EXPECT_EQ(s.view(), "12345678");
  EXPECT_FALSE(s.onHeap());
  s.assign("123456789abc");
  EXPECT_EQ(s.view(), "123456789abc");
  EXPECT_TRUE(s.onHeap());
  s.assign(s.view().substr(2));  // a view of itself, still long
  EXPECT_EQ(s.view(), "3456789abc");
  s.assign(s.view().substr(4));  // a view of its heap bytes, now short
  EXPECT_EQ(s.view(), "789abc");
  EXPECT_FALSE(s.onHeap());
  s.assign(s.view().substr(1, 3));  // overlapping, inline
  EXPECT_EQ(s.view(), "89a");
  s.clear();
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(s.view(), "");
}

}  // namespace
}  // namespace sbc::txn::testing

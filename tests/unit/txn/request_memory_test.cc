// What a finished transaction keeps: after its final response only the
// request's bytes (and Call-ID/CSeq), never losing the request a TU callback
// on the stack is still reading, and re-parsing it when asked later.
#include <gtest/gtest.h>
#include <malloc.h>

#include <iostream>
#include <string>
#include <vector>

#include "txn_test_support.h"

#if defined(__SANITIZE_ADDRESS__)
#define SBC_TXN_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SBC_TXN_ASAN 1
#endif
#endif

namespace sbc::txn::testing {
namespace {

RequestSpec inviteNo(int i) {
  RequestSpec spec;
  spec.via = "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKmem" + std::to_string(i);
  spec.call_id = "mem-" + std::to_string(i) + "@192.0.2.10";
  return spec;
}

TEST(TxnRequestMemory, TuAnsweringInsideOnNewRequestStillReadsTheWholeRequest) {
  Harness h;
  std::string method_after;
  std::string call_id_after;
  std::string body_after;
  h.tu.on_new_request = [&](ServerTransaction& st, const sip::Message& r) {
    EXPECT_TRUE(st.sendResponse(sip::makeResponse(r, 486, {}, "t1")));
    // The final response went out; the request is still intact here.
    method_after = std::string(r.methodText());
    call_id_after = std::string(*r.callId());
    body_after = std::string(r.body());
  };
  RequestSpec spec = inviteNo(1);
  spec.body = "v=0\r\n";
  spec.extra = "Content-Type: application/sdp\r\n";
  h.layer.onMessage(copyOf(request(spec)), udpPeer());
  EXPECT_EQ(method_after, "INVITE");
  EXPECT_EQ(call_id_after, "mem-1@192.0.2.10");
  EXPECT_EQ(body_after, "v=0\r\n");

  ServerTransaction* st = h.layer.findServer(h.tu.last_server);
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(st->state(), TxnState::Completed);
  EXPECT_EQ(st->callId(), "mem-1@192.0.2.10");
  EXPECT_EQ(st->cseqNumber(), 314159u);
  // Asked again later: parsed from the kept bytes, with the stamped Via.
  const sip::Message& again = st->request();
  EXPECT_EQ(again.methodText(), "INVITE");
  EXPECT_EQ(*again.callId(), "mem-1@192.0.2.10");
  EXPECT_EQ(again.body(), "v=0\r\n");
  EXPECT_EQ(again.topVia()->branch, "z9hG4bKmem1");
  // A retransmitted INVITE still gets the final response again.
  h.layer.onMessage(copyOf(request(spec)), udpPeer());
  EXPECT_EQ(h.sender.countOf("SIP/2.0 486"), 2u);
}

TEST(TxnRequestMemory, ClientInviteInAcceptedKeepsItsRequestReadable) {
  Harness h;
  RequestSpec spec = inviteNo(2);
  sip::Message invite = request(spec);
  SendResult sent = h.layer.sendRequest(copyOf(invite), udpPeer());
  ASSERT_TRUE(sent.ok());
  sip::Message ok = sip::makeResponse(invite, 200, {}, "callee");
  std::vector<std::string> call_ids;
  h.tu.on_response = [&](ClientTransaction& t, const sip::Message&) {
    call_ids.emplace_back(*t.request().callId());
  };
  h.layer.onMessage(copyOf(ok), udpPeer());
  h.layer.onMessage(copyOf(ok), udpPeer());  // a retransmitted 2xx, after compaction
  ASSERT_EQ(call_ids.size(), 2u);
  EXPECT_EQ(call_ids[0], "mem-2@192.0.2.10");
  EXPECT_EQ(call_ids[1], "mem-2@192.0.2.10");
  ClientTransaction* ct = h.layer.findClient(sent.id);
  ASSERT_NE(ct, nullptr);
  EXPECT_EQ(ct->state(), TxnState::Accepted);
  EXPECT_EQ(ct->callId(), "mem-2@192.0.2.10");
  EXPECT_EQ(ct->cseqNumber(), 314159u);
}

TEST(TxnRequestMemory, FinishedTransactionsKeepLittleHeap) {
#ifdef SBC_TXN_ASAN
  GTEST_SKIP() << "ASan replaces the allocator; measured in the plain build";
#else
  Harness h;
  h.tu.on_new_request = [](ServerTransaction& st, const sip::Message& r) {
    EXPECT_TRUE(st.sendResponse(sip::makeResponse(r, 200, {}, "uas")));
  };
  constexpr int kTxns = 300;
  h.layer.onMessage(copyOf(request(inviteNo(0))), udpPeer());  // warm up the tables
  h.sender.sent.reserve(kTxns + 1);
  const std::size_t before = mallinfo2().uordblks;
  for (int i = 1; i <= kTxns; ++i) h.layer.onMessage(copyOf(request(inviteNo(i))), udpPeer());
  const std::size_t after = mallinfo2().uordblks;
  ASSERT_EQ(h.layer.size(), static_cast<std::size_t>(kTxns + 1));
  std::size_t wire = 0;
  for (int i = 1; i <= kTxns; ++i) wire += h.sender.sent[i].wire.capacity() + 1;
  // Each INVITE transaction in Accepted (until Timer L, 32 s) holds its key,
  // its request's bytes and the transaction object; a parsed request alone
  // costs more than this bound.
  const double per_txn = static_cast<double>(after - before - wire) / kTxns;
  std::cout << "[ figure ] heap per INVITE server transaction in Accepted: " << per_txn
            << " bytes\n";
  EXPECT_LT(per_txn, 2048.0);
#endif
}

}  // namespace
}  // namespace sbc::txn::testing

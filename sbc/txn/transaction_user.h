#pragma once
// The transaction user (TU): the B2BUA, a proxy core or the app's simple UAS.
// Every callback runs on the layer's thread, from inside
// TransactionLayer::onMessage(), a timer, or onTransportError(); the TU may
// call back into the layer (respond, send requests) from any of them.
// Transaction references are valid only during the callback: keep the TxnId.
#include "sbc/sip/message.h"
#include "sbc/txn/types.h"

namespace sbc::txn {

class Transaction;
class ClientTransaction;
class ServerTransaction;

class TransactionUser {
 public:
  virtual ~TransactionUser() = default;

  // A request that matched no transaction created `txn` (any method but ACK,
  // including CANCEL: find what it cancels with
  // TransactionLayer::findInviteServerTransactionForCancel()). The TU must
  // answer every one (respond() with a final response), or the transaction
  // stays until its guard (non-INVITE) or forever (INVITE).
  // request.parseError() may be set: answer sip::errorStatus() then.
  virtual void onNewRequest(ServerTransaction& txn, const sip::Message& request) = 0;

  // A response for a client transaction: every 1xx, every 2xx of an INVITE
  // (retransmissions and forked 2xx included, RFC 6026 7.2: the TU ACKs
  // them), the first final response of a non-INVITE or the non-2xx final of
  // an INVITE (whose ACK the transaction already sent).
  virtual void onResponse(ClientTransaction& txn, const sip::Message& response) = 0;

  // A timer that ends the transaction without a response: B or F (client: no
  // final response, act as if 408), H (INVITE server: no ACK for our non-2xx),
  // ServerGuard (non-INVITE server the TU never answered), or C (INVITE client
  // in Proceeding too long: the TU should CANCEL; the transaction stays).
  virtual void onTimeout(Transaction& txn, TimerId timer) {}

  // The transport could not deliver the request or response; the transaction
  // terminates right after this call (except an INVITE server transaction in
  // Accepted, whose 2xx retransmissions are the TU's business).
  virtual void onTransportError(Transaction& txn) {}

  // An ACK no transaction absorbed: the ACK for a 2xx (its own transaction per
  // RFC 3261 17). `accepted` is the INVITE server transaction in the Accepted
  // state it matched (RFC 6026 7.1; RFC 2543 peers reuse the INVITE's Via), or
  // nullptr when it matched none.
  virtual void onStrayAck(const sip::Message& ack, const Peer& source,
                          ServerTransaction* accepted) {}

  // A response that matched no client transaction: a 2xx retransmission or a
  // forked 2xx arriving after Timer M, or garbage. RFC 6026 has elements
  // other than stateless proxies discard these; a B2BUA may want to ACK and
  // BYE a late 2xx, so the TU decides.
  virtual void onStrayResponse(const sip::Message& response, const Peer& source) {}

  // The transaction is gone; its TxnId no longer resolves.
  virtual void onTerminated(Transaction& txn) {}
};

}  // namespace sbc::txn

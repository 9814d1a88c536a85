#pragma once
// The transaction layer of one SIP thread: matches every received message to
// a transaction (RFC 3261 17.1.3 / 17.2.3, RFC 2543 fallback), creates server
// transactions for new requests, runs client transactions for the TU, and
// owns them all until they terminate. Single-threaded, no locks: one instance
// per SIP thread, driven by that thread's transport and timer service.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sbc/sip/message.h"
#include "sbc/txn/sender.h"
#include "sbc/txn/timer_service.h"
#include "sbc/txn/transaction.h"
#include "sbc/txn/transaction_user.h"
#include "sbc/txn/types.h"

namespace sbc::txn {

struct LayerOptions {
  TimerConfig timers;
  // RFC 3261 18.2.1 / RFC 3581: add received= (and rport=<port> when the
  // client asked) to the top Via of every new request, so responses built
  // from it carry them.
  bool stamp_received = true;
  // Send UDP responses to the source port even without rport (symmetric
  // response routing, for clients behind NAT that forget rport).
  bool symmetric_responses = false;
};

// What onMessage() did with a message (for metrics, logs and tests).
enum class Disposition : std::uint8_t {
  NewServerTransaction,   // handed to TU::onNewRequest
  RequestRetransmission,  // absorbed by its server transaction
  AckAbsorbed,            // ACK for a non-2xx, absorbed (RFC 3261 17.2.1)
  AckToTu,                // ACK for a 2xx (TU::onStrayAck)
  Response,               // matched a client transaction
  StrayResponse,          // TU::onStrayResponse
  Dropped,                // unusable: no top Via, ACK without CSeq, ...
};
const char* toString(Disposition d);

enum class SendError : std::uint8_t {
  None,
  NotARequest,
  AckNotAllowed,    // ACK is never a transaction: use sendStateless()
  NoBranch,         // top Via missing or without an RFC 3261 branch
  DuplicateBranch,  // a client transaction with that branch and method exists
  NoSuchTransaction,
  BadState,  // e.g. CANCEL after a final response
  Deferred,  // sendCancel() before any 1xx: goes out with the first one
};
const char* toString(SendError e);

struct SendResult {
  TxnId id;  // zero unless a transaction was created
  SendError error = SendError::None;
  bool ok() const { return error == SendError::None; }
};

struct LayerStats {
  std::uint64_t server_created = 0;
  std::uint64_t client_created = 0;
  std::uint64_t retransmissions_sent = 0;      // A, E, G and resent responses
  std::uint64_t request_retransmissions = 0;   // absorbed incoming duplicates
  std::uint64_t response_retransmissions = 0;  // absorbed incoming duplicates
  std::uint64_t timeouts = 0;                  // B, F, H, ServerGuard
  std::uint64_t transport_errors = 0;
  std::uint64_t stray_responses = 0;
  std::uint64_t stray_acks = 0;
  std::uint64_t dropped = 0;
};

class TransactionLayer {
 public:
  TransactionLayer(TimerService& timers, MessageSender& sender, TransactionUser& tu,
                   LayerOptions options = {});
  ~TransactionLayer();
  TransactionLayer(const TransactionLayer&) = delete;
  TransactionLayer& operator=(const TransactionLayer&) = delete;

  // ---- from the transport (after parsing)
  // Any parsed message (also one with parseError() set but not discarded).
  Disposition onMessage(sip::Message message, const Peer& source);
  // An asynchronous failure the transport reported for bytes it was given
  // with this owner id. Unknown or terminated ids are ignored.
  void onTransportError(TxnId owner);

  // ---- from the TU
  // Creates a client transaction and sends `request` to `to`. The top Via must
  // carry an RFC 3261 branch unique to this request (see makeBranch()).
  SendResult sendRequest(sip::Message request, const Destination& to);
  // Sends a response on a server transaction (see ServerTransaction).
  bool sendResponse(TxnId server, sip::Message response);
  // Builds and sends a CANCEL for an INVITE client transaction (RFC 3261 9.1),
  // as a new non-INVITE client transaction to the same destination. Before
  // any 1xx it is deferred until the first one (error Deferred); after a final
  // response it is refused (BadState).
  SendResult sendCancel(TxnId invite);
  // No transaction: the ACK for a 2xx, 2xx retransmissions after Timer L, or
  // stateless answers. Failures are not reported.
  void sendStateless(const sip::Message& message, const Destination& to);
  // The same with the wire form already serialized (the caller keeps it to
  // resend later), and the resend from those bytes alone (re-parsed for the
  // sender, which wants a Message: resends are rare, keeping parsed
  // messages for them is not).
  void sendStateless(const sip::Message& message, std::string_view wire, const Destination& to);
  void resendStateless(std::string_view wire, const Destination& to);

  // ---- lookups
  Transaction* find(TxnId id);
  ClientTransaction* findClient(TxnId id);
  ServerTransaction* findServer(TxnId id);
  // RFC 3261 9.2: the INVITE server transaction a CANCEL cancels (same
  // matching as the INVITE, with RFC 2543 rules for a branch without cookie).
  ServerTransaction* findInviteServerTransactionForCancel(const sip::Message& cancel);

  std::size_t size() const { return by_id_.size(); }
  // Room for this many transactions without a rehash (one holds the thread
  // 11 ms at 36k entries, 40 ms at 150k): sized from the node's call rate.
  void reserve(std::size_t n) {
    by_id_.reserve(n);
    server_by_key_.reserve(n);
    client_by_key_.reserve(n);
  }
  // Slots of the id table: unchanged while no rehash happens (for tests of
  // reserve()).
  std::size_t bucketCount() const { return by_id_.bucket_count(); }
  const LayerStats& stats() const { return stats_; }
  const LayerOptions& options() const { return options_; }
  const TimerConfig& timerConfig() const { return options_.timers; }
  TimerService& timers() { return timers_; }

 private:
  friend class Transaction;
  friend class ClientTransaction;
  friend class ServerTransaction;

  struct KeyHash {
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  // Node-based on purpose (measured, session 8): the entries looked up are
  // nearly always the recently created transactions, whose nodes are
  // recent allocations still in cache; ids are sequential, so by_id_'s
  // recent buckets are adjacent too. Open-addressing tables (boost's flat
  // map) cost fewer instructions and no node allocation, but scatter the
  // hot entries over the whole reserved array: a cache miss for the
  // metadata and one for the slot on every lookup, more CPU per call at
  // 3,000 calls/s. Keys are views of the transaction's own key_ /
  // key_2543_ (a transaction lives on the heap and never changes its key),
  // so an insert copies no string.
  using KeyMap = std::unordered_map<std::string_view, Transaction*, KeyHash>;
  // RFC 2543 keys are not unique (Request-URI, To tag and Via are compared
  // on the candidates): the map holds the first, the rest are chained
  // through ServerTransaction::next_2543_.
  using ChainMap = std::unordered_map<std::string_view, ServerTransaction*, KeyHash>;

  // Deferred destruction: a transaction that terminates while one of its own
  // methods (or a TU callback it made) is on the stack is destroyed when the
  // outermost entry point returns.
  class Reentry {
   public:
    explicit Reentry(TransactionLayer& layer) : layer_(layer) { ++layer_.depth_; }
    ~Reentry();
    Reentry(const Reentry&) = delete;
    Reentry& operator=(const Reentry&) = delete;

   private:
    TransactionLayer& layer_;
  };

  Disposition onRequest(sip::Message message, const Peer& source);
  Disposition onAck(const sip::Message& ack, const Peer& source);
  Disposition onResponse(const sip::Message& response, const Peer& source);
  ServerTransaction* matchServer(const sip::Message& request, std::string_view method_key,
                                 bool is_ack);
  // The lookup half of matchServer() for a key already built.
  ServerTransaction* findServerByKey(std::string_view key, bool rfc3261,
                                     const sip::Message& request, bool is_ack);
  void link2543(ServerTransaction& st);
  void unlink2543(ServerTransaction& st);
  SendResult createClient(sip::Message request, const Destination& to);

  // Called by transactions.
  void fireTimer(Transaction& txn, TimerId which);
  void fireTransportError(Transaction& txn);
  void terminate(Transaction& txn);
  bool send(const sip::Message& message, std::string_view wire, const Destination& to, TxnId owner);
  void sendPendingCancel(ClientTransaction& invite);
  // After a final response a transaction keeps the request's bytes instead
  // of its parsed form; done when the outermost entry point returns, so
  // that no TU callback on the stack loses the request it is reading.
  void compactLater(TxnId id) { compact_.push_back(id); }
  void compactPending();

  TimerService& timers_;
  MessageSender& sender_;
  TransactionUser& tu_;
  LayerOptions options_;
  LayerStats stats_;

  std::unordered_map<std::uint64_t, std::unique_ptr<Transaction>> by_id_;
  KeyMap server_by_key_;
  KeyMap client_by_key_;
  ChainMap server_by_2543_;
  std::vector<std::unique_ptr<Transaction>> graveyard_;
  std::vector<TxnId> compact_;
  std::string scratch_;  // key buffer reused across lookups and inserts
  std::uint64_t next_id_ = 1;
  int depth_ = 0;
};

}  // namespace sbc::txn

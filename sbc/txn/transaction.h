#pragma once
// The four RFC 3261 section 17 state machines (with RFC 6026's Accepted
// state), as two classes the TU sees: ClientTransaction (INVITE and
// non-INVITE) and ServerTransaction (INVITE and non-INVITE). They are created
// and owned by the TransactionLayer; the TU refers to them by TxnId outside
// callbacks.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "sbc/sip/message.h"
#include "sbc/txn/inline_string.h"
#include "sbc/txn/timer_service.h"
#include "sbc/txn/types.h"

namespace sbc::txn {

class TransactionLayer;

class Transaction {
 public:
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  virtual ~Transaction();

  TxnId id() const { return id_; }
  TxnKind kind() const { return kind_; }
  TxnState state() const { return state_; }
  bool isClient() const {
    return kind_ == TxnKind::InviteClient || kind_ == TxnKind::NonInviteClient;
  }
  bool isInvite() const { return kind_ == TxnKind::InviteClient || kind_ == TxnKind::InviteServer; }
  bool reliable() const { return reliable_; }
  // The request that created the transaction (for a server transaction, as
  // received, with received/rport stamped into its top Via). Once a final
  // response is sent or received only its bytes are kept (a parsed Message
  // costs kilobytes and a finished transaction lives up to 64*T1); a later
  // call parses them again, so prefer callId()/cseqNumber() then.
  const sip::Message& request() const;
  // The request's Call-ID and CSeq number, kept for the transaction's life.
  std::string_view callId() const { return call_id_.view(); }
  std::uint32_t cseqNumber() const { return cseq_number_; }
  // Client: where the request goes. Server: where the request came from.
  const Peer& peer() const { return peer_; }
  TimePoint createdAt() const { return created_at_; }

  // One word for the TU (a call id, an index...): the layer never reads it.
  std::uint64_t userData() const { return user_data_; }
  void setUserData(std::uint64_t value) { user_data_ = value; }

 protected:
  // By rvalue reference so that derived constructors can still read
  // `request` (for the kind) in the same initializer.
  Transaction(TransactionLayer& layer, TxnId id, TxnKind kind, sip::Message&& request, Peer peer,
              bool reliable);

  // Every timer of a transaction goes through here; a zero duration still
  // fires from the timer service (next turn), never inside the caller.
  void startTimer(TimerHandle& handle, TimerId which, Duration after);
  void stopTimer(TimerHandle& handle);
  void stopAllTimers();
  // Sends through the layer's MessageSender. A synchronous failure is turned
  // into an asynchronous transport error (zero-delay timer), so that the TU
  // is never called back from inside its own call into the layer.
  void transmit(const sip::Message& message, std::string_view wire, const Destination& to);
  // Resends bytes whose parsed form was not kept: the sender still gets a
  // Message (re-parsed; retransmissions are rare, memory is not).
  void retransmitWire(std::string_view wire, const Destination& to);
  void setState(TxnState s) { state_ = s; }
  void terminate();
  // Keeps only `wire` (the request's bytes) in place of the parsed request.
  void dropParsedRequest(std::string wire);

  virtual void onTimer(TimerId which) = 0;
  virtual void onTransportError() = 0;

  TransactionLayer& layer_;
  mutable sip::Message request_;  // moved-from while only request_wire_ is kept
  std::string request_wire_;
  mutable bool request_parsed_ = true;
  Peer peer_;
  TimerHandle retransmit_timer_;  // A, E, G
  TimerHandle timeout_timer_;     // B, D, F, H, I, J, K, L, M, ServerGuard
  TimerHandle aux_timer_;         // C, Trying100
  TimerHandle error_timer_;       // deferred transport error
  Duration interval_{0};          // current retransmission interval
  // Matching key (RFC 3261 branch), kept to erase the map entry on
  // termination; the maps hold views of it. Inline sizes cover the keys and
  // Call-IDs seen in practice (the SBC's own: 32 and 32 bytes; SIPp's and
  // common PBXs': under 64), so a transaction makes no allocation for them.
  static constexpr std::size_t kInlineKey = 64;
  static constexpr std::size_t kInlineCallId = 48;
  InlineString<kInlineKey> key_;
  std::string key_2543_;  // RFC 2543 identity (rare: clients without the cookie)
  InlineString<kInlineCallId> call_id_;
  std::uint32_t cseq_number_ = 0;

 private:
  friend class TransactionLayer;

  TxnId id_;
  TxnKind kind_;
  TxnState state_;
  bool reliable_;
  TimePoint created_at_;
  std::uint64_t user_data_ = 0;
};

class ClientTransaction final : public Transaction {
 public:
  // The status of the last response passed to the TU, 0 before any.
  int lastStatus() const { return last_status_; }
  // Wire form of the ACK this INVITE transaction sent for a non-2xx final
  // response; empty before one.
  std::string_view ackWire() const { return ack_wire_; }
  // TransactionLayer::sendCancel() was called before any provisional
  // response: the CANCEL goes out with the first 1xx (RFC 3261 9.1).
  bool cancelPending() const { return cancel_pending_; }

 private:
  friend class TransactionLayer;
  ClientTransaction(TransactionLayer& layer, TxnId id, sip::Message request, Destination to,
                    bool reliable);

  void start();
  void onResponse(const sip::Message& response);
  void onTimer(TimerId which) override;
  void onTransportError() override;
  void sendAck(const sip::Message& response);
  void stopRetransmitting();
  void onFinal();
  void compact();

  std::string wire_;      // the request's wire form until a final response
  std::string ack_wire_;  // only the bytes: an ACK is resent rarely, and re-parsed then
  int last_status_ = 0;
  bool cancel_pending_ = false;
};

class ServerTransaction final : public Transaction {
 public:
  // Sends a response (100..699) on this transaction; see
  // TransactionLayer::sendResponse. False when the state does not allow it
  // (after a final response, except further 2xx of an INVITE in Accepted).
  bool sendResponse(sip::Message response);

  // The last provisional response sent, while in Proceeding; nullptr once a
  // final response went out. A finished transaction keeps only the wire
  // bytes it may have to resend (a parsed Message costs kilobytes and a
  // transaction in Completed lives up to 64*T1), see lastResponseWire().
  const sip::Message* lastResponse() const { return last_response_ ? &*last_response_ : nullptr; }
  // Bytes resent on request retransmissions (empty in Accepted and
  // Confirmed, where nothing is resent by the transaction).
  std::string_view lastResponseWire() const { return last_wire_; }
  // Status and To tag of the last response sent (0 / empty before any): e.g.
  // the tag to put on the 200 for a CANCEL (RFC 3261 9.2).
  int lastStatus() const { return last_status_; }
  std::string_view toTag() const { return to_tag_.view(); }

  // Where responses go (RFC 3261 18.2.2 and RFC 3581 rport).
  const Destination& responseDestination() const { return response_to_; }
  // True when matched by RFC 2543 rules (the top Via had no RFC 3261 branch).
  bool rfc2543() const { return !key_2543_.empty(); }

 private:
  friend class TransactionLayer;
  ServerTransaction(TransactionLayer& layer, TxnId id, sip::Message request, Peer from,
                    Destination response_to, bool reliable);

  void start();
  void onRetransmission();
  void onAck(const sip::Message& ack, const Peer& from);
  bool matches2543(const sip::Message& request, bool is_ack) const;
  void onTimer(TimerId which) override;
  void onTransportError() override;
  void resendLast();
  // Records and sends a response; keeps the parsed message only for 1xx.
  void emit(sip::Message response);
  void onFinal();
  void compact();
  void forgetLast();

  Destination response_to_;
  std::optional<sip::Message> last_response_;
  std::string last_wire_;
  // Our tags are 16 bytes (b2bua::makeTag), one past std::string's inline
  // buffer: kept inline, they cost no allocation per response.
  static constexpr std::size_t kInlineTag = 32;
  InlineString<kInlineTag> to_tag_;
  // To tag of the final response, for RFC 2543 ACK matching (set only on
  // RFC 2543 transactions: RFC 3261 ACKs match by branch).
  std::string final_to_tag_;
  // Next server transaction with the same RFC 2543 key (TransactionLayer's
  // chain: such keys are not unique, see matches2543()).
  ServerTransaction* next_2543_ = nullptr;
  int last_status_ = 0;
  bool provisional_sent_ = false;
};

}  // namespace sbc::txn

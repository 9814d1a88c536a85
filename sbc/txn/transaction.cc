#include "sbc/txn/transaction.h"

#include <algorithm>
#include <utility>

#include "sbc/txn/builders.h"
#include "sbc/txn/matching.h"
#include "sbc/txn/transaction_layer.h"

namespace sbc::txn {

// ---------------------------------------------------------------- Transaction

Transaction::Transaction(TransactionLayer& layer, TxnId id, TxnKind kind, sip::Message&& request,
                         Peer peer, bool reliable)
    : layer_(layer),
      request_(std::move(request)),
      peer_(std::move(peer)),
      id_(id),
      kind_(kind),
      state_(kind == TxnKind::InviteClient      ? TxnState::Calling
             : kind == TxnKind::NonInviteClient ? TxnState::Trying
             : kind == TxnKind::InviteServer    ? TxnState::Proceeding
                                                : TxnState::Trying),
      reliable_(reliable),
      created_at_(layer.timers().now()) {
  if (auto cid = request_.callId(); cid.ok()) call_id_.assign(*cid);
  if (auto cseq = request_.cseq(); cseq.ok()) cseq_number_ = cseq->number;
}

const sip::Message& Transaction::request() const {
  if (!request_parsed_) {
    request_parsed_ = true;
    sip::ParseResult parsed = sip::parseDatagram(request_wire_);
    if (parsed.message) request_ = std::move(*parsed.message);
  }
  return request_;
}

void Transaction::dropParsedRequest(std::string wire) {
  if (!request_parsed_ || wire.empty()) return;
  request_wire_ = std::move(wire);
  sip::Message gone = std::move(request_);
  request_parsed_ = false;
}

Transaction::~Transaction() {
  stopAllTimers();
}

void Transaction::startTimer(TimerHandle& handle, TimerId which, Duration after) {
  stopTimer(handle);
  // [this, which] fits std::function's inline buffer: no allocation. The
  // destructor cancels every handle, so `this` is alive when it fires.
  handle = layer_.timers().schedule(after, [this, which] { layer_.fireTimer(*this, which); });
}

void Transaction::stopTimer(TimerHandle& handle) {
  if (handle) layer_.timers().cancel(handle);
  handle = TimerHandle{};
}

void Transaction::stopAllTimers() {
  stopTimer(retransmit_timer_);
  stopTimer(timeout_timer_);
  stopTimer(aux_timer_);
  stopTimer(error_timer_);
}

void Transaction::transmit(const sip::Message& message, std::string_view wire,
                           const Destination& to) {
  if (layer_.send(message, wire, to, id_)) return;
  if (!error_timer_) {
    error_timer_ =
        layer_.timers().schedule(Duration::zero(), [this] { layer_.fireTransportError(*this); });
  }
}

void Transaction::retransmitWire(std::string_view wire, const Destination& to) {
  if (wire.empty()) return;
  sip::ParseResult parsed = sip::parseDatagram(std::string(wire));
  if (parsed.message) transmit(*parsed.message, wire, to);
}

void Transaction::terminate() {
  layer_.terminate(*this);
}

// ---------------------------------------------------------- ClientTransaction

ClientTransaction::ClientTransaction(TransactionLayer& layer, TxnId id, sip::Message request,
                                     Destination to, bool reliable)
    : Transaction(layer, id,
                  request.method() == sip::Method::Invite ? TxnKind::InviteClient
                                                          : TxnKind::NonInviteClient,
                  std::move(request), std::move(to), reliable) {}

void ClientTransaction::start() {
  const TimerConfig& cfg = layer_.timerConfig();
  wire_ = request_.serialize();
  transmit(request_, wire_, peer_);
  if (!reliable()) {
    interval_ = cfg.t1;
    startTimer(retransmit_timer_, isInvite() ? TimerId::A : TimerId::E, interval_);
  }
  startTimer(timeout_timer_, isInvite() ? TimerId::B : TimerId::F, cfg.timeout64());
}

void ClientTransaction::sendAck(const sip::Message& response) {
  if (!ack_wire_.empty()) {
    retransmitWire(ack_wire_, peer_);
    return;
  }
  auto ack = makeAck(request(), response);
  if (!ack) return;
  ack_wire_ = ack->serialize();
  transmit(*ack, ack_wire_, peer_);
}

void ClientTransaction::stopRetransmitting() {
  stopTimer(retransmit_timer_);
  // The request and its bytes stay: CANCEL and ACK copy it, and after the
  // final response the bytes replace the parsed form (onFinal()).
}

void ClientTransaction::onFinal() {
  layer_.compactLater(id());
}

void ClientTransaction::compact() {
  dropParsedRequest(std::move(wire_));
  std::string().swap(wire_);
}

void ClientTransaction::onResponse(const sip::Message& response) {
  const int code = response.statusCode();
  const TimerConfig& cfg = layer_.timerConfig();
  const TxnState s = state();
  TransactionUser& tu = layer_.tu_;

  if (isInvite()) {
    if (s == TxnState::Calling || s == TxnState::Proceeding) {
      if (code < 200) {
        stopRetransmitting();
        stopTimer(timeout_timer_);  // Timer B only guards Calling (RFC 3261 fig. 5)
        setState(TxnState::Proceeding);
        // Timer C starts with the first 1xx and restarts with each 101-199
        // (RFC 3261 16.6 step 11).
        if (cfg.timer_c > Duration::zero() && (!aux_timer_ || code > 100)) {
          startTimer(aux_timer_, TimerId::C, cfg.timer_c);
        }
        last_status_ = code;
        tu.onResponse(*this, response);
        if (cancel_pending_ && state() == TxnState::Proceeding) layer_.sendPendingCancel(*this);
        return;
      }
      stopAllTimers();
      stopRetransmitting();
      cancel_pending_ = false;
      last_status_ = code;
      if (code < 300) {
        // RFC 6026 7.2: the transaction stays to pass retransmitted and forked
        // 2xx responses to the TU (which ACKs them) until Timer M.
        setState(TxnState::Accepted);
        startTimer(timeout_timer_, TimerId::M, cfg.timeout64());
        tu.onResponse(*this, response);
        onFinal();
        return;
      }
      setState(TxnState::Completed);
      sendAck(response);
      startTimer(timeout_timer_, TimerId::D, reliable() ? Duration::zero() : cfg.timer_d);
      tu.onResponse(*this, response);
      onFinal();
      return;
    }
    if (s == TxnState::Accepted) {
      if (code >= 200 && code < 300) tu.onResponse(*this, response);
      // Anything else after a 2xx is dropped (RFC 6026 7.2 lists only 2xx).
      else
        ++layer_.stats_.response_retransmissions;
      return;
    }
    if (s == TxnState::Completed) {
      ++layer_.stats_.response_retransmissions;
      // RFC 3261 17.1.1.2: every retransmitted final response gets the ACK
      // again; provisional ones are dropped.
      if (code >= 300) sendAck(response);
    }
    return;
  }

  // non-INVITE (RFC 3261 17.1.2.2)
  if (s == TxnState::Trying || s == TxnState::Proceeding) {
    last_status_ = code;
    if (code < 200) {
      setState(TxnState::Proceeding);
      tu.onResponse(*this, response);
      return;
    }
    stopAllTimers();
    stopRetransmitting();
    setState(TxnState::Completed);
    startTimer(timeout_timer_, TimerId::K, reliable() ? Duration::zero() : cfg.t4);
    tu.onResponse(*this, response);
    onFinal();
    return;
  }
  ++layer_.stats_.response_retransmissions;  // Completed absorbs everything
}

void ClientTransaction::onTimer(TimerId which) {
  const TimerConfig& cfg = layer_.timerConfig();
  switch (which) {
    case TimerId::A:
      if (state() != TxnState::Calling) return;
      ++layer_.stats_.retransmissions_sent;
      transmit(request_, wire_, peer_);
      interval_ *= 2;  // INVITE: no T2 cap (RFC 3261 17.1.1.2)
      startTimer(retransmit_timer_, TimerId::A, interval_);
      return;
    case TimerId::E:
      if (state() != TxnState::Trying && state() != TxnState::Proceeding) return;
      ++layer_.stats_.retransmissions_sent;
      transmit(request_, wire_, peer_);
      interval_ = state() == TxnState::Trying ? std::min(interval_ * 2, cfg.t2) : cfg.t2;
      startTimer(retransmit_timer_, TimerId::E, interval_);
      return;
    case TimerId::B:
    case TimerId::F:
      ++layer_.stats_.timeouts;
      layer_.tu_.onTimeout(*this, which);
      terminate();
      return;
    case TimerId::C:
      if (state() == TxnState::Proceeding) layer_.tu_.onTimeout(*this, which);
      return;
    case TimerId::D:
    case TimerId::K:
    case TimerId::M:
      terminate();
      return;
    default:
      return;
  }
}

void ClientTransaction::onTransportError() {
  if (state() == TxnState::Accepted || state() == TxnState::Terminated) return;
  ++layer_.stats_.transport_errors;
  layer_.tu_.onTransportError(*this);
  terminate();
}

// ---------------------------------------------------------- ServerTransaction

ServerTransaction::ServerTransaction(TransactionLayer& layer, TxnId id, sip::Message request,
                                     Peer from, Destination response_to, bool reliable)
    : Transaction(layer, id,
                  request.method() == sip::Method::Invite ? TxnKind::InviteServer
                                                          : TxnKind::NonInviteServer,
                  std::move(request), std::move(from), reliable),
      response_to_(std::move(response_to)) {}

void ServerTransaction::start() {
  const TimerConfig& cfg = layer_.timerConfig();
  if (isInvite()) {
    startTimer(aux_timer_, TimerId::Trying100, cfg.trying_delay);
  } else {
    startTimer(timeout_timer_, TimerId::ServerGuard,
               cfg.server_guard > Duration::zero() ? cfg.server_guard : cfg.timeout64() + cfg.t4);
  }
}

void ServerTransaction::resendLast() {
  if (last_wire_.empty()) return;
  ++layer_.stats_.retransmissions_sent;
  if (last_response_) {
    transmit(*last_response_, last_wire_, response_to_);
  } else {
    retransmitWire(last_wire_, response_to_);
  }
}

void ServerTransaction::emit(sip::Message response) {
  last_status_ = response.statusCode();
  if (auto to = response.to()) to_tag_.assign(to->tag);
  last_wire_ = response.serialize();
  if (last_status_ < 200) {
    last_response_ = std::move(response);
    transmit(*last_response_, last_wire_, response_to_);
    return;
  }
  last_response_.reset();
  if (!key_2543_.empty()) final_to_tag_ = to_tag_.view();
  transmit(response, last_wire_, response_to_);
}

void ServerTransaction::forgetLast() {
  last_response_.reset();
  std::string().swap(last_wire_);
}

void ServerTransaction::onRetransmission() {
  ++layer_.stats_.request_retransmissions;
  switch (state()) {
    case TxnState::Proceeding:  // the most recent provisional, if any
    case TxnState::Completed:   // the final response
      resendLast();
      return;
    default:
      // Trying (non-INVITE: nothing to send yet), Confirmed, and Accepted
      // (RFC 6026 7.1: the TU retransmits the 2xx, not the transaction).
      return;
  }
}

void ServerTransaction::onAck(const sip::Message& ack, const Peer& from) {
  if (state() == TxnState::Completed) {
    stopTimer(retransmit_timer_);
    stopTimer(timeout_timer_);
    setState(TxnState::Confirmed);
    forgetLast();  // Confirmed only absorbs
    startTimer(timeout_timer_, TimerId::I, reliable() ? Duration::zero() : layer_.timerConfig().t4);
    return;
  }
  if (state() == TxnState::Accepted) {
    ++layer_.stats_.stray_acks;
    layer_.tu_.onStrayAck(ack, from, this);
  }
  // Confirmed: retransmitted ACK, absorbed. Proceeding: an ACK before any
  // final response acknowledges nothing; dropped.
}

bool ServerTransaction::sendResponse(sip::Message response) {
  if (!response.isResponse()) return false;
  const int code = response.statusCode();
  if (code < 100 || code > 699) return false;
  const TimerConfig& cfg = layer_.timerConfig();
  const TxnState s = state();

  const bool open = s == TxnState::Proceeding || s == TxnState::Trying;
  const bool accepted_2xx = s == TxnState::Accepted && code >= 200 && code < 300;
  if (!open && !accepted_2xx) return false;

  if (code < 200) {
    stopTimer(aux_timer_);  // no automatic 100 any more
    provisional_sent_ = true;
    if (s == TxnState::Trying) setState(TxnState::Proceeding);
    emit(std::move(response));
    return true;
  }

  if (isInvite()) {
    stopTimer(aux_timer_);
    if (code < 300) {
      // Retransmissions of the 2xx are the TU's (RFC 6026 7.1); the
      // transaction only passes them on while it lives, and keeps nothing.
      if (s != TxnState::Accepted) {
        setState(TxnState::Accepted);
        startTimer(timeout_timer_, TimerId::L, cfg.timeout64());
      }
      emit(std::move(response));
      std::string().swap(last_wire_);
      onFinal();
      return true;
    }
    setState(TxnState::Completed);
    emit(std::move(response));
    if (!reliable()) {
      interval_ = cfg.t1;
      startTimer(retransmit_timer_, TimerId::G, interval_);
    }
    startTimer(timeout_timer_, TimerId::H, cfg.timeout64());
    onFinal();
    return true;
  }

  setState(TxnState::Completed);
  emit(std::move(response));
  startTimer(timeout_timer_, TimerId::J, reliable() ? Duration::zero() : cfg.timeout64());
  onFinal();
  return true;
}

void ServerTransaction::onFinal() {
  // RFC 2543 matching compares against the parsed request: keep it there.
  if (key_2543_.empty()) layer_.compactLater(id());
}

void ServerTransaction::compact() {
  if (request_parsed_) dropParsedRequest(request_.serialize());
}

bool ServerTransaction::matches2543(const sip::Message& request, bool is_ack) const {
  // The hashed key already covered Call-ID, CSeq number, method, From tag and
  // sent-by; what is left: Request-URI, the full top Via, and the To tag
  // (of our final response for an ACK, of the original request otherwise).
  const sip::Message& original = this->request();
  if (!sip::uriEquals(request.requestUri(), original.requestUri())) return false;
  auto a = request.topVia();
  auto b = original.topVia();
  if (!a || !b || !sameVia2543(*a, *b)) return false;
  auto to = request.to();
  if (!to) return false;
  if (is_ack) return to->tag == final_to_tag_;
  auto orig_to = original.to();
  return orig_to && to->tag == orig_to->tag;
}

void ServerTransaction::onTimer(TimerId which) {
  const TimerConfig& cfg = layer_.timerConfig();
  switch (which) {
    case TimerId::Trying100:
      if (state() != TxnState::Proceeding || provisional_sent_) return;
      provisional_sent_ = true;
      emit(sip::makeResponse(request(), 100));
      return;
    case TimerId::G:
      if (state() != TxnState::Completed) return;
      resendLast();
      interval_ = std::min(interval_ * 2, cfg.t2);
      startTimer(retransmit_timer_, TimerId::G, interval_);
      return;
    case TimerId::H:
    case TimerId::ServerGuard:
      ++layer_.stats_.timeouts;
      layer_.tu_.onTimeout(*this, which);
      terminate();
      return;
    case TimerId::I:
    case TimerId::J:
    case TimerId::L:
      terminate();
      return;
    default:
      return;
  }
}

void ServerTransaction::onTransportError() {
  if (state() == TxnState::Terminated || state() == TxnState::Confirmed) return;
  ++layer_.stats_.transport_errors;
  layer_.tu_.onTransportError(*this);
  // In Accepted the TU owns the 2xx retransmissions and the transaction only
  // absorbs INVITE retransmissions until Timer L: keep it.
  if (state() != TxnState::Accepted) terminate();
}

}  // namespace sbc::txn

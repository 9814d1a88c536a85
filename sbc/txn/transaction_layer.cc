#include "sbc/txn/transaction_layer.h"

#include <utility>

#include "sbc/txn/builders.h"
#include "sbc/txn/matching.h"

namespace sbc::txn {

const char* toString(Disposition d) {
  switch (d) {
    case Disposition::NewServerTransaction:
      return "new_server_transaction";
    case Disposition::RequestRetransmission:
      return "request_retransmission";
    case Disposition::AckAbsorbed:
      return "ack_absorbed";
    case Disposition::AckToTu:
      return "ack_to_tu";
    case Disposition::Response:
      return "response";
    case Disposition::StrayResponse:
      return "stray_response";
    case Disposition::Dropped:
      return "dropped";
  }
  return "?";
}

const char* toString(SendError e) {
  switch (e) {
    case SendError::None:
      return "none";
    case SendError::NotARequest:
      return "not_a_request";
    case SendError::AckNotAllowed:
      return "ack_not_allowed";
    case SendError::NoBranch:
      return "no_branch";
    case SendError::DuplicateBranch:
      return "duplicate_branch";
    case SendError::NoSuchTransaction:
      return "no_such_transaction";
    case SendError::BadState:
      return "bad_state";
    case SendError::Deferred:
      return "deferred";
  }
  return "?";
}

TransactionLayer::Reentry::~Reentry() {
  if (layer_.depth_ == 1 && !layer_.compact_.empty()) layer_.compactPending();
  if (--layer_.depth_ == 0 && !layer_.graveyard_.empty()) {
    // Destructors may not call back into the layer, but a TU callback made
    // from onTerminated could in principle terminate more: loop until empty.
    while (!layer_.graveyard_.empty()) {
      auto dead = std::move(layer_.graveyard_);
      dead.clear();
    }
  }
}

TransactionLayer::TransactionLayer(TimerService& timers, MessageSender& sender, TransactionUser& tu,
                                   LayerOptions options)
    : timers_(timers), sender_(sender), tu_(tu), options_(options) {
  // A busy thread holds thousands of transactions (INVITEs linger 32 s):
  // start with room for them rather than rehash through every size.
  constexpr std::size_t kInitialBuckets = 4096;
  by_id_.reserve(kInitialBuckets);
  server_by_key_.reserve(kInitialBuckets);
  client_by_key_.reserve(kInitialBuckets);
}

TransactionLayer::~TransactionLayer() {
  // Transactions cancel their own timers; no TU callbacks on shutdown.
  graveyard_.clear();
  by_id_.clear();
}

// ------------------------------------------------------------------- inbound

Disposition TransactionLayer::onMessage(sip::Message message, const Peer& source) {
  Reentry guard(*this);
  if (message.isResponse()) return onResponse(message, source);
  if (message.method() == sip::Method::Ack) return onAck(message, source);
  return onRequest(std::move(message), source);
}

Disposition TransactionLayer::onResponse(const sip::Message& response, const Peer& source) {
  auto via = response.topVia();
  auto cseq = response.cseq();
  if (!via || !cseq) {
    ++stats_.dropped;
    return Disposition::Dropped;
  }
  scratch_.clear();
  appendClientKey(scratch_, via->branch, cseq->method_text);
  auto it = client_by_key_.find(std::string_view(scratch_));
  if (it == client_by_key_.end()) {
    ++stats_.stray_responses;
    tu_.onStrayResponse(response, source);
    return Disposition::StrayResponse;
  }
  static_cast<ClientTransaction*>(it->second)->onResponse(response);
  return Disposition::Response;
}

ServerTransaction* TransactionLayer::matchServer(const sip::Message& request,
                                                 std::string_view method_key, bool is_ack) {
  auto via = request.topVia();
  if (!via) return nullptr;
  scratch_.clear();
  const bool rfc3261 = via->hasRfc3261Branch();
  if (rfc3261) {
    appendServerKey(scratch_, *via, method_key);
  } else if (!append2543Key(scratch_, request, method_key)) {
    return nullptr;
  }
  return findServerByKey(scratch_, rfc3261, request, is_ack);
}

ServerTransaction* TransactionLayer::findServerByKey(std::string_view key, bool rfc3261,
                                                     const sip::Message& request, bool is_ack) {
  if (rfc3261) {
    auto it = server_by_key_.find(key);
    return it == server_by_key_.end() ? nullptr : static_cast<ServerTransaction*>(it->second);
  }
  auto it = server_by_2543_.find(key);
  if (it == server_by_2543_.end()) return nullptr;
  for (ServerTransaction* st = it->second; st != nullptr; st = st->next_2543_) {
    if (st->matches2543(request, is_ack)) return st;
  }
  return nullptr;
}

void TransactionLayer::link2543(ServerTransaction& st) {
  auto [it, inserted] = server_by_2543_.try_emplace(std::string_view(st.key_2543_), &st);
  if (inserted) return;
  // After the head: the map's key stays a view of the head's own string.
  st.next_2543_ = it->second->next_2543_;
  it->second->next_2543_ = &st;
}

void TransactionLayer::unlink2543(ServerTransaction& st) {
  auto it = server_by_2543_.find(std::string_view(st.key_2543_));
  if (it == server_by_2543_.end()) return;
  ServerTransaction* next = st.next_2543_;
  st.next_2543_ = nullptr;
  if (it->second == &st) {
    // The key is a view of st's string, which dies with st: re-key on the
    // next of the chain (same bytes, its own storage).
    server_by_2543_.erase(it);
    if (next != nullptr) server_by_2543_.emplace(std::string_view(next->key_2543_), next);
    return;
  }
  for (ServerTransaction* prev = it->second; prev != nullptr; prev = prev->next_2543_) {
    if (prev->next_2543_ == &st) {
      prev->next_2543_ = next;
      return;
    }
  }
}

Disposition TransactionLayer::onAck(const sip::Message& ack, const Peer& source) {
  if (!ack.topVia()) {
    ++stats_.dropped;
    return Disposition::Dropped;
  }
  if (ServerTransaction* st = matchServer(ack, "INVITE", true)) {
    if (st->state() == TxnState::Accepted) {
      st->onAck(ack, source);
      return Disposition::AckToTu;
    }
    st->onAck(ack, source);
    return Disposition::AckAbsorbed;
  }
  ++stats_.stray_acks;
  tu_.onStrayAck(ack, source, nullptr);
  return Disposition::AckToTu;
}

Disposition TransactionLayer::onRequest(sip::Message message, const Peer& source) {
  bool rfc3261 = true;
  {
    auto via = message.topVia();
    if (!via) {
      ++stats_.dropped;
      return Disposition::Dropped;
    }
    // The key is built once, into scratch_: looked up, then copied into the
    // new transaction. From the request as received, before stampReceived()
    // rewrites the top Via (retransmissions arrive unstamped; the sent-by
    // and branch it keys on do not change anyway).
    const std::string_view method = matchMethod(message);
    scratch_.clear();
    rfc3261 = via->hasRfc3261Branch();
    if (rfc3261) {
      appendServerKey(scratch_, *via, method);
    } else if (!append2543Key(scratch_, message, method)) {
      // Without Call-ID/CSeq/From no RFC 2543 identity exists; such a request
      // cannot be answered sensibly either.
      ++stats_.dropped;
      return Disposition::Dropped;
    }
    if (ServerTransaction* st = findServerByKey(scratch_, rfc3261, message, false)) {
      st->onRetransmission();
      return Disposition::RequestRetransmission;
    }
  }
  // Before stamping: the stamp rewrites the top Via text, and reading it
  // back would parse it again; what the destination depends on (rport flag,
  // sent-by port) is the same before and after.
  Destination response_to = responseDestination(message, source, options_.symmetric_responses);
  if (options_.stamp_received) stampReceived(message, source);
  const bool reliable = sender_.isReliable(source);

  const TxnId id{next_id_++};
  auto owned = std::unique_ptr<ServerTransaction>(new ServerTransaction(
      *this, id, std::move(message), source, std::move(response_to), reliable));
  ServerTransaction* st = owned.get();
  if (rfc3261) {
    st->key_.assign(scratch_);
    server_by_key_.emplace(st->key_.view(), st);
  } else {
    st->key_2543_.assign(scratch_);
    link2543(*st);
  }
  by_id_.emplace(id.value, std::move(owned));
  ++stats_.server_created;
  st->start();
  tu_.onNewRequest(*st, st->request());
  return Disposition::NewServerTransaction;
}

void TransactionLayer::onTransportError(TxnId owner) {
  Reentry guard(*this);
  if (Transaction* t = find(owner)) t->onTransportError();
}

// ------------------------------------------------------------------ outbound

SendResult TransactionLayer::sendRequest(sip::Message request, const Destination& to) {
  Reentry guard(*this);
  return createClient(std::move(request), to);
}

SendResult TransactionLayer::createClient(sip::Message request, const Destination& to) {
  if (!request.isRequest()) return {TxnId{}, SendError::NotARequest};
  if (request.method() == sip::Method::Ack) return {TxnId{}, SendError::AckNotAllowed};
  auto via = request.topVia();
  if (!via || !via->hasRfc3261Branch()) return {TxnId{}, SendError::NoBranch};
  // Built in scratch_ (no allocation), copied into the transaction.
  scratch_.clear();
  appendClientKey(scratch_, via->branch, request.methodText());
  if (client_by_key_.contains(std::string_view(scratch_))) {
    return {TxnId{}, SendError::DuplicateBranch};
  }

  const TxnId id{next_id_++};
  const bool reliable = sender_.isReliable(to);
  auto owned = std::unique_ptr<ClientTransaction>(
      new ClientTransaction(*this, id, std::move(request), to, reliable));
  ClientTransaction* ct = owned.get();
  ct->key_.assign(scratch_);
  client_by_key_.emplace(ct->key_.view(), ct);
  by_id_.emplace(id.value, std::move(owned));
  ++stats_.client_created;
  ct->start();
  return {id, SendError::None};
}

bool TransactionLayer::sendResponse(TxnId server, sip::Message response) {
  Reentry guard(*this);
  ServerTransaction* st = findServer(server);
  return st && st->sendResponse(std::move(response));
}

SendResult TransactionLayer::sendCancel(TxnId invite) {
  Reentry guard(*this);
  ClientTransaction* ct = findClient(invite);
  if (!ct || ct->kind() != TxnKind::InviteClient) return {TxnId{}, SendError::NoSuchTransaction};
  if (ct->state() == TxnState::Calling) {
    // RFC 3261 9.1: no CANCEL before a provisional response; it goes out
    // with the first one (or never, if a final response comes first).
    ct->cancel_pending_ = true;
    return {TxnId{}, SendError::Deferred};
  }
  if (ct->state() != TxnState::Proceeding) return {TxnId{}, SendError::BadState};
  auto cancel = makeCancel(ct->request());
  if (!cancel) return {TxnId{}, SendError::NoBranch};
  return createClient(std::move(*cancel), ct->peer());
}

void TransactionLayer::sendPendingCancel(ClientTransaction& invite) {
  invite.cancel_pending_ = false;
  if (auto cancel = makeCancel(invite.request())) createClient(std::move(*cancel), invite.peer());
}

void TransactionLayer::sendStateless(const sip::Message& message, const Destination& to) {
  std::string wire = message.serialize();
  send(message, wire, to, TxnId{});
}

void TransactionLayer::sendStateless(const sip::Message& message, std::string_view wire,
                                     const Destination& to) {
  send(message, wire, to, TxnId{});
}

void TransactionLayer::resendStateless(std::string_view wire, const Destination& to) {
  if (wire.empty()) return;
  sip::ParseResult parsed = sip::parseDatagram(std::string(wire));
  if (parsed.message) send(*parsed.message, wire, to, TxnId{});
}

bool TransactionLayer::send(const sip::Message& message, std::string_view wire,
                            const Destination& to, TxnId owner) {
  return sender_.send(message, wire, to, owner);
}

// ------------------------------------------------------------------- lookups

Transaction* TransactionLayer::find(TxnId id) {
  auto it = by_id_.find(id.value);
  return it == by_id_.end() ? nullptr : it->second.get();
}

ClientTransaction* TransactionLayer::findClient(TxnId id) {
  Transaction* t = find(id);
  return t && t->isClient() ? static_cast<ClientTransaction*>(t) : nullptr;
}

ServerTransaction* TransactionLayer::findServer(TxnId id) {
  Transaction* t = find(id);
  return t && !t->isClient() ? static_cast<ServerTransaction*>(t) : nullptr;
}

ServerTransaction* TransactionLayer::findInviteServerTransactionForCancel(
    const sip::Message& cancel) {
  if (!cancel.isRequest()) return nullptr;
  ServerTransaction* st = matchServer(cancel, "INVITE", false);
  return st && st->kind() == TxnKind::InviteServer ? st : nullptr;
}

// ------------------------------------------------------ transaction plumbing

void TransactionLayer::compactPending() {
  // Swapped out first: nothing here calls back, but keep the loop obvious.
  std::vector<TxnId> ids;
  ids.swap(compact_);
  for (TxnId id : ids) {
    Transaction* t = find(id);
    if (!t || t->state() == TxnState::Terminated) continue;
    if (t->isClient()) {
      static_cast<ClientTransaction*>(t)->compact();
    } else {
      static_cast<ServerTransaction*>(t)->compact();
    }
  }
  ids.clear();
  if (compact_.empty()) compact_.swap(ids);  // keep the capacity
}

void TransactionLayer::fireTimer(Transaction& txn, TimerId which) {
  Reentry guard(*this);
  txn.onTimer(which);
}

void TransactionLayer::fireTransportError(Transaction& txn) {
  Reentry guard(*this);
  txn.error_timer_ = TimerHandle{};
  txn.onTransportError();
}

void TransactionLayer::terminate(Transaction& txn) {
  if (txn.state() == TxnState::Terminated) return;
  txn.setState(TxnState::Terminated);
  txn.stopAllTimers();
  if (!txn.key_.empty()) {
    KeyMap& map = txn.isClient() ? client_by_key_ : server_by_key_;
    auto it = map.find(txn.key_.view());
    if (it != map.end() && it->second == &txn) map.erase(it);
  }
  if (!txn.key_2543_.empty()) unlink2543(static_cast<ServerTransaction&>(txn));
  auto it = by_id_.find(txn.id().value);
  if (it == by_id_.end()) return;
  std::unique_ptr<Transaction> owned = std::move(it->second);
  by_id_.erase(it);
  tu_.onTerminated(txn);
  graveyard_.push_back(std::move(owned));
}

}  // namespace sbc::txn

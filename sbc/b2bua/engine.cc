// Engine entry points: what comes from the app and the transaction layer,
// out-of-dialog requests, and helpers shared by the other engine_*.cc files.
#include "sbc/b2bua/engine.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdint>

#include "sbc/b2bua/engine_impl.h"
#include "sbc/txn/builders.h"

namespace sbc::b2bua {

std::string_view toString(EndedBy e) {
  switch (e) {
    case EndedBy::Caller:
      return "caller";
    case EndedBy::Callee:
      return "callee";
    case EndedBy::Sbc:
      return "sbc";
  }
  return "sbc";
}

std::string_view toString(CallState s) {
  switch (s) {
    case CallState::Routing:
      return "routing";
    case CallState::Trying:
      return "trying";
    case CallState::Early:
      return "early";
    case CallState::Answering:
      return "answering";
    case CallState::Confirmed:
      return "confirmed";
    case CallState::Ending:
      return "ending";
  }
  return "unknown";
}

bool hasToken(const sip::Message& m, sip::HeaderId id, std::string_view token) {
  auto list = m.tokens(id);
  if (!list) return false;
  return std::any_of(list->begin(), list->end(),
                     [&](std::string_view t) { return sip::iequals(t, token); });
}

bool isSdp(const sip::Message& m) {
  if (m.body().empty()) return false;
  auto ct = m.contentType();
  return ct && ct->is("application", "sdp");
}

namespace {

std::size_t methodIndex(const sip::Message& m) {
  const auto i = static_cast<std::size_t>(m.method());
  return i < kMethods ? i : 0;
}

constexpr std::string_view kAllow =
    "INVITE, ACK, BYE, CANCEL, OPTIONS, PRACK, UPDATE, INFO, NOTIFY, MESSAGE";

}  // namespace

// ------------------------------------------------------------- CountingSender

bool Engine::Impl::CountingSender::send(const sip::Message& message, std::string_view wire,
                                        const txn::Destination& to, txn::TxnId owner) {
  if (message.isRequest()) {
    ++stats_.requests_out[methodIndex(message)];
  } else {
    const int cls = message.statusCode() / 100;
    if (cls >= 1 && cls <= 6) ++stats_.responses_out[static_cast<std::size_t>(cls)];
  }
  if (impl_.traced_calls != 0) impl_.tapSent(message, wire, to);
  return inner_.send(message, wire, to, owner);
}

// ---------------------------------------------------------------------- Impl

Engine::Impl::Impl(txn::TimerService& t, txn::MessageSender& s, Policy& p, ChannelLimits& l,
                   EngineConfig cfg, cfg::SnapshotPtr snap, CallRecordSink sk, MediaAnchor* a)
    : timers(t),
      sender(s, stats, *this),
      layer(t, sender, *this, cfg.layer),
      policy(p),
      limits(l),
      config(std::move(cfg)),
      snapshot(std::move(snap)),
      sink(std::move(sk)),
      anchor(a),
      wall_base(std::chrono::system_clock::now()),
      steady_base(t.now()) {
  if (!snapshot) snapshot = std::make_shared<cfg::Snapshot>();
}

Engine::Impl::~Impl() {
  for (auto& [h, c] : calls) {
    for (auto& timer : c->timers) {
      if (timer) timers.cancel(timer);
    }
  }
}

CallRecord::Time Engine::Impl::wallNow() const {
  return wall_base + std::chrono::duration_cast<std::chrono::system_clock::duration>(timers.now() -
                                                                                     steady_base);
}

std::uint32_t Engine::Impl::timerMs(std::chrono::milliseconds configured) const {
  if (configured.count() > 0) return static_cast<std::uint32_t>(configured.count());
  return static_cast<std::uint32_t>(layer.timerConfig().timeout64().count());
}

void Engine::Impl::countRejection(RejectCause cause) {
  const auto i = static_cast<std::size_t>(cause);
  if (cause != RejectCause::None && i < stats.rejections.size()) ++stats.rejections[i];
}

Call* Engine::Impl::findCall(CallHandle h) {
  if (h == 0) return nullptr;
  auto it = calls.find(h);
  return it == calls.end() ? nullptr : it->second.get();
}

Call* Engine::Impl::findCallByCallId(std::string_view call_id) {
  // Hash collisions and a caller reusing the Call-ID of a call still
  // lingering both leave several entries: the newest call that really has
  // that Call-ID wins.
  Call* found = nullptr;
  auto [first, last] = by_call_id.equal_range(std::hash<std::string_view>{}(call_id));
  for (auto it = first; it != last; ++it) {
    Call* c = findCall(it->second);
    if (c && (c->a.callId() == call_id || c->b.callId() == call_id) &&
        (!found || c->handle > found->handle)) {
      found = c;
    }
  }
  return found;
}

const ListenerInfo* Engine::Impl::pickListener(std::string_view realm,
                                               txn::Protocol protocol) const {
  const ListenerInfo* realm_match = nullptr;
  for (const ListenerInfo& l : config.listeners) {
    if (l.realm != realm) continue;
    if (l.protocol == protocol) return &l;
    if (!realm_match) realm_match = &l;
  }
  if (realm_match) return realm_match;
  return config.listeners.empty() ? nullptr : &config.listeners.front();
}

const ListenerInfo* Engine::Impl::listenerByIndex(std::uint32_t index) const {
  for (const ListenerInfo& l : config.listeners) {
    if (l.index == index) return &l;
  }
  return nullptr;
}

std::string Engine::Impl::contactOf(const Leg& leg) const {
  return leg.listener ? contactValue(*leg.listener, leg.peer.protocol) : std::string{};
}

std::string_view Engine::Impl::productOf(const Leg& leg) const {
  return productFor(leg.trunk, config.product);
}

std::string_view Engine::Impl::ourHost(const Leg& leg) const {
  return leg.listener ? std::string_view(leg.listener->host) : std::string_view{};
}

bool Engine::Impl::addressedToUs(const sip::Message& req) const {
  const sip::Uri& uri = req.requestUri();
  if (!uri.isSip() || !uri.user.empty()) return false;
  for (const ListenerInfo& l : config.listeners) {
    if (sip::iequals(l.host, uri.host)) return true;
  }
  return std::any_of(config.local_hosts.begin(), config.local_hosts.end(),
                     [&](const std::string& h) { return sip::iequals(h, uri.host); });
}

sip::Message Engine::Impl::responseFor(const Leg& leg, const sip::Message& req, int code,
                                       std::string_view phrase) const {
  sip::Message r = sip::makeResponse(req, code, phrase, leg.localTag());
  const std::string_view product = productOf(leg);
  if (!product.empty()) r.setHeader(sip::HeaderId::Server, product);
  return r;
}

void Engine::Impl::reply(txn::ServerTransaction& stx, const Leg* leg, int code,
                         std::string_view phrase) {
  sip::Message r;
  if (leg) {
    r = responseFor(*leg, stx.request(), code, phrase);
  } else {
    r = sip::makeResponse(stx.request(), code, phrase, b2bua::makeTag(config.shard));
    if (!config.product.empty()) r.setHeader(sip::HeaderId::Server, config.product);
  }
  if (code == 405) r.setHeader(sip::HeaderId::Allow, kAllow);
  stx.sendResponse(std::move(r));
}

void Engine::Impl::addOurCapabilities(sip::Message& m, bool supported_100rel) const {
  m.setHeader(sip::HeaderId::Allow, kAllow);
  m.setHeader(sip::HeaderId::Supported, supported_100rel ? "100rel, timer" : "timer");
}

// ---- timers of a call

void Engine::Impl::arm(Call& c, CallTimer which, txn::Duration after) {
  disarm(c, which);
  // handle and timer id packed in one word: with `this` the capture fits
  // std::function's inline buffer, so arming a timer does not allocate.
  const std::uint64_t packed = (c.handle << 8) | static_cast<std::uint64_t>(which);
  c.timers[static_cast<std::size_t>(which)] = timers.schedule(
      after, [this, packed] { onCallTimer(packed >> 8, static_cast<CallTimer>(packed & 0xff)); });
}

void Engine::Impl::disarm(Call& c, CallTimer which) {
  auto& h = c.timers[static_cast<std::size_t>(which)];
  if (h) timers.cancel(h);
  h = txn::TimerHandle{};
}

void Engine::Impl::onCallTimer(CallHandle h, CallTimer which) {
  Call* cp = findCall(h);
  if (!cp) return;
  Call& c = *cp;
  c.timers[static_cast<std::size_t>(which)] = txn::TimerHandle{};
  const txn::TimerConfig& tc = layer.timerConfig();
  switch (which) {
    case CallTimer::Failover:
      if (!c.finished && !c.cancelled && !c.attempt.provisional && c.state <= CallState::Early) {
        spdlog::debug("call {}: no provisional from gateway in time, failing over", c.handle);
        layer.sendCancel(c.attempt.invite);
        c.last_failure_code = 0;
        nextTarget(c);
      }
      return;
    case CallTimer::Ring:
      if (!c.finished && c.state <= CallState::Early) {
        Ending e;
        e.by = EndedBy::Sbc;
        e.reason = "ring-timeout";
        e.a_code = c.state == CallState::Early ? 480 : 408;
        terminate(c, e);
      }
      return;
    case CallTimer::NoAck:
      if (!c.finished && c.await_ack) {
        Ending e;
        e.by = EndedBy::Sbc;
        e.reason = "no-ack";
        e.reason_header = "SIP;cause=408;text=\"ACK Timeout\"";
        terminate(c, e);
      }
      return;
    case CallTimer::Retransmit2xx:
      if (c.await_ack) {
        layer.resendStateless(c.await_ack->response, c.await_ack->to);
        c.await_ack->interval = std::min(c.await_ack->interval * 2, tc.t2);
        arm(c, CallTimer::Retransmit2xx, c.await_ack->interval);
      }
      return;
    case CallTimer::MaxDuration:
      if (!c.finished) {
        Ending e;
        e.by = EndedBy::Sbc;
        e.reason = "max-duration";
        e.reason_header = "Q.850;cause=102;text=\"Maximum call duration\"";
        terminate(c, e);
      }
      return;
    case CallTimer::Cancel:
      if (!c.finished && c.cancelled) completeCancel(c);
      return;
    case CallTimer::Reliable1xx: {
      if (!c.a_reliable || c.finished) return;
      txn::ServerTransaction* stx = layer.findServer(c.a_invite);
      if (!stx || stx->state() != txn::TxnState::Proceeding) {
        c.a_reliable.reset();
        return;
      }
      const auto elapsed =
          std::chrono::duration_cast<txn::Duration>(timers.now() - c.a_reliable->started);
      if (elapsed >= tc.timeout64()) {
        // RFC 3262 3: no PRACK within 64*T1: reject the INVITE with a 5xx.
        Ending e;
        e.by = EndedBy::Sbc;
        e.reason = "no-prack";
        e.a_code = 504;
        e.a_phrase = "Reliable Provisional Not Acknowledged";
        terminate(c, e);
        return;
      }
      stx->sendResponse(c.a_reliable->response);
      c.a_reliable->interval *= 2;
      // Doubling without a cap, but the last wait ends exactly at 64*T1.
      arm(c, CallTimer::Reliable1xx, std::min(c.a_reliable->interval, tc.timeout64() - elapsed));
      return;
    }
    case CallTimer::SessionA:
      onSessionTimer(c, LegSide::A);
      return;
    case CallTimer::SessionB:
      onSessionTimer(c, LegSide::B);
      return;
    case CallTimer::Anchor:
      if (c.media_busy) {
        spdlog::warn("call {}: media anchor did not answer in time", c.handle);
        completeMedia(c, nullptr);
      }
      return;
    case CallTimer::Linger:
      // T4 at a time while a BYE of ours is unanswered, up to 64*T1 (and
      // 255 rounds, should T4 be configured tiny).
      if (c.byePending() && c.linger_rounds < UINT8_MAX &&
          (c.linger_rounds + 1) * tc.t4 < tc.timeout64()) {
        ++c.linger_rounds;
        arm(c, CallTimer::Linger, tc.t4);
        return;
      }
      eraseCall(h);
      return;
    case CallTimer::kCount:
      return;
  }
}

// ---- entry

void Engine::Impl::onReceived(sip::Message m, const txn::Peer& source) {
  if (traced_calls != 0) tapReceived(m, source);
  if (m.isResponse()) {
    const int cls = m.statusCode() / 100;
    if (cls >= 1 && cls <= 6) ++stats.responses_in[static_cast<std::size_t>(cls)];
    layer.onMessage(std::move(m), source);
    return;
  }
  ++stats.requests_in[methodIndex(m)];
  // ACKs are never answered: the layer absorbs those of our non-2xx and
  // hands those of a 2xx to onStrayAck, which maps them through the call.
  if (m.method() == sip::Method::Ack) {
    layer.onMessage(std::move(m), source);
    return;
  }
  if (auto cid = m.callId(); cid.ok() && findCallByCallId(*cid)) {
    layer.onMessage(std::move(m), source);
    return;
  }
  Identity id = policy.identify(m, source, *snapshot);
  if (id.verdict == Identity::Verdict::Drop) {
    ++stats.dropped_unknown_source;
    return;
  }
  if (id.verdict != Identity::Verdict::Accept) countRejection(id.cause);
  incoming_identity = &id;
  layer.onMessage(std::move(m), source);
  incoming_identity = nullptr;
}

void Engine::Impl::onNewRequest(txn::ServerTransaction& stx, const sip::Message& req) {
  const Identity* id = incoming_identity;
  incoming_identity = nullptr;
  stx.setUserData(0);
  if (req.parseError() != sip::ParseError::Ok) {
    const sip::ErrorStatus st = sip::errorStatus(req.parseError());
    reply(stx, nullptr, st.code > 0 ? st.code : 400, st.reason);
    return;
  }
  if (req.method() == sip::Method::Cancel) {
    onCancel(stx, req);
    return;
  }
  auto cid = req.callId();
  if (Call* c = cid.ok() ? findCallByCallId(*cid) : nullptr) {
    handleCallRequest(*c, stx, req);
    return;
  }
  if (!id) {
    reply(stx, nullptr, 481);
    return;
  }
  switch (id->verdict) {
    case Identity::Verdict::Accept:
      if (id->trunk) {
        handleOutOfDialog(stx, req, *id);
        return;
      }
      reply(stx, nullptr, 403);
      return;
    case Identity::Verdict::Challenge:
    case Identity::Verdict::Reject:
      if (id->response && id->response->isResponse()) {
        stx.sendResponse(*id->response);
      } else {
        reply(stx, nullptr, 403);
      }
      return;
    case Identity::Verdict::Drop:
      return;  // not reached: dropped before the layer
  }
}

bool Engine::Impl::validate(txn::ServerTransaction& stx, const sip::Message& req, bool to_us) {
  // A policy holds vectors of strings: copy it only for the rare OPTIONS to
  // us, never default-construct one per request.
  std::optional<sip::ValidationPolicy> policy_copy;
  const sip::ValidationPolicy* vp = &config.validation;
  if (to_us && req.method() == sip::Method::Options) {
    policy_copy.emplace(config.validation);
    policy_copy->allow_zero_max_forwards = true;
    vp = &*policy_copy;
  }
  sip::ValidationResult v = sip::validateRequest(req, *vp);
  if (v.ok()) return true;
  const auto to = req.to();
  const bool has_tag = to.ok() && !to->tag.empty();
  stx.sendResponse(sip::makeResponse(
      req, v, has_tag ? std::string_view{} : std::string_view(b2bua::makeTag(config.shard))));
  return false;
}

void Engine::Impl::handleOutOfDialog(txn::ServerTransaction& stx, const sip::Message& req,
                                     const Identity& id) {
  const cfg::Trunk& trunk = *id.trunk;
  const bool to_us = addressedToUs(req);
  if (!validate(stx, req, to_us)) return;
  const auto to = req.to();
  if (to.ok() && !to->tag.empty()) {
    // A dialog we do not have (ended, or never ours).
    reply(stx, nullptr, 481);
    return;
  }
  switch (req.method()) {
    case sip::Method::Invite:
      if (shutting_down || draining) {
        sip::Message r = sip::makeResponse(req, 503, {}, b2bua::makeTag(config.shard));
        r.setHeader(sip::HeaderId::RetryAfter, "30");
        stx.sendResponse(std::move(r));
        return;
      }
      onNewInvite(stx, req, trunk);
      return;
    case sip::Method::Options:
      answerOptions(stx, req);
      return;
    case sip::Method::Register:
      if (trunk.kind == cfg::TrunkKind::Pbx) {
        stx.sendResponse(policy.handleRegister(req, stx.peer(), trunk));
      } else {
        reply(stx, nullptr, 403, "Registration Not Allowed");
      }
      return;
    case sip::Method::Bye:
    case sip::Method::Prack:
    case sip::Method::Update:
    case sip::Method::Info:
      reply(stx, nullptr, 481);
      return;
    default:
      reply(stx, nullptr, 405);
      return;
  }
}

void Engine::Impl::answerOptions(txn::ServerTransaction& stx, const sip::Message& req) {
  sip::Message ok = sip::makeResponse(req, 200, {}, b2bua::makeTag(config.shard));
  ok.setHeader(sip::HeaderId::Allow, kAllow);
  ok.setHeader(sip::HeaderId::Accept, "application/sdp");
  ok.setHeader(sip::HeaderId::Supported, "100rel, timer");
  if (!config.product.empty()) ok.setHeader(sip::HeaderId::Server, config.product);
  stx.sendResponse(std::move(ok));
}

void Engine::Impl::onResponse(txn::ClientTransaction& txn, const sip::Message& rsp) {
  if (auto it = ood_requests.find(txn.id().value); it != ood_requests.end()) {
    if (rsp.statusCode() >= 200) {
      RequestSender::Callback cb = std::move(it->second);
      ood_requests.erase(it);
      RequestSender::Outcome out;
      out.response = &rsp;
      if (cb) cb(out);
    }
    return;
  }
  const ClientView view{txn.id(), txn.kind(), txn.request(), txn.peer()};
  Call* c = findCall(txn.userData());
  if (!c) {
    // The call is gone (failed, cancelled, ended): a late 2xx still opens a
    // dialog at the far end, which must be closed (RFC 3261 15).
    if (txn.kind() == txn::TxnKind::InviteClient && rsp.statusCode() / 100 == 2) {
      ackAndBye(txn.request(), rsp, txn.peer());
    }
    return;
  }
  if (c->media_busy) {
    // Keep the order of events behind the pending anchor operation; the
    // transaction may be gone by then, so keep copies of what is needed.
    c->mediaWait().deferred.push_back([this, h = c->handle, id = txn.id(), kind = txn.kind(),
                                       request = txn.request(), peer = txn.peer(), response = rsp] {
      if (Call* cc = findCall(h))
        dispatchResponse(*cc, ClientView{id, kind, request, peer}, response);
    });
    return;
  }
  dispatchResponse(*c, view, rsp);
}

void Engine::Impl::dispatchResponse(Call& c, const ClientView& ctx, const sip::Message& rsp) {
  if (ctx.id == c.attempt.invite) {
    onBInviteResponse(c, ctx, rsp);
    return;
  }
  if (Pending* p = c.findPending(ctx.id)) {
    if (p->kind == PendingKind::Relay) {
      onRelayResponse(c, *p, ctx, rsp);
    } else {
      onLocalResponse(c, *p, ctx, rsp);
    }
    return;
  }
  if (ctx.kind == txn::TxnKind::InviteClient && rsp.statusCode() / 100 == 2) {
    // A retransmitted 2xx of one of our dialogs: ACK it again. Anything else
    // (a stale attempt, a fork) is ACKed and BYEd.
    auto cid = rsp.callId();
    auto to = rsp.to();
    auto cseq = rsp.cseq();
    for (LegSide side : {LegSide::A, LegSide::B}) {
      Leg& l = c.leg(side);
      if (cid.ok() && to.ok() && *cid == l.callId() && to->tag == l.remoteTag() && l.confirmed) {
        if (!l.lastAck().empty() && cseq.ok() && cseq->number == l.last_ack_cseq)
          layer.resendStateless(l.lastAck(), l.peer);
        return;
      }
    }
    ackAndBye(ctx.request, rsp, ctx.peer);
  }
}

void Engine::Impl::onTimeout(txn::Transaction& txn, txn::TimerId timer) {
  if (auto it = ood_requests.find(txn.id().value); it != ood_requests.end()) {
    RequestSender::Callback cb = std::move(it->second);
    ood_requests.erase(it);
    RequestSender::Outcome out;
    out.timeout = true;
    if (cb) cb(out);
    return;
  }
  Call* c = findCall(txn.userData());
  if (!c || !txn.isClient()) return;
  if (txn.id() == c->attempt.invite) {
    if (timer == txn::TimerId::B) onBInviteGone(*c, true);
    return;
  }
  if (Pending* p = c->findPending(txn.id())) {
    Pending copy = *p;
    c->erasePending(txn.id());
    if (copy.kind == PendingKind::Relay) {
      if (txn::ServerTransaction* stx = layer.findServer(copy.server)) {
        reply(*stx, &c->leg(copy.from), 408);
      }
    } else if (copy.kind == PendingKind::Refresh) {
      c->leg(copy.from).st.refresh_in_flight = false;
      Ending e;
      e.by = EndedBy::Sbc;
      e.reason = "session-timer";
      e.bye_from = copy.from;  // the peer that does not answer gets no BYE either
      e.reason_header = "SIP;cause=408;text=\"Session refresh timed out\"";
      terminate(*c, e);
    }
  }
}

void Engine::Impl::onTransportError(txn::Transaction& txn) {
  if (auto it = ood_requests.find(txn.id().value); it != ood_requests.end()) {
    RequestSender::Callback cb = std::move(it->second);
    ood_requests.erase(it);
    RequestSender::Outcome out;
    out.transport_error = true;
    if (cb) cb(out);
    return;
  }
  Call* c = findCall(txn.userData());
  if (!c) return;
  if (txn.isClient()) {
    if (txn.id() == c->attempt.invite) {
      onBInviteGone(*c, false);
      return;
    }
    if (Pending* p = c->findPending(txn.id())) {
      Pending copy = *p;
      c->erasePending(txn.id());
      if (copy.kind == PendingKind::Relay) {
        if (txn::ServerTransaction* stx = layer.findServer(copy.server)) {
          reply(*stx, &c->leg(copy.from), 503);
        }
      } else if (copy.kind == PendingKind::Refresh) {
        c->leg(copy.from).st.refresh_in_flight = false;
        Ending e;
        e.by = EndedBy::Sbc;
        e.reason = "session-timer";
        e.bye_from = copy.from;
        terminate(*c, e);
      }
    }
    return;
  }
  // The caller cannot be reached with its INVITE's responses.
  if (txn.id() == c->a_invite && !c->finished && txn.state() != txn::TxnState::Accepted) {
    Ending e;
    e.by = EndedBy::Sbc;
    e.reason = "transport";
    e.bye_from = LegSide::A;
    terminate(*c, e);
  }
}

void Engine::Impl::onStrayAck(const sip::Message& ack, const txn::Peer&, txn::ServerTransaction*) {
  auto cid = ack.callId();
  if (!cid.ok()) return;
  Call* c = findCallByCallId(*cid);
  if (!c) return;
  const LegSide side = *cid == c->a.callId() ? LegSide::A : LegSide::B;
  if (c->media_busy) {
    c->mediaWait().deferred.push_back([this, h = c->handle, side, copy = ack] {
      if (Call* cc = findCall(h)) onAck(*cc, copy, side);
    });
    return;
  }
  onAck(*c, ack, side);
}

void Engine::Impl::onStrayResponse(const sip::Message&, const txn::Peer&) {}

void Engine::Impl::onTerminated(txn::Transaction& txn) {
  if (txn.kind() != txn::TxnKind::InviteClient) return;
  Call* c = findCall(txn.userData());
  if (!c) return;
  // Past Timer M the peer has stopped retransmitting that 2xx: the ACK we
  // kept to answer those retransmissions can go (it is most of a confirmed
  // call's memory).
  for (LegSide side : {LegSide::A, LegSide::B}) {
    Leg& l = c->leg(side);
    if (!l.lastAck().empty() && l.callId() == txn.callId() && l.last_ack_cseq == txn.cseqNumber()) {
      l.dropLastAck();
    }
  }
}

// ------------------------------------------------------------------- Engine

Engine::Engine(txn::TimerService& timers, txn::MessageSender& sender, Policy& policy,
               ChannelLimits& limits, EngineConfig config, cfg::SnapshotPtr snapshot,
               CallRecordSink sink, MediaAnchor* anchor)
    : impl_(std::make_unique<Impl>(timers, sender, policy, limits, std::move(config),
                                   std::move(snapshot), std::move(sink), anchor)) {}

Engine::~Engine() = default;

void Engine::onReceived(sip::Message message, const txn::Peer& source) {
  impl_->onReceived(std::move(message), source);
}

void Engine::onTransportError(txn::TxnId owner) {
  impl_->layer.onTransportError(owner);
}

void Engine::setSnapshot(cfg::SnapshotPtr snapshot) {
  if (snapshot) impl_->snapshot = std::move(snapshot);
}

bool Engine::endCall(CallHandle call, EndReason reason) {
  Call* c = impl_->findCall(call);
  if (!c || c->finished) return false;
  Ending e;
  e.by = EndedBy::Sbc;
  switch (reason) {
    case EndReason::MediaTimeout:
      e.reason = "media-timeout";
      e.reason_header = "Q.850;cause=41;text=\"Media timeout\"";
      break;
    case EndReason::Admin:
      e.reason = "admin";
      e.reason_header = "Q.850;cause=16;text=\"Terminated by operator\"";
      break;
    case EndReason::Shutdown:
      e.reason = "shutdown";
      e.reason_header = "Q.850;cause=41;text=\"Shutting down\"";
      break;
    case EndReason::RelayLost:
      e.reason = "relay-lost";
      e.reason_header = "Q.850;cause=41;text=\"Media relay lost\"";
      break;
  }
  e.a_code = 503;
  impl_->terminate(*c, e);
  return true;
}

void Engine::setAcceptingCalls(bool accepting) {
  impl_->draining = !accepting;
}

void Engine::shutdown() {
  impl_->shutting_down = true;
  std::vector<CallHandle> handles;
  handles.reserve(impl_->calls.size());
  for (const auto& [h, c] : impl_->calls) {
    if (!c->finished) handles.push_back(h);
  }
  for (CallHandle h : handles) endCall(h, EndReason::Shutdown);
}

std::vector<CallInfo> Engine::activeCalls() const {
  std::vector<CallInfo> out;
  const auto now = impl_->timers.now();
  for (const auto& [h, c] : impl_->calls) {
    if (c->finished) continue;
    CallInfo info;
    info.handle = h;
    info.direction = c->direction;
    if (c->a.trunk) info.inbound_trunk = c->a.trunk->name;
    if (c->b.trunk) info.outbound_trunk = c->b.trunk->name;
    info.caller = c->record.text(CdrDraft::kCallerIn);
    info.callee = c->record.text(CdrDraft::kCalleeIn);
    info.state = std::string(toString(c->state));
    info.start = c->record.start;
    info.call_id = c->a.callId();
    info.traced = c->traced;
    if (c->answered != txn::TimePoint{}) {
      info.duration = std::chrono::duration_cast<std::chrono::seconds>(now - c->answered);
    }
    out.push_back(std::move(info));
  }
  return out;
}

std::size_t Engine::callCount() const {
  return impl_->calls.size();
}
void Engine::reserveCalls(std::size_t calls) {
  impl_->calls.reserve(calls);
  impl_->by_call_id.reserve(2 * calls);  // both legs' Call-IDs
}
const EngineStats& Engine::stats() const {
  return impl_->stats;
}
txn::TransactionLayer& Engine::layer() {
  return impl_->layer;
}

bool Engine::sendOutOfDialog(sip::Message request, const txn::Destination& to,
                             std::string_view realm, Callback on_final) {
  const ListenerInfo* l = impl_->pickListener(realm, to.protocol);
  if (!l || !request.isRequest()) return false;
  txn::Destination dest = to;
  dest.listener = l->index;
  request.prependHeader(sip::HeaderId::Via,
                        viaValue(*l, to.protocol, b2bua::makeBranch(impl_->config.shard)));
  txn::SendResult r = impl_->layer.sendRequest(std::move(request), dest);
  if (!r.ok()) return false;
  impl_->ood_requests.emplace(r.id.value, std::move(on_final));
  return true;
}

std::string Engine::advertisedHostPort(std::string_view realm, txn::Protocol protocol) const {
  const ListenerInfo* l = impl_->pickListener(realm, protocol);
  return l ? hostPort(l->host, l->port) : std::string{};
}

std::string Engine::makeCallId() {
  return b2bua::makeCallId(impl_->config.shard);
}
std::string Engine::makeTag() {
  return b2bua::makeTag(impl_->config.shard);
}

}  // namespace sbc::b2bua

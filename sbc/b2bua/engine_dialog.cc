// Requests inside a call: BYE, re-INVITE/UPDATE (with glare and locally
// answered session refreshes), PRACK, INFO/OPTIONS/MESSAGE/NOTIFY relays,
// REFER refusal, and the ACKs of 2xx responses.
#include <spdlog/spdlog.h>

#include "sbc/b2bua/engine_impl.h"

namespace sbc::b2bua {
namespace {

int q850Of(const sip::Message& m) {
  auto reasons = m.reasons();
  if (!reasons) return -1;
  for (const sip::Reason& r : *reasons) {
    if (sip::iequals(r.protocol, "Q.850")) return r.cause;
  }
  return -1;
}

constexpr std::string_view kDefaultByeReason = "Q.850;cause=16;text=\"Normal call clearing\"";

}  // namespace

void Engine::Impl::handleCallRequest(Call& c, txn::ServerTransaction& stx,
                                     const sip::Message& req) {
  stx.setUserData(c.handle);
  const std::string_view cid = *req.callId();
  const LegSide from = cid == c.a.callId() ? LegSide::A : LegSide::B;
  Leg& x = c.leg(from);
  if (!validate(stx, req, false)) return;

  auto to = req.to();
  auto fr = req.from();
  if (!to.ok() || !fr.ok()) {
    reply(stx, nullptr, 400);
    return;
  }
  if (to->tag.empty()) {
    // Same Call-ID as a call in progress but outside its dialog: a second
    // INVITE with that Call-ID is a merged request (RFC 3261 8.2.2.2).
    reply(stx, nullptr, req.method() == sip::Method::Invite ? 482 : 481);
    return;
  }
  // Mapped through our own dialog state only: tags a peer cannot guess.
  if (to->tag != x.localTag() || x.remoteTag().empty() || fr->tag != x.remoteTag()) {
    reply(stx, nullptr, 481);
    return;
  }
  if (c.finished) {
    // A BYE crossing ours is fine; anything else is too late.
    reply(stx, &x, req.method() == sip::Method::Bye ? 200 : 481);
    return;
  }
  const std::uint32_t cseq = req.cseq()->number;
  if (x.remote_cseq_known && cseq <= x.remote_cseq) {
    reply(stx, &x, 500, "CSeq Out of Order");
    return;
  }
  x.remote_cseq = cseq;
  x.remote_cseq_known = true;

  if (c.media_busy && req.method() != sip::Method::Bye) {
    c.mediaWait().deferred.push_back([this, h = c.handle, id = stx.id(), copy = req, from] {
      Call* cc = findCall(h);
      txn::ServerTransaction* s = layer.findServer(id);
      if (cc && s) dispatchInDialog(*cc, *s, copy, from);
    });
    return;
  }
  dispatchInDialog(c, stx, req, from);
}

void Engine::Impl::dispatchInDialog(Call& c, txn::ServerTransaction& stx, const sip::Message& req,
                                    LegSide from) {
  Leg& x = c.leg(from);
  if (c.finished) {
    reply(stx, &x, req.method() == sip::Method::Bye ? 200 : 481);
    return;
  }
  switch (req.method()) {
    case sip::Method::Bye:
      onBye(c, stx, req, from);
      return;
    case sip::Method::Prack:
      onPrack(c, stx, req, from);
      return;
    case sip::Method::Invite:
    case sip::Method::Update:
      if (c.offerInProgress()) {
        // RFC 3261 14.1 / RFC 3311 5.2: an offer is already on its way on
        // one of the two dialogs.
        ++stats.glare_491;
        reply(stx, &x, 491);
        return;
      }
      if (req.method() == sip::Method::Invite && c.state != CallState::Confirmed) {
        sip::Message r = responseFor(x, req, 500);
        r.setHeader(sip::HeaderId::RetryAfter, "1");
        stx.sendResponse(std::move(r));
        return;
      }
      if (c.state == CallState::Confirmed && isRefresh(c, req, from)) {
        answerRefresh(c, stx, req, from);
        return;
      }
      relayRequest(c, stx, req, from);
      return;
    case sip::Method::Info:
    case sip::Method::Options:
    case sip::Method::Message:
    case sip::Method::Notify:
      relayRequest(c, stx, req, from);
      return;
    case sip::Method::Refer:
      // Transfers are not relayed through the trunk: the far side would
      // have to reach a party behind the SBC directly.
      reply(stx, &x, 403, "Transfer Not Allowed");
      return;
    default:
      reply(stx, &x, 405);
      return;
  }
}

void Engine::Impl::onBye(Call& c, txn::ServerTransaction& stx, const sip::Message& req,
                         LegSide from) {
  Leg& x = c.leg(from);
  if (from == LegSide::B && !c.b.confirmed) {
    // The callee cannot end an early dialog with BYE (RFC 3261 15).
    reply(stx, &x, 481);
    return;
  }
  reply(stx, &x, 200);
  Ending e;
  e.by = from == LegSide::A ? EndedBy::Caller : EndedBy::Callee;
  e.reason = "bye";
  e.bye_from = from;
  e.q850 = q850Of(req);
  if (const auto* h = req.header(sip::HeaderId::Reason)) {
    e.reason_header.assign(h->value);
  } else {
    e.reason_header.assign(kDefaultByeReason);
  }
  // A BYE from the caller before its 2xx works like a CANCEL (RFC 3261 15).
  e.a_code = 487;
  terminate(c, e);
}

void Engine::Impl::onPrack(Call& c, txn::ServerTransaction& stx, const sip::Message& req,
                           LegSide from) {
  Leg& x = c.leg(from);
  auto rack = req.rack();
  if (from != LegSide::A || !c.a_reliable || !rack.ok() || rack->rseq != c.a_reliable->rseq ||
      rack->cseq != c.a_invite_cseq || rack->method != sip::Method::Invite) {
    reply(stx, &x, 481);
    return;
  }
  reply(stx, &x, 200);
  c.a_reliable.reset();
  disarm(c, CallTimer::Reliable1xx);
  if (c.a_reliable_queued) {
    sip::Message next = std::move(*c.a_reliable_queued);
    c.a_reliable_queued.reset();
    sendReliable(c, std::move(next));
  }
}

void Engine::Impl::relayRequest(Call& c, txn::ServerTransaction& stx, const sip::Message& req,
                                LegSide from) {
  Leg& x = c.leg(from);
  Leg& y = c.leg(other(from));
  const sip::Method method = req.method();
  const bool offer_method = method == sip::Method::Invite || method == sip::Method::Update;
  if (y.remoteTag().empty() || y.remoteTarget().empty()) {
    reply(stx, &x, offer_method ? 491 : 403);
    return;
  }
  const std::uint32_t mf = req.maxForwards().valueOr(70);
  if (mf <= 1) {
    reply(stx, &x, 483);
    return;
  }
  if (offer_method) {
    // Target refresh (RFC 3261 12.2.2).
    if (auto contacts = req.contacts(); contacts.ok() && !contacts->empty()) {
      x.setRemoteTarget(contacts->front().uri.text);
    }
  }
  sip::Message out =
      buildInDialogRequest(y, method, ++y.local_cseq, b2bua::makeBranch(config.shard), contactOf(y),
                           productOf(y), mf - 1);
  HeaderCopyOptions hco;
  hco.from = x.trunk;
  hco.to = y.trunk;
  hco.our_host = ourHost(y);
  hco.identity = false;
  copyPolicyHeaders(req, out, hco);
  if (offer_method) {
    addOurCapabilities(out, false);
    addSessionExpires(out, y, true);
  }
  if (isSdp(req)) {
    const bool offer = offer_method;
    // If the far side rejects this offer, the session stays as it was: keep
    // what it last got, to restore it (a later refresh must not re-send the
    // rejected offer).
    std::string previous = offer ? y.sdp.last_sent : std::string();
    transformSdp(c, from, offer, req.body(),
                 [this, sid = stx.id(), from, out = std::move(out), method, offer,
                  previous = std::move(previous)](Call& call, const std::string* sdp) mutable {
                   if (!sdp) {
                     if (txn::ServerTransaction* s = layer.findServer(sid))
                       reply(*s, &call.leg(from), 488);
                     call.leg(other(from)).sdp.last_sent = std::move(previous);
                     return;
                   }
                   out.setBody(*sdp, "application/sdp");
                   sendRelayed(call, sid, from, std::move(out), method, offer, std::move(previous));
                 });
    return;
  }
  if (!req.body().empty()) {
    auto ct = req.contentType();
    out.setBody(req.body(), ct.ok() ? ct->text : std::string_view("application/octet-stream"));
  }
  sendRelayed(c, stx.id(), from, std::move(out), method, false);
}

void Engine::Impl::sendRelayed(Call& c, txn::TxnId server, LegSide from, sip::Message out,
                               sip::Method method, bool offer, std::string previous_sdp) {
  if (c.finished) {
    if (txn::ServerTransaction* s = layer.findServer(server)) reply(*s, &c.leg(from), 481);
    return;
  }
  Leg& y = c.leg(other(from));
  txn::SendResult r = layer.sendRequest(std::move(out), y.peer);
  if (!r.ok()) {
    if (txn::ServerTransaction* s = layer.findServer(server)) reply(*s, &c.leg(from), 500);
    return;
  }
  if (auto* t = layer.findClient(r.id)) t->setUserData(c.handle);
  Pending p;
  p.kind = PendingKind::Relay;
  p.from = from;
  p.method = method;
  p.server = server;
  p.client = r.id;
  p.offer_in_request = offer;
  p.previous_sdp = std::move(previous_sdp);
  c.pending.push_back(std::move(p));
}

void Engine::Impl::onRelayResponse(Call& c, Pending& pending, const ClientView& ctx,
                                   const sip::Message& rsp) {
  const int code = rsp.statusCode();
  if (code == 100) return;
  const LegSide to_side = other(pending.from);
  if ((code == 401 || code == 407) && !pending.auth_retried) {
    sip::Message resend;
    if (retryWithCredentials(c, to_side, ctx, rsp, resend)) {
      txn::SendResult r = layer.sendRequest(std::move(resend), c.leg(to_side).peer);
      if (r.ok()) {
        if (auto* t = layer.findClient(r.id)) t->setUserData(c.handle);
        pending.client = r.id;
        pending.auth_retried = true;
        return;
      }
    }
  }
  Pending p = pending;
  if (code >= 200) c.erasePending(ctx.id);
  if (code >= 300 && p.offer_in_request && !p.previous_sdp.empty()) {
    c.leg(to_side).sdp.last_sent = std::move(p.previous_sdp);
  }
  txn::ServerTransaction* stx = layer.findServer(p.server);
  if (!stx) {
    // The requester gave up; still complete our side of an INVITE.
    if (code / 100 == 2 && p.method == sip::Method::Invite) {
      sendAck(c, to_side, rsp.cseq()->number, nullptr, &ctx.request);
    }
    return;
  }
  if (code < 200) {
    sip::Message r = responseFor(c.leg(p.from), stx->request(), code, rsp.reasonPhrase());
    stx->sendResponse(std::move(r));
    return;
  }
  if (code / 100 == 2 && (p.method == sip::Method::Invite || p.method == sip::Method::Update)) {
    updateDialogFromResponse(c.leg(to_side), rsp);
    takeSessionExpiresFromResponse(c.leg(to_side), rsp);
  }
  if (isSdp(rsp) && (p.method == sip::Method::Invite || p.method == sip::Method::Update)) {
    transformSdp(c, to_side, !p.offer_in_request, rsp.body(),
                 [this, p, copy = rsp](Call& call, const std::string* sdp) {
                   finishRelayResponse(call, p, copy, sdp);
                 });
    return;
  }
  finishRelayResponse(c, p, rsp, nullptr);
}

void Engine::Impl::finishRelayResponse(Call& c, const Pending& p, const sip::Message& rsp,
                                       const std::string* sdp) {
  const LegSide to_side = other(p.from);
  txn::ServerTransaction* stx = layer.findServer(p.server);
  int code = rsp.statusCode();
  const bool ok = code / 100 == 2;
  if (!stx || c.finished) {
    if (ok && p.method == sip::Method::Invite && !c.finished)
      sendAck(c, to_side, rsp.cseq()->number, nullptr);
    return;
  }
  Leg& x = c.leg(p.from);
  std::string_view phrase = rsp.reasonPhrase();
  if (code == 401 || code == 407) {
    code = 403;  // a challenge is between the far peer and us only
    phrase = {};
  }
  if (isSdp(rsp) && !sdp && (p.method == sip::Method::Invite || p.method == sip::Method::Update)) {
    code = ok ? 500 : code;  // an answer we could not use
  }
  sip::Message r = responseFor(x, stx->request(), code, phrase);
  const bool offer_method = p.method == sip::Method::Invite || p.method == sip::Method::Update;
  if (code / 100 == 2 && offer_method) {
    r.setHeader(sip::HeaderId::Contact, contactOf(x));
    addOurCapabilities(r, false);
    takeSessionExpiresFromRequest(x, stx->request());
    addSessionExpires(r, x, false);
  }
  if (code >= 300) {
    if (const auto* h = rsp.header(sip::HeaderId::Reason))
      r.setHeader(sip::HeaderId::Reason, h->value);
  }
  if (sdp) {
    r.setBody(*sdp, "application/sdp");
  } else if (!rsp.body().empty() && !isSdp(rsp)) {
    auto ct = rsp.contentType();
    r.setBody(rsp.body(), ct.ok() ? ct->text : std::string_view("application/octet-stream"));
  }
  if (code / 100 == 2 && p.method == sip::Method::Invite) {
    // Our 2xx waits for the requester's ACK, and the far side's 2xx for ours,
    // which carries the ACK's SDP when the offer was in the 2xx.
    const txn::Destination dest = stx->responseDestination();
    const std::uint32_t x_cseq = stx->request().cseq()->number;
    std::string wire = r.serialize();
    stx->sendResponse(std::move(r));
    awaitAck(c, p.from, x_cseq, std::move(wire), dest, false, rsp.cseq()->number,
             !p.offer_in_request);
  } else {
    stx->sendResponse(std::move(r));
  }
  if (code / 100 == 2 && offer_method) {
    armSessionTimer(c, LegSide::A);
    armSessionTimer(c, LegSide::B);
  }
  if (rsp.statusCode() == 481) {
    // RFC 5057: the far dialog is gone; so is the call.
    Ending e;
    e.by = to_side == LegSide::A ? EndedBy::Caller : EndedBy::Callee;
    e.reason = "dialog-gone";
    e.bye_from = to_side;
    e.reason_header.assign(kDefaultByeReason);
    terminate(c, e);
  }
}

void Engine::Impl::onLocalResponse(Call& c, Pending& pending, const ClientView& ctx,
                                   const sip::Message& rsp) {
  const int code = rsp.statusCode();
  if (code < 200) return;
  const LegSide side = pending.from;
  Leg& leg = c.leg(side);
  if ((code == 401 || code == 407) && !pending.auth_retried) {
    sip::Message resend;
    if (retryWithCredentials(c, side, ctx, rsp, resend)) {
      txn::SendResult r = layer.sendRequest(std::move(resend), leg.peer);
      if (r.ok()) {
        if (auto* t = layer.findClient(r.id)) t->setUserData(c.handle);
        pending.client = r.id;
        pending.auth_retried = true;
        return;
      }
    }
  }
  Pending p = pending;
  c.erasePending(ctx.id);
  if (p.kind != PendingKind::Refresh || c.finished) return;
  leg.st.refresh_in_flight = false;
  if (code / 100 == 2) {
    if (p.method == sip::Method::Invite)
      sendAck(c, side, rsp.cseq()->number, nullptr, &ctx.request);
    updateDialogFromResponse(leg, rsp);
    if (isSdp(rsp)) {
      if (auto parsed = SdpRewriter::parse(rsp.body())) SdpRewriter::noteReceived(*parsed, leg.sdp);
    }
    takeSessionExpiresFromResponse(leg, rsp);
    armSessionTimer(c, side);
    return;
  }
  if (code == 422 && !p.se_retried) {
    auto min = rsp.minSE();
    if (min.ok() && min->delta > 0) {
      leg.st.interval = std::max(leg.st.interval, min->delta);
      sip::Message resend = resendOf(c, side, ctx.request);
      resend.setHeader(sip::HeaderId::SessionExpires,
                       std::to_string(leg.st.interval) + ";refresher=uac");
      resend.setHeader(sip::HeaderId::MinSE, std::to_string(min->delta));
      txn::SendResult r = layer.sendRequest(std::move(resend), leg.peer);
      if (r.ok()) {
        if (auto* t = layer.findClient(r.id)) t->setUserData(c.handle);
        p.client = r.id;
        p.se_retried = true;
        c.pending.push_back(p);
        leg.st.refresh_in_flight = true;
        return;
      }
    }
  }
  if ((code == 405 || code == 501) && p.method == sip::Method::Update) {
    leg.peer_update = false;  // fall back to re-INVITE
    sendRefresh(c, side);
    return;
  }
  if (code == 491) {
    // Glare with the peer's own offer: try again shortly (RFC 3261 14.1).
    arm(c, side == LegSide::A ? CallTimer::SessionA : CallTimer::SessionB, std::chrono::seconds(2));
    return;
  }
  if (code == 408 || code == 481) {
    Ending e;
    e.by = EndedBy::Sbc;
    e.reason = "session-timer";
    e.bye_from = code == 481 ? std::optional<LegSide>(side) : std::nullopt;
    e.reason_header = "SIP;cause=408;text=\"Session refresh failed\"";
    terminate(c, e);
    return;
  }
  armSessionTimer(c, side);
}

void Engine::Impl::awaitAck(Call& c, LegSide leg, std::uint32_t cseq, std::string response,
                            const txn::Destination& to, bool initial, std::uint32_t relay_cseq,
                            bool answer_in_ack) {
  AwaitAck w;
  w.leg = leg;
  w.cseq = cseq;
  w.response = std::move(response);
  w.to = to;
  w.interval = layer.timerConfig().t1;
  w.initial = initial;
  w.relay_cseq = relay_cseq;
  w.relay_answer_in_ack = answer_in_ack;
  c.await_ack = std::move(w);
  if (!sender.isReliable(to)) arm(c, CallTimer::Retransmit2xx, c.await_ack->interval);
  arm(c, CallTimer::NoAck, std::chrono::milliseconds(timerMs(config.no_ack_timeout)));
}

void Engine::Impl::onAck(Call& c, const sip::Message& ack, LegSide side) {
  auto cseq = ack.cseq();
  auto to = ack.to();
  if (!cseq.ok() || !to.ok() || to->tag != c.leg(side).localTag()) return;
  if (!c.await_ack || c.await_ack->leg != side || c.await_ack->cseq != cseq->number)
    return;  // a repeat
  AwaitAck w = std::move(*c.await_ack);
  c.await_ack.reset();
  disarm(c, CallTimer::Retransmit2xx);
  disarm(c, CallTimer::NoAck);
  if (w.initial && c.state == CallState::Answering) c.state = CallState::Confirmed;
  if (c.finished || w.relay_cseq == 0) return;
  const LegSide to_side = other(side);
  if (w.relay_answer_in_ack && isSdp(ack)) {
    transformSdp(c, side, false, ack.body(),
                 [this, to_side, relay = w.relay_cseq](Call& call, const std::string* sdp) {
                   if (!call.finished) sendAck(call, to_side, relay, sdp);
                 });
    return;
  }
  sendAck(c, to_side, w.relay_cseq, nullptr);
}

bool Engine::Impl::isRefresh(Call& c, const sip::Message& req, LegSide from) {
  Leg& x = c.leg(from);
  if (x.sdp.last_sent.empty()) return false;  // nothing of ours to answer with
  if (req.body().empty()) {
    // UPDATE without SDP is a pure refresh. A re-INVITE without SDP asks for
    // an offer, and its ACK may bring a new answer (a PBX reconnecting media
    // after a transfer): that one is relayed.
    return req.method() == sip::Method::Update;
  }
  if (!isSdp(req)) return false;
  auto parsed = SdpRewriter::parse(req.body());
  if (!parsed || !x.sdp.remote_seen) return false;
  const sdp::Origin o = parsed->origin();
  return o.sessionIdNumber().value_or(0) == x.sdp.remote_session &&
         o.sessionVersionNumber().value_or(0) == x.sdp.remote_version;
}

void Engine::Impl::answerRefresh(Call& c, txn::ServerTransaction& stx, const sip::Message& req,
                                 LegSide from) {
  Leg& x = c.leg(from);
  if (auto se = req.sessionExpires(); se.ok() && x.trunk && x.trunk->min_se > 0 &&
                                      se->delta < x.trunk->min_se &&
                                      hasToken(req, sip::HeaderId::Supported, "timer")) {
    sip::Message r = responseFor(x, req, 422);
    r.setHeader(sip::HeaderId::MinSE, std::to_string(x.trunk->min_se));
    stx.sendResponse(std::move(r));
    return;
  }
  if (auto contacts = req.contacts(); contacts.ok() && !contacts->empty()) {
    x.setRemoteTarget(contacts->front().uri.text);
  }
  if (req.header(sip::HeaderId::Supported))
    x.peer_timer = hasToken(req, sip::HeaderId::Supported, "timer");
  takeSessionExpiresFromRequest(x, req);
  sip::Message r = responseFor(x, req, 200);
  r.setHeader(sip::HeaderId::Contact, contactOf(x));
  addOurCapabilities(r, false);
  addSessionExpires(r, x, false);
  const bool invite = req.method() == sip::Method::Invite;
  if (invite || !req.body().empty()) r.setBody(x.sdp.last_sent, "application/sdp");
  ++stats.session_refreshes_answered;
  if (invite) {
    const txn::Destination dest = stx.responseDestination();
    std::string wire = r.serialize();
    stx.sendResponse(std::move(r));
    awaitAck(c, from, req.cseq()->number, std::move(wire), dest, false, 0, false);
  } else {
    stx.sendResponse(std::move(r));
  }
  armSessionTimer(c, from);
}

void Engine::Impl::sendBye(Call& c, LegSide side, std::string_view reason_header) {
  Leg& leg = c.leg(side);
  if (leg.remoteTarget().empty()) return;
  sip::Message bye = buildInDialogRequest(leg, sip::Method::Bye, ++leg.local_cseq,
                                          b2bua::makeBranch(config.shard), {}, productOf(leg));
  if (!reason_header.empty()) bye.setHeader(sip::HeaderId::Reason, reason_header);
  txn::SendResult r = layer.sendRequest(std::move(bye), leg.peer);
  if (!r.ok()) return;
  if (auto* t = layer.findClient(r.id)) t->setUserData(c.handle);
  Pending p;
  p.kind = PendingKind::Bye;
  p.from = side;
  p.method = sip::Method::Bye;
  p.client = r.id;
  c.pending.push_back(p);
}

}  // namespace sbc::b2bua

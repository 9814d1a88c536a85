// Call setup: the caller's INVITE, the B-leg attempts with failover, the
// responses of the B leg relayed to the caller, CANCEL and its races.
#include <spdlog/spdlog.h>

#include "sbc/b2bua/engine_impl.h"
#include "sbc/b2bua/numbers.h"
#include "sbc/b2bua/routing.h"
#include "sbc/txn/builders.h"

namespace sbc::b2bua {
namespace {

std::string_view userOf(const sip::Uri& uri) {
  return uri.user_number;
}

bool allDigits(std::string_view s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
}

// The caller as the target trunk expects it ("+E.164" or digits).
std::string callerFor(const RoutingDecision& rd, const sip::Message& invite, const cfg::Trunk& to) {
  std::string caller = rd.caller;
  if (caller.empty()) {
    auto from = invite.from();
    if (from.ok()) caller.assign(userOf(from->uri));
  }
  if (allDigits(caller)) caller = formatNumber(caller, to.numbers);
  return caller.empty() ? std::string("anonymous") : caller;
}

int q850Of(const sip::Message& m) {
  auto reasons = m.reasons();
  if (!reasons) return -1;
  for (const sip::Reason& r : *reasons) {
    if (sip::iequals(r.protocol, "Q.850")) return r.cause;
  }
  return -1;
}

}  // namespace

void Engine::Impl::onNewInvite(txn::ServerTransaction& stx, const sip::Message& req,
                               const cfg::Trunk& trunk) {
  const std::uint32_t mf = req.maxForwards().valueOr(70);
  if (mf <= 1) {
    reply(stx, nullptr, 483);
    return;
  }
  if (!req.body().empty() && !isSdp(req)) {
    sip::Message r = sip::makeResponse(req, 415, {}, b2bua::makeTag(config.shard));
    r.setHeader(sip::HeaderId::Accept, "application/sdp");
    stx.sendResponse(std::move(r));
    return;
  }
  auto contacts = req.contacts();
  if (!contacts.ok() || contacts->empty()) {
    reply(stx, nullptr, 400, "Missing Contact");
    return;
  }
  // RFC 4028 5: a Session-Expires below our minimum, from a UAC that
  // understands 422.
  if (auto se = req.sessionExpires(); se.ok() && trunk.min_se > 0 && se->delta < trunk.min_se &&
                                      hasToken(req, sip::HeaderId::Supported, "timer")) {
    sip::Message r = sip::makeResponse(req, 422, {}, b2bua::makeTag(config.shard));
    r.setHeader(sip::HeaderId::MinSE, std::to_string(trunk.min_se));
    stx.sendResponse(std::move(r));
    return;
  }

  auto owned = std::make_unique<Call>();
  Call& c = *owned;
  c.handle = next_handle++;
  calls.emplace(c.handle, std::move(owned));
  c.snapshot = snapshot;
  c.direction = trunk.kind == cfg::TrunkKind::Pbx ? Direction::Outbound : Direction::Inbound;
  c.channel_id = nextChannelId();
  c.started = timers.now();
  c.a_invite = stx.id();
  stx.setUserData(c.handle);
  c.a_invite_cseq = req.cseq()->number;
  c.a_max_forwards = static_cast<int>(mf);

  Leg& a = c.a;
  a.side = LegSide::A;
  a.setIdentity(*req.callId(), b2bua::makeTag(config.shard), req.from()->tag,
                nameAddrWithoutTag(*req.to()), nameAddrWithoutTag(*req.from()),
                contacts->front().uri.text);
  a.remote_cseq = c.a_invite_cseq;
  a.remote_cseq_known = true;
  if (auto rr = req.recordRoutes(); rr.ok()) a.setRoutes(*rr, false);
  a.peer = stx.peer();
  a.trunk = &trunk;
  a.listener = listenerByIndex(stx.peer().listener);
  if (!a.listener) a.listener = pickListener(trunk.realm, stx.peer().protocol);
  a.peer_100rel = hasToken(req, sip::HeaderId::Supported, "100rel") ||
                  hasToken(req, sip::HeaderId::Require, "100rel");
  c.a_requires_100rel = hasToken(req, sip::HeaderId::Require, "100rel");
  a.peer_timer = hasToken(req, sip::HeaderId::Supported, "timer");
  a.peer_update = hasToken(req, sip::HeaderId::Allow, "UPDATE");
  indexCallId(a.callId(), c.handle);
  if (trunk.sip_trace) enableTrace(c, true);

  c.record.inbound_trunk_id = trunk.id;
  c.record.direction = c.direction;
  c.record.start = wallNow();
  c.record.setTexts({{CdrDraft::kCallerIn, userOf(req.from()->uri)},
                     {CdrDraft::kCalleeIn, userOf(req.requestUri())}});
  ++stats.calls_total[static_cast<std::size_t>(c.direction)];
  ++stats.calls_active[static_cast<std::size_t>(c.direction)];

  if (RejectCause rc = limits.tryAcquire(trunk, c.direction, channelKey(c, LegSide::A));
      rc != RejectCause::None) {
    rejectNewCall(c, stx, trunk.limits.reject_code, {}, trunk.limits.reject_reason, "limit", rc);
    return;
  }
  c.a_channel = true;

  c.routing() = policy.route(req, trunk, *c.snapshot);
  c.record.setText(CdrDraft::kRoutingNumber, c.routing().routing_number);
  if (c.routing().targets.empty()) {
    const int code = c.routing().reject_code >= 300 ? c.routing().reject_code : 404;
    const RejectCause cause =
        c.routing().cause == RejectCause::None ? RejectCause::NoRoute : c.routing().cause;
    rejectNewCall(c, stx, code, c.routing().reject_reason, {}, "no-route", cause);
    return;
  }
  if (c.routing().direction != c.direction) {
    // The policy knows better than the trunk kind (e.g. PBX to PBX).
    --stats.calls_total[static_cast<std::size_t>(c.direction)];
    --stats.calls_active[static_cast<std::size_t>(c.direction)];
    c.direction = c.routing().direction;
    ++stats.calls_total[static_cast<std::size_t>(c.direction)];
    ++stats.calls_active[static_cast<std::size_t>(c.direction)];
  }
  c.record.direction = c.direction;

  negotiateASessionTimer(c, req);

  std::uint32_t ring = trunk.ring_timeout_seconds;
  if (const cfg::Trunk* t = c.routing().targets.front().trunk; t && t->ring_timeout_seconds > 0) {
    ring = ring == 0 ? t->ring_timeout_seconds : std::min(ring, t->ring_timeout_seconds);
  }
  if (ring == 0) ring = config.default_ring_timeout_seconds;
  arm(c, CallTimer::Ring, std::chrono::seconds(ring));

  // Our o= on the B leg carries our address in the first target's realm.
  if (const Target& t0 = c.routing().targets.front(); t0.trunk) {
    c.b.listener = pickListener(t0.trunk->realm, t0.protocol);
    c.b.trunk = t0.trunk;
  }
  if (isSdp(req)) {
    c.attempt.offer = true;
    transformSdp(c, LegSide::A, true, req.body(), [this](Call& call, const std::string* sdp) {
      if (call.finished) return;
      if (!sdp) {
        txn::ServerTransaction* s = layer.findServer(call.a_invite);
        if (s) {
          rejectNewCall(call, *s, 488, {}, {}, "media", RejectCause::None);
        } else {
          Ending e;
          e.reason = "media";
          finish(call, e, 488, {});
        }
        return;
      }
      startAttempt(call);
    });
  } else {
    startAttempt(c);
  }
}

void Engine::Impl::rejectNewCall(Call& c, txn::ServerTransaction& stx, int code,
                                 std::string_view phrase, std::string_view reason_hdr,
                                 std::string_view cdr_reason, RejectCause cause) {
  countRejection(cause);
  sip::Message r = responseFor(c.a, stx.request(), code, phrase);
  if (!reason_hdr.empty()) r.setHeader(sip::HeaderId::Reason, reason_hdr);
  stx.sendResponse(std::move(r));
  Ending e;
  e.by = EndedBy::Sbc;
  e.reason = cdr_reason;
  finish(c, e, code, phrase.empty() ? sip::defaultReasonPhrase(code) : phrase);
}

void Engine::Impl::startAttempt(Call& c) {
  const auto& targets = c.routing().targets;
  while (!c.finished && c.attempt.target < targets.size()) {
    const Target& t = targets[c.attempt.target];
    if (!t.trunk) {
      ++c.attempt.target;
      continue;
    }
    if (c.attempt.channel != t.trunk) {
      if (c.attempt.channel) limits.release(c.attempt.channel->id, channelKey(c, LegSide::B));
      c.attempt.channel = nullptr;
      if (RejectCause rc = limits.tryAcquire(*t.trunk, c.direction, channelKey(c, LegSide::B));
          rc != RejectCause::None) {
        // Over the limit on this trunk: overflow to the next target.
        countRejection(rc);
        c.limit_trunk = t.trunk;
        ++c.attempt.target;
        continue;
      }
      c.attempt.channel = t.trunk;
    }
    if (anchor && c.attempt.offer && c.b.trunk && c.b.trunk != t.trunk &&
        (c.b.trunk->realm != t.trunk->realm || c.b.trunk->media != t.trunk->media ||
         c.b.trunk->media_latch != t.trunk->media_latch)) {
      // The B-leg offer was anchored for a trunk in another realm or with
      // another media policy or latching rule (failover or overflow): anchor the caller's
      // offer again for this one (sbc/media re-creates the relay sessions).
      const txn::ServerTransaction* stx = layer.findServer(c.a_invite);
      const ListenerInfo* listener = pickListener(t.trunk->realm, t.protocol);
      if (stx && listener) {
        c.b.trunk = t.trunk;
        c.b.listener = listener;
        transformSdp(c, LegSide::A, true, stx->request().body(),
                     [this](Call& call, const std::string* sdp) {
                       if (call.finished) return;
                       if (sdp && sendBInvite(call, call.routing().targets[call.attempt.target])) {
                         return;
                       }
                       call.last_failure_code = sdp ? 503 : 488;
                       call.clearLastFailureReason();
                       call.all_timed_out = false;
                       ++call.attempt.target;
                       startAttempt(call);
                     });
        return;
      }
    }
    if (sendBInvite(c, t)) return;
    c.last_failure_code = 503;
    c.clearLastFailureReason();
    c.all_timed_out = false;
    ++c.attempt.target;
  }
  failCall(c);
}

bool Engine::Impl::sendBInvite(Call& c, const Target& t) {
  const txn::ServerTransaction* stx = layer.findServer(c.a_invite);
  if (!stx) return false;
  const sip::Message& a_req = stx->request();
  const ListenerInfo* listener = pickListener(t.trunk->realm, t.protocol);
  if (!listener) return false;

  // A fresh dialog for every attempt; only our SDP state on the B side stays
  // (each target sees one offer, so one o= for all of them is fine).
  LegSdp sdp = std::move(c.b.sdp);
  c.b = Leg{};
  c.b.sdp = std::move(sdp);
  Leg& b = c.b;
  b.side = LegSide::B;
  setBCallId(c, b2bua::makeCallId(config.shard));
  b.setLocalTag(b2bua::makeTag(config.shard));
  b.local_cseq = 1;
  b.trunk = t.trunk;
  if (!c.traced && t.trunk->sip_trace) enableTrace(c, true);
  b.listener = listener;
  b.peer = txn::Destination{t.protocol, t.host, t.port, 0, listener->index};
  b.peer.tls_profile = t.tls_profile;
  // A gateway named by DNS keeps its name in the URIs (the address is only
  // where the bytes go).
  const std::string& uri_host = t.uri_host.empty() ? t.host : t.uri_host;

  std::string built_target;
  std::string_view target = t.registered_contact;
  if (target.empty()) {
    built_target.reserve(5 + t.request_user.size() + uri_host.size() + 8 + 14);
    built_target.append("sip:").append(t.request_user).append("@");
    built_target.append(hostPort(uri_host, t.port)).append(transportUriParam(t.protocol));
    target = built_target;
  }
  const bool hide = privacyHidesIdentity(a_req) && t.trunk->headers.pai == cfg::PaiTrust::Untrusted;
  const std::string caller =
      hide ? std::string("anonymous") : callerFor(c.routing(), a_req, *t.trunk);
  std::string display;
  if (hide) {
    display = "\"Anonymous\" ";
  } else if (auto from = a_req.from(); from.ok() && !from->display_name.empty()) {
    display = "\"" + from->displayName() + "\" ";
    // displayName() resolves escapes; quote and backslash must not break out.
    for (std::size_t i = 1; i + 2 < display.size(); ++i) {
      if (display[i] == '"' || display[i] == '\\') display[i] = ' ';
    }
  }
  const std::string_view to_user =
      t.to_user.empty() ? std::string_view(t.request_user) : std::string_view(t.to_user);
  // Each name-addr built in one reserved string, and the target and both
  // name-addrs stored in one rebuild of the leg's identity block.
  std::string local_naddr;
  local_naddr.reserve(display.size() + 5 + caller.size() + 1 + listener->host.size() + 1);
  local_naddr.append(display).append("<sip:").append(caller).append("@");
  local_naddr.append(listener->host).append(">");
  std::string remote_naddr;
  remote_naddr.reserve(5 + to_user.size() + 1 + uri_host.size() + 1);
  remote_naddr.append("<sip:").append(to_user).append("@").append(uri_host).append(">");
  b.setIdentity(b.callId(), b.localTag(), {}, local_naddr, remote_naddr, target);

  sip::Message inv =
      buildInDialogRequest(b, sip::Method::Invite, b.local_cseq, b2bua::makeBranch(config.shard),
                           contactOf(b), {}, static_cast<std::uint32_t>(c.a_max_forwards - 1));
  addOurCapabilities(inv, config.offer_100rel);
  if (t.trunk->session_expires > 0) {
    b.st.interval = t.trunk->session_expires;
    b.st.we_refresh = true;
    addSessionExpires(inv, b, true);
  }
  const std::string_view ua = productOf(b);
  if (!ua.empty()) inv.setHeader(sip::HeaderId::UserAgent, ua);
  HeaderCopyOptions hco;
  hco.from = c.a.trunk;
  hco.to = t.trunk;
  hco.our_host = listener->host;
  copyPolicyHeaders(a_req, inv, hco);
  if (hide) inv.removeHeader(sip::HeaderId::PAssertedIdentity);
  if (c.attempt.offer) inv.setBody(b.sdp.last_sent, "application/sdp");

  txn::SendResult r = layer.sendRequest(std::move(inv), b.peer);
  if (!r.ok()) return false;
  if (txn::ClientTransaction* ctx = layer.findClient(r.id)) ctx->setUserData(c.handle);
  c.attempt.invite = r.id;
  c.attempt.sent = true;
  c.attempt.provisional = false;
  c.attempt.auth_retried = false;
  c.attempt.se_retried = false;
  c.attempt.last_rseq = 0;
  if (c.state == CallState::Routing) c.state = CallState::Trying;

  c.record.outbound_trunk_id = t.trunk->id;
  c.record.noteAttempt(caller, t.request_user, hostPort(t.host, t.port));

  disarm(c, CallTimer::Failover);
  if (c.attempt.target + 1 < c.routing().targets.size() && t.trunk->failover_timeout_ms > 0) {
    arm(c, CallTimer::Failover, std::chrono::milliseconds(t.trunk->failover_timeout_ms));
  }
  return true;
}

void Engine::Impl::nextTarget(Call& c) {
  disarm(c, CallTimer::Failover);
  if (c.finished) return;
  ++c.attempt.target;
  if (c.attempt.target < c.routing().targets.size()) ++stats.failovers;
  startAttempt(c);
}

void Engine::Impl::failCall(Call& c) {
  if (c.finished) return;
  int code;
  std::string phrase;
  std::string reason_hdr;
  Ending e;
  if (!c.record.anyGatewayTried() && c.limit_trunk) {
    // Every target was over its channel limit.
    code = c.limit_trunk->limits.reject_code;
    reason_hdr = c.limit_trunk->limits.reject_reason;
    e.by = EndedBy::Sbc;
    e.reason = "limit";
  } else if (c.last_failure_code != 0) {
    code = c.last_failure_code;
    phrase = c.lastFailureReason();
    reason_hdr = c.lastFailureReasonHdr();
    e.by = EndedBy::Callee;
    e.reason = "rejected";
  } else {
    code = c.all_timed_out ? 408 : 503;
    e.by = EndedBy::Sbc;
    e.reason = c.all_timed_out ? "timeout" : "failed";
  }
  if (txn::ServerTransaction* stx = layer.findServer(c.a_invite);
      stx && stx->state() == txn::TxnState::Proceeding) {
    sip::Message r = responseFor(c.a, stx->request(), code, phrase);
    if (!reason_hdr.empty()) r.setHeader(sip::HeaderId::Reason, reason_hdr);
    stx->sendResponse(std::move(r));
  }
  finish(c, e, code, phrase.empty() ? sip::defaultReasonPhrase(code) : std::string_view(phrase));
}

// ---- responses of the B-leg INVITE

void Engine::Impl::onBInviteResponse(Call& c, const ClientView& ctx, const sip::Message& rsp) {
  const int code = rsp.statusCode();
  if (code < 200) {
    onB1xx(c, ctx, rsp);
  } else if (code < 300) {
    onB2xx(c, ctx, rsp);
  } else {
    onBFailure(c, ctx, rsp);
  }
}

void Engine::Impl::updateDialogFromResponse(Leg& leg, const sip::Message& rsp) {
  if (auto to = rsp.to(); to.ok() && !to->tag.empty()) leg.setRemoteTag(to->tag);
  if (auto contacts = rsp.contacts(); contacts.ok() && !contacts->empty()) {
    leg.setRemoteTarget(contacts->front().uri.text);
  }
  // RFC 3261 12.1.2: the route set is the Record-Route in reverse order.
  if (auto rr = rsp.recordRoutes(); rr.ok()) {
    leg.setRoutes(*rr, true);
  } else {
    leg.setRoutes({}, true);
  }
  if (rsp.header(sip::HeaderId::Allow))
    leg.peer_update = hasToken(rsp, sip::HeaderId::Allow, "UPDATE");
  if (rsp.header(sip::HeaderId::Supported)) {
    leg.peer_timer = hasToken(rsp, sip::HeaderId::Supported, "timer");
    leg.peer_100rel = hasToken(rsp, sip::HeaderId::Supported, "100rel");
  }
}

void Engine::Impl::onB1xx(Call& c, const ClientView& ctx, const sip::Message& rsp) {
  c.attempt.provisional = true;
  disarm(c, CallTimer::Failover);
  const int code = rsp.statusCode();
  if (code == 100 || c.finished || c.cancelled) return;
  if (c.state == CallState::Answering || c.state == CallState::Confirmed) return;

  const bool reliable = hasToken(rsp, sip::HeaderId::Require, "100rel") && rsp.rseq().ok();
  auto to = rsp.to();
  if (to.ok() && !to->tag.empty()) updateDialogFromResponse(c.b, rsp);
  if (reliable) {
    const std::uint32_t rseq = *rsp.rseq();
    if (c.attempt.last_rseq != 0 && rseq <= c.attempt.last_rseq) return;  // retransmission
    c.attempt.last_rseq = rseq;
    // RFC 3262 7.2: PRACK it ourselves, inside B's early dialog.
    Leg& b = c.b;
    const std::uint32_t cseq = ++b.local_cseq;
    sip::Message pr = buildInDialogRequest(
        b, sip::Method::Prack, cseq, b2bua::makeBranch(config.shard), contactOf(b), productOf(b));
    pr.setHeader(sip::HeaderId::RAck,
                 std::to_string(rseq) + " " + std::to_string(rsp.cseq()->number) + " INVITE");
    txn::SendResult r = layer.sendRequest(std::move(pr), b.peer);
    if (r.ok()) {
      if (auto* t = layer.findClient(r.id)) t->setUserData(c.handle);
      Pending p;
      p.kind = PendingKind::Prack;
      p.from = LegSide::B;
      p.method = sip::Method::Prack;
      p.client = r.id;
      c.pending.push_back(p);
    }
  }
  if (isSdp(rsp)) {
    // The answer to our offer (or, with no offer in the INVITE, B's offer).
    const int status = code;
    std::string phrase(rsp.reasonPhrase());
    transformSdp(c, LegSide::B, !c.attempt.offer, rsp.body(),
                 [this, status, phrase](Call& call, const std::string* sdp) {
                   if (call.finished) return;
                   if (!sdp) {
                     Ending e;
                     e.reason = "media";
                     e.a_code = 488;
                     terminate(call, e);
                     return;
                   }
                   sendProvisionalToA(call, status, phrase, sdp);
                 });
  } else {
    sendProvisionalToA(c, code, rsp.reasonPhrase(), nullptr);
  }
  (void)ctx;
}

void Engine::Impl::sendProvisionalToA(Call& c, int code, std::string_view phrase,
                                      const std::string* sdp) {
  if (c.finished || c.cancelled || c.state >= CallState::Answering) return;
  txn::ServerTransaction* stx = layer.findServer(c.a_invite);
  if (!stx || stx->state() != txn::TxnState::Proceeding) return;
  sip::Message r = responseFor(c.a, stx->request(), code, phrase);
  r.setHeader(sip::HeaderId::Contact, contactOf(c.a));
  addOurCapabilities(r, true);
  if (sdp) r.setBody(*sdp, "application/sdp");
  if (c.record.ringing == CallRecord::Time{}) c.record.ringing = wallNow();
  c.state = CallState::Early;
  // RFC 3262: reliably when A requires it, or when A supports it and the
  // 18x carries SDP (early media needs it to arrive).
  const bool reliable = c.a_requires_100rel || (c.a.peer_100rel && sdp != nullptr);
  if (!reliable) {
    stx->sendResponse(std::move(r));
    return;
  }
  if (c.a_reliable) {
    // One unacknowledged reliable provisional at a time (RFC 3262 3).
    c.a_reliable_queued = std::move(r);
    return;
  }
  sendReliable(c, std::move(r));
}

void Engine::Impl::sendReliable(Call& c, sip::Message r) {
  txn::ServerTransaction* stx = layer.findServer(c.a_invite);
  if (!stx || stx->state() != txn::TxnState::Proceeding) return;
  if (c.a_rseq == 0) {
    c.a_rseq = static_cast<std::uint32_t>(randomU64() % 0x3fffffffU) + 1;  // RFC 3262 3: < 2^31
  } else {
    ++c.a_rseq;
  }
  r.setHeader(sip::HeaderId::Require, "100rel");
  r.setHeader(sip::HeaderId::RSeq, std::to_string(c.a_rseq));
  Reliable1xx rel;
  rel.rseq = c.a_rseq;
  rel.response = r;
  rel.interval = layer.timerConfig().t1;
  rel.started = timers.now();
  c.a_reliable = std::move(rel);
  stx->sendResponse(std::move(r));
  arm(c, CallTimer::Reliable1xx, c.a_reliable->interval);
}

void Engine::Impl::onB2xx(Call& c, const ClientView& ctx, const sip::Message& rsp) {
  auto to = rsp.to();
  const std::string_view tag = to.ok() ? to->tag : std::string_view{};
  Leg& b = c.b;
  if (b.confirmed) {
    if (tag == b.remoteTag()) {
      // Retransmission: our ACK got lost (or is still waiting for A's).
      if (!b.lastAck().empty() && b.last_ack_cseq == rsp.cseq()->number)
        layer.resendStateless(b.lastAck(), b.peer);
      return;
    }
    // RFC 3261 13.2.2.4: a 2xx from another fork. Keep the first dialog.
    ++stats.forked_2xx_released;
    ackAndBye(ctx.request, rsp, ctx.peer);
    return;
  }
  disarm(c, CallTimer::Failover);
  c.attempt.provisional = true;
  if (c.finished) {
    ackAndBye(ctx.request, rsp, ctx.peer);
    return;
  }
  if (c.cancelled) {
    // The 2xx crossed our CANCEL: the callee answered a call the caller had
    // already abandoned. Close it and tell A its INVITE was cancelled.
    ackAndBye(ctx.request, rsp, ctx.peer);
    completeCancel(c);
    return;
  }
  updateDialogFromResponse(b, rsp);
  b.confirmed = true;
  negotiateBSessionTimer(c, rsp);
  const std::uint32_t cseq = rsp.cseq()->number;
  const bool late_offer = !c.attempt.offer && isSdp(rsp);
  if (!late_offer) {
    // ACK for 2xx is end-to-end per leg: B gets ours right away.
    sendAck(c, LegSide::B, cseq, nullptr, &ctx.request);
  }
  const int code = rsp.statusCode();
  std::string phrase(rsp.reasonPhrase());
  if (isSdp(rsp)) {
    transformSdp(c, LegSide::B, late_offer, rsp.body(),
                 [this, code, phrase, late_offer, cseq](Call& call, const std::string* sdp) {
                   if (call.finished) return;
                   if (!sdp) {
                     Ending e;
                     e.reason = "media";
                     e.a_code = 488;
                     terminate(call, e);
                     return;
                   }
                   sendAnswerToA(call, code, phrase, sdp, late_offer ? cseq : 0);
                 });
  } else if (!c.a.sdp.last_sent.empty()) {
    // The answer came in an 18x: the 2xx repeats it (an unreliable 18x does
    // not count as the answer, RFC 3261 13.2.1), same o= version.
    const std::string again = c.a.sdp.last_sent;
    sendAnswerToA(c, code, phrase, &again, 0);
  } else {
    sendAnswerToA(c, code, phrase, nullptr, 0);
  }
}

void Engine::Impl::sendAnswerToA(Call& c, int code, std::string_view phrase, const std::string* sdp,
                                 std::uint32_t late_offer_cseq) {
  if (c.finished) return;
  txn::ServerTransaction* stx = layer.findServer(c.a_invite);
  if (!stx || stx->state() != txn::TxnState::Proceeding) {
    Ending e;
    e.reason = "caller-gone";
    e.bye_from = LegSide::A;
    terminate(c, e);
    return;
  }
  sip::Message r = responseFor(c.a, stx->request(), code, phrase);
  r.setHeader(sip::HeaderId::Contact, contactOf(c.a));
  addOurCapabilities(r, true);
  addSessionExpires(r, c.a, false);
  if (sdp) r.setBody(*sdp, "application/sdp");
  // A final response ends the reliable provisional retransmissions.
  c.a_reliable.reset();
  c.a_reliable_queued.reset();
  disarm(c, CallTimer::Reliable1xx);
  disarm(c, CallTimer::Ring);
  const txn::Destination dest = stx->responseDestination();
  // The 2xx is resent from its bytes until the ACK (rare: kept as text,
  // not as a second parsed Message).
  std::string wire = r.serialize();
  stx->sendResponse(std::move(r));
  c.a.confirmed = true;
  c.state = CallState::Answering;
  c.answered = timers.now();
  c.record.answer = wallNow();
  c.record.final_code = code;
  ++stats.calls_answered[static_cast<std::size_t>(c.direction)];
  // No failover after a 2xx: the alternatives are no longer needed.
  c.routing_decision.reset();
  c.attempt.target = 0;
  // With a late offer (B's 2xx carried it), B's ACK carries A's answer, so
  // it waits for A's ACK.
  awaitAck(c, LegSide::A, c.a_invite_cseq, std::move(wire), dest, true, late_offer_cseq,
           late_offer_cseq != 0);
  std::uint32_t max_s = 0;
  for (const cfg::Trunk* t : {c.a.trunk, c.b.trunk}) {
    if (t && t->max_call_seconds > 0)
      max_s = max_s == 0 ? t->max_call_seconds : std::min(max_s, t->max_call_seconds);
  }
  if (max_s == 0) max_s = config.default_max_call_seconds;
  if (max_s > 0) arm(c, CallTimer::MaxDuration, std::chrono::seconds(max_s));
  armSessionTimer(c, LegSide::A);
  armSessionTimer(c, LegSide::B);
}

void Engine::Impl::onBFailure(Call& c, const ClientView& ctx, const sip::Message& rsp) {
  const int code = rsp.statusCode();
  disarm(c, CallTimer::Failover);
  if (c.finished) return;
  if (c.cancelled) {
    completeCancel(c);
    return;
  }
  if ((code == 401 || code == 407) && !c.attempt.auth_retried) {
    sip::Message resend;
    if (retryWithCredentials(c, LegSide::B, ctx, rsp, resend)) {
      c.attempt.auth_retried = true;
      txn::SendResult r = layer.sendRequest(std::move(resend), c.b.peer);
      if (r.ok()) {
        if (auto* t = layer.findClient(r.id)) t->setUserData(c.handle);
        c.attempt.invite = r.id;
        c.attempt.provisional = false;
        return;
      }
    }
  }
  if (code == 422 && !c.attempt.se_retried) {
    // RFC 4028 7.4: retry with the callee's minimum.
    auto min = rsp.minSE();
    if (min.ok() && min->delta > 0) {
      c.attempt.se_retried = true;
      sip::Message resend = resendOf(c, LegSide::B, ctx.request);
      c.b.st.interval = std::max(c.b.st.interval, min->delta);
      resend.setHeader(sip::HeaderId::SessionExpires,
                       std::to_string(c.b.st.interval) + ";refresher=uac");
      resend.setHeader(sip::HeaderId::MinSE, std::to_string(min->delta));
      txn::SendResult r = layer.sendRequest(std::move(resend), c.b.peer);
      if (r.ok()) {
        if (auto* t = layer.findClient(r.id)) t->setUserData(c.handle);
        c.attempt.invite = r.id;
        return;
      }
    }
  }
  c.all_timed_out = false;
  bool failover = code == 408 || (code >= 500 && code < 600);
  int mapped = code;
  std::string phrase(rsp.reasonPhrase());
  if (code == 401 || code == 407) {
    // Never pass a carrier's challenge to the caller: the caller cannot and
    // must not answer it. Our own credentials failed (or are missing).
    mapped = c.attempt.auth_retried ? 403 : 503;
    phrase.clear();
    failover = true;
  } else if (code >= 300 && code < 400) {
    // No redirects into the inside: a 3xx is a plain failure.
    mapped = 480;
    phrase.clear();
  }
  c.last_failure_code = mapped;
  const auto* reason = rsp.header(sip::HeaderId::Reason);
  c.setLastFailure(phrase, reason ? std::string_view(reason->value) : std::string_view());
  if (int q = q850Of(rsp); q >= 0) c.record.q850_cause = q;
  if (failover && c.attempt.target + 1 < c.routing().targets.size()) {
    nextTarget(c);
    return;
  }
  failCall(c);
}

void Engine::Impl::onBInviteGone(Call& c, bool timed_out) {
  disarm(c, CallTimer::Failover);
  if (c.finished) return;
  if (c.cancelled) {
    completeCancel(c);
    return;
  }
  if (c.b.confirmed) return;
  if (timed_out) {
    c.last_failure_code = 0;
  } else {
    c.last_failure_code = 503;
    c.failure_text.clear();
    c.all_timed_out = false;
  }
  nextTarget(c);
}

// ---- CANCEL

void Engine::Impl::onCancel(txn::ServerTransaction& stx, const sip::Message& cancel) {
  txn::ServerTransaction* invite = layer.findInviteServerTransactionForCancel(cancel);
  if (!invite) {
    reply(stx, nullptr, 481);
    return;
  }
  Call* c = findCall(invite->userData());
  if (c && c->a_invite != invite->id()) {
    // A re-INVITE being relayed: cancel our copy on the other leg; its 487
    // comes back through the relay.
    const LegSide from = invite->callId() == c->a.callId() ? LegSide::A : LegSide::B;
    reply(stx, &c->leg(from), 200);
    for (const Pending& p : c->pending) {
      if (p.kind == PendingKind::Relay && p.server == invite->id()) layer.sendCancel(p.client);
    }
    return;
  }
  if (!c) {
    // An INVITE we already answered (or never made a call of).
    reply(stx, nullptr, 200);
    return;
  }
  stx.setUserData(c->handle);
  reply(stx, &c->a, 200);
  if (c->finished || c->cancelled || c->state >= CallState::Answering)
    return;  // too late: no effect
  c->cancelled = true;
  if (int q = q850Of(cancel); q >= 0) c->record.q850_cause = q;
  if (!c->attempt.sent || c->state == CallState::Routing) {
    completeCancel(*c);
    return;
  }
  disarm(*c, CallTimer::Failover);
  // Before any 1xx the layer holds the CANCEL back until one arrives (RFC
  // 3261 9.1); if B never answers at all, the Cancel timer answers A.
  layer.sendCancel(c->attempt.invite);
  arm(*c, CallTimer::Cancel, std::chrono::milliseconds(timerMs(config.cancel_timeout)));
}

void Engine::Impl::completeCancel(Call& c) {
  if (c.finished) return;
  if (txn::ServerTransaction* stx = layer.findServer(c.a_invite);
      stx && stx->state() == txn::TxnState::Proceeding) {
    stx->sendResponse(responseFor(c.a, stx->request(), 487));
  }
  if (c.attempt.invite && !c.b.confirmed) layer.sendCancel(c.attempt.invite);
  Ending e;
  e.by = EndedBy::Caller;
  e.reason = "cancel";
  finish(c, e, 487, sip::defaultReasonPhrase(487));
}

// ---- helpers shared with the dialog code

sip::Message Engine::Impl::resendOf(Call& c, LegSide side, const sip::Message& request) {
  Leg& leg = c.leg(side);
  sip::Message m = request;
  const std::uint32_t cseq = ++leg.local_cseq;
  m.setHeader(sip::HeaderId::CSeq, std::to_string(cseq) + " " + std::string(request.methodText()));
  m.removeFirstValue(sip::HeaderId::Via);
  if (leg.listener)
    m.prependHeader(sip::HeaderId::Via,
                    viaValue(*leg.listener, leg.peer.protocol, b2bua::makeBranch(config.shard)));
  return m;
}

bool Engine::Impl::retryWithCredentials(Call& c, LegSide side, const ClientView& ctx,
                                        const sip::Message& rsp, sip::Message& resend) {
  Leg& leg = c.leg(side);
  if (!leg.trunk) return false;
  const cfg::Credentials* cred = policy.credentialsFor(*leg.trunk);
  if (!cred || !cred->present()) return false;
  const bool proxy = rsp.statusCode() == 407;
  auto headers =
      rsp.auth(proxy ? sip::HeaderId::ProxyAuthenticate : sip::HeaderId::WWWAuthenticate);
  if (!headers.ok()) return false;
  auto challenge = pickChallenge(*headers);
  if (!challenge) return false;
  if (!leg.auth) leg.auth = std::make_unique<DigestState>();
  DigestState& auth = *leg.auth;
  // RFC 7616 3.4: the nonce count goes up with every use of the same nonce.
  if (auth.challenge && auth.challenge->nonce == challenge->nonce) {
    ++auth.nc;
  } else {
    auth.nc = 1;
  }
  auth.challenge = *challenge;
  auth.proxy = proxy;
  resend = resendOf(c, side, ctx.request);
  char cnonce[17];
  std::snprintf(cnonce, sizeof cnonce, "%016llx", static_cast<unsigned long long>(randomU64()));
  DigestInput in;
  in.method = resend.methodText();
  in.uri = resend.requestUriText();
  in.body = resend.body();
  in.nc = auth.nc;
  in.cnonce = cnonce;
  resend.setHeader(proxy ? sip::HeaderId::ProxyAuthorization : sip::HeaderId::Authorization,
                   digestAuthorization(*challenge, *cred, in));
  ++stats.auth_retries;
  return true;
}

void Engine::Impl::ackAndBye(const sip::Message& invite, const sip::Message& response,
                             const txn::Destination& to) {
  auto via = invite.topVia();
  auto cid = response.callId();
  auto cseq = response.cseq();
  const auto* from = invite.header(sip::HeaderId::From);
  const auto* to_h = response.header(sip::HeaderId::To);
  if (!via.ok() || !cid.ok() || !cseq.ok() || !from || !to_h) return;
  std::string target(invite.requestUriText());
  if (auto contacts = response.contacts(); contacts.ok() && !contacts->empty()) {
    target.assign(contacts->front().uri.text);
  }
  auto build = [&](sip::Method method, std::uint32_t number) {
    auto created = sip::Message::createRequest(method, target);
    if (!created.ok()) created = sip::Message::createRequest(method, invite.requestUriText());
    sip::Message m = std::move(created).value();
    std::string v = "SIP/2.0/";
    v.append(via->transport_text);
    v.push_back(' ');
    v.append(via->has_port ? hostPort(via->host, via->port) : std::string(via->host));
    v.append(";branch=").append(b2bua::makeBranch(config.shard)).append(";rport");
    m.addHeader(sip::HeaderId::Via, v);
    m.addHeader(sip::HeaderId::MaxForwards, "70");
    if (auto rr = response.recordRoutes(); rr.ok()) {
      for (auto it = rr->rbegin(); it != rr->rend(); ++it)
        m.addHeader(sip::HeaderId::Route, it->text);
    }
    m.addHeader(sip::HeaderId::From, from->value);
    m.addHeader(sip::HeaderId::To, to_h->value);
    m.addHeader(sip::HeaderId::CallId, *cid);
    m.addHeader(sip::HeaderId::CSeq,
                std::to_string(number) + " " + std::string(sip::methodName(method)));
    return m;
  };
  layer.sendStateless(build(sip::Method::Ack, cseq->number), to);
  sip::Message bye = build(sip::Method::Bye, cseq->number + 1);
  if (!config.product.empty()) bye.setHeader(sip::HeaderId::UserAgent, config.product);
  layer.sendRequest(std::move(bye), to);
}

void Engine::Impl::sendAck(Call& c, LegSide side, std::uint32_t cseq, const std::string* sdp,
                           const sip::Message* invite) {
  Leg& leg = c.leg(side);
  sip::Message ack =
      buildInDialogRequest(leg, sip::Method::Ack, cseq, b2bua::makeBranch(config.shard), {}, {});
  if (invite) {
    // RFC 3261 22.1: the ACK for a 2xx carries the INVITE's credentials.
    if (const auto* h = invite->header(sip::HeaderId::Authorization))
      ack.setHeader(h->id, h->value);
    if (const auto* h = invite->header(sip::HeaderId::ProxyAuthorization))
      ack.setHeader(h->id, h->value);
  }
  if (sdp) ack.setBody(*sdp, "application/sdp");
  const std::string wire = ack.serialize();
  leg.setLastAck(wire);
  layer.sendStateless(ack, leg.lastAck(), leg.peer);
  leg.last_ack_cseq = cseq;
}

}  // namespace sbc::b2bua

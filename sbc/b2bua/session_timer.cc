// RFC 4028 session timers, kept per leg: each dialog negotiates its own
// interval and refresher, and the SBC refreshes (or watches) each one on its
// own. A leg whose session expires ends the whole call.
#include <spdlog/spdlog.h>

#include "sbc/b2bua/engine_impl.h"

namespace sbc::b2bua {

void Engine::Impl::negotiateASessionTimer(Call& c, const sip::Message& invite) {
  Leg& a = c.a;
  const std::uint32_t min_se = a.trunk ? a.trunk->min_se : 90;
  if (auto se = invite.sessionExpires(); se.ok() && se->delta > 0) {
    a.st.interval = std::max(se->delta, min_se);
    switch (se->refresher) {
      case sip::Refresher::Uac:
        a.st.we_refresh = false;
        break;
      case sip::Refresher::Uas:
        a.st.we_refresh = true;
        break;
      // RFC 4028 9: the UAS picks; the caller if it can, else us.
      case sip::Refresher::None:
        a.st.we_refresh = !a.peer_timer;
        break;
    }
    return;
  }
  if (a.trunk && a.trunk->session_expires > 0) {
    // The caller asked for nothing: we still watch the dialog by refreshing
    // it ourselves (a keepalive that notices a vanished PBX).
    a.st.interval = a.trunk->session_expires;
    a.st.we_refresh = true;
    return;
  }
  a.st.interval = 0;
}

void Engine::Impl::negotiateBSessionTimer(Call& c, const sip::Message& response) {
  takeSessionExpiresFromResponse(c.b, response);
}

void Engine::Impl::takeSessionExpiresFromResponse(Leg& leg, const sip::Message& rsp) {
  if (auto se = rsp.sessionExpires(); se.ok() && se->delta > 0) {
    leg.st.interval = se->delta;
    // We sent the request: refresher=uac (or none) is us.
    leg.st.we_refresh = se->refresher != sip::Refresher::Uas;
    return;
  }
  // No Session-Expires in the 2xx: the peer does not do timers; keep our
  // interval (if any) and refresh it ourselves.
  if (leg.st.interval > 0) leg.st.we_refresh = true;
}

void Engine::Impl::takeSessionExpiresFromRequest(Leg& leg, const sip::Message& req) {
  auto se = req.sessionExpires();
  if (!se.ok() || se->delta == 0) return;  // keep what we had
  const std::uint32_t min_se = leg.trunk ? leg.trunk->min_se : 90;
  leg.st.interval = std::max(se->delta, min_se);
  switch (se->refresher) {
    case sip::Refresher::Uac:
      leg.st.we_refresh = false;
      break;
    case sip::Refresher::Uas:
      leg.st.we_refresh = true;
      break;
    case sip::Refresher::None:
      leg.st.we_refresh = !leg.peer_timer;
      break;
  }
}

void Engine::Impl::addSessionExpires(sip::Message& m, const Leg& leg, bool in_request) const {
  if (leg.st.interval == 0) return;
  std::string v = std::to_string(leg.st.interval);
  if (in_request) {
    v += leg.st.we_refresh ? ";refresher=uac" : ";refresher=uas";
    m.setHeader(sip::HeaderId::SessionExpires, v);
    if (leg.trunk && leg.trunk->min_se > 0)
      m.setHeader(sip::HeaderId::MinSE, std::to_string(leg.trunk->min_se));
    return;
  }
  // In a response the header is only meaningful to a peer that supports
  // timers; then it must be required (RFC 4028 9).
  if (!leg.peer_timer) return;
  v += leg.st.we_refresh ? ";refresher=uas" : ";refresher=uac";
  m.setHeader(sip::HeaderId::SessionExpires, v);
  m.setHeader(sip::HeaderId::Require, "timer");
}

void Engine::Impl::armSessionTimer(Call& c, LegSide side) {
  const CallTimer which = side == LegSide::A ? CallTimer::SessionA : CallTimer::SessionB;
  disarm(c, which);
  const Leg& leg = c.leg(side);
  if (c.finished || leg.st.interval == 0 || !leg.confirmed) return;
  const std::uint32_t s = leg.st.interval;
  if (leg.st.we_refresh) {
    arm(c, which, std::chrono::milliseconds(std::uint64_t{s} * 500));  // half the interval
  } else {
    // RFC 4028 10: BYE before the session expires, min(32, s/3) early.
    const std::uint32_t early = std::min<std::uint32_t>(32, s / 3);
    arm(c, which, std::chrono::seconds(s - early));
  }
}

void Engine::Impl::onSessionTimer(Call& c, LegSide side) {
  if (c.finished) return;
  Leg& leg = c.leg(side);
  if (leg.st.we_refresh) {
    sendRefresh(c, side);
    return;
  }
  spdlog::info("call {}: session of leg {} expired without refresh", c.handle, toString(side));
  Ending e;
  e.by = EndedBy::Sbc;
  e.reason = "session-timer";
  e.reason_header = "SIP;cause=408;text=\"Session expired\"";
  terminate(c, e);
}

void Engine::Impl::sendRefresh(Call& c, LegSide side) {
  if (c.finished) return;
  Leg& leg = c.leg(side);
  const CallTimer which = side == LegSide::A ? CallTimer::SessionA : CallTimer::SessionB;
  if (c.offerInProgressOn(side) || c.media_busy || leg.st.refresh_in_flight) {
    arm(c, which, std::chrono::seconds(2));
    return;
  }
  const sip::Method method = leg.peer_update ? sip::Method::Update : sip::Method::Invite;
  sip::Message out =
      buildInDialogRequest(leg, method, ++leg.local_cseq, b2bua::makeBranch(config.shard),
                           contactOf(leg), productOf(leg));
  addOurCapabilities(out, false);
  const bool keep = leg.st.we_refresh;
  leg.st.we_refresh = true;  // we send it: refresher=uac
  addSessionExpires(out, leg, true);
  leg.st.we_refresh = keep;
  if (method == sip::Method::Invite && !leg.sdp.last_sent.empty()) {
    // The same SDP, same o= version: nothing to renegotiate.
    out.setBody(leg.sdp.last_sent, "application/sdp");
  }
  txn::SendResult r = layer.sendRequest(std::move(out), leg.peer);
  if (!r.ok()) {
    armSessionTimer(c, side);
    return;
  }
  if (auto* t = layer.findClient(r.id)) t->setUserData(c.handle);
  Pending p;
  p.kind = PendingKind::Refresh;
  p.from = side;
  p.method = method;
  p.client = r.id;
  p.offer_in_request = method == sip::Method::Invite;
  c.pending.push_back(p);
  leg.st.refresh_in_flight = true;
}

}  // namespace sbc::b2bua

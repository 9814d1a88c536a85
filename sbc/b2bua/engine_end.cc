// How calls end (exactly once, whatever ends them), the CDR, and the
// plumbing that lets media anchoring complete asynchronously.
#include <spdlog/spdlog.h>

#include <atomic>
#include <utility>

#include "sbc/b2bua/engine_impl.h"

namespace sbc::b2bua {

void Engine::Impl::terminate(Call& c, const Ending& e) {
  if (c.finished) return;
  const bool answered_a = c.state == CallState::Answering || c.state == CallState::Confirmed;
  if (!answered_a) {
    if (txn::ServerTransaction* stx = layer.findServer(c.a_invite);
        stx && stx->state() == txn::TxnState::Proceeding) {
      sip::Message r = responseFor(c.a, stx->request(), e.a_code, e.a_phrase);
      if (!e.reason_header.empty() && e.a_code != 487)
        r.setHeader(sip::HeaderId::Reason, e.reason_header);
      stx->sendResponse(std::move(r));
    }
  } else if (e.bye_from != LegSide::A) {
    sendBye(c, LegSide::A, e.reason_header);
  }
  if (c.b.confirmed) {
    if (e.bye_from != LegSide::B) sendBye(c, LegSide::B, e.reason_header);
  } else if (c.attempt.invite) {
    // Still ringing: CANCEL (held back by the layer until B's first 1xx); a
    // 2xx crossing it is ACKed and BYEd when it arrives.
    layer.sendCancel(c.attempt.invite);
  }
  const int code = answered_a ? 200 : e.a_code;
  finish(c, e, code, answered_a ? std::string_view("OK") : e.a_phrase);
}

void Engine::Impl::finish(Call& c, const Ending& e, int final_code, std::string_view final_phrase) {
  if (c.finished) return;
  c.finished = true;
  // Exactly once: the flags go down here and nowhere else.
  if (c.a_channel && c.a.trunk) limits.release(c.a.trunk->id, channelKey(c, LegSide::A));
  c.a_channel = false;
  if (c.attempt.channel) limits.release(c.attempt.channel->id, channelKey(c, LegSide::B));
  c.attempt.channel = nullptr;
  if (anchor) anchor->release(c.handle);

  for (std::size_t i = 0; i < c.timers.size(); ++i) disarm(c, static_cast<CallTimer>(i));
  c.media_busy = false;
  c.media_wait.reset();
  c.a_reliable.reset();
  c.a_reliable_queued.reset();
  c.await_ack.reset();

  const bool answered = c.answered != txn::TimePoint{};
  const CdrDraft& d = c.record;
  CallRecord r;
  r.start = d.start;
  r.ringing = d.ringing;
  r.answer = d.answer;
  r.inbound_trunk_id = d.inbound_trunk_id;
  r.outbound_trunk_id = d.outbound_trunk_id;
  r.direction = d.direction;
  r.q850_cause = d.q850_cause;
  r.caller_in = d.text(CdrDraft::kCallerIn);
  r.callee_in = d.text(CdrDraft::kCalleeIn);
  r.caller_out = d.text(CdrDraft::kCallerOut);
  r.callee_out = d.text(CdrDraft::kCalleeOut);
  r.routing_number = d.text(CdrDraft::kRoutingNumber);
  for (std::string_view gws = d.text(CdrDraft::kGatewaysTried); !gws.empty();) {
    const std::size_t nl = gws.find('\n');
    r.gateways_tried.emplace_back(gws.substr(0, nl));
    gws.remove_prefix(nl == std::string_view::npos ? gws.size() : nl + 1);
  }
  r.end = wallNow();
  r.final_code = answered ? 200 : final_code;
  r.final_reason =
      answered
          ? "OK"
          : std::string(final_phrase.empty() ? sip::defaultReasonPhrase(final_code) : final_phrase);
  r.ended_by = e.by;
  r.ended_reason = std::string(e.reason);
  if (e.q850 >= 0) r.q850_cause = e.q850;
  r.failover_attempts =
      r.gateways_tried.empty() ? 0 : static_cast<std::uint32_t>(r.gateways_tried.size() - 1);
  // Filled only now: the legs hold these for the call's life anyway.
  r.call_handle = c.handle;
  r.a_call_id = c.a.callId();
  r.b_call_id = c.b.callId();
  if (c.a.trunk) r.inbound_trunk = c.a.trunk->name;
  if (c.b.trunk) r.outbound_trunk = c.b.trunk->name;

  const auto dir = static_cast<std::size_t>(c.direction);
  if (stats.calls_active[dir] > 0) --stats.calls_active[dir];
  if (!answered) ++stats.calls_failed[dir];

  c.state = CallState::Ending;
  if (sink) sink(std::move(r));
  c.record = CdrDraft{};
  // An answered call lingers to answer a crossing BYE (200, not 481) and
  // our BYE's challenges: T4, then T4 more at a time while a BYE of ours is
  // still unanswered, up to 64*T1 (onCallTimer). Its transactions absorb
  // retransmissions on their own for their full 64*T1. It used to linger
  // 64*T1 whatever happened: at 3,000 calls/s that kept ~96,000 ended calls'
  // state (a third of the ~6 KB an ended call holds with its transactions)
  // and their memory was reused cold. One never answered goes at once (a
  // caller retrying with the same Call-ID must not be taken for a merged
  // request).
  const auto linger = answered ? layer.timerConfig().t4 : txn::Duration::zero();
  arm(c, CallTimer::Linger, linger);
}

void Engine::Impl::eraseCall(CallHandle h) {
  auto it = calls.find(h);
  if (it == calls.end()) return;
  Call& c = *it->second;
  if (c.traced) --traced_calls;
  for (std::size_t i = 0; i < c.timers.size(); ++i) disarm(c, static_cast<CallTimer>(i));
  unindexCallId(c.a.callId(), h);
  unindexCallId(c.b.callId(), h);
  calls.erase(it);
}

void Engine::Impl::setBCallId(Call& c, std::string_view call_id) {
  unindexCallId(c.b.callId(), c.handle);
  c.b.setCallId(call_id);
  indexCallId(c.b.callId(), c.handle);
}

void Engine::Impl::indexCallId(std::string_view call_id, CallHandle h) {
  if (!call_id.empty()) by_call_id.emplace(std::hash<std::string_view>{}(call_id), h);
}

void Engine::Impl::unindexCallId(std::string_view call_id, CallHandle h) {
  if (call_id.empty()) return;
  auto [first, last] = by_call_id.equal_range(std::hash<std::string_view>{}(call_id));
  for (auto m = first; m != last; ++m) {
    if (m->second == h) {
      by_call_id.erase(m);
      return;
    }
  }
}

std::string Engine::Impl::channelKey(const Call& c, LegSide side) {
  std::string key(7, '\0');
  for (int i = 0; i < 6; ++i) key[i] = static_cast<char>((c.channel_id >> (8 * i)) & 0xff);
  key[6] = side == LegSide::A ? 'a' : 'b';
  return key;
}

std::uint64_t Engine::Impl::nextChannelId() {
  // Process-wide: engines of several SIP threads share one ChannelLimits.
  static std::atomic<std::uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

// ---- media

void Engine::Impl::transformSdp(Call& c, LegSide from, bool offer, std::string_view body,
                                SdpThen then) {
  if (c.media_busy) {
    c.mediaWait().deferred.push_back([this, h = c.handle, from, offer, copy = std::string(body),
                                      then = std::move(then)]() mutable {
      if (Call* cc = findCall(h)) transformSdp(*cc, from, offer, copy, std::move(then));
    });
    return;
  }
  Leg& in = c.leg(from);
  Leg& out = c.leg(other(from));
  auto parsed = SdpRewriter::parse(body);
  if (!parsed) {
    then(c, nullptr);
    return;
  }
  SdpRewriter::noteReceived(*parsed, in.sdp);
  if (!anchor) {
    const std::string& s = SdpRewriter::rewrite(std::move(*parsed), out.sdp, ourHost(out));
    then(c, &s);
    return;
  }
  c.media_busy = true;
  c.media_out = other(from);
  c.mediaWait().then = std::move(then);
  const std::uint64_t op = ++c.media_op;
  arm(c, CallTimer::Anchor, config.anchor_timeout);
  MediaAnchor::Continuation done = [this, h = c.handle, op](const MediaResult& result) {
    Call* cc = findCall(h);
    if (!cc || !cc->media_busy || cc->media_op != op) return;  // ended, or timed out
    completeMedia(*cc, &result);
  };
  auto legOf = [](const Leg& l) {
    MediaLeg m;
    if (l.trunk) {
      m.realm = l.trunk->realm;
      m.policy = l.trunk->media;
      m.latch = l.trunk->media_latch;
    } else if (l.listener) {
      m.realm = l.listener->realm;
    }
    return m;
  };
  anchor->setLegs(c.handle, legOf(c.a), legOf(c.b));
  std::string copy(body);
  if (offer) {
    anchor->anchorOffer(c.handle, from, std::move(copy), std::move(done));
  } else {
    anchor->anchorAnswer(c.handle, from, std::move(copy), std::move(done));
  }
}

void Engine::Impl::completeMedia(Call& c, const MediaResult* result) {
  c.media_busy = false;
  disarm(c, CallTimer::Anchor);
  SdpThen then;
  if (c.media_wait) then = std::exchange(c.media_wait->then, nullptr);
  const std::string* out = nullptr;
  if (result && result->ok) {
    if (auto parsed = SdpRewriter::parse(result->sdp)) {
      Leg& leg = c.leg(c.media_out);
      out = &SdpRewriter::rewrite(std::move(*parsed), leg.sdp, ourHost(leg));
    }
  }
  if (then) then(c, out);
  runDeferred(c);
}

bool Engine::Impl::deferIfBusy(Call& c, std::function<void()> event) {
  if (!c.media_busy) return false;
  c.mediaWait().deferred.push_back(std::move(event));
  return true;
}

void Engine::Impl::runDeferred(Call& c) {
  while (!c.media_busy && c.media_wait && !c.media_wait->deferred.empty() && !c.finished) {
    std::function<void()> fn = std::move(c.media_wait->deferred.front());
    c.media_wait->deferred.erase(c.media_wait->deferred.begin());
    fn();
  }
  // Nothing waits any more: give the memory back for the rest of the call.
  if (!c.media_busy && c.media_wait && c.media_wait->deferred.empty() && !c.media_wait->then) {
    c.media_wait.reset();
  }
}

}  // namespace sbc::b2bua

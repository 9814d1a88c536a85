#pragma once
// Every SDP offer and answer crossing the B2BUA passes through here.
//
// SdpRewriter: per-leg o= ownership. The far leg never sees the other side's
// o= username, session id or address: on each leg the SBC is the session's
// originator with its own session id and a version that increases only when
// the SDP it sends on that leg changes (RFC 3264 8; a refresh with the same
// content keeps the version, so peers do not renegotiate for nothing).
//
// MediaAnchor: the hook through which a media relay rewrites c=/m= to its own
// addresses. The relay is another process, so anchoring completes
// ASYNCHRONOUSLY: the engine hands over the SDP with a continuation and
// forwards the message when the continuation runs (on the SIP thread).
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "sbc/config/snapshot.h"
#include "sbc/sdp/sdp.h"

namespace sbc::b2bua {

enum class LegSide : std::uint8_t { A, B };  // A: towards the caller, B: towards the callee
inline LegSide other(LegSide s) {
  return s == LegSide::A ? LegSide::B : LegSide::A;
}
std::string_view toString(LegSide s);

// The engine's handle of a call (unique per engine, never reused).
using CallHandle = std::uint64_t;

// SDP state of one leg, kept once per leg (not per message).
struct LegSdp {
  std::uint64_t session_id = 0;  // our o= session id on this leg (0: not chosen yet)
  std::uint64_t version = 0;     // our o= version on this leg
  std::string last_sent;         // what we last sent on this leg (refreshes re-send it)
  // The o= last received from this leg's peer (to recognise a refresh).
  std::uint64_t remote_session = 0;
  std::uint64_t remote_version = 0;
  bool remote_seen = false;
};

class SdpRewriter {
 public:
  // Parses an SDP received from a peer (leniently: PBXs send sloppy SDP).
  // nullopt when it does not parse at all: the caller answers 488.
  static std::optional<sdp::SessionDescription> parse(std::string_view body);

  // Records the o= of an SDP received on a leg. Returns true when session id
  // and version equal the previous SDP from that peer (RFC 3264 8: an
  // unchanged SDP, as in a session refresh).
  static bool noteReceived(const sdp::SessionDescription& sdp, LegSdp& leg);

  // Rewrites `sdp` for sending on a leg: o= becomes "- <our id> <version> IN
  // IP4|IP6 <our_address>", the version bumped only if the result differs
  // from what this leg last got. Stores and returns the body.
  static const std::string& rewrite(sdp::SessionDescription sdp, LegSdp& leg,
                                    std::string_view our_address);
  // The same through the SDP library's mutators (setOrigin, setSessionName,
  // serialize): what rewrite() does for an SDP lacking s= or t= or with
  // several o=; public so that tests can hold the fast path to it.
  static const std::string& rewriteByEdits(sdp::SessionDescription sdp, LegSdp& leg,
                                           std::string_view our_address);
};

// ---- Media anchoring hook (optional; the engine works without it).
struct MediaResult {
  bool ok = true;   // false: the relay refused or failed (the engine answers 488/500)
  std::string sdp;  // the SDP to send on the other leg (c=/m= of the relay)
};

// What an anchor needs to know of each leg: the realm (which relay address
// faces that side) and the trunk's media policy (SRTP or not).
struct MediaLeg {
  std::string_view realm;  // "inside" / "outside"; empty when not known yet
  cfg::MediaPolicy policy = cfg::MediaPolicy::Rtp;
  cfg::MediaLatch latch = cfg::MediaLatch::Strict;  // the trunk's relay latching rule
};

class MediaAnchor {
 public:
  // Must be invoked exactly once, on the engine's SIP thread, either from
  // inside the call below or later (e.g. when the relay answers).
  using Continuation = std::function<void(MediaResult)>;

  virtual ~MediaAnchor() = default;
  // Called before every anchorOffer/anchorAnswer with the legs as they are
  // then (the B leg's trunk is the current target's). Views valid for the call.
  virtual void setLegs(CallHandle call, const MediaLeg& a, const MediaLeg& b) {}
  // An offer received on leg `from`, to be sent on the other leg.
  virtual void anchorOffer(CallHandle call, LegSide from, std::string sdp, Continuation done) = 0;
  // The answer received on leg `from` to an offer anchored before.
  virtual void anchorAnswer(CallHandle call, LegSide from, std::string sdp, Continuation done) = 0;
  // The call is over: free its relay session. Pending continuations may still
  // run; the engine ignores them.
  virtual void release(CallHandle call) = 0;
};

}  // namespace sbc::b2bua

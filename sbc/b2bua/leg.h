#pragma once
// One dialog of a call (internal to the engine): the A leg towards the
// caller, or the B leg towards the callee. Each leg is a complete dialog of
// its own (RFC 3261 12): Call-ID, tags, CSeq spaces, route set, remote
// target, our Contact in that leg's realm, where its requests go, and the
// per-leg state of the RFCs the engine implements per leg (SDP o= ownership,
// session timer, digest nonce count, reliable provisionals).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sbc/b2bua/digest_client.h"
#include "sbc/b2bua/sdp_rewriter.h"
#include "sbc/config/snapshot.h"
#include "sbc/sip/message.h"
#include "sbc/txn/timer_service.h"
#include "sbc/txn/types.h"

namespace sbc::b2bua {

struct ListenerInfo;

// RFC 4028 state of one leg.
struct SessionTimerState {
  std::uint32_t interval = 0;  // seconds; 0: no session timer on this leg
  bool we_refresh = false;     // we send the refreshes (else we watch for them)
  bool refresh_in_flight = false;
  txn::TimerHandle timer;  // next refresh (we_refresh) or expiry
};

// The last digest challenge of this leg's peer, reused for later requests.
struct DigestState {
  std::optional<DigestChallenge> challenge;
  bool proxy = false;  // 407 (Proxy-Authorization) rather than 401
  std::uint32_t nc = 0;
};

struct Leg {
  LegSide side = LegSide::A;

  // ---- dialog identity (RFC 3261 12.1)
  std::string call_id;
  std::string local_tag;     // ours
  std::string remote_tag;    // the peer's (empty until it answers on a B leg)
  std::string local_naddr;   // our From/To value on this leg, without tag
  std::string remote_naddr;  // the peer's From/To value, without tag
  std::uint32_t local_cseq = 0;
  std::uint32_t remote_cseq = 0;
  bool remote_cseq_known = false;
  std::vector<std::string> route_set;  // Route values in the order we send them
  std::string remote_target;           // the peer's Contact URI
  bool confirmed = false;              // a 2xx established the dialog

  // ---- where and how we talk to the peer
  txn::Destination peer;
  const cfg::Trunk* trunk = nullptr;
  const ListenerInfo* listener = nullptr;
  bool peer_100rel = false;  // Supported/Require: 100rel
  bool peer_timer = false;   // Supported: timer
  bool peer_update = false;  // Allow: UPDATE

  LegSdp sdp;
  SessionTimerState st;
  std::unique_ptr<DigestState> auth;  // only once the peer has challenged us

  // The ACK we sent for the peer's last 2xx (B side, or an A-leg re-INVITE),
  // re-sent when that 2xx is retransmitted.
  std::optional<sip::Message> last_ack;
  std::uint32_t last_ack_cseq = 0;
};

}  // namespace sbc::b2bua

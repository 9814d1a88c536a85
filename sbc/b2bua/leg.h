#pragma once
// One dialog of a call (internal to the engine): the A leg towards the
// caller, or the B leg towards the callee. Each leg is a complete dialog of
// its own (RFC 3261 12): Call-ID, tags, CSeq spaces, route set, remote
// target, our Contact in that leg's realm, where its requests go, and the
// per-leg state of the RFCs the engine implements per leg (SDP o= ownership,
// session timer, digest nonce count, reliable provisionals).
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sbc/b2bua/compact.h"
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

  // ---- dialog identity (RFC 3261 12.1), in one heap block (see compact.h)
  // Ours: local tag, From/To value without tag. The peer's: tag (empty
  // until a B leg answers), From/To value, Contact URI (the remote target).
  std::string_view callId() const { return ids_.get(kCallId); }
  std::string_view localTag() const { return ids_.get(kLocalTag); }
  std::string_view remoteTag() const { return ids_.get(kRemoteTag); }
  std::string_view localNaddr() const { return ids_.get(kLocalNaddr); }
  std::string_view remoteNaddr() const { return ids_.get(kRemoteNaddr); }
  std::string_view remoteTarget() const { return ids_.get(kRemoteTarget); }
  void setCallId(std::string_view v) { ids_.set(kCallId, v); }
  void setLocalTag(std::string_view v) { ids_.set(kLocalTag, v); }
  void setRemoteTag(std::string_view v) { ids_.set(kRemoteTag, v); }
  void setLocalNaddr(std::string_view v) { ids_.set(kLocalNaddr, v); }
  void setRemoteNaddr(std::string_view v) { ids_.set(kRemoteNaddr, v); }
  void setRemoteTarget(std::string_view v) { ids_.set(kRemoteTarget, v); }
  // The same fields at once, in one rebuild of the block (compact.h): a
  // UAS leg's whole identity comes from the INVITE; a UAC leg has no
  // remote tag before the answer (`remote_tag` empty).
  void setIdentity(std::string_view call_id, std::string_view local_tag,
                   std::string_view remote_tag, std::string_view local_naddr,
                   std::string_view remote_naddr, std::string_view remote_target) {
    ids_.setMany({{kCallId, call_id},
                  {kLocalTag, local_tag},
                  {kRemoteTag, remote_tag},
                  {kLocalNaddr, local_naddr},
                  {kRemoteNaddr, remote_naddr},
                  {kRemoteTarget, remote_target}});
  }
  // Route values in the order we send them.
  std::size_t routeCount() const;
  std::string_view route(std::size_t i) const;
  // From a Record-Route list: in order (UAS side) or reversed (UAC side,
  // RFC 3261 12.1.2).
  void setRoutes(std::span<const sip::NameAddr> record_route, bool reversed);

  std::uint32_t local_cseq = 0;
  std::uint32_t remote_cseq = 0;
  bool remote_cseq_known = false;
  bool confirmed = false;  // a 2xx established the dialog

  // ---- where and how we talk to the peer
  bool peer_100rel = false;  // Supported/Require: 100rel
  bool peer_timer = false;   // Supported: timer
  bool peer_update = false;  // Allow: UPDATE
  txn::Destination peer;
  const cfg::Trunk* trunk = nullptr;
  const ListenerInfo* listener = nullptr;

  LegSdp sdp;
  SessionTimerState st;
  std::unique_ptr<DigestState> auth;  // only once the peer has challenged us

  // The ACK we sent for the peer's last 2xx (B side, or an A-leg re-INVITE),
  // re-sent when that 2xx is retransmitted; only its bytes (a resend is
  // rare, and re-parsed then). Dropped with the INVITE transaction (Timer M).
  std::string_view lastAck() const { return last_ack.get(0); }
  void setLastAck(std::string_view wire) { last_ack.set(0, wire); }
  void dropLastAck() { last_ack.clear(); }
  PackedStrings<1> last_ack;  // 16 bytes inline where a std::string takes 32
  std::uint32_t last_ack_cseq = 0;

 private:
  enum : std::uint8_t {
    kCallId,
    kLocalTag,
    kRemoteTag,
    kLocalNaddr,
    kRemoteNaddr,
    kRemoteTarget,
    kRoutes,  // each route: 4-byte length, then the value
    kSlots,
  };
  PackedStrings<kSlots> ids_;
};

inline std::size_t Leg::routeCount() const {
  std::string_view r = ids_.get(kRoutes);
  std::size_t n = 0;
  while (r.size() >= 4) {
    std::uint32_t len = 0;
    std::memcpy(&len, r.data(), 4);
    r.remove_prefix(4 + len);
    ++n;
  }
  return n;
}

inline std::string_view Leg::route(std::size_t i) const {
  std::string_view r = ids_.get(kRoutes);
  while (r.size() >= 4) {
    std::uint32_t len = 0;
    std::memcpy(&len, r.data(), 4);
    if (i-- == 0) return r.substr(4, len);
    r.remove_prefix(4 + len);
  }
  return {};
}

inline void Leg::setRoutes(std::span<const sip::NameAddr> record_route, bool reversed) {
  std::string packed;
  for (std::size_t k = 0; k < record_route.size(); ++k) {
    const std::string_view v = record_route[reversed ? record_route.size() - 1 - k : k].text;
    const auto len = static_cast<std::uint32_t>(v.size());
    char prefix[4];
    std::memcpy(prefix, &len, 4);
    packed.append(prefix, 4);
    packed.append(v);
  }
  ids_.set(kRoutes, packed);
}

}  // namespace sbc::b2bua

// Symmetric RTP latching with a strict-source rule (the RTP Bleed defence).
//
// - No signalled remote: the first source is latched, for good.
// - A signalled remote: within `window` after it was signalled, the first
//   packet from the signalled IP (any port: a NATed PBX's port differs from
//   its SDP) latches that ip:port; after the window only the exact signalled
//   ip:port may latch.
// - LatchMode::kWindowAny (per trunk, for multi-homed PBXs whose RTP leaves
//   from another address than their SDP names): within the window the first
//   packet from any source latches; after it, as strict.
// - Once latched, only the latched ip:port is accepted: never re-latched to
//   another source mid-call. Only a new signalled remote (update) re-opens it.
// Pure logic, time passed in: unit-tested without sockets or clocks.
#pragma once

#include <chrono>
#include <optional>

#include "common/relayctl/protocol.h"
#include "media-relay/relay/sock_addr.h"

namespace relay {

class Latch {
 public:
  using Clock = std::chrono::steady_clock;

  // A new signalled remote (or none): forgets the latched source when the
  // remote changes; the same remote again keeps it (a re-INVITE repeats it),
  // or re-opens the window when nothing has latched yet (every update
  // re-signals both legs: the answer, long after the offer, is when a
  // caller's RTP starts).
  void signal(std::optional<SockAddr> remote, Clock::time_point now, Clock::duration window,
              sbc::relayctl::LatchMode mode = sbc::relayctl::LatchMode::kStrict);

  // Whether a packet from `source` is accepted; latches on the first one that
  // the rule allows.
  bool accept(const SockAddr& source, Clock::time_point now);

  // Where to send towards this remote: the latched source, else the signalled
  // address; null when neither is known yet.
  const SockAddr* destination() const {
    if (latched_) return &current_;
    if (signalled_) return &*signalled_;
    return nullptr;
  }
  bool latched() const { return latched_; }

 private:
  // What a latched leg's packets read (accept, destination) first and
  // together; the rest is read until the latch is set.
  SockAddr current_;
  bool latched_ = false;
  sbc::relayctl::LatchMode mode_ = sbc::relayctl::LatchMode::kStrict;
  Clock::time_point windowEnd_{};
  std::optional<SockAddr> signalled_;
};

}  // namespace relay

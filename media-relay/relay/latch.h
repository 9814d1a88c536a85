// Symmetric RTP latching with a strict-source rule (the RTP Bleed defence).
//
// - No signalled remote: the first source is latched, for good.
// - A signalled remote: within `window` after it was signalled, the first
//   packet from the signalled IP (any port: a NATed PBX's port differs from
//   its SDP) latches that ip:port; after the window only the exact signalled
//   ip:port may latch.
// - Once latched, only the latched ip:port is accepted: never re-latched to
//   another source mid-call. Only a new signalled remote (update) re-opens it.
// Pure logic, time passed in: unit-tested without sockets or clocks.
#pragma once

#include <chrono>
#include <optional>

#include "media-relay/relay/sock_addr.h"

namespace relay {

class Latch {
 public:
  using Clock = std::chrono::steady_clock;

  // A new signalled remote (or none): forgets the latched source when the
  // remote changes; the same remote again keeps it (a re-INVITE repeats it).
  void signal(std::optional<SockAddr> remote, Clock::time_point now, Clock::duration window);

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
  std::optional<SockAddr> signalled_;
  Clock::time_point windowEnd_{};
  SockAddr current_;
  bool latched_ = false;
};

}  // namespace relay

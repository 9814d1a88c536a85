#include "media-relay/relay/latch.h"

namespace relay {

void Latch::signal(std::optional<SockAddr> remote, Clock::time_point now, Clock::duration window,
                   sbc::relayctl::LatchMode mode) {
  mode_ = mode;
  bool same = remote && signalled_ && *remote == *signalled_;
  if (same) {
    // Any update of the session (the answer of an outbound call, typically
    // long after the offer) re-opens the window of a leg that has not
    // latched yet: its peer starts sending when it learns the call is
    // answered. A latched leg keeps its source.
    if (!latched_) windowEnd_ = now + window;
    return;
  }
  signalled_ = remote;
  latched_ = false;
  windowEnd_ = now + window;
}

bool Latch::accept(const SockAddr& source, Clock::time_point now) {
  if (latched_) return source == current_;
  bool ok = false;
  if (!signalled_) {
    ok = true;
  } else if (source == *signalled_) {
    ok = true;
  } else if (now < windowEnd_) {
    ok = mode_ == sbc::relayctl::LatchMode::kWindowAny || source.sameIp(*signalled_);
  }
  if (ok) {
    current_ = source;
    latched_ = true;
  }
  return ok;
}

}  // namespace relay

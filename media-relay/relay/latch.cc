#include "media-relay/relay/latch.h"

namespace relay {

void Latch::signal(std::optional<SockAddr> remote, Clock::time_point now, Clock::duration window) {
  bool same = remote && signalled_ && *remote == *signalled_;
  if (same) return;
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
  } else if (now < windowEnd_ && source.sameIp(*signalled_)) {
    ok = true;
  }
  if (ok) {
    current_ = source;
    latched_ = true;
  }
  return ok;
}

}  // namespace relay

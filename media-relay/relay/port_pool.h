// RTP/RTCP port pairs (even RTP port, RTCP on the next) from the configured
// range. Owned by the control thread only. Freed pairs go to the back of the
// queue so that a port is reused as late as possible: stray packets of an
// ended call must not land in a new one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

namespace relay {

class PortPool {
 public:
  PortPool(std::uint16_t min, std::uint16_t max);  // min even; pairs min..max-1

  // The next free RTP port (its RTCP port is +1), or nullopt when exhausted.
  std::optional<std::uint16_t> acquire();
  // Returns a pair acquired earlier; a port not in use is ignored (a double
  // release must not hand the same pair out twice).
  void release(std::uint16_t rtpPort);
  // A pair that could not be bound (someone else holds it): kept out of use
  // for now and retried after every other free pair.
  void quarantine(std::uint16_t rtpPort) { release(rtpPort); }

  std::size_t freeCount() const { return free_.size(); }
  std::size_t capacity() const { return inUse_.size(); }

 private:
  std::uint16_t min_;
  std::deque<std::uint16_t> free_;
  std::vector<bool> inUse_;  // index (port - min) / 2
};

}  // namespace relay

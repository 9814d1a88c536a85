#include "sbc/cluster/lease_math.h"

#include <algorithm>

namespace sbc::cluster {

std::uint32_t desiredLease(const KindState& k, const PeerView& view, const LeaseParams& p) {
  if (k.limit == 0) return 0;
  if (view.peers == 0) return k.limit;
  const std::uint64_t nodes = std::uint64_t{view.peers} + 1;
  const std::uint64_t fair = (std::uint64_t{k.limit} + nodes - 1) / nodes;
  std::uint64_t spare = std::min<std::uint64_t>(p.block, fair);
  if (view.peer_waiting) spare = k.used >= fair ? 0 : std::min<std::uint64_t>(spare, fair - k.used);
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(k.limit, k.used + spare));
}

LeaseDecision decideLease(const KindState& k, const PeerView& view, const LeaseParams& p) {
  const std::uint32_t want = desiredLease(k, view, p);
  if (k.held > k.limit) return {LeaseAction::Shrink, want};  // covers limit 0: back to 0
  const std::uint32_t free = k.held > k.used ? k.held - k.used : 0;
  if (k.held < want) {
    // Alone: the whole limit at once. Sharing: in blocks, when the spare runs low.
    if (view.peers == 0 || free <= p.low_water) return {LeaseAction::Grow, want};
    return {};
  }
  if (k.held > want) {
    // Hysteresis: a spare a little above the block is kept (no database
    // write per call); a waiting peer gets what is beyond the fair share now.
    const std::uint64_t spare_kept = std::uint64_t{want} - std::min(want, k.used);
    if (view.peer_waiting || free > spare_kept + p.low_water) return {LeaseAction::Shrink, want};
  }
  return {};
}

std::uint32_t grantLease(std::uint32_t limit, std::uint64_t others, std::uint32_t held,
                         std::uint32_t target) {
  if (limit == 0) return 0;
  if (target <= held) return target;
  const std::uint64_t avail = others >= limit ? 0 : limit - others;
  return static_cast<std::uint32_t>(
      std::max<std::uint64_t>(held, std::min<std::uint64_t>(target, avail)));
}

}  // namespace sbc::cluster

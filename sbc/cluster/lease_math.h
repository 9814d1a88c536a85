#pragma once
// The arithmetic of channel leases, apart from any database or thread, so
// that it can be tested alone.
//
// A node holds, per limited trunk and kind (total calls, inbound, outbound),
// a lease: channels it may use without asking. Alone on a trunk it takes the
// whole limit, so a single node behaves exactly as without clustering. With
// peers it keeps what it uses plus some spare channels (at most one block, at
// most its fair share of the limit), grows when the spare falls to the low
// water mark and gives back when it has clearly more spare than that. A peer
// that asked and was refused makes holders give back every spare channel
// beyond their fair share.
#include <cstdint>

namespace sbc::cluster {

struct LeaseParams {
  std::uint32_t block = 10;     // spare channels kept beyond use while sharing a trunk
  std::uint32_t low_water = 2;  // grow when no more than this many leased channels are free
};

// One kind of one trunk as this node sees it.
struct KindState {
  std::uint32_t limit = 0;  // the trunk's limit; 0: unlimited (no lease needed)
  std::uint32_t held = 0;   // leased in the database
  std::uint32_t used = 0;   // channels in use on this node
};

// What this node knows of the others on the same trunk.
struct PeerView {
  std::uint32_t peers = 0;    // other live nodes holding or asking for a lease
  bool peer_waiting = false;  // one of them asked for more than it got
};

enum class LeaseAction : std::uint8_t { Keep, Grow, Shrink };

struct LeaseDecision {
  LeaseAction action = LeaseAction::Keep;
  std::uint32_t target = 0;  // what to hold after a Grow or Shrink
  bool operator==(const LeaseDecision&) const = default;
};

// The lease this node aims at (ignoring what it holds now).
std::uint32_t desiredLease(const KindState& k, const PeerView& view, const LeaseParams& p);

// Whether to change what is held, and to what.
LeaseDecision decideLease(const KindState& k, const PeerView& view, const LeaseParams& p);

// The database side of a change, under the trunk's lock: what this node may
// hold after asking for `target`, given the limit, what the other nodes hold
// and what it holds now. A grow takes what is free up to the target and never
// takes away what is held; a shrink gives back down to the target. Never lets
// the sum pass the limit through a grow.
std::uint32_t grantLease(std::uint32_t limit, std::uint64_t others, std::uint32_t held,
                         std::uint32_t target);

}  // namespace sbc::cluster

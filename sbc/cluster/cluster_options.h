#pragma once
// [cluster] of the sbc's TOML file (parsed in sbc/app/config.cc).
#include <chrono>
#include <cstdint>

namespace sbc::cluster {

struct ClusterOptions {
  // Off: limits are this node's alone and nothing touches the database for them.
  bool enabled = false;
  // Spare channels a node keeps beyond those in use while it shares a trunk
  // (and the step it grows by).
  std::uint32_t lease_block = 10;
  // Grow when this many leased channels or fewer are free.
  std::uint32_t low_water = 2;
  // A node whose leases were not refreshed for this long is dead: any live
  // node deletes its leases. Keep it well above sync_interval.
  std::chrono::seconds expiry{15};
  // How often a node refreshes its leases and rebalances.
  std::chrono::milliseconds sync_interval{1000};
  // Without a successful refresh for expiry/2, admit no new call on limited
  // trunks (other nodes may soon re-lease this node's channels). Off: keep
  // admitting within the old lease (a partition can then exceed the limit).
  bool fence = true;
};

}  // namespace sbc::cluster

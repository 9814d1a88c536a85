#pragma once
// The SQL of channel leases (migrations/0009_channel_leases.sql). Every
// function runs one transaction on the connection it is given (a db::Pool
// job's, or a test's) and may throw pqxx exceptions: the caller's job fails
// and nothing is half-written.
//
// Serialisation: a change to a node's lease on a trunk first locks the
// trunk's row (FOR NO KEY UPDATE: console edits of that trunk wait a few
// milliseconds, inserts of rows referencing it do not), then reads what the
// others hold, so two nodes granting themselves channels of the same trunk
// run one after the other and the sum never passes the limit.
#include <pqxx/connection>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "sbc/cluster/lease_math.h"

namespace sbc::cluster {

using TrunkId = std::int64_t;

// Channels held per kind.
struct Held {
  std::uint32_t calls = 0, inbound = 0, outbound = 0;
  bool operator==(const Held&) const = default;
  bool empty() const { return calls == 0 && inbound == 0 && outbound == 0; }
};

struct ChangeResult {
  Held held;                // now held in the database
  bool fell_short = false;  // a grow got less than asked
  bool trunk_gone = false;  // the trunk no longer exists (nothing held)
};

class LeaseStore {
 public:
  LeaseStore(std::string node, std::chrono::seconds expiry);

  const std::string& node() const { return node_; }

  // Deletes every row of this node (start-up: a previous run's; shutdown).
  void releaseAll(pqxx::connection& c) const;

  // The lease heartbeat: refreshes this node's rows (wanted = the trunk is in
  // `wanting`), deletes the rows of other nodes not refreshed within the
  // expiry, and returns what this node holds, by trunk. A row missing here
  // was deleted by another node (this one looked dead): nothing is held.
  std::unordered_map<TrunkId, Held> refresh(pqxx::connection& c,
                                            const std::vector<TrunkId>& wanting) const;

  // Other live nodes per trunk (those with a row refreshed within the expiry).
  std::unordered_map<TrunkId, PeerView> peers(pqxx::connection& c) const;

  // Asks to hold `target` of `trunk`, each kind grown or shrunk per
  // grantLease() against the limits read under the trunk's lock. A row left
  // empty and not wanting is deleted.
  ChangeResult change(pqxx::connection& c, TrunkId trunk, const Held& target) const;

  // Rows of dead nodes deleted by this node so far (refresh()).
  std::uint64_t expiredDeleted() const { return expired_deleted_; }

 private:
  std::string node_;
  std::chrono::seconds expiry_;
  mutable std::uint64_t expired_deleted_ = 0;
};

}  // namespace sbc::cluster

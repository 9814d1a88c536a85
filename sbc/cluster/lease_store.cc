#include "sbc/cluster/lease_store.h"

#include <pqxx/pqxx>

namespace sbc::cluster {
namespace {

std::uint32_t asCount(const pqxx::field& f) {
  if (f.is_null()) return 0;
  const long long v = f.as<long long>();
  if (v <= 0) return 0;
  return v > 0xffffffffLL ? 0xffffffffU : static_cast<std::uint32_t>(v);
}

std::string bigintArray(const std::vector<TrunkId>& ids) {
  std::string s = "{";
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(ids[i]);
  }
  s += '}';
  return s;
}

}  // namespace

LeaseStore::LeaseStore(std::string node, std::chrono::seconds expiry)
    : node_(std::move(node)), expiry_(expiry) {}

void LeaseStore::releaseAll(pqxx::connection& c) const {
  pqxx::work tx(c);
  tx.exec_params("DELETE FROM trunk_channel_leases WHERE node = $1", node_);
  tx.commit();
}

std::unordered_map<TrunkId, Held> LeaseStore::refresh(pqxx::connection& c,
                                                      const std::vector<TrunkId>& wanting) const {
  pqxx::work tx(c);
  // Dead nodes first, each row only if still stale when deleted (a node that
  // refreshed meanwhile keeps its row).
  pqxx::result gone = tx.exec_params(
      "DELETE FROM trunk_channel_leases WHERE node <> $1 "
      "AND updated_at < now() - make_interval(secs => $2) RETURNING trunk_id",
      node_, static_cast<double>(expiry_.count()));
  expired_deleted_ += gone.size();
  pqxx::result r = tx.exec_params(
      "UPDATE trunk_channel_leases SET updated_at = now(), "
      "wanted = (trunk_id = ANY($2::bigint[])) WHERE node = $1 "
      "RETURNING trunk_id, calls, inbound, outbound",
      node_, bigintArray(wanting));
  tx.commit();
  std::unordered_map<TrunkId, Held> out;
  out.reserve(r.size());
  for (const auto& row : r) {
    out[row[0].as<TrunkId>()] = Held{asCount(row[1]), asCount(row[2]), asCount(row[3])};
  }
  return out;
}

std::unordered_map<TrunkId, PeerView> LeaseStore::peers(pqxx::connection& c) const {
  pqxx::read_transaction tx(c);
  pqxx::result r = tx.exec_params(
      "SELECT trunk_id, count(*), bool_or(wanted) FROM trunk_channel_leases "
      "WHERE node <> $1 AND updated_at >= now() - make_interval(secs => $2) GROUP BY trunk_id",
      node_, static_cast<double>(expiry_.count()));
  std::unordered_map<TrunkId, PeerView> out;
  for (const auto& row : r) {
    PeerView v;
    v.peers = asCount(row[1]);
    v.peer_waiting = !row[2].is_null() && row[2].as<bool>();
    out[row[0].as<TrunkId>()] = v;
  }
  return out;
}

ChangeResult LeaseStore::change(pqxx::connection& c, TrunkId trunk, const Held& target) const {
  ChangeResult res;
  pqxx::work tx(c);
  pqxx::result t = tx.exec_params(
      "SELECT max_calls, max_inbound, max_outbound FROM trunks WHERE id = $1 FOR NO KEY UPDATE",
      trunk);
  if (t.empty()) {
    // Deleted: the cascade took the rows; nothing to hold.
    tx.commit();
    res.trunk_gone = true;
    return res;
  }
  const std::uint32_t lim_calls = asCount(t[0][0]), lim_in = asCount(t[0][1]),
                      lim_out = asCount(t[0][2]);
  // Only live rows count: a dead node's stale row is deleted here too, so a
  // grant never waits for the next heartbeat sweep.
  tx.exec_params(
      "DELETE FROM trunk_channel_leases WHERE trunk_id = $1 AND node <> $2 "
      "AND updated_at < now() - make_interval(secs => $3)",
      trunk, node_, static_cast<double>(expiry_.count()));
  pqxx::result o = tx.exec_params(
      "SELECT coalesce(sum(calls), 0), coalesce(sum(inbound), 0), coalesce(sum(outbound), 0) "
      "FROM trunk_channel_leases WHERE trunk_id = $1 AND node <> $2",
      trunk, node_);
  pqxx::result mine = tx.exec_params(
      "SELECT calls, inbound, outbound FROM trunk_channel_leases WHERE trunk_id = $1 AND node = $2",
      trunk, node_);
  Held held;
  if (!mine.empty()) held = Held{asCount(mine[0][0]), asCount(mine[0][1]), asCount(mine[0][2])};
  auto others = [&](int i) -> std::uint64_t { return o[0][i].as<long long>(); };
  res.held.calls = grantLease(lim_calls, others(0), held.calls, target.calls);
  res.held.inbound = grantLease(lim_in, others(1), held.inbound, target.inbound);
  res.held.outbound = grantLease(lim_out, others(2), held.outbound, target.outbound);
  res.fell_short = (lim_calls != 0 && res.held.calls < target.calls) ||
                   (lim_in != 0 && res.held.inbound < target.inbound) ||
                   (lim_out != 0 && res.held.outbound < target.outbound);
  if (res.held.empty() && !res.fell_short) {
    tx.exec_params("DELETE FROM trunk_channel_leases WHERE trunk_id = $1 AND node = $2", trunk,
                   node_);
  } else {
    tx.exec_params(
        "INSERT INTO trunk_channel_leases (trunk_id, node, calls, inbound, outbound, wanted, "
        "updated_at) VALUES ($1, $2, $3, $4, $5, $6, now()) "
        "ON CONFLICT (trunk_id, node) DO UPDATE SET calls = EXCLUDED.calls, "
        "inbound = EXCLUDED.inbound, outbound = EXCLUDED.outbound, wanted = EXCLUDED.wanted, "
        "updated_at = now()",
        trunk, node_, static_cast<long long>(res.held.calls),
        static_cast<long long>(res.held.inbound), static_cast<long long>(res.held.outbound),
        res.fell_short);
  }
  tx.commit();
  return res;
}

}  // namespace sbc::cluster

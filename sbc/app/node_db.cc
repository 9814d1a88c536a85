#include "sbc/app/node_db.h"

#include <spdlog/spdlog.h>
#include <pqxx/pqxx>

#include <future>
#include <memory>

namespace sbc::app {
namespace {

double epochSeconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

std::optional<txn::Protocol> protocolOf(std::string_view s) {
  if (s == "udp") return txn::Protocol::Udp;
  if (s == "tcp") return txn::Protocol::Tcp;
  if (s == "tls") return txn::Protocol::Tls;
  return std::nullopt;
}

const char* protocolName(txn::Protocol p) {
  switch (p) {
    case txn::Protocol::Udp:
      return "udp";
    case txn::Protocol::Tcp:
      return "tcp";
    case txn::Protocol::Tls:
      return "tls";
  }
  return "udp";
}

constexpr std::size_t kDrainBatch = 200;

}  // namespace

NodeRegistry::NodeRegistry(db::Pool& pool, std::string node_name, std::string version)
    : pool_(pool),
      name_(std::move(node_name)),
      version_(std::move(version)),
      started_at_(std::chrono::system_clock::now()) {}

void NodeRegistry::announce(std::string mgmt_address) {
  mgmt_address_ = std::move(mgmt_address);
  const bool ok = pool_.submit(
      [this, mgmt = mgmt_address_](pqxx::connection& c) {
        pqxx::work tx(c);
        tx.exec_params(
            "INSERT INTO sbc_nodes (name, mgmt_address, started_at, heartbeat_at, version) "
            "VALUES ($1, $2, to_timestamp($3::float8), now(), $4) "
            "ON CONFLICT (name) DO UPDATE SET mgmt_address = EXCLUDED.mgmt_address, "
            "started_at = EXCLUDED.started_at, heartbeat_at = now(), version = EXCLUDED.version, "
            "stopped_at = NULL",
            name_, mgmt, epochSeconds(started_at_), version_);
        tx.commit();
        noteHeartbeat();
        announced_ = true;
        spdlog::info("node {} registered in sbc_nodes (mgmt {})", name_, mgmt);
      },
      [this](std::string_view err) {
        spdlog::error("node {}: could not register in sbc_nodes: {}", name_, err);
      });
  if (!ok) spdlog::error("node {}: database queue full, sbc_nodes not updated", name_);
}

void NodeRegistry::heartbeat() {
  if (heartbeat_queued_.exchange(true)) return;
  const bool ok = pool_.submit(
      [this](pqxx::connection& c) {
        heartbeat_queued_ = false;
        pqxx::work tx(c);
        // The same upsert as announce(): a row deleted meanwhile (or an
        // announce that failed) comes back. A stop mark older than this run's
        // start is the previous run's (its announce failed): cleared. A newer
        // one is ours (markStopped() raced a heartbeat on another pool
        // connection) and stays.
        tx.exec_params(
            "INSERT INTO sbc_nodes (name, mgmt_address, started_at, heartbeat_at, version) "
            "VALUES ($1, $2, to_timestamp($3::float8), now(), $4) "
            "ON CONFLICT (name) DO UPDATE SET heartbeat_at = now(), "
            "mgmt_address = CASE WHEN sbc_nodes.stopped_at >= EXCLUDED.started_at "
            "THEN sbc_nodes.mgmt_address ELSE EXCLUDED.mgmt_address END, "
            "stopped_at = CASE WHEN sbc_nodes.stopped_at >= EXCLUDED.started_at "
            "THEN sbc_nodes.stopped_at END",
            name_, mgmt_address_, epochSeconds(started_at_), version_);
        tx.commit();
        noteHeartbeat();
      },
      [this](std::string_view err) {
        heartbeat_queued_ = false;
        spdlog::warn("node {}: heartbeat failed: {}", name_, err);
      });
  if (!ok) heartbeat_queued_ = false;
}

bool NodeRegistry::markStopped(std::chrono::milliseconds timeout) {
  auto done = std::make_shared<std::promise<bool>>();
  auto result = done->get_future();
  const bool ok = pool_.submit(
      [this, done](pqxx::connection& c) {
        pqxx::work tx(c);
        tx.exec_params(
            "UPDATE sbc_nodes SET mgmt_address = '', heartbeat_at = now(), stopped_at = now() "
            "WHERE name = $1",
            name_);
        tx.commit();
        done->set_value(true);
      },
      [done](std::string_view) {
        try {
          done->set_value(false);
        } catch (const std::future_error&) {
          // Already set by the job: the error came after (cannot happen today).
        }
      });
  if (!ok) return false;
  return result.wait_for(timeout) == std::future_status::ready && result.get();
}

void NodeRegistry::loadRegistrations(std::function<void(std::vector<StoredBinding>)> done) {
  const bool ok = pool_.submit(
      [this, done = std::move(done)](pqxx::connection& c) {
        pqxx::read_transaction tx(c);
        pqxx::result r = tx.exec_params(
            "SELECT r.trunk_id, r.aor, r.contact, host(r.source_address), r.source_port, "
            "r.transport, ceil(extract(epoch FROM r.expires_at - now()))::bigint, r.user_agent, "
            "t.realm FROM registrations r JOIN trunks t ON t.id = r.trunk_id "
            "WHERE r.node = $1 AND r.expires_at > now() ORDER BY r.updated_at",
            name_);
        std::vector<StoredBinding> out;
        out.reserve(r.size());
        for (const auto& row : r) {
          auto proto = protocolOf(row[5].as<std::string>());
          if (!proto) continue;
          StoredBinding b;
          b.trunk = row[0].as<std::int64_t>();
          b.aor = row[1].as<std::string>();
          b.contact = row[2].as<std::string>();
          b.source_address = row[3].as<std::string>();
          b.source_port = static_cast<std::uint16_t>(row[4].as<int>());
          b.protocol = *proto;
          b.expires_in = std::chrono::seconds(row[6].as<std::int64_t>());
          b.user_agent = row[7].as<std::string>();
          b.realm = row[8].as<std::string>();
          out.push_back(std::move(b));
        }
        done(std::move(out));
      },
      [this](std::string_view err) {
        spdlog::error("node {}: could not read stored registrations: {}", name_, err);
      });
  if (!ok) spdlog::error("node {}: database queue full, registrations not restored", name_);
}

RegistrationWriter::RegistrationWriter(db::Pool& pool, std::string node_name, std::size_t capacity)
    : pool_(pool), node_(std::move(node_name)), capacity_(capacity) {}

std::size_t RegistrationWriter::queued() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

void RegistrationWriter::onBindingEvent(const b2bua::BindingEvent& e) {
  Row row;
  row.remove = e.kind == b2bua::BindingEvent::Kind::Removed;
  row.trunk = e.binding.trunk;
  row.aor = e.binding.aor;
  row.contact = e.binding.contact;
  row.address = e.binding.source.address;
  row.port = e.binding.source.port;
  row.transport = protocolName(e.binding.source.protocol);
  row.user_agent = e.binding.user_agent;
  row.expires_epoch = epochSeconds(e.expires_wall);
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() >= capacity_) {
      // PostgreSQL has been away for long: the oldest event is the least
      // useful (a later one for the same binding supersedes it).
      queue_.pop_front();
      ++dropped_;
      if (in_flight_) ++front_dropped_;
    }
    queue_.push_back(std::move(row));
    if (in_flight_) return;
    in_flight_ = true;
  }
  submitDrain();
}

void RegistrationWriter::submitDrain() {
  const bool ok = pool_.submit([this](pqxx::connection& c) { drain(c); },
                               [this](std::string_view err) {
                                 spdlog::error("registrations: write failed: {}", err);
                                 std::lock_guard lock(mutex_);
                                 // Leave the events queued: the next event retries.
                                 in_flight_ = false;
                               });
  if (!ok) {
    std::lock_guard lock(mutex_);
    in_flight_ = false;
  }
}

void RegistrationWriter::drain(pqxx::connection& c) {
  std::vector<Row> batch;
  {
    std::lock_guard lock(mutex_);
    const std::size_t n = std::min(queue_.size(), kDrainBatch);
    batch.assign(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
  }
  pqxx::work tx(c);
  std::uint64_t bad = 0;
  for (const Row& r : batch) {
    try {
      pqxx::subtransaction sub(tx, "reg");
      if (r.remove) {
        sub.exec_params(
            "DELETE FROM registrations WHERE trunk_id = $1 AND aor = $2 AND contact = $3", r.trunk,
            r.aor, r.contact);
      } else {
        sub.exec_params(
            "INSERT INTO registrations (trunk_id, aor, contact, source_address, source_port, "
            "transport, expires_at, node, user_agent) "
            "VALUES ($1, $2, $3, $4::inet, $5, $6, to_timestamp($7::float8), $8, $9) "
            "ON CONFLICT (trunk_id, aor, contact) DO UPDATE SET "
            "source_address = EXCLUDED.source_address, source_port = EXCLUDED.source_port, "
            "transport = EXCLUDED.transport, expires_at = EXCLUDED.expires_at, "
            "node = EXCLUDED.node, user_agent = EXCLUDED.user_agent",
            r.trunk, r.aor, r.contact, r.address, static_cast<int>(r.port), r.transport,
            r.expires_epoch, node_, r.user_agent);
      }
      sub.commit();
    } catch (const pqxx::sql_error& e) {
      // This row only (e.g. its trunk was deleted meanwhile).
      ++bad;
      spdlog::warn("registrations: {} of {} for trunk {} refused: {}",
                   r.remove ? "delete" : "upsert", r.aor, r.trunk, e.what());
    }
  }
  tx.commit();
  written_ += batch.size() - bad;
  failed_ += bad;
  bool more;
  {
    std::lock_guard lock(mutex_);
    // Events dropped for capacity meanwhile came off the batch's front.
    const std::size_t gone = std::min(batch.size(), front_dropped_);
    front_dropped_ = 0;
    const std::size_t n = std::min(batch.size() - gone, queue_.size());
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
    more = !queue_.empty();
    if (!more) in_flight_ = false;
  }
  if (more) submitDrain();
}

}  // namespace sbc::app

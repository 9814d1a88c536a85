#pragma once
// Reads the operator configuration from PostgreSQL into an immutable Snapshot
// (see snapshot.h). Runs off the SIP threads (ConfigService's thread); one
// REPEATABLE READ, READ ONLY transaction so that the snapshot is consistent
// even while the console writes.
#include <pqxx/connection>

#include <chrono>
#include <cstdint>
#include <vector>

#include "common/crypto/secret_box.h"
#include "sbc/config/snapshot.h"

namespace sbc::cfg {

struct LoadOptions {
  // When set, ported numbers are copied from here instead of read from the
  // database (ConfigService does this when ported_numbers did not change:
  // re-reading a million rows for a trunk edit would cost seconds).
  const std::vector<PortedEntry>* reuse_ported = nullptr;
};

struct LoadStats {
  std::size_t trunks = 0;
  std::size_t gateways = 0;
  std::size_t acl_entries = 0;
  std::size_t credentials = 0;
  std::size_t credential_errors = 0;  // secrets that failed to decrypt (left empty)
  std::size_t bad_rows = 0;           // rows skipped as unusable (logged)
  std::size_t dids = 0;
  std::size_t routes = 0;
  std::size_t ported = 0;
  bool ported_reused = false;
  std::chrono::microseconds duration{};
  std::chrono::microseconds ported_duration{};
};

// Throws pqxx exceptions on database errors (the caller keeps its previous
// snapshot). A secret that fails to decrypt is logged and that credential is
// left empty; the load carries on. Trunks and gateways are loaded with their
// enabled flag (lookups skip disabled ones); routes only when enabled.
SnapshotPtr loadSnapshot(pqxx::connection& conn, const crypto::SecretKey& key,
                         std::uint64_t generation, const LoadOptions& options = {},
                         LoadStats* stats = nullptr);

}  // namespace sbc::cfg

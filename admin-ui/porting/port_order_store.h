#pragma once
// Port orders in PostgreSQL. Every write is one transaction holding the
// change, its audit_log row(s) (before/after, the account PIN left out) and,
// through the schema's triggers, the status history (port_order_events), the
// DIDs/ported numbers a completion changes and the NOTIFY that makes every
// SBC reload. Bad input and refused steps come back as an Error; nothing
// throws to the caller (a lost connection is ErrorCode::Database).
//
// Blocking (libpq): call from a pool thread (common/db/pool.h), never from an
// event loop. Each function uses the connection for its own transaction(s).
#include <pqxx/connection>

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "admin-ui/porting/port_order.h"

namespace sbc::admin::porting {

// Who does it: audit_log.who, port_order_events.by_user, created_by.
struct Actor {
  std::string who = "system";
  std::optional<std::string> client_ip;
};

Result<PortOrder> createOrder(pqxx::connection& conn, const Actor& actor, const OrderFields& f);

// Drafts only. expected_version: the version the editor loaded (409 if stale).
// The numbers are replaced by f.numbers.
Result<PortOrder> updateOrder(pqxx::connection& conn, const Actor& actor, long long id,
                              long long expected_version, const OrderFields& f);

Result<PortOrder> getOrder(pqxx::connection& conn, long long id);

struct ListFilter {
  std::optional<Status> status;
  std::optional<Direction> direction;
  std::optional<std::string> number;  // orders holding this number
  std::size_t limit = 100;            // at most 1000
  std::size_t offset = 0;
};
// Newest first.
Result<std::vector<OrderSummary>> listOrders(pqxx::connection& conn, const ListFilter& filter);

struct Transition {
  Status to = Status::Submitted;
  std::optional<long long> expected_version;  // nullopt: whatever the current one
  std::optional<TimePoint> confirmed_foc;     // required for foc_confirmed
  std::string reason;                         // required for rejected
  std::string note;                           // kept in the status history
};
// Moves the order one step. Submission also checks, against the database,
// that a port-in's target is a pbx trunk and does not take over an active DID,
// and that a port-out's numbers are DIDs of ours. Completion (by hand, or by
// completeDueOrders) activates/ports out the numbers.
Result<PortOrder> transition(pqxx::connection& conn, const Actor& actor, long long id,
                             const Transition& t);

struct DueResult {
  std::vector<long long> completed;
  std::vector<std::pair<long long, Error>> failed;  // left foc_confirmed
};
// Completes every foc_confirmed order whose confirmed FOC time is <= now, one
// transaction per order, at most max_orders per call. Safe to run from
// several console instances at once: rows are claimed with
// FOR UPDATE SKIP LOCKED, so an order is completed exactly once.
DueResult completeDueOrders(pqxx::connection& conn, TimePoint now,
                            const Actor& actor = Actor{"system", std::nullopt},
                            std::size_t max_orders = 100);

}  // namespace sbc::admin::porting

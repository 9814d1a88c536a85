#include "admin-ui/porting/port_order_store.h"

#include <pqxx/pqxx>

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <regex>

#include "admin-ui/porting/port_order_json.h"

namespace sbc::admin::porting {

namespace {

// Optional values travel as text, '' meaning NULL (nullif in the SQL):
// libpqxx 6.4 has no parameter conversion for std::optional.
std::string opt(const std::optional<std::string>& v) {
  return v.value_or("");
}
std::string opt(const std::optional<long long>& v) {
  return v ? std::to_string(*v) : "";
}
std::string opt(const std::optional<TimePoint>& v) {
  return v ? std::to_string(v->time_since_epoch().count()) : "";
}
// SQL for a timestamptz parameter given as microseconds since the epoch.
std::string tsFromParam(int n) {
  return "('epoch'::timestamptz + nullif($" + std::to_string(n) +
         ", '')::bigint * interval '1 microsecond')";
}
std::string tsToMicros(std::string_view column) {
  return "(extract(epoch FROM " + std::string(column) + ") * 1000000)::bigint";
}
std::optional<TimePoint> micros(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return TimePoint(std::chrono::microseconds(f.as<long long>()));
}

// Numbers were validated as E.164, so they need no quoting in an array literal.
std::string arrayLiteral(const std::vector<std::string>& v) {
  std::string s = "{";
  for (const auto& x : v) {
    if (s.size() > 1) s += ',';
    s += x.empty() ? "NULL" : x;
  }
  return s + "}";
}

Error invalid(std::vector<Issue> issues) {
  std::string msg = "the port order is not valid";
  if (!issues.empty()) msg += ": " + issues.front().field + ": " + issues.front().message;
  return Error{ErrorCode::Invalid, std::move(msg), std::move(issues)};
}

Error dbError(const std::exception& e) {
  return Error{ErrorCode::Database, std::string("database: ") + e.what(), {}};
}

// Maps what the schema refuses to the same errors the C++ checks give (a
// concurrent writer can get past the checks; the database still stops it).
Error mapSqlError(const pqxx::sql_error& e) {
  const std::string what = e.what();
  if (dynamic_cast<const pqxx::unique_violation*>(&e) &&
      what.find("port_order_numbers_one_open") != std::string::npos) {
    static const std::regex key(R"(\(number\)=\(([^)]*)\))");
    std::smatch m;
    Issue issue{"numbers", "in_open_order", "already in another open port order", 0, 0, "", 0};
    if (std::regex_search(what, m, key)) issue.value = m[1];
    return Error{ErrorCode::NumberInOpenOrder,
                 "number " + issue.value + " is already in another open port order",
                 {issue}};
  }
  if (what.find("port_orders_transition") != std::string::npos)
    return Error{ErrorCode::TransitionRefused, what, {}};
  if (dynamic_cast<const pqxx::check_violation*>(&e) ||
      dynamic_cast<const pqxx::foreign_key_violation*>(&e))
    return Error{ErrorCode::Invalid, what, {}};
  return dbError(e);
}

template <class F>
auto guarded(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const pqxx::sql_error& e) {
    return mapSqlError(e);
  } catch (const std::exception& e) {
    return dbError(e);
  }
}

void setUser(pqxx::transaction_base& tx, const Actor& a) {
  tx.exec_params("SELECT set_config('sbc.user', $1, true)", a.who);
}

void audit(pqxx::transaction_base& tx, const Actor& a, std::string_view action,
           std::string_view entity, long long id, const std::optional<std::string>& before,
           const std::optional<std::string>& after) {
  tx.exec_params0(
      "INSERT INTO audit_log (who, action, entity, entity_id, before, after, client_ip)"
      " VALUES ($1, $2, $3, $4, nullif($5, '')::jsonb, nullif($6, '')::jsonb, nullif($7, "
      "'')::inet)",
      a.who, std::string(action), std::string(entity), std::to_string(id), opt(before), opt(after),
      opt(a.client_ip));
}

std::string auditJson(const PortOrder& o) {
  return boost::json::serialize(toJson(o, false));
}

const std::string kOrderColumns =
    "id, direction, status, losing_carrier, gaining_carrier, target_trunk_id, account_name,"
    " account_number, account_pin, billing_number, service_address, authorized_by, " +
    tsToMicros("requested_foc") + ", " + tsToMicros("confirmed_foc") +
    ", notes, reject_reason, created_by, version, " + tsToMicros("created_at") + ", " +
    tsToMicros("updated_at") + ", routing_number";

std::optional<PortOrder> loadOrder(pqxx::transaction_base& tx, long long id, bool lock) {
  const auto rows = tx.exec_params(
      "SELECT " + kOrderColumns + " FROM port_orders WHERE id = $1" + (lock ? " FOR UPDATE" : ""),
      id);
  if (rows.empty()) return std::nullopt;
  const auto& r = rows[0];
  PortOrder o;
  o.id = r[0].as<long long>();
  o.fields.direction = parseDirection(r[1].c_str()).value_or(Direction::PortIn);
  o.status = parseStatus(r[2].c_str()).value_or(Status::Draft);
  o.fields.losing_carrier = r[3].c_str();
  o.fields.gaining_carrier = r[4].c_str();
  if (!r[5].is_null()) o.fields.target_trunk_id = r[5].as<long long>();
  o.fields.account_name = r[6].c_str();
  o.fields.account_number = r[7].c_str();
  o.fields.account_pin = r[8].c_str();
  o.fields.billing_number = r[9].c_str();
  o.fields.service_address = r[10].c_str();
  o.fields.authorized_by = r[11].c_str();
  o.fields.requested_foc = micros(r[12]);
  o.confirmed_foc = micros(r[13]);
  o.fields.notes = r[14].c_str();
  o.reject_reason = r[15].c_str();
  o.created_by = r[16].c_str();
  o.version = r[17].as<long long>();
  o.created_at = micros(r[18]).value_or(TimePoint{});
  o.updated_at = micros(r[19]).value_or(TimePoint{});
  if (!r[20].is_null()) o.fields.routing_number = r[20].c_str();
  for (const auto& n :
       tx.exec_params("SELECT number, routing_number FROM port_order_numbers WHERE order_id = $1"
                      " ORDER BY number",
                      id)) {
    OrderNumber on{n[0].c_str(), std::nullopt};
    if (!n[1].is_null()) on.routing_number = n[1].c_str();
    o.fields.numbers.push_back(std::move(on));
  }
  for (const auto& e : tx.exec_params("SELECT from_status, to_status, " + tsToMicros("at") +
                                          ", by_user, note FROM port_order_events"
                                          " WHERE order_id = $1 ORDER BY id",
                                      id)) {
    OrderEvent ev;
    if (!e[0].is_null()) ev.from = parseStatus(e[0].c_str());
    ev.to = parseStatus(e[1].c_str()).value_or(Status::Draft);
    ev.at = micros(e[2]).value_or(TimePoint{});
    ev.by_user = e[3].c_str();
    ev.note = e[4].c_str();
    o.events.push_back(std::move(ev));
  }
  return o;
}

std::vector<std::string> numbersOf(const OrderFields& f) {
  std::vector<std::string> v;
  v.reserve(f.numbers.size());
  for (const auto& n : f.numbers) v.push_back(n.number);
  return v;
}

// Numbers of `f` sitting in another open order: named one by one.
std::optional<Error> openOrderConflicts(pqxx::transaction_base& tx, const OrderFields& f,
                                        long long self) {
  const auto rows = tx.exec_params(
      "SELECT number, order_id FROM port_order_numbers"
      " WHERE is_open AND order_id <> $2 AND number = ANY($1::text[]) ORDER BY number",
      arrayLiteral(numbersOf(f)), self);
  if (rows.empty()) return std::nullopt;
  Error e{ErrorCode::NumberInOpenOrder, "", {}};
  for (const auto& r : rows) {
    const long long other = r[1].as<long long>();
    e.issues.push_back(Issue{"numbers", "in_open_order",
                             "already in open port order " + std::to_string(other), 0, 0,
                             r[0].c_str(), other});
  }
  e.message = "number " + e.issues.front().value + " is already in open port order " +
              std::to_string(e.issues.front().other_order_id);
  if (e.issues.size() > 1) e.message += " (and " + std::to_string(e.issues.size() - 1) + " more)";
  return e;
}

std::optional<Error> checkTrunk(pqxx::transaction_base& tx, const OrderFields& f) {
  if (!f.target_trunk_id) return std::nullopt;
  const auto rows = tx.exec_params("SELECT kind FROM trunks WHERE id = $1", *f.target_trunk_id);
  if (rows.empty())
    return invalid({Issue{"target_trunk_id", "not_found", "no such trunk", 0, 0,
                          std::to_string(*f.target_trunk_id)}});
  if (std::string_view(rows[0][0].c_str()) != "pbx")
    return invalid(
        {Issue{"target_trunk_id", "not_pbx", "numbers are delivered to a pbx trunk, not a carrier",
               0, 0, std::to_string(*f.target_trunk_id)}});
  return std::nullopt;
}

void writeNumbers(pqxx::transaction_base& tx, long long id, const OrderFields& f) {
  std::vector<std::string> routing;
  routing.reserve(f.numbers.size());
  for (const auto& n : f.numbers) routing.push_back(n.routing_number.value_or(""));
  const auto numbers = arrayLiteral(numbersOf(f));
  tx.exec_params0(
      "DELETE FROM port_order_numbers WHERE order_id = $1 AND NOT (number = ANY($2::text[]))", id,
      numbers);
  tx.exec_params0(
      "INSERT INTO port_order_numbers (order_id, number, routing_number)"
      " SELECT $1, n, r FROM unnest($2::text[], $3::text[]) AS t(n, r)"
      " ON CONFLICT (order_id, number) DO UPDATE SET routing_number = EXCLUDED.routing_number"
      " WHERE port_order_numbers.routing_number IS DISTINCT FROM EXCLUDED.routing_number",
      id, numbers, arrayLiteral(routing));
}

// Database checks made when an order is submitted.
std::optional<Error> checkSubmit(pqxx::transaction_base& tx, const PortOrder& o) {
  std::vector<Issue> issues = validateForSubmit(o.fields);
  if (!issues.empty()) return invalid(std::move(issues));
  if (auto e = checkTrunk(tx, o.fields)) return e;
  const auto numbers = arrayLiteral(numbersOf(o.fields));
  if (o.fields.direction == Direction::PortIn) {
    for (const auto& r : tx.exec_params(
             "SELECT number FROM dids WHERE number = ANY($1::text[]) AND status = 'active'"
             " ORDER BY number",
             numbers))
      issues.push_back(Issue{"numbers", "already_active",
                             "already an active DID here: nothing to port in", 0, 0, r[0].c_str()});
  } else {
    for (const auto& r : tx.exec_params(
             "SELECT n FROM unnest($1::text[]) AS n WHERE NOT EXISTS (SELECT 1 FROM dids d"
             " WHERE d.number = n AND d.status IN ('active', 'reserved')) ORDER BY n",
             numbers))
      issues.push_back(Issue{"numbers", "not_ours",
                             "not an active or reserved DID here: nothing to port out", 0, 0,
                             r[0].c_str()});
  }
  if (!issues.empty()) return invalid(std::move(issues));
  return std::nullopt;
}

std::string_view actionOf(Status to) {
  switch (to) {
    case Status::Draft:
      return "reopen";
    case Status::Submitted:
      return "submit";
    case Status::FocConfirmed:
      return "confirm_foc";
    case Status::Completed:
      return "complete";
    case Status::Rejected:
      return "reject";
    case Status::Cancelled:
      return "cancel";
  }
  return "transition";
}

std::string numbersJson(pqxx::transaction_base& tx, std::string_view table, long long id) {
  return tx
      .exec_params1("SELECT coalesce(jsonb_agg(to_jsonb(t) ORDER BY t.number), '[]')::text FROM " +
                        std::string(table) +
                        " t WHERE t.number IN (SELECT number FROM port_order_numbers"
                        " WHERE order_id = $1)",
                    id)[0]
      .c_str();
}

// The transition itself, inside the caller's transaction.
Result<PortOrder> doTransition(pqxx::transaction_base& tx, const Actor& actor, long long id,
                               const Transition& t) {
  setUser(tx, actor);
  auto before = loadOrder(tx, id, true);
  if (!before) return Error{ErrorCode::NotFound, "no port order " + std::to_string(id), {}};
  if (t.expected_version && *t.expected_version != before->version)
    return Error{ErrorCode::StaleVersion,
                 "port order " + std::to_string(id) + " was changed (version " +
                     std::to_string(before->version) + ", yours " +
                     std::to_string(*t.expected_version) + "): reload it",
                 {}};
  if (!transitionAllowed(before->status, t.to)) {
    std::string allowed;
    for (Status s : {Status::Draft, Status::Submitted, Status::FocConfirmed, Status::Completed,
                     Status::Rejected, Status::Cancelled})
      if (transitionAllowed(before->status, s))
        allowed += (allowed.empty() ? "" : ", ") + std::string(statusName(s));
    return Error{
        ErrorCode::TransitionRefused,
        "port order " + std::to_string(id) + " is " + std::string(statusName(before->status)) +
            ": it cannot become " + std::string(statusName(t.to)) +
            (allowed.empty() ? " (it is closed)" : " (it can become: " + allowed + ")"),
        {Issue{"to", "not_allowed", "not a step from " + std::string(statusName(before->status)), 0,
               0, std::string(statusName(t.to))}}};
  }
  if (t.to == Status::FocConfirmed && !t.confirmed_foc)
    return invalid({Issue{"confirmed_foc", "required",
                          "confirming the FOC needs the confirmed date and time", 0, 0, ""}});
  if (t.to == Status::Rejected && t.reason.find_first_not_of(" \t\r\n") == std::string::npos)
    return invalid({Issue{"reason", "required", "a rejection needs its reason", 0, 0, ""}});
  if (t.reason.size() > 2000 || t.note.size() > 2000)
    return invalid({Issue{t.reason.size() > 2000 ? "reason" : "note", "too_long",
                          "at most 2000 characters", 0, 0, ""}});
  if (t.to == Status::Submitted) {
    if (auto e = checkSubmit(tx, *before)) return *e;
  }
  if (t.to == Status::Draft) {  // reopening: the numbers become open again
    if (auto e = openOrderConflicts(tx, before->fields, id)) return *e;
  }
  const bool completing = t.to == Status::Completed;
  std::string dids_before, ported_before;
  if (completing) {
    dids_before = numbersJson(tx, "dids", id);
    if (before->fields.direction == Direction::PortOut)
      ported_before = numbersJson(tx, "ported_numbers", id);
  }
  tx.exec_params0("UPDATE port_orders SET status = $2, confirmed_foc = coalesce(" + tsFromParam(3) +
                      ", confirmed_foc), reject_reason = CASE WHEN $2 = 'rejected' THEN $4"
                      " ELSE reject_reason END WHERE id = $1",
                  id, std::string(statusName(t.to)), opt(t.confirmed_foc), t.reason);
  if (!t.note.empty())
    tx.exec_params0(
        "UPDATE port_order_events SET note = CASE WHEN note = '' THEN $2 ELSE note || E'\\n' || $2"
        " END WHERE id = (SELECT max(id) FROM port_order_events WHERE order_id = $1)",
        id, t.note);
  auto after = loadOrder(tx, id, false);
  if (!after) return Error{ErrorCode::NotFound, "no port order " + std::to_string(id), {}};
  audit(tx, actor, actionOf(t.to), "port_order", id, auditJson(*before), auditJson(*after));
  if (completing) {
    const bool in = before->fields.direction == Direction::PortIn;
    audit(tx, actor, in ? "port_in" : "port_out", "dids", id, dids_before,
          numbersJson(tx, "dids", id));
    if (!in)
      audit(tx, actor, "port_out", "ported_numbers", id, ported_before,
            numbersJson(tx, "ported_numbers", id));
  }
  return std::move(*after);
}

}  // namespace

Result<PortOrder> createOrder(pqxx::connection& conn, const Actor& actor, const OrderFields& f) {
  if (auto issues = validateFields(f); !issues.empty()) return invalid(std::move(issues));
  return guarded([&]() -> Result<PortOrder> {
    pqxx::work tx(conn, "port_order_create");
    setUser(tx, actor);
    if (auto e = checkTrunk(tx, f)) return *e;
    if (auto e = openOrderConflicts(tx, f, 0)) return *e;
    const long long id =
        tx.exec_params1(
              "INSERT INTO port_orders (direction, losing_carrier, gaining_carrier,"
              " target_trunk_id, account_name, account_number, account_pin, billing_number,"
              " service_address, authorized_by, requested_foc, notes, routing_number, created_by)"
              " VALUES ($1, $2, $3, nullif($4, '')::bigint, $5, $6, $7, $8, $9, $10, " +
                  tsFromParam(11) + ", $12, nullif($13, ''), $14) RETURNING id",
              std::string(directionName(f.direction)), f.losing_carrier, f.gaining_carrier,
              opt(f.target_trunk_id), f.account_name, f.account_number, f.account_pin,
              f.billing_number, f.service_address, f.authorized_by, opt(f.requested_foc), f.notes,
              opt(f.routing_number), actor.who)[0]
            .as<long long>();
    writeNumbers(tx, id, f);
    auto o = loadOrder(tx, id, false);
    if (!o) return Error{ErrorCode::Database, "the new order vanished", {}};
    audit(tx, actor, "create", "port_order", id, std::nullopt, auditJson(*o));
    tx.commit();
    return std::move(*o);
  });
}

Result<PortOrder> updateOrder(pqxx::connection& conn, const Actor& actor, long long id,
                              long long expected_version, const OrderFields& f) {
  if (auto issues = validateFields(f); !issues.empty()) return invalid(std::move(issues));
  return guarded([&]() -> Result<PortOrder> {
    pqxx::work tx(conn, "port_order_update");
    setUser(tx, actor);
    auto before = loadOrder(tx, id, true);
    if (!before) return Error{ErrorCode::NotFound, "no port order " + std::to_string(id), {}};
    if (before->version != expected_version)
      return Error{ErrorCode::StaleVersion,
                   "port order " + std::to_string(id) + " was changed (version " +
                       std::to_string(before->version) + ", yours " +
                       std::to_string(expected_version) + "): reload it",
                   {}};
    if (before->status != Status::Draft)
      return Error{ErrorCode::NotEditable,
                   "port order " + std::to_string(id) + " is " +
                       std::string(statusName(before->status)) +
                       ": only a draft can be edited (a rejected order goes back to draft first)",
                   {}};
    if (auto e = checkTrunk(tx, f)) return *e;
    if (auto e = openOrderConflicts(tx, f, id)) return *e;
    tx.exec_params0(
        "UPDATE port_orders SET direction = $2, losing_carrier = $3, gaining_carrier = $4,"
        " target_trunk_id = nullif($5, '')::bigint, account_name = $6, account_number = $7,"
        " account_pin = $8, billing_number = $9, service_address = $10, authorized_by = $11,"
        " requested_foc = " +
            tsFromParam(12) + ", notes = $13, routing_number = nullif($14, '') WHERE id = $1",
        id, std::string(directionName(f.direction)), f.losing_carrier, f.gaining_carrier,
        opt(f.target_trunk_id), f.account_name, f.account_number, f.account_pin, f.billing_number,
        f.service_address, f.authorized_by, opt(f.requested_foc), f.notes, opt(f.routing_number));
    writeNumbers(tx, id, f);
    auto after = loadOrder(tx, id, false);
    if (!after) return Error{ErrorCode::Database, "the order vanished", {}};
    audit(tx, actor, "update", "port_order", id, auditJson(*before), auditJson(*after));
    tx.commit();
    return std::move(*after);
  });
}

Result<PortOrder> getOrder(pqxx::connection& conn, long long id) {
  return guarded([&]() -> Result<PortOrder> {
    pqxx::read_transaction tx(conn, "port_order_get");
    auto o = loadOrder(tx, id, false);
    if (!o) return Error{ErrorCode::NotFound, "no port order " + std::to_string(id), {}};
    return std::move(*o);
  });
}

Result<std::vector<OrderSummary>> listOrders(pqxx::connection& conn, const ListFilter& filter) {
  return guarded([&]() -> Result<std::vector<OrderSummary>> {
    pqxx::read_transaction tx(conn, "port_order_list");
    const auto rows = tx.exec_params(
        "SELECT o.id, o.direction, o.status, o.losing_carrier, o.gaining_carrier, " +
            tsToMicros("o.requested_foc") + ", " + tsToMicros("o.confirmed_foc") +
            ", (SELECT count(*) FROM port_order_numbers n WHERE n.order_id = o.id), o.version, " +
            tsToMicros("o.updated_at") +
            " FROM port_orders o"
            " WHERE ($1 = '' OR o.status = $1) AND ($2 = '' OR o.direction = $2)"
            " AND ($3 = '' OR EXISTS (SELECT 1 FROM port_order_numbers n"
            "   WHERE n.order_id = o.id AND n.number = $3))"
            " ORDER BY o.id DESC LIMIT $4 OFFSET $5",
        filter.status ? std::string(statusName(*filter.status)) : std::string(),
        filter.direction ? std::string(directionName(*filter.direction)) : std::string(),
        filter.number.value_or(""),
        static_cast<long long>(std::min<std::size_t>(filter.limit, 1000)),
        static_cast<long long>(filter.offset));
    std::vector<OrderSummary> out;
    out.reserve(rows.size());
    for (const auto& r : rows) {
      OrderSummary s;
      s.id = r[0].as<long long>();
      s.direction = parseDirection(r[1].c_str()).value_or(Direction::PortIn);
      s.status = parseStatus(r[2].c_str()).value_or(Status::Draft);
      s.losing_carrier = r[3].c_str();
      s.gaining_carrier = r[4].c_str();
      s.requested_foc = micros(r[5]);
      s.confirmed_foc = micros(r[6]);
      s.number_count = r[7].as<std::size_t>();
      s.version = r[8].as<long long>();
      s.updated_at = micros(r[9]).value_or(TimePoint{});
      out.push_back(std::move(s));
    }
    return out;
  });
}

Result<PortOrder> transition(pqxx::connection& conn, const Actor& actor, long long id,
                             const Transition& t) {
  return guarded([&]() -> Result<PortOrder> {
    pqxx::work tx(conn, "port_order_transition");
    auto r = doTransition(tx, actor, id, t);
    if (r) tx.commit();
    return r;
  });
}

DueResult completeDueOrders(pqxx::connection& conn, TimePoint now, const Actor& actor,
                            std::size_t max_orders) {
  DueResult out;
  std::vector<std::string> skip;  // failed this round: not picked again
  for (std::size_t n = 0; n < max_orders; ++n) {
    long long id = 0;
    auto r = guarded([&]() -> Result<PortOrder> {
      pqxx::work tx(conn, "port_order_due");
      const auto rows = tx.exec_params(
          "SELECT id FROM port_orders WHERE status = 'foc_confirmed' AND confirmed_foc <= " +
              tsFromParam(1) +
              " AND NOT (id = ANY($2::bigint[])) ORDER BY confirmed_foc, id LIMIT 1"
              " FOR UPDATE SKIP LOCKED",
          opt(std::optional<TimePoint>(now)), arrayLiteral(skip));
      if (rows.empty()) return Error{ErrorCode::NotFound, "", {}};
      id = rows[0][0].as<long long>();
      Transition t;
      t.to = Status::Completed;
      t.note = "completed at FOC time by the scheduler";
      auto done = doTransition(tx, actor, id, t);
      if (done) tx.commit();
      return done;
    });
    if (r) {
      out.completed.push_back(id);
      continue;
    }
    if (id == 0) {
      if (r.error().code != ErrorCode::NotFound) out.failed.emplace_back(0, r.error());
      break;  // nothing (more) due, or the database is unreachable
    }
    out.failed.emplace_back(id, r.error());
    skip.push_back(std::to_string(id));
  }
  return out;
}

}  // namespace sbc::admin::porting

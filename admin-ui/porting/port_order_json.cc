#include "admin-ui/porting/port_order_json.h"

#include <boost/json.hpp>

namespace sbc::admin::porting {

namespace json = boost::json;
using imports::formatIsoTime;
using imports::parseIsoTime;

namespace {

json::value timeOrNull(const std::optional<TimePoint>& t) {
  if (!t) return nullptr;
  return json::string(formatIsoTime(*t));
}

json::object issueJson(const Issue& i) {
  json::object o{{"field", i.field}, {"rule", i.rule}, {"message", i.message}};
  if (i.line) o["line"] = i.line;
  if (i.column) o["column"] = i.column;
  if (!i.value.empty()) o["value"] = i.value;
  if (i.other_order_id) o["other_order_id"] = i.other_order_id;
  return o;
}

// Reads members one by one, collecting an Issue per bad one.
class Reader {
 public:
  explicit Reader(const json::object& o) : o_(o) {}

  bool has(std::string_view k) const { return o_.contains(k); }

  void string(std::string_view k, std::string& out) {
    seen(k);
    const auto* v = o_.if_contains(k);
    if (!v || v->is_null()) return;
    if (!v->is_string()) return bad(k, "type", "must be a string");
    out = std::string(v->as_string());
  }
  void optString(std::string_view k, std::optional<std::string>& out) {
    seen(k);
    const auto* v = o_.if_contains(k);
    if (!v || v->is_null()) return;
    if (!v->is_string()) return bad(k, "type", "must be a string or null");
    if (v->as_string().empty()) return;
    out = std::string(v->as_string());
  }
  void optInt(std::string_view k, std::optional<long long>& out) {
    seen(k);
    const auto* v = o_.if_contains(k);
    if (!v || v->is_null()) return;
    if (v->is_int64()) {
      out = v->as_int64();
    } else if (v->is_uint64() && v->as_uint64() <= 0x7fffffffffffffffULL) {
      out = static_cast<long long>(v->as_uint64());
    } else if (v->is_string()) {
      // Query parameters arrive as strings.
      const auto s = v->as_string();
      long long n = 0;
      bool ok = !s.empty() && s.size() < 19;
      for (char c : s) ok = ok && c >= '0' && c <= '9', n = n * 10 + (c - '0');
      if (!ok) return bad(k, "type", "must be an integer");
      out = n;
    } else {
      bad(k, "type", "must be an integer");
    }
  }
  void optTime(std::string_view k, std::optional<TimePoint>& out) {
    std::optional<std::string> s;
    optString(k, s);
    if (!s) return;
    out = parseIsoTime(*s);
    if (!out)
      bad(k, "date_time", "must be an RFC 3339 date-time with its zone, e.g. 2026-12-01T15:00:00Z");
  }
  void done() {
    for (const auto& kv : o_)
      if (std::find(seen_.begin(), seen_.end(), kv.key()) == seen_.end())
        issues.push_back(Issue{std::string(kv.key()), "unknown_field", "no such field", 0, 0, ""});
  }
  void bad(std::string_view k, std::string_view rule, std::string_view msg) {
    issues.push_back(Issue{std::string(k), std::string(rule), std::string(msg), 0, 0, ""});
  }
  void seen(std::string_view k) { seen_.push_back(k); }

  std::vector<Issue> issues;

 private:
  const json::object& o_;
  std::vector<std::string_view> seen_;
};

Error invalidBody(std::vector<Issue> issues) {
  std::string msg = "the request body is not valid";
  if (!issues.empty()) msg += ": " + issues.front().field + ": " + issues.front().message;
  return Error{ErrorCode::Invalid, std::move(msg), std::move(issues)};
}

}  // namespace

json::object toJson(const PortOrder& o, bool include_secrets) {
  const auto& f = o.fields;
  json::array numbers;
  for (const auto& n : f.numbers) {
    json::object x{{"number", n.number}};
    x["routing_number"] = n.routing_number ? json::value(json::string(*n.routing_number)) : nullptr;
    numbers.push_back(std::move(x));
  }
  json::array events;
  for (const auto& e : o.events) {
    json::object x;
    x["from"] = e.from ? json::value(json::string(statusName(*e.from))) : nullptr;
    x["to"] = statusName(e.to);
    x["at"] = formatIsoTime(e.at);
    x["by"] = e.by_user;
    x["note"] = e.note;
    events.push_back(std::move(x));
  }
  json::object out{
      {"id", o.id},
      {"direction", directionName(f.direction)},
      {"status", statusName(o.status)},
      {"open", isOpen(o.status)},
      {"losing_carrier", f.losing_carrier},
      {"gaining_carrier", f.gaining_carrier},
      {"account_name", f.account_name},
      {"account_number", f.account_number},
      {"billing_number", f.billing_number},
      {"service_address", f.service_address},
      {"authorized_by", f.authorized_by},
      {"requested_foc", timeOrNull(f.requested_foc)},
      {"confirmed_foc", timeOrNull(o.confirmed_foc)},
      {"notes", f.notes},
      {"reject_reason", o.reject_reason},
      {"created_by", o.created_by},
      {"version", o.version},
      {"created_at", formatIsoTime(o.created_at)},
      {"updated_at", formatIsoTime(o.updated_at)},
  };
  out["target_trunk_id"] = f.target_trunk_id ? json::value(*f.target_trunk_id) : nullptr;
  out["routing_number"] = f.routing_number ? json::value(json::string(*f.routing_number)) : nullptr;
  if (include_secrets) out["account_pin"] = f.account_pin;
  out["numbers"] = std::move(numbers);
  out["events"] = std::move(events);
  return out;
}

json::object toJson(const OrderSummary& s) {
  return json::object{{"id", s.id},
                      {"direction", directionName(s.direction)},
                      {"status", statusName(s.status)},
                      {"open", isOpen(s.status)},
                      {"losing_carrier", s.losing_carrier},
                      {"gaining_carrier", s.gaining_carrier},
                      {"requested_foc", timeOrNull(s.requested_foc)},
                      {"confirmed_foc", timeOrNull(s.confirmed_foc)},
                      {"number_count", s.number_count},
                      {"version", s.version},
                      {"updated_at", formatIsoTime(s.updated_at)}};
}

json::object toJson(const Error& e) {
  json::array issues;
  for (const auto& i : e.issues) issues.push_back(issueJson(i));
  return json::object{
      {"error", errorCodeName(e.code)}, {"message", e.message}, {"issues", std::move(issues)}};
}

json::object toJson(const DueResult& r) {
  json::array completed(r.completed.begin(), r.completed.end());
  json::array failed;
  for (const auto& [id, e] : r.failed) {
    auto o = toJson(e);
    o["id"] = id;
    failed.push_back(std::move(o));
  }
  return json::object{{"completed", std::move(completed)}, {"failed", std::move(failed)}};
}

Result<OrderFields> orderFieldsFromJson(const json::value& body) {
  if (!body.is_object())
    return invalidBody({Issue{"", "type", "the body must be a JSON object", 0, 0, ""}});
  Reader rd(body.as_object());
  OrderFields f;
  std::string direction;
  rd.string("direction", direction);
  if (auto d = parseDirection(direction)) {
    f.direction = *d;
  } else {
    rd.bad("direction", "required", "must be port_in or port_out");
  }
  rd.string("losing_carrier", f.losing_carrier);
  rd.string("gaining_carrier", f.gaining_carrier);
  rd.optInt("target_trunk_id", f.target_trunk_id);
  rd.string("account_name", f.account_name);
  rd.string("account_number", f.account_number);
  rd.string("account_pin", f.account_pin);
  rd.string("billing_number", f.billing_number);
  rd.string("service_address", f.service_address);
  rd.string("authorized_by", f.authorized_by);
  rd.optTime("requested_foc", f.requested_foc);
  rd.string("notes", f.notes);
  rd.optString("routing_number", f.routing_number);

  const int sources = rd.has("numbers") + rd.has("numbers_text") + rd.has("numbers_csv");
  if (sources > 1)
    rd.bad("numbers", "one_source", "give numbers, numbers_text or numbers_csv, not several");
  rd.seen("numbers");
  if (const auto* v = body.as_object().if_contains("numbers")) {
    if (!v->is_array()) {
      rd.bad("numbers", "type", "must be an array");
    } else {
      const auto& arr = v->as_array();
      for (std::size_t i = 0; i < arr.size(); ++i) {
        const std::string field = "numbers[" + std::to_string(i) + "]";
        if (arr[i].is_string()) {
          f.numbers.push_back(OrderNumber{std::string(arr[i].as_string()), std::nullopt});
        } else if (arr[i].is_object()) {
          Reader nr(arr[i].as_object());
          OrderNumber n;
          nr.string("number", n.number);
          nr.optString("routing_number", n.routing_number);
          nr.done();
          for (auto& is : nr.issues) {
            is.field = field + "." + is.field;
            rd.issues.push_back(std::move(is));
          }
          f.numbers.push_back(std::move(n));
        } else {
          rd.bad(field, "type", "must be a string or {number, routing_number}");
        }
      }
    }
  }
  for (const char* key : {"numbers_text", "numbers_csv"}) {
    std::string text;
    rd.string(key, text);
    if (text.empty()) continue;
    auto parsed =
        std::string_view(key) == "numbers_text" ? parseNumberText(text) : parseNumberCsv(text);
    for (auto& is : parsed.issues) {
      is.field = key;
      rd.issues.push_back(std::move(is));
    }
    f.numbers = std::move(parsed.numbers);
  }
  rd.done();
  if (!rd.issues.empty()) return invalidBody(std::move(rd.issues));
  return f;
}

Result<Transition> transitionFromJson(const json::value& body) {
  if (!body.is_object())
    return invalidBody({Issue{"", "type", "the body must be a JSON object", 0, 0, ""}});
  Reader rd(body.as_object());
  Transition t;
  std::string to;
  rd.string("to", to);
  if (auto s = parseStatus(to)) {
    t.to = *s;
  } else {
    rd.bad("to", "required",
           "must be one of draft, submitted, foc_confirmed, completed, rejected, cancelled");
  }
  rd.optInt("version", t.expected_version);
  rd.optTime("confirmed_foc", t.confirmed_foc);
  rd.string("reason", t.reason);
  rd.string("note", t.note);
  rd.done();
  if (!rd.issues.empty()) return invalidBody(std::move(rd.issues));
  return t;
}

Result<ListFilter> listFilterFromJson(const json::object& query) {
  Reader rd(query);
  ListFilter f;
  std::optional<std::string> status, direction;
  rd.optString("status", status);
  if (status) {
    f.status = parseStatus(*status);
    if (!f.status) rd.bad("status", "invalid", "not a port order status");
  }
  rd.optString("direction", direction);
  if (direction) {
    f.direction = parseDirection(*direction);
    if (!f.direction) rd.bad("direction", "invalid", "must be port_in or port_out");
  }
  rd.optString("number", f.number);
  std::optional<long long> limit, offset;
  rd.optInt("limit", limit);
  rd.optInt("offset", offset);
  if (limit) {
    if (*limit < 1 || *limit > 1000)
      rd.bad("limit", "range", "between 1 and 1000");
    else
      f.limit = static_cast<std::size_t>(*limit);
  }
  if (offset) f.offset = static_cast<std::size_t>(*offset);
  rd.done();
  if (!rd.issues.empty()) return invalidBody(std::move(rd.issues));
  return f;
}

}  // namespace sbc::admin::porting

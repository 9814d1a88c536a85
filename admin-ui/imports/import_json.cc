#include "admin-ui/imports/import_json.h"

#include <boost/json.hpp>

#include <charconv>

namespace sbc::admin::imports {

namespace json = boost::json;

json::object toJson(const ImportResult& r) {
  json::array errors;
  for (const auto& e : r.errors) {
    json::object o{{"line", e.line}, {"field", e.field}, {"rule", e.rule}, {"message", e.message}};
    if (!e.value.empty()) o["value"] = e.value;
    errors.push_back(std::move(o));
  }
  json::object out{{"status", importStatusName(r.status)},
                   {"rows_read", r.rows_read},
                   {"rows_valid", r.rows_valid},
                   {"inserted", r.inserted},
                   {"updated", r.updated},
                   {"unchanged", r.unchanged},
                   {"deleted", r.deleted},
                   {"error_count", r.error_count},
                   {"errors_truncated", r.error_count > r.errors.size()},
                   {"errors", std::move(errors)},
                   {"seconds", r.seconds}};
  if (!r.message.empty()) out["message"] = r.message;
  return out;
}

int httpStatus(const ImportResult& r) {
  switch (r.status) {
    case ImportStatus::Imported:
      return 200;
    case ImportStatus::Refused:
      return 422;
    case ImportStatus::Failed:
      return 500;
  }
  return 500;
}

namespace {

// A member as text: strings as they are, numbers and booleans printed.
std::optional<std::string> text(const json::object& q, std::string_view k) {
  const auto* v = q.if_contains(k);
  if (!v || v->is_null()) return std::nullopt;
  if (v->is_string()) return std::string(v->as_string());
  return json::serialize(*v);
}

std::optional<long long> integer(std::string_view s) {
  long long n = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return n;
}

void unknown(const json::object& q, std::initializer_list<std::string_view> known,
             std::vector<ParamError>& errs) {
  for (const auto& kv : q)
    if (std::find(known.begin(), known.end(), kv.key()) == known.end())
      errs.push_back(ParamError{std::string(kv.key()), "no such parameter"});
}

}  // namespace

ParamResult<ImportOptions> importOptionsFromJson(const json::object& q) {
  ImportOptions o;
  std::vector<ParamError> errs;
  if (auto v = text(q, "skip_errors")) {
    if (*v == "true" || *v == "1")
      o.skip_errors = true;
    else if (*v == "false" || *v == "0")
      o.skip_errors = false;
    else
      errs.push_back({"skip_errors", "must be true or false"});
  }
  if (auto v = text(q, "mode")) {
    if (*v == "merge")
      o.mode = ImportMode::Merge;
    else if (*v == "replace")
      o.mode = ImportMode::Replace;
    else
      errs.push_back({"mode", "must be merge or replace"});
  }
  if (auto v = text(q, "source")) {
    if (v->empty() || v->size() > 64)
      errs.push_back({"source", "1 to 64 characters"});
    else
      o.source = *v;
  }
  if (auto v = text(q, "max_errors")) {
    auto n = integer(*v);
    if (!n || *n < 1 || *n > 10'000)
      errs.push_back({"max_errors", "between 1 and 10000"});
    else
      o.max_reported_errors = static_cast<std::size_t>(*n);
  }
  unknown(q, {"skip_errors", "mode", "source", "max_errors"}, errs);
  if (!errs.empty()) return errs;
  return o;
}

ParamResult<CdrFilter> cdrFilterFromJson(const json::object& q) {
  CdrFilter f;
  std::vector<ParamError> errs;
  for (const char* k : {"from", "to"}) {
    if (auto v = text(q, k)) {
      auto t = parseIsoTime(*v);
      if (!t)
        errs.push_back({k, "must be an RFC 3339 date-time, e.g. 2026-12-01T00:00:00Z"});
      else
        (std::string_view(k) == "from" ? f.from : f.to) = t;
    }
  }
  if (f.from && f.to && *f.to <= *f.from) errs.push_back({"to", "must be after from"});
  if (auto v = text(q, "number")) {
    if (v->empty() || v->size() > 64)
      errs.push_back({"number", "1 to 64 characters"});
    else
      f.number = *v;
  }
  if (auto v = text(q, "trunk_id")) {
    auto n = integer(*v);
    if (!n || *n < 1)
      errs.push_back({"trunk_id", "must be a trunk id"});
    else
      f.trunk_id = *n;
  }
  if (auto v = text(q, "result")) {
    if (*v == "answered")
      f.result = CdrResult::Answered;
    else if (*v == "unanswered")
      f.result = CdrResult::Unanswered;
    else
      errs.push_back({"result", "must be answered or unanswered"});
  }
  if (auto v = text(q, "sip_code")) {
    auto n = integer(*v);
    if (!n || *n < 100 || *n > 699)
      errs.push_back({"sip_code", "between 100 and 699"});
    else
      f.sip_code = static_cast<int>(*n);
  }
  unknown(q, {"from", "to", "number", "trunk_id", "result", "sip_code"}, errs);
  if (!errs.empty()) return errs;
  return f;
}

json::object toJson(const std::vector<ParamError>& errors) {
  json::array a;
  for (const auto& e : errors)
    a.push_back(json::object{{"field", e.field}, {"message", e.message}});
  return json::object{
      {"error", "invalid"},
      {"message", errors.empty() ? "" : errors.front().field + ": " + errors.front().message},
      {"issues", std::move(a)}};
}

}  // namespace sbc::admin::imports

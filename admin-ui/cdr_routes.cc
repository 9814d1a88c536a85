// CDRs, read-only: a paged JSON search and a CSV export. Both need a time
// range (the table is partitioned by month; an open range would read all of
// it). common/http cannot stream a response body, so the export is read from
// a server-side cursor in chunks into one body, capped at kCsvRowCap rows; a
// capped answer says so in X-Row-Cap and the caller narrows the range.
#include <boost/json.hpp>
#include <pqxx/pqxx>

#include <charconv>

#include "admin-ui/imports/cdr_export.h"
#include "admin-ui/imports/import_json.h"
#include "admin-ui/imports/iso_time.h"
#include "admin-ui/routes.h"

namespace sbc::admin {

namespace asio = boost::asio;
namespace json = boost::json;
using http::Request;
using http::Response;

namespace {

constexpr std::uint64_t kCsvRowCap = 100'000;

struct CdrQuery {
  imports::CdrFilter filter;
  long long limit = 50;
  long long offset = 0;
};

std::optional<long long> boundedInt(std::string_view s, long long lo, long long hi) {
  long long n = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || p != s.data() + s.size() || n < lo || n > hi) return std::nullopt;
  return n;
}

// The filter (from, to, number, trunk_id or trunk, result, sip_code), and for
// the search limit/offset. An error answer when something is wrong.
std::variant<CdrQuery, Response> parseCdrQuery(const Request& request, bool paged) {
  CdrQuery out;
  json::object q;
  for (const auto& [k, v] : request.query) {
    if (paged && k == "limit") {
      auto n = boundedInt(v, 1, 1000);
      if (!n) return errorResponse(400, "limit must be 1..1000", "limit");
      out.limit = *n;
    } else if (paged && k == "offset") {
      auto n = boundedInt(v, 0, 1'000'000);
      if (!n) return errorResponse(400, "offset must be 0..1000000", "offset");
      out.offset = *n;
    } else {
      std::string key = k == "trunk" ? "trunk_id" : k;
      if (!q.contains(key)) q[key] = v;
    }
  }
  auto parsed = imports::cdrFilterFromJson(q);
  if (auto* errors = std::get_if<std::vector<imports::ParamError>>(&parsed)) {
    const auto& first = errors->front();
    return errorResponse(400, first.field + ": " + first.message, first.field);
  }
  out.filter = std::get<0>(std::move(parsed));
  if (!out.filter.from) return errorResponse(400, "from is required", "from");
  if (!out.filter.to) return errorResponse(400, "to is required", "to");
  return out;
}

asio::awaitable<Response> searchCdrs(Api* api, Request& request) {
  auto parsed = parseCdrQuery(request, true);
  if (auto* error = std::get_if<Response>(&parsed)) co_return std::move(*error);
  auto query = std::make_shared<CdrQuery>(std::get<CdrQuery>(std::move(parsed)));
  co_return co_await api->db([&](Transaction& txn) {  // by reference: see porting_routes.cc
    const imports::CdrFilter& f = query->filter;
    // Every value is a parameter; absent filters are NULL and drop out.
    std::optional<std::string> result;
    if (f.result) result = *f.result == imports::CdrResult::Answered ? "answered" : "unanswered";
    static constexpr const char* kWhere =
        " FROM cdrs WHERE start_time >= $1::timestamptz AND start_time < $2::timestamptz"
        " AND ($3::text IS NULL OR $3 IN (caller_in, callee_in, caller_out, callee_out))"
        " AND ($4::bigint IS NULL OR in_trunk_id = $4 OR out_trunk_id = $4)"
        " AND ($5::text IS NULL OR ($5 = 'answered') = (answer_time IS NOT NULL))"
        " AND ($6::int IS NULL OR sip_code = $6)";
    const std::string sql =
        std::string("SELECT (SELECT count(*)") + kWhere +
        "), coalesce((SELECT jsonb_agg(to_jsonb(x) ORDER BY x.start_time DESC, x.uuid) FROM "
        "(SELECT uuid, start_time, answer_time, end_time, duration_ms, direction, in_trunk_id, "
        "in_trunk, out_trunk_id, out_trunk, caller_in, callee_in, caller_out, callee_out, "
        "routing_number, sip_code, sip_reason, q850_cause, ended_by, end_reason, node, "
        "a_call_id, b_call_id, failover_attempts, a_packets, a_packets_lost, a_jitter_ms, "
        "b_packets, b_packets_lost, b_jitter_ms" +
        kWhere + " ORDER BY start_time DESC, uuid LIMIT $7 OFFSET $8) x), '[]')::text";
    std::optional<int> sip_code = f.sip_code;
    pqxx::row r =
        txn.exec_params1(sql, imports::formatIsoTime(*f.from), imports::formatIsoTime(*f.to),
                         f.number, f.trunk_id, result, sip_code, query->limit, query->offset);
    return jsonText(200, "{\"items\":" + r[1].as<std::string>() + ",\"total\":" +
                             r[0].as<std::string>() + ",\"limit\":" + std::to_string(query->limit) +
                             ",\"offset\":" + std::to_string(query->offset) + "}");
  });
}

asio::awaitable<Response> exportCdrs(Api* api, Request& request) {
  auto parsed = parseCdrQuery(request, false);
  if (auto* error = std::get_if<Response>(&parsed)) co_return std::move(*error);
  auto query = std::make_shared<CdrQuery>(std::get<CdrQuery>(std::move(parsed)));
  co_return co_await withConnection(*api, [&](pqxx::connection& conn) {
    std::string body;
    imports::CdrExportOptions options;
    options.max_rows = kCsvRowCap;
    imports::CdrExportResult r = imports::exportCdrsCsv(
        conn, query->filter,
        [&body](std::string_view chunk) {
          body.append(chunk);
          return true;
        },
        options);
    if (!r.ok) return errorResponse(500, "CDR export failed");
    Response out = Response::text(200, std::move(body), "text/csv; charset=utf-8");
    out.set("Content-Disposition", "attachment; filename=\"cdrs.csv\"");
    out.set("X-Row-Count", std::to_string(r.rows));
    if (r.rows >= kCsvRowCap) out.set("X-Row-Cap", std::to_string(kCsvRowCap));
    return out;
  });
}

}  // namespace

void registerCdrRoutes(Api& api) {
  Api* a = &api;
  api.get("/api/v1/cdrs", Access::kViewer, [a](Request& r) { return searchCdrs(a, r); });
  api.get("/api/v1/cdrs.csv", Access::kViewer, [a](Request& r) { return exportCdrs(a, r); });
}

}  // namespace sbc::admin

// CDRs, read-only: a paged JSON search and a CSV export. Both need a time
// range (the table is partitioned by month; an open range would read all of
// it). The export streams: a pool thread reads a server-side cursor 1,000
// rows at a time into a bounded pipe (1 MiB), and the response is written as
// HTTP/1.1 chunks as the pipe fills; no row cap, and memory stays flat
// whatever the range. A database failure mid-way cuts the connection, so a
// client never takes a partial file for a complete one.
#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <pqxx/pqxx>

#include <atomic>
#include <charconv>

#include "admin-ui/imports/cdr_export.h"
#include "admin-ui/imports/import_json.h"
#include "admin-ui/imports/iso_time.h"
#include "admin-ui/routes.h"
#include "common/db/pool.h"
#include "common/http/body_pipe.h"

namespace sbc::admin {

namespace asio = boost::asio;
namespace json = boost::json;
using http::Request;
using http::Response;

namespace {

constexpr std::size_t kPipeBytes = std::size_t{1024} * 1024;

// The response body, from the pipe the export thread writes.
class PipeSource final : public http::BodySource {
 public:
  PipeSource(std::shared_ptr<http::BodyPipe> pipe, std::string first)
      : pipe_(std::move(pipe)), first_(std::move(first)) {}
  ~PipeSource() override { pipe_->cancel(); }
  PipeSource(const PipeSource&) = delete;
  PipeSource& operator=(const PipeSource&) = delete;

  asio::awaitable<http::BodyPiece> next() override {
    http::BodyPiece piece;
    if (!first_.empty()) {
      piece.data.swap(first_);
      co_return piece;
    }
    piece.data = co_await pipe_->read();
    if (piece.data.empty()) {
      if (pipe_->failed() || pipe_->cancelled()) {
        piece.failed = true;
      } else {
        piece.done = true;
      }
    }
    co_return piece;
  }
  void cancel() override { pipe_->cancel(); }

 private:
  std::shared_ptr<http::BodyPipe> pipe_;
  std::string first_;
};

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
  auto pipe = std::make_shared<http::BodyPipe>(kPipeBytes);
  // X-Row-Count, counted in the export's own snapshot before its first row.
  auto count = std::make_shared<std::atomic<std::int64_t>>(-1);
  auto job = [pipe, query, count](pqxx::connection& conn) {
    imports::CdrExportOptions options;
    options.on_count = [count](std::uint64_t n) { count->store(static_cast<std::int64_t>(n)); };
    imports::CdrExportResult r = imports::exportCdrsCsv(
        conn, query->filter, [&pipe](std::string_view chunk) { return pipe->writeBlocking(chunk); },
        options);
    if (!r.ok) spdlog::warn("admin: CDR export failed after {} rows: {}", r.rows, r.message);
    pipe->close(r.ok);
  };
  bool queued = api->pool().submit(std::move(job), [pipe](std::string_view error) {
    spdlog::warn("admin: database unavailable for a CDR export: {}", error);
    pipe->close(false);
  });
  if (!queued) co_return errorResponse(503, "database busy");
  // Wait for the first rows (the header line at least), so that a query that
  // fails at once is still a proper error answer.
  std::string first = co_await pipe->read();
  if (first.empty()) co_return errorResponse(pipe->failed() ? 500 : 503, "CDR export failed");
  Response out;
  out.status = 200;
  out.content_type = "text/csv; charset=utf-8";
  out.set("Content-Disposition", "attachment; filename=\"cdrs.csv\"");
  if (std::int64_t n = count->load(); n >= 0) out.set("X-Row-Count", std::to_string(n));
  out.stream = std::make_shared<PipeSource>(pipe, std::move(first));
  co_return out;
}

}  // namespace

void registerCdrRoutes(Api& api) {
  Api* a = &api;
  api.get("/api/v1/cdrs", Access::kViewer, [a](Request& r) { return searchCdrs(a, r); });
  api.get("/api/v1/cdrs.csv", Access::kViewer, [a](Request& r) { return exportCdrs(a, r); });
}

}  // namespace sbc::admin

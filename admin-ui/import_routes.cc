// Ported numbers (the LNP table) and the bulk CSV imports of ported numbers
// and DIDs. The server hands a handler the whole body (no streaming body
// reads in common/http), so the import is fed from memory in 64 KiB chunks on
// a pool thread; the size of a file is bounded by http.max_body_bytes (one
// limit for every route: raise it in the config for large LNP feeds).
#include <boost/json.hpp>
#include <pqxx/pqxx>

#include <charconv>

#include "admin-ui/imports/csv_import.h"
#include "admin-ui/imports/import_json.h"
#include "admin-ui/routes.h"

namespace sbc::admin {

namespace asio = boost::asio;
namespace json = boost::json;
using http::Request;
using http::Response;

namespace {

constexpr std::size_t kFeedChunk = std::size_t{64} * 1024;

std::optional<long long> boundedInt(std::string_view s, long long lo, long long hi) {
  long long n = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || p != s.data() + s.size() || n < lo || n > hi) return std::nullopt;
  return n;
}

// GET /api/v1/ported-numbers?prefix=+1415&limit=50&offset=0
asio::awaitable<Response> listPortedNumbers(Api* api, Request& request) {
  std::string prefix = "+";
  long long limit = 50;
  long long offset = 0;
  for (const auto& [k, v] : request.query) {
    if (k == "prefix" || k == "number") {
      std::string_view digits = v;
      if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);
      bool ok = digits.size() <= 15;
      for (char c : digits) ok = ok && c >= '0' && c <= '9';
      if (!ok) co_return errorResponse(400, "prefix must be '+' and up to 15 digits", k);
      prefix = "+" + std::string(digits);
    } else if (k == "limit") {
      auto n = boundedInt(v, 1, 1000);
      if (!n) co_return errorResponse(400, "limit must be 1..1000", "limit");
      limit = *n;
    } else if (k == "offset") {
      auto n = boundedInt(v, 0, INT64_MAX);
      if (!n) co_return errorResponse(400, "offset must be a non-negative integer", "offset");
      offset = *n;
    } else {
      co_return errorResponse(400, "cannot filter on '" + k + "'", k);
    }
  }
  co_return co_await api->db([&](Transaction& txn) {  // by reference: see porting_routes.cc
    pqxx::row r = txn.exec_params1(
        "SELECT (SELECT count(*) FROM ported_numbers WHERE starts_with(number, $1)), "
        "coalesce((SELECT jsonb_agg(to_jsonb(x) ORDER BY x.number) FROM "
        "(SELECT number, routing_number, source, note, updated_at FROM ported_numbers "
        " WHERE starts_with(number, $1) ORDER BY number LIMIT $2 OFFSET $3) x), '[]')::text",
        prefix, limit, offset);
    return jsonText(200, "{\"items\":" + r[1].as<std::string>() + ",\"total\":" +
                             r[0].as<std::string>() + ",\"limit\":" + std::to_string(limit) +
                             ",\"offset\":" + std::to_string(offset) + "}");
  });
}

// POST .../import?skip_errors=true&mode=merge|replace, body text/csv.
asio::awaitable<Response> importCsv(Api* api, Request& request, imports::ImportTarget target) {
  auto ct = request.header("Content-Type");
  if (!ct || !(ct->starts_with("text/csv") || ct->starts_with("text/plain")))
    co_return errorResponse(415, "the body must be text/csv");
  json::object query;
  for (const auto& [k, v] : request.query)
    if (!query.contains(k)) query[k] = v;
  auto parsed = imports::importOptionsFromJson(query);
  if (auto* errors = std::get_if<std::vector<imports::ParamError>>(&parsed)) {
    const auto& first = errors->front();
    co_return errorResponse(400, first.field + ": " + first.message, first.field);
  }
  auto options = std::make_shared<imports::ImportOptions>(std::get<0>(std::move(parsed)));
  if (target == imports::ImportTarget::Dids && options->mode == imports::ImportMode::Replace)
    co_return errorResponse(400, "mode=replace is for ported numbers only", "mode");
  options->who = principalOf(request).who();
  options->client_ip = request.remote_address;
  auto body = std::make_shared<std::string>(std::move(request.body));
  co_return co_await withConnection(*api, [&](pqxx::connection& conn) {
    imports::CsvImport import(conn, target, *options);
    std::string_view rest = *body;
    while (!rest.empty()) {
      std::size_t n = std::min(rest.size(), kFeedChunk);
      import.feed(rest.substr(0, n));
      rest.remove_prefix(n);
    }
    imports::ImportResult r = import.finish();
    return Response::json(imports::httpStatus(r), imports::toJson(r));
  });
}

asio::awaitable<Response> importPortedNumbers(Api* api, Request& request) {
  co_return co_await importCsv(api, request, imports::ImportTarget::PortedNumbers);
}

asio::awaitable<Response> importDids(Api* api, Request& request) {
  co_return co_await importCsv(api, request, imports::ImportTarget::Dids);
}

}  // namespace

void registerImportRoutes(Api& api) {
  Api* a = &api;
  api.get("/api/v1/ported-numbers", Access::kViewer,
          [a](Request& r) { return listPortedNumbers(a, r); });
  api.post("/api/v1/ported-numbers/import", Access::kOperator,
           [a](Request& r) { return importPortedNumbers(a, r); });
  api.post("/api/v1/dids/import", Access::kOperator, [a](Request& r) { return importDids(a, r); });
}

}  // namespace sbc::admin

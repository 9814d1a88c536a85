// Ported numbers (the LNP table) and the bulk CSV imports of ported numbers
// and DIDs. The imports stream: the route reads its body as it arrives (up to
// http.max_import_bytes, 200 MiB by default) and hands it through a bounded
// pipe to a pool thread that parses it and COPYs the rows into the staging
// table while the upload is still going; nothing of the file is held beyond
// the pipe (1 MiB). The result is all-or-nothing as before (csv_import.h).
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/json.hpp>
#include <pqxx/pqxx>

#include <charconv>

#include "admin-ui/imports/csv_import.h"
#include "admin-ui/imports/import_json.h"
#include "admin-ui/routes.h"
#include "common/http/body_pipe.h"

namespace sbc::admin {

namespace asio = boost::asio;
namespace json = boost::json;
using http::Request;
using http::Response;

namespace {

constexpr std::size_t kPipeBytes = std::size_t{1024} * 1024;

// Network -> pipe. Returns -1, or the status the server answers instead
// (413, 400; 0 when the client is gone).
asio::awaitable<int> pumpBody(http::BodyReader* reader, std::shared_ptr<http::BodyPipe> pipe) {
  while (true) {
    http::BodyChunk chunk = co_await reader->read();
    if (chunk.failed()) {
      pipe->cancel();
      co_return chunk.error_status;
    }
    if (chunk.done) {
      pipe->close(true);
      co_return -1;
    }
    if (!co_await pipe->write(chunk.data)) co_return -1;  // the import stopped reading
  }
}

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
  auto pipe = std::make_shared<http::BodyPipe>(kPipeBytes);
  if (request.body_reader == nullptr) {  // not streamed (a test's router): the body is here
    (void)co_await pipe->write(request.body);
    pipe->close(true);
  }
  // Pipe -> parser -> COPY, on a pool thread, while pumpBody() fills the pipe.
  auto consume = withConnection(*api, [pipe, options, target](pqxx::connection& conn) {
    struct StopOnExit {
      http::BodyPipe& pipe;
      ~StopOnExit() { pipe.cancel(); }  // a producer still waiting for room gives up
    } stop{*pipe};
    imports::CsvImport import(conn, target, *options);
    while (true) {
      std::string data = pipe->readBlocking();
      if (data.empty()) break;
      import.feed(data);
    }
    // An upload cut short imports nothing (the transaction rolls back).
    if (pipe->cancelled()) return errorResponse(400, "the upload did not complete");
    imports::ImportResult r = import.finish();
    return Response::json(imports::httpStatus(r), imports::toJson(r));
  });
  if (request.body_reader == nullptr) co_return co_await std::move(consume);
  using namespace boost::asio::experimental::awaitable_operators;
  auto [pumped, answer] = co_await (pumpBody(request.body_reader, pipe) && std::move(consume));
  // A body the server refused (413, 400) is answered by the server itself.
  if (pumped >= 0) co_return errorResponse(pumped > 0 ? pumped : 400, "upload failed");
  co_return answer;
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
  const std::uint64_t limit = api.config().max_import_bytes;
  api.postStreaming(
      "/api/v1/ported-numbers/import", Access::kOperator,
      [a](Request& r) { return importPortedNumbers(a, r); }, limit);
  api.postStreaming(
      "/api/v1/dids/import", Access::kOperator, [a](Request& r) { return importDids(a, r); },
      limit);
}

}  // namespace sbc::admin

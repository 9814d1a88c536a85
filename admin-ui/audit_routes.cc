// Read-only views: the audit log (filter by entity, entity_id, who, action
// and time range; newest first; keyset paging with before_id).
#include <boost/json.hpp>
#include <pqxx/pqxx>

#include <charconv>
#include <regex>

#include "admin-ui/resource.h"
#include "admin-ui/routes.h"

namespace sbc::admin {

namespace asio = boost::asio;
using http::Request;
using http::Response;

namespace {

asio::awaitable<Response> listAudit(Api* api, Request& request) {
  static const std::regex kTime(
      R"(^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?(Z|[+-]\d{2}(:?\d{2})?)?$)");
  std::vector<std::string> where;
  std::vector<std::string> params;
  long long limit = 100;
  for (const auto& kv : request.query) {
    const std::string& k = kv.first;
    const std::string& v = kv.second;
    auto number = [&](long long lo, long long hi) -> std::optional<long long> {
      long long n = 0;
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (ec != std::errc() || p != v.data() + v.size() || n < lo || n > hi) return std::nullopt;
      return n;
    };
    if (k == "limit") {
      auto n = number(1, 1000);
      if (!n) co_return errorResponse(400, "limit must be 1..1000", "limit");
      limit = *n;
    } else if (k == "before_id") {
      auto n = number(1, INT64_MAX);
      if (!n) co_return errorResponse(400, "before_id must be a positive integer", "before_id");
      params.push_back(v);
      where.push_back("id < $" + std::to_string(params.size()) + "::bigint");
    } else if (k == "entity" || k == "entity_id" || k == "who" || k == "action") {
      if (v.size() > 200) co_return errorResponse(400, k + " is too long", k);
      params.push_back(v);
      where.push_back(k + " = $" + std::to_string(params.size()));
    } else if (k == "since" || k == "until") {
      if (!std::regex_match(v, kTime))
        co_return errorResponse(400, k + " must be an ISO 8601 time", k);
      params.push_back(v);
      where.push_back(std::string("at ") + (k == "since" ? ">=" : "<") + " $" +
                      std::to_string(params.size()) + "::timestamptz");
    } else {
      co_return errorResponse(400, "cannot filter on '" + k + "'", k);
    }
  }
  std::string sql =
      "SELECT coalesce(jsonb_agg(to_jsonb(x) ORDER BY x.id DESC), '[]'::jsonb)::text FROM "
      "(SELECT id, at, who, action, entity, entity_id, before, after, host(client_ip) AS "
      "client_ip FROM audit_log";
  for (std::size_t i = 0; i < where.size(); ++i) sql += (i ? " AND " : " WHERE ") + where[i];
  sql += " ORDER BY id DESC LIMIT " + std::to_string(limit) + ") x";
  co_return co_await api->db([&](Transaction& txn) {
    std::string items =
        txn.exec_params1(sql, pqxx::prepare::make_dynamic_params(params))[0].as<std::string>();
    return jsonText(200, "{\"items\":" + items + ",\"limit\":" + std::to_string(limit) + "}");
  });
}

}  // namespace

void registerAuditRoutes(Api& api) {
  Api* a = &api;
  api.get("/api/v1/audit", Access::kOperator, [a](Request& r) { return listAudit(a, r); });
}

}  // namespace sbc::admin

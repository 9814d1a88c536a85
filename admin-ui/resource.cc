#include "admin-ui/resource.h"

#include <boost/json.hpp>
#include <pqxx/pqxx>

#include <algorithm>
#include <charconv>
#include <regex>

namespace sbc::admin {

namespace asio = boost::asio;
namespace json = boost::json;
using http::Request;
using http::Response;

namespace {

const std::regex& timestampRegex() {
  static const std::regex re(
      R"(^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?(Z|[+-]\d{2}(:?\d{2})?)?$)");
  return re;
}

bool fullMatch(const std::string& pattern, std::string_view value) {
  std::regex re(pattern);
  return std::regex_match(value.begin(), value.end(), re);
}

std::optional<Response> checkText(const Field& f, std::string_view s, const std::string& name) {
  if (static_cast<std::int64_t>(s.size()) > (f.max == INT64_MAX ? 10000 : f.max))
    return errorResponse(422, name + " is too long", name);
  if (f.min != INT64_MIN && static_cast<std::int64_t>(s.size()) < f.min)
    return errorResponse(422, name + " is too short", name);
  if (!f.pattern.empty() && !fullMatch(f.pattern, s))
    return errorResponse(422, name + " has an invalid format", name);
  if (!f.choices.empty() && std::find(f.choices.begin(), f.choices.end(), s) == f.choices.end()) {
    std::string list;
    for (const auto& c : f.choices) list += (list.empty() ? "" : ", ") + c;
    return errorResponse(422, name + " must be one of: " + list, name);
  }
  return std::nullopt;
}

std::optional<Response> checkValue(const Field& f, const json::value& v, const std::string& name) {
  if (v.is_null()) {
    if (f.nullable) return std::nullopt;
    return errorResponse(422, name + " must not be null", name);
  }
  switch (f.type) {
    case FieldType::kText:
      if (!v.is_string()) return errorResponse(422, name + " must be a string", name);
      return checkText(f, v.as_string(), name);
    case FieldType::kInt: {
      std::int64_t n = 0;
      if (v.is_int64()) {
        n = v.as_int64();
      } else if (v.is_uint64() && v.as_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
        n = static_cast<std::int64_t>(v.as_uint64());
      } else {
        return errorResponse(422, name + " must be an integer", name);
      }
      if (n < f.min || n > f.max) {
        return errorResponse(
            422,
            name + " must be between " + std::to_string(f.min) + " and " + std::to_string(f.max),
            name);
      }
      return std::nullopt;
    }
    case FieldType::kNumber: {
      if (!v.is_number()) return errorResponse(422, name + " must be a number", name);
      double d = v.to_number<double>();
      if (d < static_cast<double>(f.min) || d > static_cast<double>(f.max))
        return errorResponse(422, name + " is out of range", name);
      return std::nullopt;
    }
    case FieldType::kBool:
      if (!v.is_bool()) return errorResponse(422, name + " must be true or false", name);
      return std::nullopt;
    case FieldType::kTextArray: {
      if (!v.is_array()) return errorResponse(422, name + " must be a list of strings", name);
      if (v.as_array().size() > 100) return errorResponse(422, name + " has too many items", name);
      for (const json::value& item : v.as_array()) {
        if (!item.is_string()) return errorResponse(422, name + " must be a list of strings", name);
        if (auto e = checkText(f, item.as_string(), name)) return e;
      }
      return std::nullopt;
    }
    case FieldType::kTimestamp: {
      if (!v.is_string()) return errorResponse(422, name + " must be an ISO 8601 time", name);
      const json::string& s = v.as_string();
      if (!std::regex_match(s.begin(), s.end(), timestampRegex()))
        return errorResponse(422, name + " must be an ISO 8601 time", name);
      return std::nullopt;
    }
  }
  return std::nullopt;
}

bool validKey(const ResourceSpec& spec, std::string_view key) {
  if (key.empty() || key.size() > 64) return false;
  if (!spec.key_is_int) return true;
  if (key.size() > 18) return false;
  return std::all_of(key.begin(), key.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool isColumn(const ResourceSpec& spec, std::string_view name) {
  for (const Field& f : spec.fields) {
    if (f.name == name) return true;
  }
  return std::find(spec.internal_columns.begin(), spec.internal_columns.end(), name) !=
         spec.internal_columns.end();
}

const Field* findField(const ResourceSpec& spec, std::string_view name) {
  for (const Field& f : spec.fields) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

struct Row {
  std::string json;
  std::int64_t version = 0;
};

std::optional<Row> selectOne(Transaction& txn, const ResourceSpec& spec, const std::string& key,
                             bool lock) {
  std::string sql = "SELECT (" + spec.json_expr + ")::text, " +
                    (spec.versioned ? "t.version" : "0::bigint") + " FROM " + spec.table +
                    " t WHERE t." + spec.key + " = $1" + (lock ? " FOR UPDATE" : "");
  pqxx::result r = txn.exec_params(sql, key);
  if (r.empty()) return std::nullopt;
  return Row{r[0][0].as<std::string>(), r[0][1].as<std::int64_t>()};
}

// Locks the row a change is about into `before`; or the answer instead: 404,
// or 409 when the client edited another version than the row's (`advice`
// ends that message).
std::optional<Response> lockForChange(Transaction& txn, const ResourceSpec& spec,
                                      const std::string& key, std::optional<std::int64_t> version,
                                      std::string_view advice, Row& before) {
  auto row = selectOne(txn, spec, key, true);
  if (!row) return errorResponse(404, spec.entity + " not found");
  if (version && *version != row->version) {
    return errorResponse(409,
                         spec.entity + " was changed by someone else (now version " +
                             std::to_string(row->version) + ")" + std::string(advice),
                         "version");
  }
  before = std::move(*row);
  return std::nullopt;
}

Response rowResponse(int status, const ResourceSpec& spec, const Row& row,
                     const json::object& extra = {}) {
  Response out;
  if (extra.empty()) {
    out = jsonText(status, row.json);
  } else {
    json::value v = json::parse(row.json);
    for (const auto& [k, e] : extra) v.as_object()[k] = e;
    out = Response::json(status, v);
  }
  if (spec.versioned) out.set("ETag", "\"" + std::to_string(row.version) + "\"");
  return out;
}

// The body's column values as one jsonb document, and their names.
std::pair<std::vector<std::string>, std::string> columnValues(const ResourceSpec& spec,
                                                              const json::object& body) {
  std::vector<std::string> cols;
  json::object values;
  for (const auto& [k, v] : body) {
    if (isColumn(spec, k)) {
      cols.emplace_back(k);
      values[k] = v;
    }
  }
  return {std::move(cols), json::serialize(values)};
}

// gcc 12 -O2 false positive (GCC bug 109224): when a coroutine's ramp is
// inlined into the std::function lambda that starts it, gcc pairs Asio's
// awaitable frame allocation (aligned_alloc) with the frame's class
// operator delete and reports -Wmismatched-new-delete. Silenced for these
// handlers only; nothing here allocates by hand.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
asio::awaitable<Response> listItems(Api* api, std::shared_ptr<const ResourceSpec> spec,
                                    Request& request) {
  long long limit = 50;
  long long offset = 0;
  std::string sort_col = spec->default_sort.empty() ? spec->key : spec->default_sort;
  bool desc = false;
  std::vector<std::string> where;
  std::vector<std::string> params;
  auto parseCount = [](std::string_view s, long long lo, long long hi) -> std::optional<long long> {
    long long v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || v < lo || v > hi) return std::nullopt;
    return v;
  };
  for (const auto& [k, v] : request.query) {
    if (k == "limit") {
      auto n = parseCount(v, 1, 1000);
      if (!n) co_return errorResponse(400, "limit must be 1..1000", "limit");
      limit = *n;
    } else if (k == "offset") {
      auto n = parseCount(v, 0, 100'000'000);
      if (!n) co_return errorResponse(400, "offset must be a non-negative integer", "offset");
      offset = *n;
    } else if (k == "sort") {
      std::string_view s = v;
      desc = !s.empty() && s.front() == '-';
      if (desc) s.remove_prefix(1);
      const Field* f = findField(*spec, s);
      if (s != spec->key && (!f || !f->sortable))
        co_return errorResponse(400, "cannot sort on '" + std::string(s) + "'", "sort");
      sort_col = s;
    } else if (k == "q") {
      if (spec->search_columns.empty() || v.size() > 200)
        co_return errorResponse(400, "q is not supported here", "q");
      std::string escaped;
      for (char c : v) {
        if (c == '%' || c == '_' || c == '\\') escaped.push_back('\\');
        escaped.push_back(c);
      }
      params.push_back("%" + escaped + "%");
      std::string cond;
      for (const auto& c : spec->search_columns) {
        cond += (cond.empty() ? "" : " OR ") +
                ("t." + c + "::text ILIKE $" + std::to_string(params.size()));
      }
      where.push_back("(" + cond + ")");
    } else {
      const Field* f = findField(*spec, k);
      if ((!f || !f->filterable) && k != spec->key)
        co_return errorResponse(400, "cannot filter on '" + k + "'", k);
      FieldType type = f ? f->type : (spec->key_is_int ? FieldType::kInt : FieldType::kText);
      if (f && f->nullable && v == "null") {
        where.push_back("t." + k + " IS NULL");
        continue;
      }
      std::string cast;
      if (type == FieldType::kInt) {
        if (!parseCount(v, INT64_MIN, INT64_MAX))
          co_return errorResponse(400, k + " must be an integer", k);
        cast = "::bigint";
      } else if (type == FieldType::kBool) {
        if (v != "true" && v != "false")
          co_return errorResponse(400, k + " must be true or false", k);
        cast = "::boolean";
      } else if (type != FieldType::kText) {
        co_return errorResponse(400, "cannot filter on '" + k + "'", k);
      }
      params.push_back(v);
      std::string cond = "t.";
      cond += k;
      cond += " = $";
      cond += std::to_string(params.size());
      cond += cast;
      where.push_back(std::move(cond));
    }
  }
  std::string from = " FROM " + spec->table + " t";
  if (!where.empty()) {
    from += " WHERE ";
    for (std::size_t i = 0; i < where.size(); ++i) from += (i ? " AND " : "") + where[i];
  }
  std::string order = " ORDER BY t." + sort_col + (desc ? " DESC" : "") +
                      (sort_col == spec->key ? "" : ", t." + spec->key);
  std::string count_sql = "SELECT count(*)" + from;
  std::vector<std::string> page_params = params;
  page_params.push_back(std::to_string(limit));
  page_params.push_back(std::to_string(offset));
  std::string page_sql =
      "SELECT coalesce(jsonb_agg(x.j ORDER BY x.n), '[]'::jsonb)::text FROM (SELECT (" +
      spec->json_expr + ") AS j, row_number() OVER (" + order + ") AS n" + from + order +
      " LIMIT $" + std::to_string(params.size() + 1) + "::bigint OFFSET $" +
      std::to_string(params.size() + 2) + "::bigint) x";
  std::string body;
  co_return co_await api->db(
      [&](Transaction& txn) {
        std::int64_t total =
            txn.exec_params1(count_sql, pqxx::prepare::make_dynamic_params(params))[0]
                .as<std::int64_t>();
        std::string items =
            txn.exec_params1(page_sql, pqxx::prepare::make_dynamic_params(page_params))[0]
                .as<std::string>();
        return jsonText(200, "{\"items\":" + items + ",\"total\":" + std::to_string(total) +
                                 ",\"limit\":" + std::to_string(limit) +
                                 ",\"offset\":" + std::to_string(offset) + "}");
      },
      spec->table);
}

asio::awaitable<Response> getItem(Api* api, std::shared_ptr<const ResourceSpec> spec,
                                  Request& request) {
  std::string key(request.param(spec->key));
  if (!validKey(*spec, key)) co_return errorResponse(404, spec->entity + " not found");
  co_return co_await api->db(
      [&](Transaction& txn) {
        auto row = selectOne(txn, *spec, key, false);
        if (!row) return errorResponse(404, spec->entity + " not found");
        return rowResponse(200, *spec, *row);
      },
      spec->table);
}

asio::awaitable<Response> createItem(Api* api, std::shared_ptr<const ResourceSpec> spec,
                                     Request& request) {
  JsonBody parsed = parseJsonObject(request);
  if (parsed.error) co_return *parsed.error;
  json::object& body = *parsed.object;
  if (auto e = validateObject(body, spec->fields, true, spec->child_keys)) co_return *e;
  Principal who = principalOf(request);
  json::object extra;
  if (spec->prepare) {
    if (auto e = co_await spec->prepare(*api, who, body, true, extra)) co_return *e;
  }
  auto column_values = columnValues(*spec, body);
  const std::vector<std::string>& cols = column_values.first;
  const std::string& values = column_values.second;
  std::string sql;
  if (cols.empty()) {
    sql = "INSERT INTO " + spec->table + " DEFAULT VALUES RETURNING " + spec->key + "::text";
  } else {
    std::string list, select;
    for (const auto& c : cols) {
      list += (list.empty() ? "" : ", ") + c;
      select += (select.empty() ? "r." : ", r.") + c;
    }
    sql = "INSERT INTO " + spec->table + " (" + list + ") SELECT " + select +
          " FROM jsonb_populate_record(NULL::" + spec->table + ", $1::jsonb) r RETURNING " +
          spec->key + "::text";
  }
  std::string ip = request.remote_address;
  co_return co_await api->db(
      [&](Transaction& txn) -> Response {
        std::string key = cols.empty() ? txn.exec1(sql)[0].as<std::string>()
                                       : txn.exec_params1(sql, values)[0].as<std::string>();
        if (spec->children) {
          WriteContext ctx{txn, body, key, true, who};
          if (auto e = spec->children(ctx)) return *e;
        }
        auto row = selectOne(txn, *spec, key, false);
        if (!row) return errorResponse(500, "the new row vanished");
        writeAudit(txn, who, "create", spec->entity, key, "", row->json, ip);
        Response out = rowResponse(201, *spec, *row, extra);
        out.set("Location", "/api/v1/" + spec->path + "/" + key);
        return out;
      },
      spec->table);
}

asio::awaitable<Response> updateItem(Api* api, std::shared_ptr<const ResourceSpec> spec,
                                     Request& request) {
  std::string key(request.param(spec->key));
  if (!validKey(*spec, key)) co_return errorResponse(404, spec->entity + " not found");
  JsonBody parsed = parseJsonObject(request);
  if (parsed.error) co_return *parsed.error;
  json::object& body = *parsed.object;
  std::vector<std::string> extra_keys = spec->child_keys;
  if (spec->versioned) extra_keys.emplace_back("version");
  if (auto e = validateObject(body, spec->fields, false, extra_keys)) co_return *e;
  std::optional<std::int64_t> version;
  if (spec->versioned) {
    if (const json::value* v = body.if_contains("version"); v && !v->is_int64())
      co_return errorResponse(422, "version must be an integer", "version");
    version = requestedVersion(request, &body);
    if (!version) {
      co_return errorResponse(428, "send the version you edited (If-Match or \"version\")",
                              "version");
    }
    body.erase("version");
  }
  Principal who = principalOf(request);
  json::object extra;
  if (spec->prepare) {
    if (auto e = co_await spec->prepare(*api, who, body, false, extra)) co_return *e;
  }
  auto column_values = columnValues(*spec, body);
  const std::vector<std::string>& cols = column_values.first;
  const std::string& values = column_values.second;
  std::string sql;
  if (!cols.empty()) {
    std::string set;
    for (const auto& c : cols) {
      if (!set.empty()) set += ", ";
      set += c;
      set += " = r.";
      set += c;
    }
    sql = "UPDATE " + spec->table + " t SET " + set +
          " FROM jsonb_populate_record(NULL::" + spec->table + ", $1::jsonb) r WHERE t." +
          spec->key + " = $2";
  } else if (spec->versioned) {
    // Only child rows changed: the parent's version still moves (trigger).
    sql = "UPDATE " + spec->table + " t SET updated_at = now() WHERE t." + spec->key +
          " = $2 AND $1::text IS NOT NULL";
  }
  std::string ip = request.remote_address;
  co_return co_await api->db(
      [&](Transaction& txn) -> Response {
        Row before;
        if (auto refusal = lockForChange(txn, *spec, key, version, ": reload and retry", before))
          return *refusal;
        if (!sql.empty()) txn.exec_params0(sql, values, key);
        if (spec->children) {
          WriteContext ctx{txn, body, key, false, who};
          if (auto e = spec->children(ctx)) return *e;
        }
        auto after = selectOne(txn, *spec, key, false);
        if (!after) return errorResponse(500, "the row vanished");
        writeAudit(txn, who, "update", spec->entity, key, before.json, after->json, ip);
        return rowResponse(200, *spec, *after, extra);
      },
      spec->table);
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

asio::awaitable<Response> deleteItem(Api* api, std::shared_ptr<const ResourceSpec> spec,
                                     Request& request) {
  std::string key(request.param(spec->key));
  if (!validKey(*spec, key)) co_return errorResponse(404, spec->entity + " not found");
  std::optional<std::int64_t> version =
      spec->versioned ? requestedVersion(request, nullptr) : std::nullopt;
  Principal who = principalOf(request);
  std::string ip = request.remote_address;
  co_return co_await api->db(
      [&](Transaction& txn) -> Response {
        Row before;
        if (auto refusal = lockForChange(txn, *spec, key, version, "", before)) return *refusal;
        if (spec->before_delete) {
          if (auto e = spec->before_delete(txn, key)) return *e;
        }
        try {
          txn.exec_params0("DELETE FROM " + spec->table + " WHERE " + spec->key + " = $1", key);
        } catch (const pqxx::foreign_key_violation& e) {
          return errorResponse(409, spec->entity + " is still in use: " + std::string(e.what()));
        }
        writeAudit(txn, who, "delete", spec->entity, key, before.json, "", ip);
        return Response::empty(204);
      },
      spec->table);
}

}  // namespace

std::optional<Response> validateObject(const json::object& body, const std::vector<Field>& fields,
                                       bool create, const std::vector<std::string>& extra_keys,
                                       const std::string& where) {
  for (const auto& [k, v] : body) {
    std::string name = where + std::string(k);
    const Field* f = nullptr;
    for (const Field& c : fields) {
      if (c.name == k) f = &c;
    }
    if (!f) {
      if (std::find(extra_keys.begin(), extra_keys.end(), k) != extra_keys.end()) continue;
      return errorResponse(422, "unknown field " + name, name);
    }
    if (!f->writable) return errorResponse(422, name + " is read-only", name);
    if (f->create_only && !create) return errorResponse(422, name + " cannot be changed", name);
    if (auto e = checkValue(*f, v, name)) return e;
  }
  if (create) {
    for (const Field& f : fields) {
      if (f.required && !body.contains(f.name))
        return errorResponse(422, where + f.name + " is required", where + f.name);
    }
  }
  return std::nullopt;
}

void writeAudit(Transaction& txn, const Principal& who, std::string_view action,
                std::string_view entity, std::string_view entity_id, const std::string& before,
                const std::string& after, const std::string& client_ip) {
  txn.exec_params0(
      "INSERT INTO audit_log (who, action, entity, entity_id, before, after, client_ip) "
      "VALUES ($1, $2, $3, $4, NULLIF($5, '')::jsonb, NULLIF($6, '')::jsonb, "
      "NULLIF($7, '')::inet)",
      who.who(), std::string(action), std::string(entity), std::string(entity_id), before, after,
      client_ip);
}

std::optional<std::int64_t> requestedVersion(const Request& request, const json::object* body) {
  if (auto m = request.header("If-Match")) {
    std::string_view s = *m;
    if (s.substr(0, 2) == "W/") s.remove_prefix(2);
    if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc() && p == s.data() + s.size()) return v;
    return std::nullopt;
  }
  if (body) {
    if (const json::value* v = body->if_contains("version"); v && v->is_int64())
      return v->as_int64();
  }
  return std::nullopt;
}

void registerResource(Api& api, const std::shared_ptr<const ResourceSpec>& spec) {
  Api* a = &api;
  std::string base = "/api/v1/" + spec->path;
  std::string item = base + "/{" + spec->key + "}";
  api.get(base, spec->read, [a, spec](Request& r) { return listItems(a, spec, r); });
  api.get(item, spec->read, [a, spec](Request& r) { return getItem(a, spec, r); });
  api.post(base, spec->write, [a, spec](Request& r) { return createItem(a, spec, r); });
  api.patch(item, spec->write, [a, spec](Request& r) { return updateItem(a, spec, r); });
  api.del(item, spec->write, [a, spec](Request& r) { return deleteItem(a, spec, r); });
}

}  // namespace sbc::admin

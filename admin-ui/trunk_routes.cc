// Trunks: the trunks row plus its gateways, source ACL and credentials,
// edited as one document. Children present in a create/update body replace
// the trunk's current set; absent ones stay. Credential passwords are
// write-only: sealed with the console's secret key (common/crypto), never
// returned, and an entry without "password" keeps the stored secret.
#include <boost/json.hpp>
#include <pqxx/pqxx>

#include "admin-ui/resource.h"
#include "admin-ui/routes.h"

namespace sbc::admin {

namespace json = boost::json;
using http::Response;

namespace {

constexpr std::int64_t kMaxLimit = 1'000'000;
const char* const kHeaderName = R"(^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$)";
const char* const kAbsolutePath = R"(^(/[^\r\n\x00]{0,4095})?$)";

std::vector<Field> trunkFields() {
  std::vector<Field> f;
  auto add = [&f](Field x) { f.push_back(std::move(x)); };
  add({.name = "id", .type = FieldType::kInt, .writable = false, .sortable = true});
  add({.name = "name",
       .required = true,
       .sortable = true,
       .filterable = true,
       .pattern = "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"});
  add({.name = "description", .max = 500});
  add({.name = "kind",
       .required = true,
       .sortable = true,
       .filterable = true,
       .choices = {"pbx", "carrier"}});
  add({.name = "realm", .sortable = true, .filterable = true, .choices = {"inside", "outside"}});
  add({.name = "enabled", .type = FieldType::kBool, .filterable = true});
  add({.name = "auth_mode", .filterable = true, .choices = {"acl", "digest", "register"}});
  add({.name = "max_calls", .type = FieldType::kInt, .sortable = true, .min = 0, .max = kMaxLimit});
  add({.name = "max_inbound", .type = FieldType::kInt, .min = 0, .max = kMaxLimit});
  add({.name = "max_outbound", .type = FieldType::kInt, .min = 0, .max = kMaxLimit});
  add({.name = "cps", .type = FieldType::kNumber, .min = 0, .max = 100000});
  add({.name = "cps_burst", .type = FieldType::kInt, .min = 0, .max = kMaxLimit});
  add({.name = "reject_code", .type = FieldType::kInt, .min = 400, .max = 699});
  add({.name = "reject_reason", .max = 200});
  add({.name = "header_strip", .type = FieldType::kTextArray, .pattern = kHeaderName});
  add({.name = "header_allow_x", .type = FieldType::kTextArray, .pattern = kHeaderName});
  add({.name = "pai_trust", .choices = {"trusted", "untrusted"}});
  add({.name = "product_header", .nullable = true, .max = 200});
  add({.name = "country_code", .pattern = "^[1-9][0-9]{0,2}$"});
  add({.name = "national_prefix", .pattern = "^[0-9]{0,4}$"});
  add({.name = "international_prefix", .pattern = "^[0-9]{0,4}$"});
  add({.name = "send_plus", .type = FieldType::kBool});
  add({.name = "pass_lnp_params", .type = FieldType::kBool});
  add({.name = "sip_trace", .type = FieldType::kBool});  // 0010, sbc/trace
  add({.name = "ported_out_action", .choices = {"reject_404", "route_by_lnp"}});
  add({.name = "media_policy",
       .filterable = true,
       .choices = {"rtp", "srtp-optional", "srtp-mandatory"}});
  // 0013: which first RTP source the relay latches (window_any: multi-homed PBX).
  add({.name = "media_latch", .choices = {"strict", "window_any"}});
  add({.name = "session_expires", .type = FieldType::kInt, .min = 0, .max = 86400});
  add({.name = "min_se", .type = FieldType::kInt, .min = 90, .max = 86400});
  add({.name = "max_call_seconds",
       .type = FieldType::kInt,
       .min = 1,
       .max = std::int64_t{7} * 86400});
  add({.name = "ring_timeout_seconds", .type = FieldType::kInt, .min = 1, .max = 3600});
  add({.name = "failover_timeout_ms", .type = FieldType::kInt, .min = 100, .max = 600000});
  add({.name = "register_outbound", .type = FieldType::kBool});
  add({.name = "register_expires", .type = FieldType::kInt, .min = 60, .max = 86400});
  add({.name = "register_user", .max = 128});
  // 0012: TLS client profile towards the trunk's tls gateways. Files on the
  // SBC nodes: absolute paths or empty.
  add({.name = "tls_client_cert", .pattern = kAbsolutePath});
  add({.name = "tls_client_key", .pattern = kAbsolutePath});
  add({.name = "tls_ca_file", .pattern = kAbsolutePath});
  add({.name = "tls_verify", .type = FieldType::kBool});
  add({.name = "created_at", .type = FieldType::kTimestamp, .writable = false, .sortable = true});
  add({.name = "updated_at", .type = FieldType::kTimestamp, .writable = false, .sortable = true});
  return f;
}

const std::vector<Field>& gatewayFields() {
  static const std::vector<Field> f = {
      {.name = "host", .required = true, .pattern = R"(^[A-Za-z0-9.:_\[\]-]{1,253}$)"},
      {.name = "port", .type = FieldType::kInt, .min = 1, .max = 65535},
      {.name = "transport", .choices = {"udp", "tcp", "tls"}},
      {.name = "priority", .type = FieldType::kInt, .min = 0, .max = 65535},
      {.name = "weight", .type = FieldType::kInt, .min = 1, .max = 65535},
      {.name = "enabled", .type = FieldType::kBool},
      {.name = "options_ping", .type = FieldType::kBool},
      {.name = "tls_server_name", .pattern = R"(^[A-Za-z0-9.-]{0,253}$)"},
  };
  return f;
}

const std::vector<Field>& aclFields() {
  static const std::vector<Field> f = {
      {.name = "cidr", .required = true, .max = 64, .pattern = "^[0-9A-Fa-f.:/]+$"},
      {.name = "description", .max = 200},
  };
  return f;
}

const std::vector<Field>& credentialFields() {
  static const std::vector<Field> f = {
      {.name = "direction", .required = true, .choices = {"inbound", "outbound"}},
      {.name = "username", .required = true, .min = 1, .max = 128},
      {.name = "password", .min = 1, .max = 256},
      {.name = "realm", .max = 128},
  };
  return f;
}

// The list under `key` validated, with defaults filled in so that
// jsonb_populate_recordset never produces a NULL for a NOT NULL column.
std::optional<Response> childList(const json::object& body, const std::string& key,
                                  const std::vector<Field>& fields, const json::object& defaults,
                                  std::size_t max_items, json::array& out) {
  const json::value& v = body.at(key);
  if (!v.is_array()) return errorResponse(422, key + " must be a list", key);
  if (v.as_array().size() > max_items)
    return errorResponse(422, key + " has more than " + std::to_string(max_items) + " entries",
                         key);
  std::size_t i = 0;
  for (const json::value& item : v.as_array()) {
    std::string where = key + "[" + std::to_string(i++) + "].";
    if (!item.is_object()) return errorResponse(422, where + " must be an object", key);
    if (auto e = validateObject(item.as_object(), fields, true, {}, where)) return e;
    json::object filled = defaults;
    for (const auto& [k, x] : item.as_object()) filled[k] = x;
    out.push_back(std::move(filled));
  }
  return std::nullopt;
}

std::optional<Response> writeChildren(WriteContext& ctx,
                                      const std::optional<crypto::SecretKey>& secret_key) {
  Transaction& txn = ctx.txn;
  if (ctx.body.contains("gateways")) {
    json::array rows;
    json::object defaults{{"port", 5060},         {"transport", "udp"}, {"priority", 10},
                          {"weight", 100},        {"enabled", true},    {"options_ping", true},
                          {"tls_server_name", ""}};
    if (auto e = childList(ctx.body, "gateways", gatewayFields(), defaults, 64, rows)) return e;
    txn.exec_params0("DELETE FROM trunk_gateways WHERE trunk_id = $1", ctx.key);
    if (!rows.empty()) {
      try {
        txn.exec_params0(
            "INSERT INTO trunk_gateways (trunk_id, host, port, transport, priority, weight, "
            "enabled, options_ping, tls_server_name) SELECT $1::bigint, r.host, r.port, "
            "r.transport, r.priority, r.weight, r.enabled, r.options_ping, r.tls_server_name "
            "FROM jsonb_populate_recordset(NULL::trunk_gateways, $2::jsonb) r",
            ctx.key, json::serialize(rows));
      } catch (const pqxx::unique_violation&) {
        return errorResponse(422, "gateways: the same host, port and transport twice", "gateways");
      }
    }
  }
  if (ctx.body.contains("acl")) {
    json::array rows;
    if (auto e =
            childList(ctx.body, "acl", aclFields(), json::object{{"description", ""}}, 256, rows)) {
      return e;
    }
    txn.exec_params0("DELETE FROM trunk_acl WHERE trunk_id = $1", ctx.key);
    if (!rows.empty()) {
      try {
        txn.exec_params0(
            "INSERT INTO trunk_acl (trunk_id, cidr, description) SELECT $1::bigint, r.cidr, "
            "r.description FROM jsonb_populate_recordset(NULL::trunk_acl, $2::jsonb) r",
            ctx.key, json::serialize(rows));
      } catch (const pqxx::data_exception& e) {
        return errorResponse(422, "acl: a CIDR is invalid (address bits set right of the mask?)",
                             "acl");
      } catch (const pqxx::unique_violation&) {
        return errorResponse(422, "acl: the same CIDR twice", "acl");
      }
    }
  }
  if (ctx.body.contains("credentials")) {
    json::array rows;
    if (auto e = childList(ctx.body, "credentials", credentialFields(), json::object{{"realm", ""}},
                           2, rows)) {
      return e;
    }
    std::vector<std::array<std::string, 4>> sealed;  // direction, username, realm, secret hex
    std::size_t i = 0;
    for (const json::value& row : rows) {
      const json::object& o = row.as_object();
      std::string where = "credentials[" + std::to_string(i++) + "].password";
      std::string direction(o.at("direction").as_string());
      std::string secret_hex;
      if (const json::value* pw = o.if_contains("password")) {
        if (!secret_key) {
          return errorResponse(422,
                               "the console has no database.secret_key_file: credentials "
                               "cannot be stored",
                               where);
        }
        crypto::Bytes s = crypto::encryptSecret(*secret_key, pw->as_string());
        if (s.empty()) return errorResponse(500, "encryption failed");
        secret_hex = crypto::toHex(s);
      } else {
        pqxx::result old = txn.exec_params(
            "SELECT encode(secret, 'hex') FROM trunk_credentials WHERE trunk_id = $1 AND "
            "direction = $2",
            ctx.key, direction);
        if (old.empty()) return errorResponse(422, where + " is required", where);
        secret_hex = old[0][0].as<std::string>();
      }
      for (const auto& s : sealed) {
        if (s[0] == direction)
          return errorResponse(422, "credentials: one per direction", "credentials");
      }
      sealed.push_back({direction, std::string(o.at("username").as_string()),
                        std::string(o.at("realm").as_string()), std::move(secret_hex)});
    }
    txn.exec_params0("DELETE FROM trunk_credentials WHERE trunk_id = $1", ctx.key);
    for (const auto& s : sealed) {
      txn.exec_params0(
          "INSERT INTO trunk_credentials (trunk_id, direction, username, realm, secret) "
          "VALUES ($1, $2, $3, $4, decode($5, 'hex'))",
          ctx.key, s[0], s[1], s[2], s[3]);
    }
  }
  return std::nullopt;
}

// A client certificate needs its key and the reverse; the form sends both,
// an API client changing one must send the other too.
boost::asio::awaitable<std::optional<Response>> prepareTrunk(Api&, const Principal&,
                                                             json::object& body, bool,
                                                             json::object&) {
  const json::value* cert = body.if_contains("tls_client_cert");
  const json::value* key = body.if_contains("tls_client_key");
  if (cert == nullptr && key == nullptr) co_return std::nullopt;
  const auto empty = [](const json::value* v) {
    return v == nullptr || !v->is_string() || v->as_string().empty();
  };
  if (cert == nullptr || key == nullptr || empty(cert) != empty(key)) {
    const char* field = empty(key) ? "tls_client_key" : "tls_client_cert";
    co_return errorResponse(422, "a TLS client certificate and its key go together", field);
  }
  co_return std::nullopt;
}

}  // namespace

void registerTrunkRoutes(Api& api) {
  auto spec = std::make_shared<ResourceSpec>();
  spec->path = "trunks";
  spec->entity = "trunk";
  spec->table = "trunks";
  spec->fields = trunkFields();
  spec->default_sort = "name";
  spec->search_columns = {"name", "description"};
  spec->child_keys = {"gateways", "acl", "credentials"};
  // Credentials without their secret: never in an answer, nor in the audit log.
  spec->json_expr =
      "to_jsonb(t) || jsonb_build_object("
      "'gateways', coalesce((SELECT jsonb_agg(to_jsonb(g) - 'trunk_id' - 'created_at' - "
      "'updated_at' ORDER BY g.priority, g.id) FROM trunk_gateways g WHERE g.trunk_id = t.id), "
      "'[]'::jsonb), "
      "'acl', coalesce((SELECT jsonb_agg(jsonb_build_object('cidr', a.cidr, 'description', "
      "a.description) ORDER BY a.id) FROM trunk_acl a WHERE a.trunk_id = t.id), '[]'::jsonb), "
      "'credentials', coalesce((SELECT jsonb_agg(jsonb_build_object('direction', c.direction, "
      "'username', c.username, 'realm', c.realm, 'updated_at', c.updated_at) ORDER BY "
      "c.direction) FROM trunk_credentials c WHERE c.trunk_id = t.id), '[]'::jsonb))";
  std::optional<crypto::SecretKey> key = api.secretKey();
  spec->children = [key](WriteContext& ctx) { return writeChildren(ctx, key); };
  spec->prepare = prepareTrunk;
  registerResource(api, std::move(spec));
}

}  // namespace sbc::admin

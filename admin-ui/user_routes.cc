// Users and API tokens: admin only. Passwords arrive in "password", are
// hashed (argon2id, off the I/O thread) into password_hash and never leave;
// a new API token is shown once, in the create answer, and stored as its
// SHA-256. Changing a user's password, role or disabling them ends their
// sessions. The last enabled admin can be neither deleted, disabled nor
// demoted (409): nobody could manage users any more.
#include <boost/json.hpp>
#include <pqxx/pqxx>

#include "admin-ui/password.h"
#include "admin-ui/resource.h"
#include "admin-ui/routes.h"

namespace sbc::admin {

namespace asio = boost::asio;
namespace json = boost::json;
using http::Response;

namespace {

asio::awaitable<std::optional<Response>> prepareUser(Api& api, const Principal&, json::object& body,
                                                     bool create, json::object&) {
  const json::value* pw = body.if_contains("password");
  if (!pw) {
    if (create) co_return errorResponse(422, "password is required", "password");
    co_return std::nullopt;
  }
  if (!pw->is_string()) co_return errorResponse(422, "password must be a string", "password");
  std::string password(pw->as_string());
  if (auto problem = passwordProblem(password))
    co_return errorResponse(422, "password " + *problem, "password");
  std::optional<std::string> hash;
  co_await api.offload([&] { hash = hashPassword(password); });
  if (!hash) co_return errorResponse(500, "password hashing failed");
  body.erase("password");
  body["password_hash"] = *hash;
  co_return std::nullopt;
}

constexpr std::string_view kLastAdmin =
    "this is the last enabled admin: make another user an admin first";

// Two admins demoting each other at once must not both succeed: the check is
// serialised by a transaction-scoped advisory lock taken after the row is
// written, so the second one's count (a new snapshot per statement under
// READ COMMITTED) sees the first one's committed change.
void lockAdminCheck(Transaction& txn) {
  txn.exec("SELECT pg_advisory_xact_lock(hashtext('sbc-admin:last-admin'))");
}

std::optional<Response> endSessions(WriteContext& ctx) {
  if (!ctx.create && (ctx.body.contains("role") || ctx.body.contains("disabled"))) {
    lockAdminCheck(ctx.txn);
    if (ctx.txn.exec1("SELECT count(*) FROM users WHERE role = 'admin' AND NOT disabled")[0]
            .as<long long>() == 0)
      return errorResponse(409, kLastAdmin, ctx.body.contains("role") ? "role" : "disabled");
  }
  if (!ctx.create && (ctx.body.contains("password_hash") || ctx.body.contains("role") ||
                      ctx.body.contains("disabled"))) {
    ctx.txn.exec_params0("DELETE FROM sessions WHERE user_id = $1", ctx.key);
  }
  return std::nullopt;
}

std::optional<Response> keepLastAdmin(Transaction& txn, const std::string& key) {
  lockAdminCheck(txn);
  pqxx::row r = txn.exec_params1(
      "SELECT EXISTS (SELECT 1 FROM users WHERE id = $1::bigint AND role = 'admin' AND NOT "
      "disabled), (SELECT count(*) FROM users WHERE role = 'admin' AND NOT disabled AND id <> "
      "$1::bigint)",
      key);
  if (r[0].as<bool>() && r[1].as<long long>() == 0) return errorResponse(409, kLastAdmin);
  return std::nullopt;
}

asio::awaitable<std::optional<Response>> prepareToken(Api&, const Principal& who,
                                                      json::object& body, bool create,
                                                      json::object& extra) {
  if (!create) co_return std::nullopt;
  std::string token = randomToken(32);
  // bytea's input format accepts "\x<hex>", so the hash rides in the jsonb row.
  body["token_hash"] = "\\x" + sha256Hex(token);
  if (who.user_id != 0) body["created_by"] = who.user_id;
  extra["token"] = token;
  co_return std::nullopt;
}

}  // namespace

void registerUserRoutes(Api& api) {
  auto spec = std::make_shared<ResourceSpec>();
  spec->path = "users";
  spec->entity = "user";
  spec->table = "users";
  spec->read = Access::kAdmin;
  spec->write = Access::kAdmin;
  spec->default_sort = "username";
  spec->search_columns = {"username"};
  spec->json_expr = "to_jsonb(t) - 'password_hash'";
  spec->fields = {
      {.name = "id", .type = FieldType::kInt, .writable = false, .sortable = true},
      {.name = "username",
       .required = true,
       .sortable = true,
       .filterable = true,
       .pattern = "^[A-Za-z0-9_.@-]{1,64}$"},
      {.name = "role",
       .required = true,
       .sortable = true,
       .filterable = true,
       .choices = {"admin", "operator", "viewer"}},
      {.name = "disabled", .type = FieldType::kBool, .filterable = true},
      {.name = "failed_logins", .type = FieldType::kInt, .min = 0, .max = 0},  // 0 unlocks
      {.name = "locked_until", .type = FieldType::kTimestamp, .nullable = true},
      {.name = "last_login_at", .type = FieldType::kTimestamp, .writable = false, .sortable = true},
      {.name = "created_at", .type = FieldType::kTimestamp, .writable = false, .sortable = true},
      {.name = "updated_at", .type = FieldType::kTimestamp, .writable = false, .sortable = true},
  };
  spec->child_keys = {"password"};
  spec->internal_columns = {"password_hash"};
  spec->prepare = prepareUser;
  spec->children = endSessions;
  spec->before_delete = keepLastAdmin;
  registerResource(api, std::move(spec));
}

void registerTokenRoutes(Api& api) {
  auto spec = std::make_shared<ResourceSpec>();
  spec->path = "tokens";
  spec->entity = "api_token";
  spec->table = "api_tokens";
  spec->versioned = false;
  spec->read = Access::kAdmin;
  spec->write = Access::kAdmin;
  spec->default_sort = "id";
  spec->search_columns = {"name"};
  spec->json_expr = "to_jsonb(t) - 'token_hash'";
  spec->fields = {
      {.name = "id", .type = FieldType::kInt, .writable = false, .sortable = true},
      {.name = "name",
       .required = true,
       .sortable = true,
       .filterable = true,
       .min = 1,
       .max = 100},
      {.name = "role",
       .required = true,
       .sortable = true,
       .filterable = true,
       .choices = {"admin", "operator", "viewer"}},
      {.name = "expires_at", .type = FieldType::kTimestamp, .nullable = true, .sortable = true},
      {.name = "revoked", .type = FieldType::kBool, .filterable = true},
      {.name = "created_by", .type = FieldType::kInt, .writable = false, .filterable = true},
      {.name = "created_at", .type = FieldType::kTimestamp, .writable = false, .sortable = true},
      {.name = "last_used_at", .type = FieldType::kTimestamp, .writable = false, .sortable = true},
  };
  spec->internal_columns = {"token_hash", "created_by"};
  spec->prepare = prepareToken;
  registerResource(api, std::move(spec));
}

}  // namespace sbc::admin

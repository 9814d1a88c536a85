#pragma once
// The console's REST API as the resource files see it: route registration
// with the least role each route needs, the database (a transaction on a pool
// thread, the coroutine resumed on its connection's executor afterwards) and
// slow CPU work (argon2) off the I/O threads. No Beast or libpqxx templates
// here beyond pqxx::work's declaration.
//
// Adding a resource is one line in app.cc: registerFooRoutes(api), with
// registerFooRoutes() in foo_routes.cc calling api.get()/post()/... .
#include <boost/asio/awaitable.hpp>
#include <boost/json/fwd.hpp>
#include <pqxx/types>  // forward declarations only (transaction_base)

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "admin-ui/config.h"
#include "common/crypto/secret_box.h"
#include "common/http/request.h"
#include "common/http/response.h"
#include "common/http/router.h"

namespace sbc::db {
class Pool;
}  // namespace sbc::db

namespace sbc::metrics {
class Registry;
}  // namespace sbc::metrics

namespace sbc::admin {

// Ordered: a role may do everything the ones below it may.
enum class Role : std::uint8_t { kViewer = 1, kOperator = 2, kAdmin = 3 };
std::string_view roleName(Role role);
std::optional<Role> roleFromName(std::string_view name);

// Who may call a route: anyone, or an authenticated principal of at least a role.
enum class Access : std::uint8_t { kPublic, kViewer, kOperator, kAdmin };

// The authenticated caller, as the auth middleware leaves it on the request.
struct Principal {
  std::int64_t user_id = 0;  // 0 for an API token
  std::int64_t token_id = 0;
  std::string name;  // username or token name
  Role role = Role::kViewer;
  bool session = false;      // cookie session (CSRF applies) rather than a bearer token
  std::string session_hash;  // hex SHA-256 of the cookie, for logout
  // audit_log.who: the username, or "token:<name>".
  std::string who() const { return session || user_id != 0 ? name : "token:" + name; }
};

struct RouteInfo {
  http::Method method;
  std::string pattern;
  Access access;
};

using Transaction = pqxx::transaction_base;
// Runs inside a transaction on a pool thread. The transaction commits when
// the answer is a success (< 400) and rolls back otherwise, so a validation
// error found half-way leaves nothing behind.
using DbFn = std::function<http::Response(Transaction&)>;

class Api {
 public:
  static constexpr std::string_view kSessionCookie = "sbc_session";

  Api(AdminConfig config, std::shared_ptr<db::Pool> pool, std::optional<crypto::SecretKey> key,
      std::shared_ptr<metrics::Registry> registry);
  ~Api();
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;

  // Start-up only, before the router is served.
  void get(std::string_view pattern, Access access, http::Handler handler);
  void post(std::string_view pattern, Access access, http::Handler handler);
  void put(std::string_view pattern, Access access, http::Handler handler);
  void patch(std::string_view pattern, Access access, http::Handler handler);
  void del(std::string_view pattern, Access access, http::Handler handler);
  void add(http::Method method, std::string_view pattern, Access access, http::Handler handler);
  // A POST whose body the handler reads as it arrives (request.body_reader),
  // up to max_body_bytes; authentication and the role check run first.
  void postStreaming(std::string_view pattern, Access access, http::Handler handler,
                     std::uint64_t max_body_bytes);
  // Routes added straight on router() are public unless listed here.
  const std::vector<RouteInfo>& routes() const { return routes_; }
  http::Router& router() { return *router_; }
  std::shared_ptr<const http::Router> sharedRouter() const { return router_; }

  // The transaction on a pool thread. SQL errors become answers: unique
  // violation 409, check/not-null/foreign-key/bad input 422 naming the field
  // when the constraint tells it; a full queue or a lost database 503.
  // `table` names the table whose constraint names map to fields.
  boost::asio::awaitable<http::Response> db(DbFn fn, std::string_view table = {});
  // `fn` on a worker thread (password hashing); the coroutine resumes on its
  // own executor afterwards (always true: the value is only there because a
  // completion needs one).
  boost::asio::awaitable<bool> offload(std::function<void()> fn);

  const AdminConfig& config() const { return config_; }
  const std::optional<crypto::SecretKey>& secretKey() const { return key_; }
  metrics::Registry& registry() { return *registry_; }
  db::Pool& pool() { return *pool_; }
  const std::shared_ptr<db::Pool>& sharedPool() const { return pool_; }

  // The access a matched request needs (kPublic for unregistered routes).
  Access accessFor(std::size_t route_index) const;

  // Start-up: something to end before the server drains its connections
  // (event streams, which would otherwise hold it for the whole grace).
  void onShutdown(std::function<void()> fn);
  // Runs them once, in reverse order (the signal handler, then ~Api).
  void shutdown();

 private:
  struct Workers;
  AdminConfig config_;
  std::shared_ptr<db::Pool> pool_;
  std::optional<crypto::SecretKey> key_;
  std::shared_ptr<metrics::Registry> registry_;
  std::shared_ptr<http::Router> router_;
  std::vector<RouteInfo> routes_;
  std::vector<Access> access_by_index_;
  std::unique_ptr<Workers> workers_;
  std::vector<std::function<void()>> on_shutdown_;
};

// ---- helpers shared by the resource files

// The principal the auth middleware attached (routes with Access above kPublic).
Principal principalOf(const http::Request& request);
void attachPrincipal(http::Request& request, Principal principal);

// {"error":{"status":422,"code":"unprocessable_entity","message":..., "field": ...}}
http::Response errorResponse(int status, std::string_view message, std::string_view field = {});
// A JSON text (already serialised, e.g. by PostgreSQL's jsonb) as the body.
http::Response jsonText(int status, std::string body);

// The request body as a JSON object; an error answer (400) otherwise.
struct JsonBody {
  std::shared_ptr<boost::json::object> object;
  std::optional<http::Response> error;
};
JsonBody parseJsonObject(const http::Request& request);

// Maps an SQL error to an answer (see Api::db()).
http::Response sqlErrorResponse(std::string_view sqlstate, std::string_view message,
                                std::string_view table = {});

}  // namespace sbc::admin

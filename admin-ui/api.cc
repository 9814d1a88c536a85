#include "admin-ui/api.h"

#include <spdlog/spdlog.h>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <pqxx/pqxx>

#include <atomic>
#include <mutex>
#include <regex>

#include "admin-ui/routes.h"
#include "common/db/pool.h"
#include "common/metrics/registry.h"

namespace sbc::admin {

namespace asio = boost::asio;
namespace json = boost::json;

std::string_view roleName(Role role) {
  switch (role) {
    case Role::kViewer:
      return "viewer";
    case Role::kOperator:
      return "operator";
    case Role::kAdmin:
      return "admin";
  }
  return "viewer";
}

std::optional<Role> roleFromName(std::string_view name) {
  if (name == "viewer") return Role::kViewer;
  if (name == "operator") return Role::kOperator;
  if (name == "admin") return Role::kAdmin;
  return std::nullopt;
}

struct Api::Workers {
  explicit Workers(unsigned n) : pool(n) {}
  asio::thread_pool pool;
};

Api::Api(AdminConfig config, std::shared_ptr<db::Pool> pool, std::optional<crypto::SecretKey> key,
         std::shared_ptr<metrics::Registry> registry)
    : config_(std::move(config)),
      pool_(std::move(pool)),
      key_(key),
      registry_(std::move(registry)),
      router_(std::make_shared<http::Router>()),
      workers_(std::make_unique<Workers>(config_.hash_threads)) {}

Api::~Api() {
  shutdown();
  workers_->pool.stop();
  workers_->pool.join();
}

void Api::add(http::Method method, std::string_view pattern, Access access, http::Handler handler) {
  std::size_t index = router_->routeCount();
  router_->add(method, pattern, std::move(handler));
  if (access_by_index_.size() <= index) access_by_index_.resize(index + 1, Access::kPublic);
  access_by_index_[index] = access;
  routes_.push_back(RouteInfo{method, std::string(pattern), access});
}
void Api::postStreaming(std::string_view pattern, Access access, http::Handler handler,
                        std::uint64_t max_body_bytes) {
  std::size_t index = router_->routeCount();
  router_->addStreaming(http::Method::kPost, pattern, std::move(handler), max_body_bytes);
  if (access_by_index_.size() <= index) access_by_index_.resize(index + 1, Access::kPublic);
  access_by_index_[index] = access;
  routes_.push_back(RouteInfo{http::Method::kPost, std::string(pattern), access});
}

void Api::get(std::string_view p, Access a, http::Handler h) {
  add(http::Method::kGet, p, a, std::move(h));
}
void Api::post(std::string_view p, Access a, http::Handler h) {
  add(http::Method::kPost, p, a, std::move(h));
}
void Api::put(std::string_view p, Access a, http::Handler h) {
  add(http::Method::kPut, p, a, std::move(h));
}
void Api::patch(std::string_view p, Access a, http::Handler h) {
  add(http::Method::kPatch, p, a, std::move(h));
}
void Api::del(std::string_view p, Access a, http::Handler h) {
  add(http::Method::kDelete, p, a, std::move(h));
}

Access Api::accessFor(std::size_t route_index) const {
  return route_index < access_by_index_.size() ? access_by_index_[route_index] : Access::kPublic;
}

void Api::onShutdown(std::function<void()> fn) {
  on_shutdown_.push_back(std::move(fn));
}

void Api::shutdown() {
  std::vector<std::function<void()>> fns;
  fns.swap(on_shutdown_);
  for (auto it = fns.rbegin(); it != fns.rend(); ++it) (*it)();
}

namespace {

// Completes an awaitable from another thread exactly once, on the
// coroutine's own executor.
template <typename Handler, typename T>
class Completion {
 public:
  // The work guard keeps the io_context running while the job is away, so
  // that a shutdown cannot destroy the waiting coroutine under it.
  explicit Completion(Handler h)
      : handler_(std::move(h)),
        work_(asio::make_work_guard(asio::get_associated_executor(handler_))) {}
  void complete(T value) {
    std::lock_guard lock(mutex_);
    if (done_) return;
    done_ = true;
    auto ex = asio::get_associated_executor(handler_);
    asio::post(ex, [h = std::move(handler_), v = std::move(value)]() mutable {
      std::move(h)(std::move(v));
    });
    work_.reset();
  }

 private:
  std::mutex mutex_;
  bool done_ = false;
  Handler handler_;
  asio::executor_work_guard<asio::associated_executor_t<Handler>> work_;
};

}  // namespace

// Not coroutines themselves: async_initiate hands the initiation to Asio's
// own coroutine, and gcc 12 relocates such by-value coroutine arguments
// bytewise, which breaks a std::string's or std::function's small buffer.
// So the initiations carry a single shared_ptr to their state.
struct ConnJobState {
  std::shared_ptr<db::Pool> pool;
  ConnFn fn;
};

namespace {

// `fn` with a whole pool connection on a pool thread; the one way both db()
// and withConnection() reach PostgreSQL. A lost connection is thrown back to
// the pool (it reconnects and runs the job once more); anything else thrown
// is a 500.
asio::awaitable<http::Response> onConnection(std::shared_ptr<db::Pool> pool, ConnFn fn) {
  auto state = std::make_shared<ConnJobState>(ConnJobState{std::move(pool), std::move(fn)});
  return asio::async_initiate<decltype(asio::use_awaitable), void(http::Response)>(
      [state](auto handler) {
        using C = Completion<decltype(handler), http::Response>;
        auto done = std::make_shared<C>(std::move(handler));
        auto job = [done, state](pqxx::connection& conn) {
          try {
            done->complete(state->fn(conn));
          } catch (const std::exception& e) {
            if (db::isConnectionLoss(e, &conn)) throw;
            spdlog::error("admin: database job failed: {}", e.what());
            done->complete(errorResponse(500, "internal error"));
          }
        };
        bool queued = state->pool->submit(std::move(job), [done](std::string_view error) {
          spdlog::warn("admin: database unavailable: {}", error);
          done->complete(errorResponse(503, "database unavailable"));
        });
        if (!queued) done->complete(errorResponse(503, "database busy"));
      },
      asio::use_awaitable);
}

}  // namespace

asio::awaitable<http::Response> Api::db(DbFn fn, std::string_view table) {
  auto shared = std::make_shared<DbFn>(std::move(fn));
  return onConnection(pool_, [shared, table = std::string(table)](pqxx::connection& conn) {
    try {
      pqxx::work txn(conn);
      http::Response r = (*shared)(txn);
      if (r.status < 400) {
        txn.commit();
      } else {
        txn.abort();
      }
      return r;
    } catch (const pqxx::sql_error& e) {
      if (db::isConnectionLoss(e, &conn)) throw;
      return sqlErrorResponse(e.sqlstate(), e.what(), table);
    }
  });
}

asio::awaitable<http::Response> withConnection(Api& api, ConnFn fn) {
  return onConnection(api.sharedPool(), std::move(fn));
}

struct OffloadState {
  asio::thread_pool* workers;
  std::function<void()> fn;
};

asio::awaitable<bool> Api::offload(std::function<void()> fn) {
  auto state = std::make_shared<OffloadState>(OffloadState{&workers_->pool, std::move(fn)});
  return asio::async_initiate<decltype(asio::use_awaitable), void(bool)>(
      [state](auto handler) {
        using C = Completion<decltype(handler), bool>;
        auto done = std::make_shared<C>(std::move(handler));
        asio::post(*state->workers, [done, state] {
          try {
            state->fn();
          } catch (const std::exception& e) {
            spdlog::error("admin: worker job failed: {}", e.what());
          }
          done->complete(true);
        });
      },
      asio::use_awaitable);
}

// ---- helpers

Principal principalOf(const http::Request& request) {
  Principal p;
  auto attr = [&](std::string_view k) -> std::string {
    auto it = request.attributes.find(k);
    return it == request.attributes.end() ? std::string() : it->second;
  };
  std::string uid = attr("auth.user_id");
  std::string tid = attr("auth.token_id");
  p.user_id = uid.empty() ? 0 : std::stoll(uid);
  p.token_id = tid.empty() ? 0 : std::stoll(tid);
  p.name = attr("auth.name");
  p.role = roleFromName(attr("auth.role")).value_or(Role::kViewer);
  p.session = attr("auth.session") == "1";
  p.session_hash = attr("auth.session_hash");
  return p;
}

void attachPrincipal(http::Request& request, Principal p) {
  request.attributes["auth.user_id"] = std::to_string(p.user_id);
  request.attributes["auth.token_id"] = std::to_string(p.token_id);
  request.attributes["auth.name"] = std::move(p.name);
  request.attributes["auth.role"] = std::string(roleName(p.role));
  request.attributes["auth.session"] = p.session ? "1" : "0";
  request.attributes["auth.session_hash"] = std::move(p.session_hash);
}

http::Response errorResponse(int status, std::string_view message, std::string_view field) {
  std::string code;
  for (char c : http::reasonPhrase(status)) {
    if (c == ' ' || c == '-') {
      code.push_back('_');
    } else if (c != '\'') {
      code.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
  }
  json::object err{{"status", status}, {"code", code}, {"message", message}};
  if (!field.empty()) err["field"] = field;
  return http::Response::json(status, json::object{{"error", std::move(err)}});
}

http::Response jsonText(int status, std::string body) {
  http::Response r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(body);
  return r;
}

JsonBody parseJsonObject(const http::Request& request) {
  JsonBody out;
  if (auto ct = request.header("Content-Type"); !ct || ct->substr(0, 16) != "application/json") {
    out.error = errorResponse(415, "the body must be application/json");
    return out;
  }
  boost::system::error_code ec;
  json::value v = json::parse(request.body, ec);
  if (ec) {
    out.error = errorResponse(400, "the body is not valid JSON: " + ec.message());
    return out;
  }
  if (!v.is_object()) {
    out.error = errorResponse(400, "the body must be a JSON object");
    return out;
  }
  out.object = std::make_shared<json::object>(std::move(v.as_object()));
  return out;
}

http::Response sqlErrorResponse(std::string_view sqlstate, std::string_view message,
                                std::string_view table) {
  // The field, when PostgreSQL names it: a not-null error names the column, a
  // column CHECK is "<table>_<column>_check", a UNIQUE "<table>_<column>_key".
  static const std::regex kConstraint(R"re(constraint "([A-Za-z0-9_]+)")re");
  static const std::regex kColumn(R"re(column "([A-Za-z0-9_]+)")re");
  std::string full(message);
  std::string msg = full;
  if (msg.rfind("ERROR:", 0) == 0) msg.erase(0, msg.find_first_not_of(' ', 6));
  if (auto nl = msg.find('\n'); nl != std::string::npos) msg.resize(nl);
  std::string field;
  std::smatch m;
  if (std::regex_search(full, m, kColumn)) {
    field = m[1];
  } else if (std::regex_search(full, m, kConstraint)) {
    field = m[1];
    for (std::string_view suffix : {"_check", "_fkey", "_key"}) {
      if (field.size() > suffix.size() && field.ends_with(suffix)) {
        field.resize(field.size() - suffix.size());
        break;
      }
    }
    std::string prefix = std::string(table) + "_";
    if (!table.empty() && field.rfind(prefix, 0) == 0) field.erase(0, prefix.size());
  }
  if (sqlstate == "23505") return errorResponse(409, msg, field);
  if (sqlstate == "40001" || sqlstate == "40P01")
    return errorResponse(409, "concurrent update, retry", field);
  if (sqlstate.substr(0, 2) == "23" || sqlstate.substr(0, 2) == "22")
    return errorResponse(422, msg, field);
  spdlog::error("admin: SQL error {}: {}", sqlstate, msg);
  return errorResponse(500, "database error");
}

}  // namespace sbc::admin

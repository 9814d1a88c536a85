#include "admin-ui/auth.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <pqxx/pqxx>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "admin-ui/auth_cache.h"
#include "admin-ui/password.h"
#include "admin-ui/rate_limiter.h"
#include "common/db/notify_listener.h"
#include "common/db/pool.h"
#include "common/http/forwarded.h"
#include "common/metrics/registry.h"

namespace sbc::admin {

namespace asio = boost::asio;
namespace json = boost::json;
using http::Request;
using http::Response;

std::optional<std::string_view> cookieValue(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    std::size_t semi = header.find(';');
    std::string_view part = header.substr(0, semi);
    header = semi == std::string_view::npos ? std::string_view{} : header.substr(semi + 1);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    std::size_t eq = part.find('=');
    if (eq == std::string_view::npos) continue;
    if (part.substr(0, eq) == name) return part.substr(eq + 1);
  }
  return std::nullopt;
}

std::optional<std::string_view> bearerToken(std::string_view authorization) {
  if (authorization.size() < 8 || !http::equalsIgnoreCase(authorization.substr(0, 7), "Bearer "))
    return std::nullopt;
  std::string_view t = authorization.substr(7);
  while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
  while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
  if (t.empty()) return std::nullopt;
  return t;
}

bool isUnsafeMethod(http::Method m) {
  return m == http::Method::kPost || m == http::Method::kPut || m == http::Method::kPatch ||
         m == http::Method::kDelete;
}

namespace {

bool allowed(Role role, Access access) {
  switch (access) {
    case Access::kPublic:
      return true;
    case Access::kViewer:
      return role >= Role::kViewer;
    case Access::kOperator:
      return role >= Role::kOperator;
    case Access::kAdmin:
      return role >= Role::kAdmin;
  }
  return false;
}

// Tokens we hand out are base64url; anything else cannot match, so it is
// refused before a database round trip.
bool plausibleToken(std::string_view t) {
  if (t.size() < 20 || t.size() > 128) return false;
  for (char c : t) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  }
  return true;
}

constexpr std::string_view kAuthChannel = "admin_auth";
// Far future for a token without expires_at.
constexpr double kNoExpiry = 1e18;

double unixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// "{a,b,c}": a text[] literal of values that need no quoting (hex, numbers).
std::string arrayLiteral(const std::vector<std::string>& items) {
  std::string out = "{";
  for (const auto& i : items) {
    if (out.size() > 1) out += ',';
    out += i;
  }
  out += '}';
  return out;
}

// Writes back the uses the cache saw (batched, on a pool thread), drops
// expired entries, and purges expired sessions from the table; on a thread
// of its own that only sleeps and submits.
class AuthMaintenance {
 public:
  AuthMaintenance(std::shared_ptr<db::Pool> pool, AuthCache& cache, long long idle_seconds,
                  std::chrono::seconds purge_every)
      : pool_(std::move(pool)), cache_(cache), idle_(idle_seconds), purge_every_(purge_every) {
    thread_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "admin-auth");  // top -H, perf
      run();
    });
  }
  ~AuthMaintenance() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
    flush();  // the last uses, best effort
  }
  AuthMaintenance(const AuthMaintenance&) = delete;
  AuthMaintenance& operator=(const AuthMaintenance&) = delete;

 private:
  static constexpr auto kFlushEvery = std::chrono::seconds(1);

  void run() {
    auto next_purge = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      cv_.wait_for(lock, kFlushEvery, [this] { return stopping_; });
      if (stopping_) break;
      lock.unlock();
      flush();
      cache_.sweep(unixNow());
      if (std::chrono::steady_clock::now() >= next_purge) {
        purge();
        next_purge = std::chrono::steady_clock::now() + purge_every_;
      }
      lock.lock();
    }
  }

  void flush() {
    AuthCache::Touches t = cache_.takeTouches();
    if (t.sessions.empty() && t.tokens.empty()) return;
    auto split = [](const std::vector<std::pair<std::string, double>>& v) {
      std::pair<std::vector<std::string>, std::vector<std::string>> out;
      for (const auto& [hash, when] : v) {
        out.first.push_back(hash);
        out.second.push_back(fmt::format("{:.6f}", when));
      }
      return std::make_pair(arrayLiteral(out.first), arrayLiteral(out.second));
    };
    auto sessions = split(t.sessions);
    auto tokens = split(t.tokens);
    bool have_sessions = !t.sessions.empty(), have_tokens = !t.tokens.empty();
    // greatest(): another console may have written a later use.
    pool_->submit([=](pqxx::connection& conn) {
      pqxx::work txn(conn);
      if (have_sessions) {
        txn.exec_params0(
            "UPDATE sessions s SET last_seen_at = greatest(s.last_seen_at, v.t) FROM "
            "(SELECT decode(unnest($1::text[]), 'hex') AS h, "
            "to_timestamp(unnest($2::float8[])) AS t) v WHERE s.token_hash = v.h",
            sessions.first, sessions.second);
      }
      if (have_tokens) {
        txn.exec_params0(
            "UPDATE api_tokens a SET last_used_at = greatest(a.last_used_at, v.t) FROM "
            "(SELECT decode(unnest($1::text[]), 'hex') AS h, "
            "to_timestamp(unnest($2::float8[])) AS t) v WHERE a.token_hash = v.h",
            tokens.first, tokens.second);
      }
      txn.commit();
    });
  }

  void purge() {
    // The margin covers uses not yet written back by any console.
    long long keep = idle_ + 60;
    pool_->submit([keep](pqxx::connection& conn) {
      pqxx::work txn(conn);
      pqxx::result r = txn.exec_params(
          "DELETE FROM sessions WHERE expires_at < now() "
          "OR last_seen_at < now() - make_interval(secs => $1)",
          keep);
      txn.commit();
      if (r.affected_rows() > 0)
        spdlog::debug("admin: purged {} expired sessions", r.affected_rows());
    });
  }

  std::shared_ptr<db::Pool> pool_;
  AuthCache& cache_;
  long long idle_;
  std::chrono::seconds purge_every_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

struct AuthState {
  Api* api;
  RateLimiter by_ip;
  RateLimiter by_user;
  bool use_cache = true;
  AuthCache cache;
  std::unique_ptr<AuthMaintenance> maintenance;
  std::unique_ptr<db::NotifyListener> listener;  // last: stopped before the cache goes
  prometheus::Counter* cache_hit = nullptr;
  prometheus::Counter* cache_miss = nullptr;
  prometheus::Counter* login_ok = nullptr;
  prometheus::Counter* login_failed = nullptr;
  prometheus::Counter* login_limited = nullptr;
  prometheus::Counter* auth_failed = nullptr;
  prometheus::Counter* csrf_failed = nullptr;
  prometheus::Counter* forbidden = nullptr;
  AuthState(Api* a, double rate)
      : api(a),
        by_ip(rate, rate),
        by_user(rate, rate),
        cache(AuthCache::Options{static_cast<double>(a->config().session_idle.count()),
                                 static_cast<double>(a->config().auth_cache_revalidate.count()),
                                 100'000}) {}
  ~AuthState() {
    if (listener) listener->stop();
  }

  // The cache serves only while this console hears every invalidation.
  std::optional<CachedAuth> cached(const std::string& hash) {
    if (!use_cache) return std::nullopt;
    if (listener && !listener->listening()) {
      cache.setEnabled(false);
      return std::nullopt;
    }
    cache.setEnabled(true);  // clears when it was off: changes may have been missed
    auto hit = cache.lookup(hash, unixNow());
    (hit ? cache_hit : cache_miss)->Increment();
    return hit;
  }
};

// gcc 12 -O2 false positive (GCC bug 109224): when a coroutine's ramp is
// inlined into the std::function lambda that starts it, gcc pairs Asio's
// awaitable frame allocation (aligned_alloc) with the frame's class
// operator delete and reports -Wmismatched-new-delete. Silenced for these
// coroutines only; nothing here allocates by hand.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
asio::awaitable<std::optional<Response>> authenticate(std::shared_ptr<AuthState> st,
                                                      Request& request) {
  Api& api = *st->api;
  Access access = api.accessFor(request.route_index);
  if (access == Access::kPublic) co_return std::nullopt;

  Principal p;
  std::string csrf;
  bool found = false;
  if (auto authz = request.header("Authorization")) {
    auto token = bearerToken(*authz);
    if (!token || !plausibleToken(*token)) {
      st->auth_failed->Increment();
      co_return errorResponse(401, "authentication required");
    }
    std::string hash = sha256Hex(*token);
    if (auto hit = st->cached(hash)) {
      found = true;
      p.token_id = hit->token_id;
      p.name = std::move(hit->name);
      p.role = hit->role;
    } else {
      std::uint64_t generation = st->cache.generation();
      CachedAuth entry;
      Response r = co_await api.db([&](Transaction& txn) {
        pqxx::result rows = txn.exec_params(
            "UPDATE api_tokens SET last_used_at = now() WHERE token_hash = decode($1, 'hex') "
            "AND NOT revoked AND (expires_at IS NULL OR expires_at > now()) "
            "RETURNING id, name, role, coalesce(extract(epoch FROM expires_at)::float8, $2), "
            "extract(epoch FROM now())::float8",
            hash, kNoExpiry);
        if (!rows.empty()) {
          found = true;
          p.token_id = rows[0][0].as<std::int64_t>();
          p.name = rows[0][1].as<std::string>();
          p.role = roleFromName(rows[0][2].as<std::string>()).value_or(Role::kViewer);
          entry.expires_at = rows[0][3].as<double>();
          entry.last_seen = entry.validated_at = rows[0][4].as<double>();
        }
        return Response::empty(200);
      });
      if (r.status >= 400) co_return r;
      if (found && st->use_cache) {
        entry.token_id = p.token_id;
        entry.name = p.name;
        entry.role = p.role;
        entry.validated_at = std::min(entry.validated_at, unixNow());
        st->cache.insert(hash, std::move(entry), generation);
      }
    }
  } else if (auto cookies = request.header("Cookie")) {
    auto token = cookieValue(*cookies, Api::kSessionCookie);
    if (token && plausibleToken(*token)) {
      std::string hash = sha256Hex(*token);
      if (auto hit = st->cached(hash)) {
        found = true;
        p.user_id = hit->user_id;
        p.name = std::move(hit->name);
        p.role = hit->role;
        csrf = std::move(hit->csrf);
      } else {
        long long idle = api.config().session_idle.count();
        std::uint64_t generation = st->cache.generation();
        CachedAuth entry;
        Response r = co_await api.db([&](Transaction& txn) {
          pqxx::result rows = txn.exec_params(
              "UPDATE sessions s SET last_seen_at = now() FROM users u "
              "WHERE s.token_hash = decode($1, 'hex') AND u.id = s.user_id AND NOT u.disabled "
              "AND s.expires_at > now() AND s.last_seen_at > now() - make_interval(secs => $2) "
              "RETURNING u.id, u.username, u.role, s.csrf_token, "
              "extract(epoch FROM s.expires_at)::float8, extract(epoch FROM now())::float8",
              hash, idle);
          if (!rows.empty()) {
            found = true;
            p.user_id = rows[0][0].as<std::int64_t>();
            p.name = rows[0][1].as<std::string>();
            p.role = roleFromName(rows[0][2].as<std::string>()).value_or(Role::kViewer);
            csrf = rows[0][3].as<std::string>();
            entry.expires_at = rows[0][4].as<double>();
            entry.last_seen = entry.validated_at = rows[0][5].as<double>();
          }
          return Response::empty(200);
        });
        if (r.status >= 400) co_return r;
        if (found && st->use_cache) {
          entry.user_id = p.user_id;
          entry.name = p.name;
          entry.role = p.role;
          entry.session = true;
          entry.csrf = csrf;
          // The database's clock set last_seen; ours must not make it later.
          entry.last_seen = std::min(entry.last_seen, unixNow());
          entry.validated_at = entry.last_seen;
          st->cache.insert(hash, std::move(entry), generation);
        }
      }
      p.session = true;
      p.session_hash = hash;
    }
  }
  if (!found) {
    // The console's start-up probe is not an error: browsers log every 401
    // in their console, and "not logged in yet" is the normal first state.
    if (request.method == http::Method::kGet && request.route == "/api/v1/session" &&
        request.queryParam("probe") == "1") {
      Response r = Response::json(200, json::object{{"authenticated", false}});
      r.set("Cache-Control", "no-store");
      co_return r;
    }
    st->auth_failed->Increment();
    co_return errorResponse(401, "authentication required");
  }
  if (p.session && isUnsafeMethod(request.method)) {
    auto sent = request.header("X-CSRF-Token");
    if (!sent || !constantTimeEquals(*sent, csrf)) {
      st->csrf_failed->Increment();
      co_return errorResponse(403, "missing or wrong X-CSRF-Token");
    }
  }
  if (!allowed(p.role, access)) {
    st->forbidden->Increment();
    co_return errorResponse(403, std::string("this needs the ") +
                                     (access == Access::kAdmin ? "admin" : "operator") + " role");
  }
  request.attributes["auth.csrf"] = csrf;
  attachPrincipal(request, std::move(p));
  co_return std::nullopt;
}

std::string sessionCookie(const std::string& token, long long max_age, bool secure) {
  std::string c = std::string(Api::kSessionCookie) + "=" + token +
                  "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" + std::to_string(max_age);
  if (secure) c += "; Secure";
  return c;
}

asio::awaitable<Response> login(std::shared_ptr<AuthState> st, Request& request) {
  Api& api = *st->api;
  JsonBody body = parseJsonObject(request);
  if (body.error) co_return *body.error;
  const json::object& o = *body.object;
  const json::value* u = o.if_contains("username");
  const json::value* pw = o.if_contains("password");
  if (!u || !u->is_string() || u->as_string().empty() || u->as_string().size() > 64)
    co_return errorResponse(422, "username is required", "username");
  if (!pw || !pw->is_string() || pw->as_string().empty() || pw->as_string().size() > 1024)
    co_return errorResponse(422, "password is required", "password");
  std::string username(u->as_string());
  std::string password(pw->as_string());
  std::string user_key = username;
  for (char& c : user_key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));

  if (!st->by_ip.allow(request.remote_address) || !st->by_user.allow(user_key)) {
    st->login_limited->Increment();
    Response r = errorResponse(429, "too many login attempts, try again later");
    int after =
        std::max(st->by_ip.retryAfter(request.remote_address), st->by_user.retryAfter(user_key));
    r.set("Retry-After", std::to_string(std::max(1, after)));
    co_return r;
  }

  struct UserRow {
    bool found = false;
    std::int64_t id = 0;
    std::string username, role, hash;
    bool disabled = false, locked = false;
  } row;
  Response r = co_await api.db([&](Transaction& txn) {
    pqxx::result rows = txn.exec_params(
        "SELECT id, username, role, password_hash, disabled, "
        "coalesce(locked_until > now(), false) FROM users WHERE lower(username) = lower($1)",
        username);
    if (!rows.empty()) {
      row.found = true;
      row.id = rows[0][0].as<std::int64_t>();
      row.username = rows[0][1].as<std::string>();
      row.role = rows[0][2].as<std::string>();
      row.hash = rows[0][3].as<std::string>();
      row.disabled = rows[0][4].as<bool>();
      row.locked = rows[0][5].as<bool>();
    }
    return Response::empty(200);
  });
  if (r.status >= 400) co_return r;

  bool ok = false;
  co_await api.offload([&] {
    // An unknown user costs the same hash as a known one.
    ok = verifyPassword(row.found ? row.hash : dummyPasswordHash(), password);
  });
  std::string ip = request.remote_address;
  if (!row.found || row.disabled || row.locked || !ok) {
    st->login_failed->Increment();
    if (row.found && !row.locked && !ok) {
      int max_failed = api.config().max_failed_logins;
      long long lockout = api.config().lockout.count();
      co_await api.db([&](Transaction& txn) {
        pqxx::result lr = txn.exec_params(
            "UPDATE users SET failed_logins = failed_logins + 1, locked_until = CASE WHEN "
            "failed_logins + 1 >= $2 THEN now() + make_interval(secs => $3) END WHERE id = $1 "
            "RETURNING locked_until IS NOT NULL",
            row.id, max_failed, lockout);
        bool now_locked = !lr.empty() && lr[0][0].as<bool>();
        txn.exec_params(
            "INSERT INTO audit_log (who, action, entity, entity_id, client_ip, after) "
            "VALUES ($1, $2, 'user', $3, $4::inet, NULL)",
            row.username, now_locked ? "login_locked" : "login_failed", std::to_string(row.id), ip);
        return Response::empty(200);
      });
    }
    co_return errorResponse(401, "invalid username or password");
  }

  std::string token = randomToken(32);
  std::string csrf = randomToken(24);
  std::string hash = sha256Hex(token);
  long long absolute = api.config().session_absolute.count();
  std::string user_agent(request.header("User-Agent").value_or("").substr(0, 256));
  std::string expires_at;
  r = co_await api.db([&](Transaction& txn) {
    pqxx::row s = txn.exec_params1(
        "INSERT INTO sessions (token_hash, user_id, csrf_token, expires_at, client_ip, user_agent) "
        "VALUES (decode($1, 'hex'), $2, $3, now() + make_interval(secs => $4), $5::inet, $6) "
        "RETURNING to_json(expires_at)#>>'{}'",
        hash, row.id, csrf, absolute, ip, user_agent);
    expires_at = s[0].as<std::string>();
    txn.exec_params0(
        "UPDATE users SET failed_logins = 0, locked_until = NULL, last_login_at = now() "
        "WHERE id = $1",
        row.id);
    // Sessions past their absolute expiry go on the way; no separate sweeper.
    txn.exec0("DELETE FROM sessions WHERE expires_at < now() - interval '1 day'");
    txn.exec_params0(
        "INSERT INTO audit_log (who, action, entity, entity_id, client_ip) "
        "VALUES ($1, 'login', 'user', $2, $3::inet)",
        row.username, std::to_string(row.id), ip);
    return Response::empty(200);
  });
  if (r.status >= 400) co_return r;
  st->login_ok->Increment();
  Response out = Response::json(
      200,
      json::object{
          {"user", json::object{{"id", row.id}, {"username", row.username}, {"role", row.role}}},
          {"csrf_token", csrf},
          {"expires_at", expires_at}});
  out.add("Set-Cookie", sessionCookie(token, absolute, request.secure));
  out.set("Cache-Control", "no-store");
  co_return out;
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

asio::awaitable<Response> logout(std::shared_ptr<AuthState> st, Request& request) {
  Api* api = st->api;
  Principal p = principalOf(request);
  std::string ip = request.remote_address;
  if (p.session) st->cache.erase(p.session_hash);
  Response r = co_await api->db([&](Transaction& txn) {
    if (p.session) {
      txn.exec_params0("DELETE FROM sessions WHERE token_hash = decode($1, 'hex')", p.session_hash);
      txn.exec_params("SELECT pg_notify($1, $2)", std::string(kAuthChannel), "logout");
    }
    txn.exec_params0(
        "INSERT INTO audit_log (who, action, entity, entity_id, client_ip) "
        "VALUES ($1, 'logout', 'user', $2, $3::inet)",
        p.who(), std::to_string(p.user_id), ip);
    return Response::empty(204);
  });
  if (r.status >= 400) co_return r;
  r.add("Set-Cookie", sessionCookie("", 0, request.secure));
  co_return r;
}

Response session(const Request& request) {
  Principal p = principalOf(request);
  json::object user{{"username", p.name}, {"role", roleName(p.role)}};
  if (p.user_id != 0) user["id"] = p.user_id;
  auto it = request.attributes.find("auth.csrf");
  json::object o{{"authenticated", true},
                 {"user", std::move(user)},
                 {"auth", p.session ? "session" : "token"}};
  if (p.session && it != request.attributes.end()) o["csrf_token"] = it->second;
  Response r = Response::json(200, o);
  r.set("Cache-Control", "no-store");
  return r;
}

std::shared_ptr<AuthState> stateFor(Api& api) {
  auto state = std::make_shared<AuthState>(&api, api.config().login_rate_per_minute);
  {
    auto logins =
        api.registry().counter("admin_logins_total", "Login attempts by result", {"result"});
    state->login_ok = &logins.with({"ok"});
    state->login_failed = &logins.with({"failed"});
    state->login_limited = &logins.with({"rate_limited"});
    auto denied = api.registry().counter("admin_requests_denied_total",
                                         "API requests refused by the auth middleware", {"reason"});
    state->auth_failed = &denied.with({"unauthenticated"});
    state->csrf_failed = &denied.with({"csrf"});
    state->forbidden = &denied.with({"role"});
    auto cache = api.registry().counter(
        "admin_auth_cache_total", "Authenticated requests answered from the session/token cache",
        {"result"});
    state->cache_hit = &cache.with({"hit"});
    state->cache_miss = &cache.with({"miss"});
  }
  const AdminConfig& config = api.config();
  state->use_cache = config.auth_cache;
  if (state->use_cache && !config.dsn.empty()) {
    db::NotifyListenerOptions lo;
    lo.dsn = config.dsn;
    lo.channels = {std::string(kAuthChannel)};
    lo.application_name = "sbc-admin-auth";
    AuthCache* cache = &state->cache;
    lo.on_notify = [cache](const db::Notification&) { cache->clear(); };
    state->listener = std::make_unique<db::NotifyListener>(std::move(lo));
    state->listener->start();
  }
  if (api.sharedPool()) {
    state->maintenance = std::make_unique<AuthMaintenance>(
        api.sharedPool(), state->cache, static_cast<long long>(config.session_idle.count()),
        config.session_purge_interval);
  }
  return state;
}

// Writes through these routes change who may do what (users, roles,
// passwords, tokens): whatever handled them, drop every cached entry here and
// tell the other consoles. The handler has committed by now; a request that
// read the database before the commit cannot put its answer back (the cache's
// generation moved).
bool changesAuth(const Request& request) {
  if (!isUnsafeMethod(request.method)) return false;
  for (std::string_view prefix :
       {"/api/v1/users", "/api/v1/tokens", "/api/v1/session", "/api/v1/account", "/api/v1/me"}) {
    if (request.route.starts_with(prefix)) return true;
  }
  return false;
}

void notifyOthers(db::Pool& pool, std::string payload) {
  pool.submit([payload = std::move(payload)](pqxx::connection& conn) {
    pqxx::nontransaction tx(conn);
    tx.exec_params("SELECT pg_notify($1, $2)", std::string(kAuthChannel), payload);
  });
}

// The client's address behind trusted reverse proxies, before anything
// (the login rate limiter, audit rows) reads request.remote_address.
http::SyncMiddleware forwardedFor(const std::shared_ptr<const http::TrustedProxies>& proxies) {
  return [proxies](Request& request) -> std::optional<Response> {
    auto xff = request.header("X-Forwarded-For");
    if (!xff) return std::nullopt;
    std::string joined;
    std::optional<std::string_view> value = xff;
    // Several X-Forwarded-For lines are one list, in order.
    std::size_t lines = 0;
    for (const auto& [name, v] : request.headers.fields()) {
      if (http::equalsIgnoreCase(name, "X-Forwarded-For")) {
        if (lines++ > 0) joined += ',';
        joined.append(v);
      }
    }
    if (lines > 1) value = joined;
    std::string client = proxies->clientAddress(request.remote_address, value);
    if (client != request.remote_address) {
      request.attributes["peer.address"] = request.remote_address;
      request.remote_address = std::move(client);
    }
    return std::nullopt;
  };
}

}  // namespace

void invalidateAuthCache(Transaction& txn, std::string_view why) {
  AuthCache::clearAll();
  txn.exec_params("SELECT pg_notify($1, $2)", std::string(kAuthChannel),
                  std::string(why.substr(0, 64)));
}

void installAuth(Api& api) {
  auto st = stateFor(api);
  if (!api.config().trusted_proxies.empty()) {
    api.router().useSync(
        forwardedFor(std::make_shared<const http::TrustedProxies>(api.config().trusted_proxies)));
  }
  api.router().use([st](Request& r) { return authenticate(st, r); });
  api.router().after([st](const Request& request, Response& response) {
    if (response.status >= 400 || !changesAuth(request)) return;
    st->cache.clear();
    if (st->api->sharedPool()) notifyOthers(*st->api->sharedPool(), "changed");
  });
  api.post("/api/v1/login", Access::kPublic, [st](Request& r) { return login(st, r); });
  api.post("/api/v1/logout", Access::kViewer, [st](Request& r) { return logout(st, r); });
  api.get("/api/v1/session", Access::kViewer,
          [](Request& r) -> asio::awaitable<Response> { co_return session(r); });
}

}  // namespace sbc::admin

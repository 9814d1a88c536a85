// Port orders over HTTP: thin wrappers around admin-ui/porting (the store
// runs its own transactions, so the handlers take a whole pool connection
// through withConnection()), and the scheduler that completes orders whose
// confirmed FOC time has come.
#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <pqxx/pqxx>

#include <atomic>
#include <charconv>

#include "admin-ui/porting/port_order_json.h"
#include "admin-ui/porting/port_order_store.h"
#include "admin-ui/routes.h"
#include "common/db/pool.h"
#include "common/metrics/registry.h"

namespace sbc::admin {

namespace asio = boost::asio;
namespace json = boost::json;
using http::Request;
using http::Response;

namespace {

porting::Actor actorOf(const Request& request) {
  return porting::Actor{principalOf(request).who(), request.remote_address};
}

// The API's error envelope, with the library's issues (field, rule, line,
// number, other_order_id) kept for the UI.
Response orderError(const porting::Error& e) {
  const int status = porting::httpStatus(e.code);
  json::object body = porting::toJson(e);
  json::object err{{"status", status},
                   {"code", porting::errorCodeName(e.code)},
                   {"message", e.message},
                   {"issues", std::move(body["issues"])}};
  if (!e.issues.empty() && !e.issues.front().field.empty()) err["field"] = e.issues.front().field;
  return Response::json(status, json::object{{"error", std::move(err)}});
}

Response orderAnswer(int status, const porting::PortOrder& order) {
  Response r = Response::json(status, porting::toJson(order));
  r.set("ETag", "\"" + std::to_string(order.version) + "\"");
  return r;
}

std::optional<long long> orderId(const Request& request) {
  std::string_view s = request.param("id");
  long long n = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || p != s.data() + s.size() || n < 1) return std::nullopt;
  return n;
}

// If-Match: "N" (or N).
std::optional<long long> ifMatchVersion(const Request& request) {
  auto h = request.header("If-Match");
  if (!h) return std::nullopt;
  std::string_view s = *h;
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  long long n = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return n;
}

json::object queryObject(const Request& request) {
  json::object q;
  for (const auto& [k, v] : request.query)
    if (!q.contains(k)) q[k] = v;
  return q;
}

asio::awaitable<Response> listPortOrders(Api* api, Request& request) {
  auto filter = porting::listFilterFromJson(queryObject(request));
  if (!filter) {
    Response r = orderError(filter.error());
    r.status = 400;
    co_return r;
  }
  // Captures by reference only: the locals live in this coroutine's frame
  // while it waits, and gcc 12 copies the temporaries of a co_await
  // expression bytewise (a captured std::string would not survive that).
  auto f = std::make_shared<porting::ListFilter>(filter.value());
  co_return co_await withConnection(*api, [&](pqxx::connection& conn) {
    auto orders = porting::listOrders(conn, *f);
    if (!orders) return orderError(orders.error());
    json::array items;
    for (const auto& s : orders.value()) items.push_back(porting::toJson(s));
    // The same filter as listOrders(), counted (the store returns a page only).
    pqxx::nontransaction tx(conn);
    const auto total =
        tx.exec_params1(
              "SELECT count(*) FROM port_orders o WHERE ($1 = '' OR o.status = $1)"
              " AND ($2 = '' OR o.direction = $2) AND ($3 = '' OR EXISTS (SELECT 1 FROM"
              " port_order_numbers n WHERE n.order_id = o.id AND n.number = $3))",
              f->status ? std::string(porting::statusName(*f->status)) : std::string(),
              f->direction ? std::string(porting::directionName(*f->direction)) : std::string(),
              f->number.value_or(""))[0]
            .as<long long>();
    return Response::json(200, json::object{{"items", std::move(items)},
                                            {"total", total},
                                            {"limit", f->limit},
                                            {"offset", f->offset}});
  });
}

asio::awaitable<Response> getPortOrder(Api* api, Request& request) {
  auto id = orderId(request);
  if (!id) co_return errorResponse(404, "no such port order");
  co_return co_await withConnection(*api, [&](pqxx::connection& conn) {
    auto order = porting::getOrder(conn, *id);
    return order ? orderAnswer(200, order.value()) : orderError(order.error());
  });
}

asio::awaitable<Response> createPortOrder(Api* api, Request& request) {
  JsonBody body = parseJsonObject(request);
  if (body.error) co_return *body.error;
  auto fields = porting::orderFieldsFromJson(json::value(*body.object));
  if (!fields) co_return orderError(fields.error());
  auto f = std::make_shared<porting::OrderFields>(std::move(fields).value());
  porting::Actor actor = actorOf(request);
  co_return co_await withConnection(*api, [&](pqxx::connection& conn) {
    auto order = porting::createOrder(conn, actor, *f);
    if (!order) return orderError(order.error());
    Response r = orderAnswer(201, order.value());
    r.set("Location", "/api/v1/port-orders/" + std::to_string(order.value().id));
    return r;
  });
}

// The members an operator edits (orderFieldsFromJson's), so that a PATCH can
// be laid over the stored order.
constexpr std::string_view kEditable[] = {
    "direction",      "losing_carrier", "gaining_carrier", "target_trunk_id", "account_name",
    "account_number", "account_pin",    "billing_number",  "service_address", "authorized_by",
    "requested_foc",  "notes",          "routing_number",  "numbers"};

asio::awaitable<Response> patchPortOrder(Api* api, Request& request) {
  auto id = orderId(request);
  if (!id) co_return errorResponse(404, "no such port order");
  JsonBody body = parseJsonObject(request);
  if (body.error) co_return *body.error;
  std::optional<long long> version = ifMatchVersion(request);
  if (const auto* v = body.object->if_contains("version")) {
    if (!v->is_int64() && !v->is_uint64())
      co_return errorResponse(422, "version must be an integer", "version");
    version = v->to_number<long long>();
    body.object->erase("version");
  }
  if (!version)
    co_return errorResponse(428, "send the version edited (If-Match or \"version\")", "version");
  auto patch = body.object;
  const long long oid = *id;
  const long long v = *version;
  porting::Actor actor = actorOf(request);
  co_return co_await withConnection(*api, [&](pqxx::connection& conn) {
    auto current = porting::getOrder(conn, oid);
    if (!current) return orderError(current.error());
    // Only the members sent change: the stored order, the patch on top.
    json::object stored = porting::toJson(current.value());
    json::object merged;
    for (std::string_view k : kEditable)
      if (const auto* x = stored.if_contains(k)) merged[k] = *x;
    if (patch->contains("numbers_text") || patch->contains("numbers_csv")) merged.erase("numbers");
    for (const auto& kv : *patch) merged[kv.key()] = kv.value();
    auto fields = porting::orderFieldsFromJson(json::value(std::move(merged)));
    if (!fields) return orderError(fields.error());
    auto order = porting::updateOrder(conn, actor, oid, v, fields.value());
    return order ? orderAnswer(200, order.value()) : orderError(order.error());
  });
}

asio::awaitable<Response> transitionPortOrder(Api* api, Request& request) {
  auto id = orderId(request);
  if (!id) co_return errorResponse(404, "no such port order");
  JsonBody body = parseJsonObject(request);
  if (body.error) co_return *body.error;
  auto t = porting::transitionFromJson(json::value(*body.object));
  if (!t) co_return orderError(t.error());
  if (!t.value().expected_version) t.value().expected_version = ifMatchVersion(request);
  if (!t.value().expected_version)
    co_return errorResponse(428, "send the version seen (\"version\" or If-Match)", "version");
  auto tr = std::make_shared<porting::Transition>(std::move(t).value());
  porting::Actor actor = actorOf(request);
  co_return co_await withConnection(*api, [&](pqxx::connection& conn) {
    auto order = porting::transition(conn, actor, *id, *tr);
    return order ? orderAnswer(200, order.value()) : orderError(order.error());
  });
}

struct SchedulerState {
  explicit SchedulerState(asio::io_context& io) : timer(io) {}
  asio::steady_timer timer;
  std::chrono::milliseconds period{5000};
  db::Pool* pool = nullptr;  // runServer() stops the pool after the io_context
  prometheus::Counter* completed = nullptr;
  prometheus::Counter* failed = nullptr;
  std::atomic<bool> running{false};
  std::atomic<bool> stopped{false};
};

void runDueOrders(const std::shared_ptr<SchedulerState>& s) {
  if (s->running.exchange(true)) return;  // the previous run is still going
  auto job = [s](pqxx::connection& conn) {
    try {
      auto now =
          std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
      porting::DueResult r = porting::completeDueOrders(conn, now);
      for (long long id : r.completed) spdlog::info("port order {} completed at its FOC time", id);
      for (const auto& [id, e] : r.failed)
        spdlog::warn("port order {} could not be completed: {}", id, e.message);
      s->completed->Increment(static_cast<double>(r.completed.size()));
      s->failed->Increment(static_cast<double>(r.failed.size()));
    } catch (const std::exception& e) {
      s->running = false;
      if (db::isConnectionLoss(e, &conn)) throw;
      spdlog::error("port order scheduler: {}", e.what());
      return;
    }
    s->running = false;
  };
  bool queued = s->pool->submit(std::move(job), [s](std::string_view error) {
    s->running = false;
    spdlog::warn("port order scheduler: database unavailable: {}", error);
  });
  if (!queued) s->running = false;
}

void arm(const std::shared_ptr<SchedulerState>& s) {
  s->timer.expires_after(s->period);
  s->timer.async_wait([s](const boost::system::error_code& ec) {
    if (ec || s->stopped) return;
    runDueOrders(s);
    arm(s);
  });
}

}  // namespace

std::function<void()> startPortOrderScheduler(asio::io_context& io, Api& api,
                                              std::chrono::milliseconds period) {
  auto s = std::make_shared<SchedulerState>(io);
  s->period = period;
  s->pool = &api.pool();
  auto family =
      api.registry().counter("admin_port_orders_completed_total",
                             "Port orders the scheduler handled at their FOC time", {"result"});
  s->completed = &family.with({"completed"});
  s->failed = &family.with({"failed"});
  arm(s);
  // The timer lives on the io_context: cancel it there.
  return [s] {
    s->stopped = true;
    asio::post(s->timer.get_executor(), [s] { s->timer.cancel(); });
  };
}

void registerPortingRoutes(Api& api) {
  Api* a = &api;
  api.get("/api/v1/port-orders", Access::kViewer, [a](Request& r) { return listPortOrders(a, r); });
  api.post("/api/v1/port-orders", Access::kOperator,
           [a](Request& r) { return createPortOrder(a, r); });
  api.get("/api/v1/port-orders/{id}", Access::kViewer,
          [a](Request& r) { return getPortOrder(a, r); });
  api.patch("/api/v1/port-orders/{id}", Access::kOperator,
            [a](Request& r) { return patchPortOrder(a, r); });
  api.post("/api/v1/port-orders/{id}/transition", Access::kOperator,
           [a](Request& r) { return transitionPortOrder(a, r); });
}

}  // namespace sbc::admin

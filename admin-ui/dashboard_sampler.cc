#include "admin-ui/dashboard_sampler.h"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <pqxx/pqxx>

#include <atomic>
#include <set>

#include "admin-ui/routes.h"

namespace sbc::admin {

namespace asio = boost::asio;
namespace json = boost::json;
using http::Response;

namespace {

const json::array* itemsOf(const json::value& v) {
  const json::object* o = v.if_object();
  if (!o) return nullptr;
  const json::value* items = o->if_contains("items");
  return items ? items->if_array() : nullptr;
}

std::int64_t intOf(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (!v) return 0;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->as_uint64());
  if (v->is_double()) return static_cast<std::int64_t>(v->as_double());
  return 0;
}

std::string stringOf(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

bool anyNodeAnswered(const json::value& gathered) {
  const json::object* o = gathered.if_object();
  if (!o) return false;
  const json::value* nodes = o->if_contains("nodes");
  if (!nodes || !nodes->is_array()) return false;
  for (const json::value& n : nodes->as_array()) {
    const json::object* no = n.if_object();
    if (no && no->contains("ok") && no->at("ok").is_bool() && no->at("ok").as_bool()) return true;
  }
  return false;
}

}  // namespace

DashboardSample makeSample(std::int64_t at, const GatheredState& state) {
  DashboardSample s;
  s.at = at;
  std::map<std::string, TrunkPoint> by_name;
  if (const json::array* usage = itemsOf(state.usage)) {
    for (const json::value& item : *usage) {
      const json::object* u = item.if_object();
      if (!u) continue;
      std::string name = stringOf(*u, "name");
      if (name.empty()) continue;
      TrunkPoint& t = by_name[name];
      t.name = name;
      t.id = intOf(*u, "id");
      t.kind = stringOf(*u, "kind");
      t.active += intOf(*u, "total");
    }
  }
  const double minutes = state.elapsed_seconds > 0 ? state.elapsed_seconds / 60.0 : 0;
  for (const auto& [name, n] : state.finished_by_trunk) {
    if (name.empty()) continue;
    TrunkPoint& t = by_name[name];
    t.name = name;
    if (minutes > 0) t.calls_per_minute = static_cast<double>(n) / minutes;
  }
  for (auto& [name, t] : by_name) s.trunks.push_back(std::move(t));

  if (anyNodeAnswered(state.calls)) {
    // One entry per call and node, whatever the trunks it crosses; a node's
    // error placeholder ({"node","value"}) is no call.
    std::set<std::pair<std::string, std::string>> seen;
    if (const json::array* calls = itemsOf(state.calls)) {
      for (const json::value& item : *calls) {
        const json::object* c = item.if_object();
        if (!c || !c->contains("handle")) continue;
        seen.emplace(stringOf(*c, "node"), json::serialize(c->at("handle")));
      }
    }
    s.active_calls = static_cast<std::int64_t>(seen.size());
  }
  return s;
}

json::array relayRows(const json::value& relays) {
  json::array out;
  const json::array* items = itemsOf(relays);
  if (!items) return out;
  for (const json::value& item : *items) {
    const json::object* r = item.if_object();
    if (!r || !r->contains("endpoint")) continue;
    json::object row;
    row["node"] = stringOf(*r, "node");
    row["endpoint"] = stringOf(*r, "endpoint");
    for (const char* k : {"connected", "healthy"}) {
      const json::value* v = r->if_contains(k);
      row[k] = v && v->is_bool() && v->as_bool();
    }
    row["sessions"] = intOf(*r, "sessions");
    row["ports_free"] = intOf(*r, "ports_free");
    out.push_back(std::move(row));
  }
  return out;
}

DashboardHistory::DashboardHistory(std::chrono::seconds window, std::chrono::seconds interval)
    : window_(window), interval_(interval), nodes_(json::array()) {}

void DashboardHistory::add(DashboardSample sample, json::array relays, json::value nodes) {
  std::lock_guard lock(mutex_);
  const std::int64_t oldest = sample.at - window_.count();
  samples_.push_back(std::move(sample));
  while (!samples_.empty() && samples_.front().at <= oldest) samples_.pop_front();
  relays_ = std::move(relays);
  nodes_ = std::move(nodes);
}

std::size_t DashboardHistory::size() const {
  std::lock_guard lock(mutex_);
  return samples_.size();
}

json::object DashboardHistory::toJson() const {
  std::lock_guard lock(mutex_);
  json::array times;
  json::array active;
  // Trunks in name order; each series as long as `times`.
  std::map<std::string, json::object> trunks;
  const std::size_t n = samples_.size();
  for (std::size_t i = 0; i < n; ++i) {
    const DashboardSample& s = samples_[i];
    times.push_back(s.at);
    active.push_back(s.active_calls ? json::value(*s.active_calls) : json::value(nullptr));
    for (const TrunkPoint& t : s.trunks) {
      json::object& o = trunks[t.name];
      if (o.empty()) {
        o["id"] = t.id;
        o["name"] = t.name;
        o["kind"] = t.kind;
        o["active"] = json::array(n, json::value(nullptr));
        o["calls_per_minute"] = json::array(n, json::value(nullptr));
      }
      if (t.id != 0) o["id"] = t.id;
      if (!t.kind.empty()) o["kind"] = t.kind;
      o["active"].as_array()[i] = t.active;
      o["calls_per_minute"].as_array()[i] = t.calls_per_minute;
    }
  }
  json::array trunk_list;
  for (auto& [name, o] : trunks) trunk_list.push_back(std::move(o));
  json::object out;
  out["interval_seconds"] = interval_.count();
  out["window_seconds"] = window_.count();
  out["updated_at"] = n ? json::value(samples_.back().at) : json::value(nullptr);
  out["times"] = std::move(times);
  out["active_calls"] = std::move(active);
  out["trunks"] = std::move(trunk_list);
  out["relays"] = relays_;
  out["nodes"] = nodes_;
  return out;
}

namespace {

struct SamplerState {
  explicit SamplerState(asio::io_context& io) : strand(asio::make_strand(io)), timer(strand) {}
  asio::strand<asio::io_context::executor_type> strand;
  asio::steady_timer timer;
  std::chrono::milliseconds period{10000};
  Api* api = nullptr;
  std::shared_ptr<DashboardHistory> history;
  std::string cdr_after;  // the upper bound of the previous CDR window (database time)
  std::atomic<bool> stopped{false};
};

json::value bodyOf(const Response& r) {
  if (r.status != 200) return nullptr;
  boost::system::error_code ec;
  json::value v = json::parse(r.body, ec);
  return ec ? json::value(nullptr) : v;
}

// CDRs written since the previous tick, per trunk (both legs' trunks). The
// window ends 2 s in the past so that a row committed late still falls in
// the next one; it starts where the previous one ended.
asio::awaitable<void> countCdrs(SamplerState& s, GatheredState& out) {
  const double period_s = static_cast<double>(s.period.count()) / 1000.0;
  std::string after = s.cdr_after;
  std::string upper;
  std::string counts;
  double elapsed = 0;
  Response r = co_await s.api->db([&](Transaction& txn) {
    pqxx::row row = txn.exec_params1(
        "WITH w AS (SELECT coalesce(nullif($1, '')::timestamptz, now() - interval '2 s' - "
        "make_interval(secs => $2)) AS lo, now() - interval '2 s' AS hi) "
        "SELECT (SELECT hi FROM w)::text, "
        "extract(epoch FROM (SELECT hi - lo FROM w))::float8, "
        "coalesce((SELECT jsonb_object_agg(t, n) FROM (SELECT t, count(*) AS n FROM cdrs c, w, "
        "unnest(ARRAY[c.in_trunk, c.out_trunk]) AS t WHERE c.start_time > w.lo - interval '1 "
        "day' AND c.inserted_at > w.lo AND c.inserted_at <= w.hi AND t <> '' GROUP BY t) x), "
        "'{}'::jsonb)::text",
        after, period_s);
    upper = row[0].as<std::string>();
    elapsed = row[1].as<double>();
    counts = row[2].as<std::string>();
    return Response::empty(200);
  });
  if (r.status != 200) co_return;
  s.cdr_after = upper;
  out.elapsed_seconds = elapsed;
  boost::system::error_code ec;
  json::value v = json::parse(counts, ec);
  if (ec || !v.is_object()) co_return;
  for (const auto& kv : v.as_object())
    if (kv.value().is_int64()) out.finished_by_trunk[std::string(kv.key())] = kv.value().as_int64();
}

asio::awaitable<void> tick(std::shared_ptr<SamplerState> s) {
  GatheredState g;
  std::string usage_target = "/api/trunks/usage";
  std::string calls_target = "/api/calls";
  std::string relays_target = "/api/relays";
  Response usage = co_await gatherFromNodes(*s->api, usage_target);
  Response calls = co_await gatherFromNodes(*s->api, calls_target);
  Response relays = co_await gatherFromNodes(*s->api, relays_target);
  g.usage = bodyOf(usage);
  g.calls = bodyOf(calls);
  g.relays = bodyOf(relays);
  co_await countCdrs(*s, g);
  const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  json::value nodes = json::array();
  if (const json::object* o = g.usage.if_object()) {
    if (const json::value* n = o->if_contains("nodes")) nodes = *n;
  }
  s->history->add(makeSample(now, g), relayRows(g.relays), std::move(nodes));
}

asio::awaitable<void> loop(std::shared_ptr<SamplerState> s) {
  while (!s->stopped) {
    try {
      co_await tick(s);
    } catch (const std::exception& e) {
      spdlog::warn("dashboard sampler: {}", e.what());
    }
    // On the strand, as is stop(): no cancel can slip between this test and the wait.
    if (s->stopped) break;
    s->timer.expires_after(s->period);
    boost::system::error_code ec;
    co_await s->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

}  // namespace

std::function<void()> startDashboardSampler(asio::io_context& io, Api& api,
                                            std::shared_ptr<DashboardHistory> history,
                                            std::chrono::milliseconds period) {
  auto s = std::make_shared<SamplerState>(io);
  s->period = period;
  s->api = &api;
  s->history = std::move(history);
  asio::co_spawn(s->strand, loop(s), asio::detached);
  return [s] {
    asio::post(s->strand, [s] {
      s->stopped = true;
      s->timer.cancel();
    });
  };
}

}  // namespace sbc::admin

// GET /api/v1/events: Server-Sent Events telling open console pages which
// resource changed, so that no page needs a reload to show another
// operator's (or a psql session's, or the scheduler's) change.
//
// Source: one LISTEN connection per console on `sbc_config` (migration 0001:
// the tables the SBC loads) and `admin_change` (0011: port orders, users,
// tokens, audit log, CDRs); the payload is the table name. Events are
// coalesced per stream (ChangeHub), so a bulk import sends a few of them.
//
// The request is read like any other; only the response streams, and the
// server's timeouts cover reads and each write, never the wait between two
// events. A keep-alive comment every 15 s keeps proxies from closing an idle
// stream and finds a client that has gone. Streams end when the console
// stops (Api::shutdown(), before the server drains), so a graceful shutdown
// is not held for its whole grace period by open browsers.
#include <spdlog/spdlog.h>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <string>

#include "admin-ui/change_hub.h"
#include "admin-ui/routes.h"
#include "common/db/notify_listener.h"
#include "common/metrics/registry.h"

namespace sbc::admin {

namespace asio = boost::asio;
using http::Request;
using http::Response;
using namespace std::chrono_literals;

namespace {

constexpr std::chrono::milliseconds kKeepAlive = 15s;
constexpr std::chrono::milliseconds kCoalesce = 250ms;
// What EventSource waits before reconnecting after the stream ends.
constexpr std::string_view kPreamble = "retry: 3000\n: connected\n\n";

struct EventsState {
  std::shared_ptr<ChangeHub> hub;
  std::unique_ptr<db::NotifyListener> listener;
  prometheus::Gauge* open = nullptr;
  prometheus::Counter* rejected = nullptr;
  prometheus::Counter* sent = nullptr;
  prometheus::Counter* notifications = nullptr;

  void stop() {
    hub->stop();
    if (listener) listener->stop();
  }
  ~EventsState() {
    if (listener) listener->stop();
  }
};

class EventStream final : public http::BodySource {
 public:
  EventStream(std::shared_ptr<EventsState> state, std::shared_ptr<ChangeSubscription> sub)
      : state_(std::move(state)), sub_(std::move(sub)) {
    state_->open->Increment();
  }
  ~EventStream() override { state_->open->Decrement(); }
  EventStream(const EventStream&) = delete;
  EventStream& operator=(const EventStream&) = delete;

  asio::awaitable<http::BodyPiece> next() override {
    http::BodyPiece piece;
    if (!started_) {
      started_ = true;
      piece.data = kPreamble;
      co_return piece;
    }
    ChangeBatch batch = co_await sub_->wait(kKeepAlive);
    if (batch.closed) {
      piece.done = true;
      co_return piece;
    }
    if (batch.changes == 0) {
      piece.data = ": keep-alive\n\n";
      co_return piece;
    }
    for (std::string_view name : changeNames(batch.changes)) {
      piece.data += "event: change\ndata: {\"resource\":\"";
      piece.data += name;
      piece.data += "\"}\n\n";
      state_->sent->Increment();
    }
    co_return piece;
  }

  void cancel() override { sub_->cancel(); }

 private:
  std::shared_ptr<EventsState> state_;
  std::shared_ptr<ChangeSubscription> sub_;
  bool started_ = false;
};

asio::awaitable<Response> openStream(std::shared_ptr<EventsState> st) {
  std::shared_ptr<ChangeSubscription> sub = st->hub->subscribe();
  if (!sub) {
    st->rejected->Increment();
    Response r = errorResponse(
        503, st->hub->stopped() ? "the console is stopping" : "too many open event streams");
    r.set("Retry-After", "10");
    co_return r;
  }
  Response r;
  r.status = 200;
  r.content_type = "text/event-stream; charset=utf-8";
  r.set("Cache-Control", "no-store");
  r.set("X-Accel-Buffering", "no");  // nginx: pass each event at once
  r.stream = std::make_shared<EventStream>(st, std::move(sub));
  co_return r;
}

}  // namespace

void registerEventRoutes(Api& api) {
  auto st = std::make_shared<EventsState>();
  const AdminConfig& config = api.config();
  st->hub = ChangeHub::create(ChangeHub::Options{kCoalesce, config.max_event_streams});
  st->open =
      &api.registry().gauge("admin_event_streams_open", "Open GET /api/v1/events streams").get();
  st->rejected =
      &api.registry()
           .counter("admin_event_streams_rejected_total",
                    "Event streams refused (http.max_event_streams reached, or stopping)")
           .get();
  st->sent = &api.registry()
                  .counter("admin_events_sent_total", "Change events written to event streams")
                  .get();
  st->notifications =
      &api.registry()
           .counter("admin_change_notifications_total",
                    "NOTIFYs received on sbc_config/admin_change (before coalescing)")
           .get();
  if (!config.dsn.empty()) {
    db::NotifyListenerOptions lo;
    lo.dsn = config.dsn;
    lo.channels = {"sbc_config", "admin_change"};
    lo.application_name = "sbc-admin-events";
    std::weak_ptr<ChangeHub> hub = st->hub;
    prometheus::Counter* counted = st->notifications;
    lo.on_notify = [hub, counted](const db::Notification& n) {
      auto h = hub.lock();
      if (!h) return;
      counted->Increment();
      // Back after a lost connection: anything may have changed meanwhile.
      if (n.resync) {
        h->publish(kAllChanges);
      } else {
        h->publishTable(n.payload);
      }
    };
    st->listener = std::make_unique<db::NotifyListener>(std::move(lo));
    st->listener->start();
  }
  api.onShutdown([st] { st->stop(); });
  api.get("/api/v1/events", Access::kViewer,
          [st](Request&) -> asio::awaitable<Response> { return openStream(st); });
}

}  // namespace sbc::admin

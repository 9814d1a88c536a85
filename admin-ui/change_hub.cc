#include "admin-ui/change_hub.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <array>
#include <utility>

namespace sbc::admin {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::array<std::string_view, static_cast<std::size_t>(ChangeResource::kCount)> kNames = {
    "trunks",     "dids",  "routes", "ported_numbers", "port_orders", "users",
    "api_tokens", "audit", "cdrs"};

struct TableResource {
  std::string_view table;
  ChangeResource resource;
};
// A trunk's children are edited on the trunk's page.
constexpr std::array<TableResource, 14> kTables = {{
    {"trunks", ChangeResource::kTrunks},
    {"trunk_gateways", ChangeResource::kTrunks},
    {"trunk_acl", ChangeResource::kTrunks},
    {"trunk_credentials", ChangeResource::kTrunks},
    {"dids", ChangeResource::kDids},
    {"routes", ChangeResource::kRoutes},
    {"ported_numbers", ChangeResource::kPortedNumbers},
    {"port_orders", ChangeResource::kPortOrders},
    {"port_order_numbers", ChangeResource::kPortOrders},
    {"port_order_events", ChangeResource::kPortOrders},
    {"users", ChangeResource::kUsers},
    {"api_tokens", ChangeResource::kApiTokens},
    {"audit_log", ChangeResource::kAudit},
    {"cdrs", ChangeResource::kCdrs},
}};

}  // namespace

std::string_view changeResourceName(ChangeResource r) {
  auto i = static_cast<std::size_t>(r);
  return i < kNames.size() ? kNames[i] : std::string_view{};
}

std::optional<ChangeResource> changeResourceForTable(std::string_view table) {
  for (const auto& t : kTables) {
    if (t.table == table) return t.resource;
  }
  return std::nullopt;
}

std::vector<std::string_view> changeNames(ChangeSet set) {
  std::vector<std::string_view> out;
  for (std::size_t i = 0; i < kNames.size(); ++i) {
    if ((set & (ChangeSet{1} << i)) != 0) out.push_back(kNames[i]);
  }
  return out;
}

struct ChangeSubscription::Waiter {
  explicit Waiter(const asio::any_io_executor& ex) : timer(ex) {}
  asio::steady_timer timer;
};

ChangeSubscription::~ChangeSubscription() {
  hub_->remove(this);
}

void ChangeSubscription::cancel() {
  std::lock_guard lock(hub_->mutex_);
  closed_ = true;
  ChangeHub::wake(*this);
}

asio::awaitable<ChangeBatch> ChangeSubscription::wait(std::chrono::milliseconds keepalive) {
  auto ex = co_await asio::this_coro::executor;
  const Clock::time_point deadline = Clock::now() + keepalive;
  while (true) {
    std::shared_ptr<Waiter> w;
    {
      std::lock_guard lock(hub_->mutex_);
      // The previous round's timer, if nobody woke it: it must not outlive
      // this wait (its executor may be gone by the next one).
      waiter_.reset();
      if (closed_) co_return ChangeBatch{0, true};
      const Clock::time_point now = Clock::now();
      Clock::time_point until = deadline;
      if (pending_ != 0) {
        if (now >= next_allowed_) {
          ChangeBatch batch{pending_, false};
          pending_ = 0;
          next_allowed_ = now + hub_->options_.coalesce;
          co_return batch;
        }
        // Within the coalescing period: whatever else changes by its end
        // goes out with this.
        until = next_allowed_;
      } else if (now >= deadline) {
        co_return ChangeBatch{};
      }
      w = std::make_shared<Waiter>(ex);
      w->timer.expires_at(until);
      waiter_ = w;
    }
    co_await w->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

std::shared_ptr<ChangeHub> ChangeHub::create(Options options) {
  return std::shared_ptr<ChangeHub>(new ChangeHub(options));
}

void ChangeHub::wake(ChangeSubscription& s) {
  if (!s.waiter_) return;
  // The cancel runs on the waiter's executor (a strand), so after its
  // coroutine has suspended in async_wait: it registered under the mutex and
  // suspends before that strand runs anything else.
  auto w = std::move(s.waiter_);
  asio::post(w->timer.get_executor(), [w] { w->timer.cancel(); });
}

void ChangeHub::publish(ChangeSet changes) {
  changes &= kAllChanges;
  if (changes == 0) return;
  std::lock_guard lock(mutex_);
  if (stopped_) return;
  for (ChangeSubscription* s : subs_) {
    if (s->closed_) continue;
    const bool idle = s->pending_ == 0;
    s->pending_ |= changes;
    // A stream that already has something pending is waiting out its
    // coalescing period: nothing to wake.
    if (idle) wake(*s);
  }
}

void ChangeHub::publishTable(std::string_view table) {
  if (auto r = changeResourceForTable(table)) publish(changeBit(*r));
}

std::shared_ptr<ChangeSubscription> ChangeHub::subscribe() {
  std::lock_guard lock(mutex_);
  if (stopped_ || subs_.size() >= options_.max_streams) return nullptr;
  std::shared_ptr<ChangeSubscription> s(new ChangeSubscription(shared_from_this()));
  subs_.push_back(s.get());
  return s;
}

void ChangeHub::remove(ChangeSubscription* s) {
  std::lock_guard lock(mutex_);
  auto it = std::find(subs_.begin(), subs_.end(), s);
  if (it != subs_.end()) {
    *it = subs_.back();
    subs_.pop_back();
  }
}

void ChangeHub::stop() {
  std::lock_guard lock(mutex_);
  stopped_ = true;
  for (ChangeSubscription* s : subs_) {
    s->closed_ = true;
    wake(*s);
  }
}

std::size_t ChangeHub::openStreams() const {
  std::lock_guard lock(mutex_);
  return subs_.size();
}

bool ChangeHub::stopped() const {
  std::lock_guard lock(mutex_);
  return stopped_;
}

}  // namespace sbc::admin

#include "sbc/b2bua/gateway_health.h"

#include "sbc/b2bua/routing.h"

#include <algorithm>
#include <limits>

namespace sbc::b2bua {
namespace {

constexpr std::int64_t kEmptySlot = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t kTombstone = std::numeric_limits<std::int64_t>::min() + 1;

std::size_t slotOf(std::int64_t id, std::size_t capacity) {
  auto x = static_cast<std::uint64_t>(id) * 0x9e3779b97f4a7c15ULL;
  return static_cast<std::size_t>(x >> 17) % capacity;
}

std::string hostPort(const cfg::Gateway& g) {
  std::string s;
  const bool v6 = g.host.find(':') != std::string::npos;
  if (v6) s += '[';
  s += g.host;
  if (v6) s += ']';
  s += ':';
  s += std::to_string(g.port);
  return s;
}

}  // namespace

GatewayHealth::GatewayHealth(RequestSender& sender, txn::TimerService& timers,
                             HealthOptions options)
    : sender_(sender), timers_(timers), options_(std::move(options)) {
  options_.down_after = std::max<std::uint32_t>(1, options_.down_after);
  if (options_.interval.count() <= 0) options_.interval = std::chrono::seconds(30);
  down_capacity_ = std::max<std::size_t>(16, options_.max_down * 2);
  down_ = std::make_unique<DownSlot[]>(down_capacity_);
  for (std::size_t i = 0; i < down_capacity_; ++i) down_[i].id.store(kEmptySlot);
  dns_ = std::make_unique<DnsCache>(options_.dns);
}

GatewayHealth::~GatewayHealth() {
  for (auto& [id, e] : entries_) timers_.cancel(e.timer);
}

void GatewayHealth::setSnapshot(const cfg::Snapshot& snapshot) {
  std::vector<std::string> names;
  for (const cfg::Trunk& t : snapshot.trunks) {
    if (!t.enabled) continue;
    for (const cfg::Gateway& g : t.gateways)
      if (g.enabled && !isIpLiteral(g.host)) names.push_back(g.host);
  }
  dns_->setNames(names);

  std::unordered_map<std::int64_t, Entry> next;
  std::vector<std::int64_t> fresh;
  for (const cfg::Trunk& t : snapshot.trunks) {
    if (!t.enabled) continue;
    for (const cfg::Gateway& g : t.gateways) {
      if (!g.enabled || !g.options_ping || next.contains(g.id)) continue;
      auto old = entries_.find(g.id);
      const bool same = old != entries_.end() && old->second.gateway.host == g.host &&
                        old->second.gateway.port == g.port &&
                        old->second.gateway.transport == g.transport &&
                        old->second.realm == t.realm;
      if (same) {
        Entry e = std::move(old->second);
        entries_.erase(old);
        e.gateway = g;
        e.status.trunk = t.id;
        next.emplace(g.id, std::move(e));
        continue;
      }
      Entry e;
      e.gateway = g;
      e.realm = t.realm;
      e.epoch = next_epoch_++;
      e.status.gateway_id = g.id;
      e.status.trunk = t.id;
      e.status.host = g.host;
      e.status.port = g.port;
      next.emplace(g.id, std::move(e));
      fresh.push_back(g.id);
    }
  }
  // What is left was removed or reconfigured: its timer goes, and a late
  // answer finds no entry (or a new epoch) and is ignored.
  for (auto& [id, e] : entries_) {
    timers_.cancel(e.timer);
    setDown(id, false);
  }
  entries_ = std::move(next);
  // Spread the first pings of new gateways over one interval rather than
  // sending them all at once.
  const auto interval = std::chrono::duration_cast<txn::Duration>(options_.interval);
  for (std::size_t i = 0; i < fresh.size(); ++i) {
    Entry& e = entries_.at(fresh[i]);
    schedule(e, interval * static_cast<long>(i) / static_cast<long>(fresh.size()));
  }
}

void GatewayHealth::schedule(Entry& e, txn::Duration delay) {
  timers_.cancel(e.timer);
  const std::int64_t id = e.status.gateway_id;
  e.timer = timers_.schedule(delay, [this, id] { ping(id); });
}

void GatewayHealth::ping(std::int64_t id) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  Entry& e = it->second;
  e.timer = {};
  if (e.in_flight) return;  // the outcome reschedules
  const cfg::Gateway& g = e.gateway;
  const txn::Protocol proto = toTxnProtocol(g.transport);
  std::string ruri = "sip:" + hostPort(g);
  if (proto == txn::Protocol::Tcp) ruri += ";transport=tcp";
  if (proto == txn::Protocol::Tls) ruri += ";transport=tls";
  auto req = sip::Message::createRequest(sip::Method::Options, ruri);
  if (!req.ok()) {
    record(e, false, 0);
    schedule(e, std::chrono::duration_cast<txn::Duration>(options_.interval));
    return;
  }
  sip::Message m = std::move(*req);
  m.addHeader(sip::HeaderId::MaxForwards, "70");
  m.addHeader(sip::HeaderId::From, "<sip:" + options_.from_user + "@" +
                                       sender_.advertisedHostPort(e.realm, proto) +
                                       ">;tag=" + sender_.makeTag());
  m.addHeader(sip::HeaderId::To, "<" + ruri + ">");
  m.addHeader(sip::HeaderId::CallId, sender_.makeCallId());
  m.addHeader(sip::HeaderId::CSeq, "1 OPTIONS");
  m.addHeader(sip::HeaderId::Accept, "application/sdp");

  std::optional<std::string> address = dns_->lookup(g.host);
  if (!address) {
    // A name that has not resolved (yet): the gateway cannot be reached.
    record(e, false, 0);
    schedule(e, std::chrono::duration_cast<txn::Duration>(options_.interval));
    return;
  }
  txn::Destination to;
  to.protocol = proto;
  to.address = std::move(*address);
  to.port = g.port;
  to.tls_profile = g.tls_profile;
  e.in_flight = true;
  e.sent_at = timers_.now();
  ++e.status.pings;
  std::weak_ptr<int> alive = alive_;
  const std::uint64_t epoch = e.epoch;
  bool sent = sender_.sendOutOfDialog(std::move(m), to, e.realm,
                                      [this, alive, id, epoch](const RequestSender::Outcome& o) {
                                        if (alive.expired()) return;
                                        onOutcome(id, epoch, o);
                                      });
  if (!sent) {
    // Could not even send (no listener in that realm, a host name we
    // cannot resolve here): a failure like a timeout.
    RequestSender::Outcome o;
    o.transport_error = true;
    onOutcome(id, epoch, o);
  }
}

void GatewayHealth::onOutcome(std::int64_t id, std::uint64_t epoch,
                              const RequestSender::Outcome& outcome) {
  auto it = entries_.find(id);
  if (it == entries_.end() || it->second.epoch != epoch || !it->second.in_flight) return;
  Entry& e = it->second;
  e.in_flight = false;
  const txn::TimePoint now = timers_.now();
  int code = outcome.response ? outcome.response->statusCode() : 0;
  bool alive = code != 0 && code != 503;
  if (code != 0)
    e.status.rtt = std::chrono::duration_cast<std::chrono::milliseconds>(now - e.sent_at);
  record(e, alive, code);
  // The next ping one interval after this one was sent.
  const auto interval = std::chrono::duration_cast<txn::Duration>(options_.interval);
  const auto spent = std::chrono::duration_cast<txn::Duration>(now - e.sent_at);
  schedule(e, spent >= interval ? txn::Duration(0) : interval - spent);
}

void GatewayHealth::record(Entry& e, bool alive, int code) {
  GatewayStatus& s = e.status;
  s.last_code = code;
  s.last_check = timers_.now();
  const bool was_up = s.up;
  if (alive) {
    s.consecutive_failures = 0;
    s.up = true;
  } else {
    ++s.failures;
    ++s.consecutive_failures;
    if (s.consecutive_failures >= options_.down_after) s.up = false;
  }
  if (was_up != s.up) setDown(e.status.gateway_id, !s.up);
}

void GatewayHealth::setDown(std::int64_t id, bool down) {
  if (id == kEmptySlot || id == kTombstone) return;
  std::size_t i = slotOf(id, down_capacity_);
  DownSlot* free_slot = nullptr;
  for (std::size_t probe = 0; probe < down_capacity_; ++probe, i = (i + 1) % down_capacity_) {
    const std::int64_t k = down_[i].id.load(std::memory_order_relaxed);
    if (k == id) {
      if (!down) {
        down_[i].down.store(false, std::memory_order_release);
        // A slot right before an empty one ends every probe chain through
        // it, so it (and tombstones before it) can become empty again:
        // tombstones do not pile up over years of flapping gateways.
        const bool chain_ends =
            down_[(i + 1) % down_capacity_].id.load(std::memory_order_relaxed) == kEmptySlot;
        down_[i].id.store(chain_ends ? kEmptySlot : kTombstone, std::memory_order_release);
        for (std::size_t j = (i + down_capacity_ - 1) % down_capacity_; chain_ends && j != i;
             j = (j + down_capacity_ - 1) % down_capacity_) {
          if (down_[j].id.load(std::memory_order_relaxed) != kTombstone) break;
          down_[j].id.store(kEmptySlot, std::memory_order_release);
        }
      }
      return;  // already marked down
    }
    if (k == kTombstone && !free_slot) free_slot = &down_[i];
    if (k == kEmptySlot) {
      if (!free_slot) free_slot = &down_[i];
      break;
    }
  }
  if (!down) return;
  if (!free_slot) {
    ++down_overflow_;
    return;
  }
  // The flag first, then the id: a reader that finds the id sees the flag.
  free_slot->down.store(true, std::memory_order_release);
  free_slot->id.store(id, std::memory_order_release);
}

bool GatewayHealth::isDown(std::int64_t gateway_id) const {
  std::size_t i = slotOf(gateway_id, down_capacity_);
  for (std::size_t probe = 0; probe < down_capacity_; ++probe, i = (i + 1) % down_capacity_) {
    const std::int64_t k = down_[i].id.load(std::memory_order_acquire);
    if (k == gateway_id) return down_[i].down.load(std::memory_order_acquire);
    if (k == kEmptySlot) return false;
  }
  return false;
}

std::optional<std::string> GatewayHealth::addressOf(std::string_view host) const {
  return dns_->lookup(host);
}

std::vector<GatewayStatus> GatewayHealth::status() const {
  std::vector<GatewayStatus> out;
  out.reserve(entries_.size());
  for (const auto& [id, e] : entries_) out.push_back(e.status);
  std::sort(out.begin(), out.end(), [](const GatewayStatus& a, const GatewayStatus& b) {
    return a.gateway_id < b.gateway_id;
  });
  return out;
}

}  // namespace sbc::b2bua

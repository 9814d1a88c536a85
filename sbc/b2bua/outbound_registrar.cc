#include "sbc/b2bua/outbound_registrar.h"

#include <algorithm>
#include <cstdio>

#include "sbc/b2bua/ids.h"
#include "sbc/b2bua/routing.h"

namespace sbc::b2bua {
namespace {

constexpr int kMaxDnsWaits = 5;

std::string hostPort(std::string_view host, std::uint16_t port) {
  std::string s;
  const bool v6 = host.find(':') != std::string_view::npos;
  if (v6) s += '[';
  s += host;
  if (v6) s += ']';
  s += ':';
  s += std::to_string(port);
  return s;
}

// What of a trunk matters to its registration: a change restarts it.
bool sameRegistration(const cfg::Trunk& a, const cfg::Trunk& b) {
  if (a.realm != b.realm || a.register_user != b.register_user ||
      a.register_expires != b.register_expires || a.outbound.username != b.outbound.username ||
      a.outbound.password != b.outbound.password || a.outbound.realm != b.outbound.realm ||
      a.gateways.size() != b.gateways.size())
    return false;
  for (std::size_t i = 0; i < a.gateways.size(); ++i) {
    const cfg::Gateway &x = a.gateways[i], &y = b.gateways[i];
    if (x.id != y.id || x.host != y.host || x.port != y.port || x.transport != y.transport ||
        x.enabled != y.enabled || x.priority != y.priority || x.tls_profile != y.tls_profile)
      return false;
  }
  return true;
}

bool eligible(const cfg::Trunk& t) {
  return t.enabled && t.kind == cfg::TrunkKind::Carrier && t.register_outbound;
}

}  // namespace

std::string_view toString(OutboundState s) {
  switch (s) {
    case OutboundState::Registering:
      return "registering";
    case OutboundState::Registered:
      return "registered";
    case OutboundState::Failed:
      return "failed";
  }
  return "unknown";
}

struct OutboundRegistrar::Entry {
  cfg::Trunk trunk;  // a copy: the snapshot it came from may go away
  OutboundStatus status;
  std::uint64_t epoch = 0;  // answers to older REGISTERs are ignored
  std::string call_id, from_tag, contact, aor, ruri;
  std::uint32_t cseq = 0;
  std::uint32_t expires = 0;              // requested; raised by 423
  const cfg::Gateway* gateway = nullptr;  // into trunk.gateways
  txn::TimerHandle timer;
  bool in_flight = false;
  bool unregistering = false;
  // Challenge answers within one REGISTER cycle: one, plus one more when the
  // server says our nonce was stale.
  int auth_answers = 0;
  int interval_retries = 0;
  std::optional<DigestChallenge> challenge;  // reused on refreshes
  bool challenge_proxy = false;
  std::uint32_t nc = 0;
  int dns_waits = 0;  // short retries while the registrar's name resolves
};

OutboundRegistrar::OutboundRegistrar(RequestSender& sender, txn::TimerService& timers,
                                     const HealthView* health, OutboundRegistrarOptions options)
    : sender_(sender), timers_(timers), health_(health), options_(options) {
  if (options_.initial_backoff.count() <= 0) options_.initial_backoff = std::chrono::seconds(30);
  options_.max_backoff = std::max(options_.max_backoff, options_.initial_backoff);
}

OutboundRegistrar::~OutboundRegistrar() {
  for (auto& [id, e] : entries_) timers_.cancel(e->timer);
}

void OutboundRegistrar::setSnapshot(const cfg::Snapshot& snapshot) {
  std::unordered_map<cfg::TrunkId, std::unique_ptr<Entry>> next;
  for (const cfg::Trunk& t : snapshot.trunks) {
    if (!eligible(t)) continue;
    auto old = entries_.find(t.id);
    if (old != entries_.end() && sameRegistration(old->second->trunk, t)) {
      std::unique_ptr<Entry> e = std::move(old->second);
      entries_.erase(old);
      // Keep the state; refresh what does not matter to the registration.
      const std::int64_t gw = e->gateway ? e->gateway->id : 0;
      e->trunk = t;
      e->status.trunk_name = t.name;
      e->gateway = nullptr;
      for (const cfg::Gateway& g : e->trunk.gateways)
        if (g.id == gw) e->gateway = &g;
      next.emplace(t.id, std::move(e));
      continue;
    }
    auto e = std::make_unique<Entry>();
    e->trunk = t;
    e->status.trunk = t.id;
    e->status.trunk_name = t.name;
    next.emplace(t.id, std::move(e));
  }
  // Trunks that stopped registering (or changed): take the binding down.
  for (auto& [id, e] : entries_) {
    timers_.cancel(e->timer);
    if (e->status.state == OutboundState::Registered) unregister(*e);
  }
  entries_ = std::move(next);
  for (auto& [id, e] : entries_)
    if (e->epoch == 0) start(*e);
}

void OutboundRegistrar::shutdown() {
  for (auto& [id, e] : entries_) {
    timers_.cancel(e->timer);
    if (e->status.state == OutboundState::Registered) unregister(*e);
  }
  entries_.clear();
}

std::vector<OutboundStatus> OutboundRegistrar::status() const {
  std::vector<OutboundStatus> out;
  for (const auto& [id, e] : entries_) out.push_back(e->status);
  std::sort(out.begin(), out.end(),
            [](const OutboundStatus& a, const OutboundStatus& b) { return a.trunk < b.trunk; });
  return out;
}

void OutboundRegistrar::schedule(Entry& e, txn::Duration delay) {
  timers_.cancel(e.timer);
  e.status.next_attempt = timers_.now() + delay;
  const cfg::TrunkId id = e.trunk.id;
  e.timer = timers_.schedule(delay, [this, id] {
    auto it = entries_.find(id);
    if (it == entries_.end()) return;
    it->second->timer = {};
    start(*it->second);
  });
}

void OutboundRegistrar::start(Entry& e) {
  e.epoch = next_epoch_++;
  e.auth_answers = 0;
  e.interval_retries = 0;
  // The first enabled gateway by priority that is not down; if all are
  // down, the first anyway (a registration attempt is a health check too).
  std::vector<const cfg::Gateway*> gws;
  for (const cfg::Gateway& g : e.trunk.gateways)
    if (g.enabled) gws.push_back(&g);
  std::stable_sort(gws.begin(), gws.end(), [](const cfg::Gateway* a, const cfg::Gateway* b) {
    return a->priority < b->priority;
  });
  const cfg::Gateway* pick = gws.empty() ? nullptr : gws.front();
  for (const cfg::Gateway* g : gws) {
    if (!health_ || !health_->isDown(g->id)) {
      pick = g;
      break;
    }
  }
  if (!pick) {
    failed(e, 0);
    return;
  }
  if (pick != e.gateway || e.call_id.empty()) {
    // A new registrar: a new Call-ID (RFC 3261 10.2: same Call-ID for all
    // registrations to one registrar).
    e.gateway = pick;
    e.call_id = sender_.makeCallId();
    e.from_tag = sender_.makeTag();
    e.cseq = 0;
    e.challenge.reset();
  }
  e.status.gateway_id = pick->id;
  const txn::Protocol proto = toTxnProtocol(pick->transport);
  const std::string& user =
      e.trunk.register_user.empty() ? e.trunk.outbound.username : e.trunk.register_user;
  const std::string hp = hostPort(pick->host, pick->port);
  e.ruri = "sip:" + hp + std::string(transportUriParam(proto));
  e.aor = "sip:" + user + "@" + (pick->port == 5060 ? pick->host : hp);
  e.contact = "sip:" + user + "@" + sender_.advertisedHostPort(e.trunk.realm, proto) +
              std::string(transportUriParam(proto));
  if (e.expires == 0) e.expires = std::max<std::uint32_t>(1, e.trunk.register_expires);
  e.status.state = e.status.state == OutboundState::Registered ? OutboundState::Registered
                                                               : OutboundState::Registering;
  // Reuse the last challenge (next nonce count) to save a round trip; a
  // server that wants a fresh one says so with a 401.
  if (e.challenge && e.trunk.outbound.present()) {
    std::string auth = authorizationFor(e, *e.challenge);
    send(e, e.expires, &auth, e.challenge_proxy);
  } else {
    send(e, e.expires, nullptr, false);
  }
}

std::string OutboundRegistrar::authorizationFor(Entry& e, const DigestChallenge& ch) {
  char cnonce[17];
  std::snprintf(cnonce, sizeof cnonce, "%016llx", static_cast<unsigned long long>(randomU64()));
  DigestInput in;
  in.method = "REGISTER";
  in.uri = e.ruri;
  in.nc = ++e.nc;
  in.cnonce = cnonce;
  return digestAuthorization(ch, e.trunk.outbound, in);
}

void OutboundRegistrar::send(Entry& e, std::uint32_t expires, const std::string* authorization,
                             bool proxy) {
  auto req = sip::Message::createRequest(sip::Method::Register, e.ruri);
  if (!req.ok()) {
    if (!e.unregistering) failed(e, 0);
    return;
  }
  sip::Message m = std::move(*req);
  m.addHeader(sip::HeaderId::MaxForwards, "70");
  m.addHeader(sip::HeaderId::From, "<" + e.aor + ">;tag=" + e.from_tag);
  m.addHeader(sip::HeaderId::To, "<" + e.aor + ">");
  m.addHeader(sip::HeaderId::CallId, e.call_id);
  m.addHeader(sip::HeaderId::CSeq, std::to_string(++e.cseq) + " REGISTER");
  m.addHeader(sip::HeaderId::Contact, "<" + e.contact + ">");
  m.addHeader(sip::HeaderId::Expires, std::to_string(expires));
  if (authorization)
    m.addHeader(proxy ? sip::HeaderId::ProxyAuthorization : sip::HeaderId::Authorization,
                *authorization);

  // A registrar given by DNS name is sent to at the address the health
  // view's cache holds (resolved off the SIP thread); the URIs keep the name.
  std::optional<std::string> address =
      health_ ? health_->addressOf(e.gateway->host) : std::optional<std::string>(e.gateway->host);
  if (!address) {
    // Not resolved yet (a new name): try again soon rather than after the
    // failure backoff, a few times, then fail like an unanswered REGISTER.
    if (!e.unregistering && e.dns_waits < kMaxDnsWaits) {
      ++e.dns_waits;
      schedule(e, std::chrono::duration_cast<txn::Duration>(options_.dns_wait));
    } else if (!e.unregistering) {
      e.dns_waits = 0;
      failed(e, 0);
    }
    return;
  }
  e.dns_waits = 0;
  txn::Destination to;
  to.protocol = toTxnProtocol(e.gateway->transport);
  to.address = std::move(*address);
  to.port = e.gateway->port;
  to.tls_profile = e.gateway->tls_profile;
  e.in_flight = true;
  std::weak_ptr<int> alive = alive_;
  const cfg::TrunkId id = e.trunk.id;
  const std::uint64_t epoch = e.epoch;
  bool ok = sender_.sendOutOfDialog(std::move(m), to, e.trunk.realm,
                                    [this, alive, id, epoch](const RequestSender::Outcome& o) {
                                      if (alive.expired()) return;
                                      onOutcome(id, epoch, o);
                                    });
  if (!ok) {
    e.in_flight = false;
    if (!e.unregistering) failed(e, 0);
  }
}

void OutboundRegistrar::onOutcome(cfg::TrunkId id, std::uint64_t epoch,
                                  const RequestSender::Outcome& o) {
  auto it = entries_.find(id);
  if (it == entries_.end() || it->second->epoch != epoch || !it->second->in_flight) return;
  Entry& e = *it->second;
  e.in_flight = false;
  if (!o.response) {
    failed(e, 0);
    return;
  }
  const sip::Message& r = *o.response;
  const int code = r.statusCode();
  e.status.last_code = code;
  if (code >= 200 && code < 300) {
    registered(e, r);
    return;
  }
  if (code == 401 || code == 407) {
    const bool proxy = code == 407;
    auto hdrs = r.auth(proxy ? sip::HeaderId::ProxyAuthenticate : sip::HeaderId::WWWAuthenticate);
    std::optional<DigestChallenge> ch;
    if (hdrs.ok()) ch = pickChallenge(*hdrs);
    // One answer per cycle; a second only if the first was merely stale
    // (or was a preemptive reuse of an old nonce).
    const bool may_answer = e.auth_answers == 0 || (ch && ch->stale && e.auth_answers == 1);
    if (!ch || !e.trunk.outbound.present() || !may_answer) {
      e.challenge.reset();
      failed(e, code);
      return;
    }
    ++e.auth_answers;
    e.challenge = *ch;
    e.challenge_proxy = proxy;
    e.nc = 0;
    std::string auth = authorizationFor(e, *ch);
    send(e, e.expires, &auth, proxy);
    return;
  }
  if (code == 423 && e.interval_retries == 0) {
    if (const sip::HeaderField* min = r.header(sip::HeaderId::MinExpires)) {
      auto v = sip::parseUint(min->value, 86400 * 7);
      if (v.ok() && *v > e.expires) {
        ++e.interval_retries;
        e.expires = *v;
        if (e.challenge && e.trunk.outbound.present()) {
          std::string auth = authorizationFor(e, *e.challenge);
          send(e, e.expires, &auth, e.challenge_proxy);
        } else {
          send(e, e.expires, nullptr, false);
        }
        return;
      }
    }
  }
  failed(e, code);
}

void OutboundRegistrar::registered(Entry& e, const sip::Message& r) {
  // The granted expiry: our Contact's expires in the 200, else Expires,
  // else what we asked for.
  std::uint32_t granted = e.expires;
  bool found = false;
  if (auto contacts = r.contacts(); contacts.ok()) {
    for (const sip::NameAddr& c : *contacts) {
      if (!sip::uriEquals(c.uri.text, e.contact)) continue;
      if (auto p = c.params.get("expires")) {
        auto v = sip::parseUint(*p, 86400 * 7);
        if (v.ok()) {
          granted = *v;
          found = true;
        }
      }
      break;
    }
  }
  if (!found) {
    if (auto ex = r.expires(); ex.ok()) granted = std::min<std::uint32_t>(*ex, 86400 * 7);
  }
  if (granted == 0) {
    // A 200 that grants nothing is no registration.
    failed(e, r.statusCode());
    return;
  }
  const txn::TimePoint now = timers_.now();
  e.status.state = OutboundState::Registered;
  e.status.granted_expires = granted;
  e.status.expires_at = now + std::chrono::seconds(granted);
  e.status.consecutive_failures = 0;
  ++e.status.registrations;
  const auto half = std::chrono::seconds(granted / 2);
  schedule(e, std::chrono::duration_cast<txn::Duration>(std::max(half, options_.min_refresh)));
}

void OutboundRegistrar::failed(Entry& e, int code) {
  e.status.last_code = code;
  // A refresh failing while the old binding is still live keeps trying at
  // the backoff pace; the state says what the last attempt did.
  e.status.state = OutboundState::Failed;
  ++e.status.consecutive_failures;
  auto backoff = options_.initial_backoff;
  for (std::uint32_t i = 1; i < e.status.consecutive_failures && backoff < options_.max_backoff;
       ++i)
    backoff *= 2;
  backoff = std::min(backoff, options_.max_backoff);
  e.challenge.reset();
  schedule(e, std::chrono::duration_cast<txn::Duration>(backoff));
}

void OutboundRegistrar::unregister(Entry& e) {
  if (!e.gateway) return;
  // Fire and forget: the entry goes away, so its answer is not awaited
  // (the epoch no longer matches anything). With a known challenge the
  // Expires: 0 carries credentials; otherwise a 401 leaves the binding to
  // lapse at the carrier on its own.
  e.epoch = next_epoch_++;
  e.unregistering = true;
  e.status.state = OutboundState::Registering;
  if (e.challenge && e.trunk.outbound.present()) {
    std::string auth = authorizationFor(e, *e.challenge);
    send(e, 0, &auth, e.challenge_proxy);
  } else {
    send(e, 0, nullptr, false);
  }
  e.in_flight = false;
}

}  // namespace sbc::b2bua

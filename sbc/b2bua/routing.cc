#include "sbc/b2bua/routing.h"

#include <algorithm>
#include <optional>
#include <string>

#include "sbc/b2bua/numbers.h"

namespace sbc::b2bua {
namespace {

// The number of a From / P-Asserted-Identity URI, or "" if it is not one.
std::string numberOf(const sip::Uri& uri, const cfg::NumberFormat& format) {
  NumberResult n = normalizeUriNumber(uri, format);
  return n.ok() ? std::move(n.digits) : std::string();
}

bool anyRouteMatches(const cfg::Snapshot& snapshot, std::string_view digits) {
  for (const cfg::Route& r : snapshot.routes)
    if (digits.substr(0, r.prefix.size()) == r.prefix) return true;
  return false;
}

}  // namespace

txn::Protocol toTxnProtocol(cfg::Transport t) {
  switch (t) {
    case cfg::Transport::Udp:
      return txn::Protocol::Udp;
    case cfg::Transport::Tcp:
      return txn::Protocol::Tcp;
    case cfg::Transport::Tls:
      return txn::Protocol::Tls;
  }
  return txn::Protocol::Udp;
}

std::string_view transportUriParam(txn::Protocol p) {
  switch (p) {
    case txn::Protocol::Udp:
      return "";
    case txn::Protocol::Tcp:
      return ";transport=tcp";
    case txn::Protocol::Tls:
      return ";transport=tls";
  }
  return "";
}

Router::Router(RoutingOptions options, const HealthView* health, const Registrar* registrar,
               std::uint64_t seed)
    : options_(options),
      health_(health),
      registrar_(registrar),
      rng_(seed != 0 ? seed : std::random_device{}()) {
  options_.max_targets = std::max<std::size_t>(1, options_.max_targets);
}

void Router::reject(RoutingDecision& d, RejectCause cause, int code, std::string_view reason) {
  d.targets.clear();
  d.cause = cause;
  d.reject_code = code;
  d.reject_reason.assign(reason.empty() ? sip::defaultReasonPhrase(code) : reason);
}

RoutingDecision Router::route(const sip::Message& invite, const cfg::Trunk& from,
                              const cfg::Snapshot& snapshot) {
  RoutingDecision d;
  d.direction = from.kind == cfg::TrunkKind::Pbx ? Direction::Outbound : Direction::Inbound;
  if (!from.enabled) {
    reject(d, RejectCause::Forbidden, 403, "Trunk Disabled");
    return d;
  }
  if (auto f = invite.from(); f.ok()) d.caller = numberOf(f->uri, from.numbers);
  if (auto pai = invite.pAssertedIdentities(); pai.ok()) {
    for (const sip::NameAddr& p : *pai) {
      d.asserted = numberOf(p.uri, from.numbers);
      if (!d.asserted.empty()) break;
    }
  }
  if (d.direction == Direction::Outbound) {
    outbound(d, invite.requestUri(), from, snapshot);
  } else {
    inbound(d, invite.requestUri(), from, snapshot);
  }
  if (!d.targets.empty() && !d.caller.empty()) {
    for (Target& t : d.targets) t.from_user = formatNumber(d.caller, t.trunk->numbers);
  }
  return d;
}

void Router::outbound(RoutingDecision& d, const sip::Uri& ruri, const cfg::Trunk& from,
                      const cfg::Snapshot& snapshot) {
  NumberResult n = normalizeUriNumber(ruri, from.numbers);
  if (!n.ok()) {
    if (n.error == NumberError::Incomplete || n.error == NumberError::Empty)
      reject(d, RejectCause::NoRoute, 484, {});
    else
      reject(d, RejectCause::Forbidden, 404, "Invalid Number");
    return;
  }
  d.callee = std::move(n.digits);
  LnpInfo lnp = resolveLnp(ruri, d.callee, from.numbers, snapshot);
  toCarriers(d, lnp, from, snapshot);
}

void Router::inbound(RoutingDecision& d, const sip::Uri& ruri, const cfg::Trunk& from,
                     const cfg::Snapshot& snapshot) {
  NumberResult n = normalizeUriNumber(ruri, from.numbers);
  if (!n.ok()) {
    if (n.error == NumberError::Incomplete || n.error == NumberError::Empty)
      reject(d, RejectCause::NotOurNumber, 484, {});
    else
      reject(d, RejectCause::NotOurNumber, 404, {});
    return;
  }
  d.callee = std::move(n.digits);
  const cfg::Did* did = snapshot.did(d.callee);
  if (!did || did->status == cfg::DidStatus::PortingIn || did->status == cfg::DidStatus::Reserved) {
    reject(d, RejectCause::NotOurNumber, 404, {});
    return;
  }
  if (did->status == cfg::DidStatus::PortedOut) {
    if (from.ported_out == cfg::PortedOutAction::Reject404) {
      reject(d, RejectCause::PortedOut, 404, {});
      return;
    }
    // Our ex-number arrived anyway: hand it on to whoever owns it now.
    LnpInfo lnp = resolveLnp(ruri, d.callee, from.numbers, snapshot);
    toCarriers(d, lnp, from, snapshot);
    return;
  }

  const cfg::Trunk* pbx = snapshot.trunk(did->trunk);
  if (!pbx || !pbx->enabled) {
    reject(d, RejectCause::NoRoute, 503, {});
    return;
  }
  Target base;
  base.trunk = pbx;
  base.request_user = formatNumber(d.callee, pbx->numbers);
  base.to_user = base.request_user;
  if (pbx->auth == cfg::AuthMode::Register) {
    std::vector<const Binding*> contacts;
    if (registrar_) contacts = registrar_->contactsOf(pbx->id);
    if (contacts.empty()) {
      reject(d, RejectCause::NoRoute, 480, {});
      return;
    }
    for (const Binding* b : contacts) {
      if (d.targets.size() >= options_.max_targets) break;
      Target t = base;
      t.host = b->source.address;
      t.port = b->source.port;
      t.protocol = b->source.protocol;
      t.connection = b->source.connection;
      t.registered_contact = b->contact;
      d.targets.push_back(std::move(t));
    }
    return;
  }
  std::vector<Target> down;
  gatewayTargets(*pbx, base, d.targets, down);
  if (d.targets.empty()) d.targets = std::move(down);
  if (d.targets.size() > options_.max_targets) d.targets.resize(options_.max_targets);
  if (d.targets.empty()) reject(d, RejectCause::NoRoute, 503, {});
}

void Router::toCarriers(RoutingDecision& d, const LnpInfo& lnp, const cfg::Trunk& from,
                        const cfg::Snapshot& snapshot) {
  d.routing_number = lnp.rn;
  d.npdi = lnp.npdi;
  std::vector<const cfg::Route*> routes = snapshot.routesFor(lnp.routing_digits);
  // Never back where the call came from, and each trunk once.
  std::vector<const cfg::Trunk*> trunks;
  std::vector<const cfg::Route*> usable;
  for (const cfg::Route* r : routes) {
    const cfg::Trunk* t = snapshot.trunk(r->trunk);
    if (!t || !t->enabled || t->id == from.id) continue;
    if (std::any_of(usable.begin(), usable.end(),
                    [&](const cfg::Route* u) { return u->trunk == r->trunk; }))
      continue;
    usable.push_back(r);
  }
  if (usable.empty()) {
    // Routes exist for this number but every trunk on them is disabled:
    // the operator's problem, not the caller's (503, not 404).
    if (anyRouteMatches(snapshot, lnp.routing_digits))
      reject(d, RejectCause::NoRoute, 503, {});
    else
      reject(d, RejectCause::NoRoute, 404, "No Route");
    return;
  }
  for (std::size_t i = 0; i < usable.size();) {
    std::size_t j = i;
    while (j < usable.size() && usable[j]->priority == usable[i]->priority) ++j;
    weightedShuffle(
        usable, i, j, [](const cfg::Route* r) { return r->weight; }, rng_);
    i = j;
  }
  std::vector<Target> down;
  for (const cfg::Route* r : usable) {
    const cfg::Trunk* t = snapshot.trunk(r->trunk);
    Target base;
    base.trunk = t;
    base.request_user = lnpRequestUser(d.callee, lnp, *t);
    base.to_user = formatNumber(d.callee, t->numbers);
    gatewayTargets(*t, base, d.targets, down);
    if (d.targets.size() >= options_.max_targets) break;
  }
  if (d.targets.empty()) d.targets = std::move(down);
  if (d.targets.size() > options_.max_targets) d.targets.resize(options_.max_targets);
  if (d.targets.empty()) reject(d, RejectCause::NoRoute, 503, {});
}

void Router::gatewayTargets(const cfg::Trunk& trunk, const Target& base,
                            std::vector<Target>& targets, std::vector<Target>& down) {
  std::vector<const cfg::Gateway*> gws;
  for (const cfg::Gateway& g : trunk.gateways)
    if (g.enabled) gws.push_back(&g);
  std::stable_sort(gws.begin(), gws.end(), [](const cfg::Gateway* a, const cfg::Gateway* b) {
    return a->priority < b->priority;
  });
  for (std::size_t i = 0; i < gws.size();) {
    std::size_t j = i;
    while (j < gws.size() && gws[j]->priority == gws[i]->priority) ++j;
    weightedShuffle(
        gws, i, j, [](const cfg::Gateway* g) { return g->weight; }, rng_);
    i = j;
  }
  for (const cfg::Gateway* g : gws) {
    Target t = base;
    if (health_) {
      // A host name is sent to at its cached address while the URIs keep the
      // name; one that never resolved is skipped, even as a last resort,
      // since nothing could be sent to it.
      std::optional<std::string> address = health_->addressOf(g->host);
      if (!address) continue;
      t.host = std::move(*address);
      if (!isIpLiteral(g->host)) t.uri_host = g->host;
    } else {
      t.host = g->host;
    }
    t.port = g->port;
    t.protocol = toTxnProtocol(g->transport);
    t.tls_server_name = g->tls_server_name.empty() ? g->host : g->tls_server_name;
    t.tls_profile = g->tls_profile;
    t.gateway_id = g->id;
    if (health_ && health_->isDown(g->id))
      down.push_back(std::move(t));
    else
      targets.push_back(std::move(t));
  }
}

}  // namespace sbc::b2bua

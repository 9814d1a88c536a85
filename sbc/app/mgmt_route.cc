// GET /api/route?trunk=<name>&number=<digits>: "which way would this call
// go?" for the console's route tester. The answer is the node's own routing
// (the SIP thread's policy, its snapshot and gateway health) applied to a
// synthetic INVITE from that trunk; nothing is sent and no channel is taken.
// Equal-priority routes and gateways are ordered by weighted random, so two
// answers may differ in that order, exactly as two real calls would.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <algorithm>
#include <string>
#include <string_view>

#include "common/http/router.h"
#include "sbc/app/mgmt_api.h"
#include "sbc/b2bua/lnp.h"
#include "sbc/b2bua/numbers.h"
#include "sbc/sip/message.h"

namespace sbc::app {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

constexpr std::size_t kMaxNumberChars = 64;
constexpr std::size_t kMaxTrunkChars = 200;

struct ProbeAnswer {
  int status = 200;
  json::value body;
};

ProbeAnswer probeError(int status, std::string message) {
  return {status, json::object{{"error", std::move(message)}}};
}

// Whatever the operator typed stays inside the Request-URI user part: every
// byte but a few unreserved ones is %-escaped, and the number code resolves
// escapes before it normalises (numbers.h), as it does for a real INVITE.
std::string escapeUser(std::string_view raw) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(raw.size() * 3);
  for (unsigned char c : raw) {
    const bool plain = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                       c == '+' || c == '-' || c == '.' || c == '(' || c == ')';
    if (plain) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::optional<sip::Message> probeInvite(std::string_view raw_number) {
  const std::string user = escapeUser(raw_number);
  std::string text;
  text.reserve(400 + 2 * user.size());
  text += "INVITE sip:" + user + "@route-probe.invalid SIP/2.0\r\n";
  text += "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-route-probe\r\n";
  text += "From: <sip:route-probe@route-probe.invalid>;tag=probe\r\n";
  text += "To: <sip:" + user + "@route-probe.invalid>\r\n";
  text += "Call-ID: route-probe\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n";
  text += "Content-Length: 0\r\n\r\n";
  sip::ParseResult parsed = sip::parseMessage(std::move(text));
  if (parsed.discard() || parsed.error != sip::ParseError::Ok) return std::nullopt;
  return std::move(*parsed.message);
}

std::string plus(std::string_view digits) {
  return digits.empty() ? std::string() : "+" + std::string(digits);
}

std::string_view lnpSource(b2bua::LnpInfo::Source s) {
  switch (s) {
    case b2bua::LnpInfo::Source::Upstream:
      return "upstream";
    case b2bua::LnpInfo::Source::NoLookup:
      return "no_lookup";
    case b2bua::LnpInfo::Source::Dip:
      return "dip";
  }
  return "dip";
}

std::string trunkName(const cfg::Snapshot& snap, cfg::TrunkId id) {
  const cfg::Trunk* t = snap.trunk(id);
  return t ? t->name : "#" + std::to_string(id);
}

// Runs on the SIP thread: everything it reads belongs to that thread.
ProbeAnswer probe(SipNode& node, const std::string& trunk_name, const std::string& number) {
  if (!node.hasSnapshot()) return probeError(503, "the node has no configuration yet");
  const cfg::Snapshot& snap = node.snapshot();
  const cfg::Trunk* from = snap.trunkByName(trunk_name);
  if (!from) return probeError(404, "no trunk named '" + trunk_name + "' on this node");
  std::optional<sip::Message> invite = probeInvite(number);
  if (!invite) return probeError(400, "the number cannot be put in a Request-URI");

  json::object out;
  out["config_generation"] = snap.generation;
  out["trunk"] = json::object{{"id", from->id},
                              {"name", from->name},
                              {"kind", from->kind == cfg::TrunkKind::Pbx ? "pbx" : "carrier"},
                              {"enabled", from->enabled}};
  out["input"] = number;

  // The same normalisation the router starts with, reported on its own so
  // that a bad number says why.
  b2bua::NumberResult n = b2bua::normalizeUriNumber(invite->requestUri(), from->numbers);
  json::object num{{"ok", n.ok()}};
  if (n.ok())
    num["e164"] = plus(n.digits);
  else
    num["error"] = std::string(b2bua::toString(n.error));
  out["number"] = std::move(num);

  b2bua::RoutingDecision d = node.routeProbe(*invite, *from);
  out["direction"] = d.direction == b2bua::Direction::Outbound ? "outbound" : "inbound";

  // LNP and the routes the routing number matches: only where the call
  // goes to carriers (outbound, or an inbound call to a ported-out DID).
  std::optional<b2bua::LnpInfo> lnp;
  if (n.ok()) {
    const cfg::Did* did = snap.did(n.digits);
    const bool to_carriers = d.direction == b2bua::Direction::Outbound ||
                             (did && did->status == cfg::DidStatus::PortedOut &&
                              from->ported_out != cfg::PortedOutAction::Reject404);
    if (to_carriers) lnp = b2bua::resolveLnp(invite->requestUri(), n.digits, from->numbers, snap);
    if (d.direction == b2bua::Direction::Inbound) {
      if (did) {
        json::object o{{"number", plus(did->number)},
                       {"trunk_id", did->trunk},
                       {"trunk", trunkName(snap, did->trunk)}};
        switch (did->status) {
          case cfg::DidStatus::Active:
            o["status"] = "active";
            break;
          case cfg::DidStatus::PortingIn:
            o["status"] = "porting_in";
            break;
          case cfg::DidStatus::PortedOut:
            o["status"] = "ported_out";
            break;
          case cfg::DidStatus::Reserved:
            o["status"] = "reserved";
            break;
        }
        out["did"] = std::move(o);
      } else {
        out["did"] = nullptr;
      }
    }
  }
  json::array routes;
  if (lnp) {
    out["lnp"] =
        json::object{{"source", lnpSource(lnp->source)},
                     {"ported", !lnp->rn.empty()},
                     {"routing_number", plus(lnp->routing_digits)},
                     {"rn", lnp->rn.empty() ? json::value(nullptr) : json::value(plus(lnp->rn))},
                     {"npdi", lnp->npdi}};
    for (const cfg::Route* r : snap.routesFor(lnp->routing_digits)) {
      const cfg::Trunk* t = snap.trunk(r->trunk);
      std::string_view skipped;
      if (!t)
        skipped = "unknown trunk";
      else if (!t->enabled)
        skipped = "trunk disabled";
      else if (t->id == from->id)
        skipped = "source trunk";
      json::object o{{"prefix", r->prefix},
                     {"trunk_id", r->trunk},
                     {"trunk", trunkName(snap, r->trunk)},
                     {"priority", r->priority},
                     {"weight", r->weight}};
      if (!skipped.empty()) o["skipped"] = skipped;
      routes.push_back(std::move(o));
    }
  } else {
    out["lnp"] = nullptr;
  }
  out["routes"] = std::move(routes);

  json::array targets;
  for (const b2bua::Target& t : d.targets) {
    json::object o;
    o["trunk_id"] = t.trunk ? t.trunk->id : 0;
    o["trunk"] = t.trunk ? t.trunk->name : std::string();
    o["host"] = t.host;
    o["port"] = t.port;
    o["transport"] = txn::toString(t.protocol);
    if (t.gateway_id != 0) o["gateway_id"] = t.gateway_id;
    if (!t.registered_contact.empty()) o["registered_contact"] = t.registered_contact;
    o["request_user"] = t.request_user;
    o["to_user"] = t.to_user;
    o["down"] = t.gateway_id != 0 && node.gatewayDown(t.gateway_id);
    targets.push_back(std::move(o));
  }
  out["targets"] = std::move(targets);
  if (d.targets.empty()) {
    out["reject"] = json::object{{"code", d.reject_code},
                                 {"reason", d.reject_reason},
                                 {"cause", std::string(b2bua::toString(d.cause))}};
  } else {
    out["reject"] = nullptr;
  }
  return {200, std::move(out)};
}

}  // namespace

void addRouteProbe(http::Router& router, const MgmtContext& ctx) {
  router.add(http::Method::kGet, "/api/route",
             [ctx](http::Request& request) -> asio::awaitable<http::Response> {
               std::string trunk(request.queryParam("trunk").value_or(""));
               std::string number(request.queryParam("number").value_or(""));
               if (trunk.empty() || trunk.size() > kMaxTrunkChars)
                 co_return http::Response::json(
                     400, json::object{{"error", "trunk (a trunk name) is required"}});
               if (number.empty() || number.size() > kMaxNumberChars)
                 co_return http::Response::json(
                     400, json::object{{"error", "number is required (at most 64 characters)"}});
               SipNode* node = ctx.node;
               ProbeAnswer a = co_await asio::co_spawn(
                   *ctx.sip_io,
                   [node, trunk = std::move(trunk), number = std::move(number)]()
                       -> asio::awaitable<ProbeAnswer> { co_return probe(*node, trunk, number); },
                   asio::use_awaitable);
               http::Response r = http::Response::json(a.status, a.body);
               r.set("Cache-Control", "no-store");
               co_return r;
             });
}

}  // namespace sbc::app

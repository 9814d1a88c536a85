#include "sbc/b2bua/topology.h"

#include <algorithm>
#include <array>
#include <charconv>

#include "sbc/b2bua/engine.h"

namespace sbc::b2bua {
namespace {

std::string_view transportName(txn::Protocol p) {
  switch (p) {
    case txn::Protocol::Udp:
      return "UDP";
    case txn::Protocol::Tcp:
      return "TCP";
    case txn::Protocol::Tls:
      return "TLS";
  }
  return "UDP";
}

bool isTargetRefresh(sip::Method m) {
  return m == sip::Method::Invite || m == sip::Method::Update || m == sip::Method::Subscribe ||
         m == sip::Method::Notify || m == sip::Method::Refer;
}

void appendParams(std::string& out, const sip::Params& params, bool skip_tag) {
  for (const sip::Param& p : params) {
    if (skip_tag && sip::iequals(p.name, "tag")) continue;
    out.push_back(';');
    out.append(p.name);
    if (p.has_value) {
      out.push_back('=');
      if (p.quoted) out.push_back('"');
      out.append(p.value);
      if (p.quoted) out.push_back('"');
    }
  }
}

void appendDisplay(std::string& out, const sip::NameAddr& na) {
  if (na.display_name.empty()) return;
  if (na.display_quoted) {
    out.push_back('"');
    out.append(na.display_name);
    out.append("\" ");
  } else {
    out.append(na.display_name);
    out.push_back(' ');
  }
}

bool inList(const std::vector<std::string>& list, std::string_view name) {
  return std::any_of(list.begin(), list.end(),
                     [&](const std::string& s) { return sip::iequals(s, name); });
}

}  // namespace

namespace {

// Appends host:port ([v6]:port) without a temporary string.
void appendHostPort(std::string& out, std::string_view host, std::uint16_t port) {
  const bool v6 = host.find(':') != std::string_view::npos;
  if (v6) out.push_back('[');
  out.append(host);
  if (v6) out.push_back(']');
  out.push_back(':');
  char buf[8];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, port);
  out.append(buf, end);
}

constexpr std::size_t kHostPortMax = 2 + 6;  // brackets, ':' and 5 digits

}  // namespace

// These builders run for every message the engine sends: each reserves its
// final size so that it allocates once rather than at every growth step.
std::string hostPort(std::string_view host, std::uint16_t port) {
  std::string out;
  out.reserve(host.size() + kHostPortMax);
  appendHostPort(out, host, port);
  return out;
}

namespace {

void appendVia(std::string& v, const ListenerInfo& l, txn::Protocol protocol,
               std::string_view branch) {
  v.append("SIP/2.0/");
  v.append(transportName(protocol));
  v.push_back(' ');
  appendHostPort(v, l.host, l.port);
  v.append(";branch=");
  v.append(branch);
  v.append(";rport");
}

void appendWithTag(std::string& out, std::string_view name_addr, std::string_view tag) {
  out.append(name_addr);
  if (!tag.empty()) {
    out.append(";tag=");
    out.append(tag);
  }
}

// Message::addHeader copies the value into the message: the values of a
// request under construction are built one after the other in this one
// per-thread buffer, so that building a request allocates nothing for them.
std::string& headerScratch() {
  thread_local std::string s = [] {
    std::string init;
    init.reserve(512);
    return init;
  }();
  s.clear();
  return s;
}

std::string_view decimal(std::array<char, 12>& buf, std::uint32_t v) {
  const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  return {buf.data(), static_cast<std::size_t>(r.ptr - buf.data())};
}

}  // namespace

std::string viaValue(const ListenerInfo& l, txn::Protocol protocol, std::string_view branch) {
  std::string v;
  v.reserve(8 + 3 + 1 + l.host.size() + kHostPortMax + 8 + branch.size() + 6);
  appendVia(v, l, protocol, branch);
  return v;
}

std::string contactValue(const ListenerInfo& l, txn::Protocol protocol) {
  std::string v;
  v.reserve(5 + l.host.size() + kHostPortMax + 14 + 1);
  v.append("<sip:");
  appendHostPort(v, l.host, l.port);
  if (protocol == txn::Protocol::Tcp) v.append(";transport=tcp");
  if (protocol == txn::Protocol::Tls) v.append(";transport=tls");
  v.push_back('>');
  return v;
}

std::string nameAddrWithoutTag(const sip::NameAddr& na) {
  std::string out;
  appendDisplay(out, na);
  out.push_back('<');
  out.append(na.uri.text);
  out.push_back('>');
  appendParams(out, na.params, true);
  return out;
}

std::string withTag(std::string_view name_addr, std::string_view tag) {
  std::string out;
  out.reserve(name_addr.size() + 5 + tag.size());
  appendWithTag(out, name_addr, tag);
  return out;
}

std::string_view productFor(const cfg::Trunk* trunk, std::string_view node_product) {
  if (trunk && trunk->headers.product) return *trunk->headers.product;
  return node_product;
}

sip::Message buildInDialogRequest(const Leg& leg, sip::Method method, std::uint32_t cseq,
                                  std::string_view branch, std::string_view contact,
                                  std::string_view user_agent, std::uint32_t max_forwards) {
  // Strict routing (RFC 3261 12.2.1.1): the first route without ;lr becomes
  // the Request-URI and the remote target goes last in the Route set.
  bool strict = false;
  const std::size_t routes = leg.routeCount();
  if (routes > 0) {
    auto first = sip::parseNameAddr(leg.route(0), false);
    strict = first.ok() && !first->uri.lr();
  }
  std::string strict_ruri;
  if (strict) {
    auto first = sip::parseNameAddr(leg.route(0), false);
    strict_ruri.assign(first->uri.text);
  }
  auto created = sip::Message::createRequest(
      method, strict ? std::string_view(strict_ruri) : leg.remoteTarget());
  // A remote target that does not parse came from a peer's Contact; the
  // request then goes nowhere useful but stays well-formed.
  if (!created.ok()) created = sip::Message::createRequest(method, "sip:invalid");
  sip::Message m = std::move(created).value();
  std::string& v = headerScratch();
  // The same text as appendVia(), with its parse seeded: the transaction
  // layer keys on it at once.
  if (leg.listener)
    m.addVia(transportName(leg.peer.protocol), leg.listener->host, leg.listener->port, branch,
             true);
  std::array<char, 12> num{};
  m.addHeader(sip::HeaderId::MaxForwards, decimal(num, max_forwards));
  for (std::size_t i = strict ? 1 : 0; i < routes; ++i) {
    m.addHeader(sip::HeaderId::Route, leg.route(i));
  }
  if (strict) {
    v.clear();
    v.append("<").append(leg.remoteTarget()).append(">");
    m.addHeader(sip::HeaderId::Route, v);
  }
  v.clear();
  appendWithTag(v, leg.localNaddr(), leg.localTag());
  m.addHeader(sip::HeaderId::From, v);
  v.clear();
  appendWithTag(v, leg.remoteNaddr(), leg.remoteTag());
  m.addHeader(sip::HeaderId::To, v);
  m.addHeader(sip::HeaderId::CallId, leg.callId());
  v.clear();
  v.append(decimal(num, cseq)).append(" ").append(sip::methodName(method));
  m.addHeader(sip::HeaderId::CSeq, v);
  if (isTargetRefresh(method) && !contact.empty()) m.addHeader(sip::HeaderId::Contact, contact);
  if (!user_agent.empty()) m.addHeader(sip::HeaderId::UserAgent, user_agent);
  return m;
}

bool privacyHidesIdentity(const sip::Message& message) {
  auto p = message.privacy();
  if (!p) return false;
  for (std::string_view v : *p) {
    if (sip::iequals(v, "id") || sip::iequals(v, "user") || sip::iequals(v, "header")) return true;
  }
  return false;
}

std::string identityWithOurHost(const sip::NameAddr& na, std::string_view our_host) {
  if (!na.uri.isSip()) return nameAddrWithoutTag(na);
  std::string out;
  appendDisplay(out, na);
  out.append(na.uri.scheme == sip::UriScheme::Sips ? "<sips:" : "<sip:");
  if (!na.uri.user.empty()) {
    out.append(na.uri.user);
    out.push_back('@');
  }
  const bool v6 = our_host.find(':') != std::string_view::npos;
  if (v6) out.push_back('[');
  out.append(our_host);
  if (v6) out.push_back(']');
  if (na.uri.userParam() == "phone") out.append(";user=phone");
  out.push_back('>');
  appendParams(out, na.params, true);
  return out;
}

void copyPolicyHeaders(const sip::Message& in, sip::Message& out, const HeaderCopyOptions& o) {
  const bool trusted_in = o.from && o.from->headers.pai == cfg::PaiTrust::Trusted;
  const bool trusted_out = o.to && o.to->headers.pai == cfg::PaiTrust::Trusted;
  const cfg::HeaderPolicy* policy = o.to ? &o.to->headers : nullptr;
  auto stripped = [&](std::string_view name) { return policy && inList(policy->strip, name); };

  for (const sip::HeaderField& h : in.headers()) {
    const std::string_view canonical =
        h.id == sip::HeaderId::Other ? h.name : sip::headerName(h.id);
    if (stripped(canonical) || stripped(h.name)) continue;
    switch (h.id) {
      case sip::HeaderId::Subject:
      case sip::HeaderId::Priority:
      case sip::HeaderId::Accept:
      case sip::HeaderId::AcceptLanguage:
      case sip::HeaderId::ContentDisposition:
      case sip::HeaderId::Event:
      case sip::HeaderId::SubscriptionState:
      case sip::HeaderId::Reason:
        out.addHeader(h.id, h.value);
        break;
      case sip::HeaderId::Privacy:
        if (o.identity) out.addHeader(h.id, h.value);
        break;
      case sip::HeaderId::PAssertedIdentity:
        // RFC 3325: only an identity asserted by a trusted peer is passed,
        // and only to a trusted peer.
        if (o.identity && trusted_in && trusted_out) {
          sip::ListSplitter split(h.value);
          std::string_view element;
          while (split.next(element)) {
            auto na = sip::parseNameAddr(element);
            if (na.ok()) out.addHeader(h.id, identityWithOurHost(*na, o.our_host));
          }
        }
        break;
      case sip::HeaderId::Diversion:
        if (o.identity) {
          sip::ListSplitter split(h.value);
          std::string_view element;
          while (split.next(element)) {
            auto na = sip::parseNameAddr(element, false);
            if (na.ok()) out.addHeader(h.id, identityWithOurHost(*na, o.our_host));
          }
        }
        break;
      case sip::HeaderId::Other:
        if ((h.name.size() > 2 && (h.name[0] == 'X' || h.name[0] == 'x') && h.name[1] == '-') &&
            policy && inList(policy->allow_x, h.name)) {
          out.addHeader(h.name, h.value);
        }
        break;
      default:
        break;
    }
  }
}

}  // namespace sbc::b2bua

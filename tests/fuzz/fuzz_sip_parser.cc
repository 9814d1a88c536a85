// libFuzzer target for the SIP message core: parse (datagram and stream),
// read every structured accessor, validate, build a response, serialize and
// re-parse. Any crash, sanitizer report, or broken invariant (abort) is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "sbc/sip/message.h"
#include "sbc/sip/uri.h"
#include "sbc/sip/validate.h"

namespace {

using namespace sbc::sip;

void check(bool ok) {
  if (!ok) std::abort();
}

std::size_t touchParams(const Params& ps) {
  std::size_t n = 0;
  for (const Param& p : ps) n += p.name.size() + p.value.size();
  check(ps.size() <= ps.text().size() + 1);
  return n;
}

std::size_t touchUri(const Uri& u) {
  std::size_t n = touchParams(u.params) + touchParams(u.headers) + touchParams(u.user_params);
  n += unescape(u.user).size() + u.rn().has_value() + u.npdi() + u.isPhone() + u.lr();
  n += u.transport().size() + u.maddr().size() + u.portOrDefault();
  // A parsed URI equals itself and its own re-parse.
  check(uriEquals(u, u));
  auto again = parseUri(u.text);
  check(again.ok() && uriEquals(u, *again));
  return n;
}

std::size_t touchNameAddr(const NameAddr& na) {
  return na.displayName().size() + touchUri(na.uri) + touchParams(na.params) + na.tag.size();
}

template <class R, class F>
std::size_t each(const R& r, F&& f) {
  std::size_t n = 0;
  if (r) {
    for (const auto& x : *r) n += f(x);
  }
  return n;
}

std::size_t touchAll(const Message& m) {
  std::size_t n = m.methodText().size() + m.requestUriText().size() + m.reasonPhrase().size();
  // An unparsable Request-URI leaves requestUri() empty (the error may be a
  // different one: the first error found wins).
  if (m.isRequest() && !m.requestUri().text.empty()) {
    check(m.requestUri().text == m.requestUriText());
    n += touchUri(m.requestUri());
  }
  for (const HeaderField& h : m.headers()) n += h.name.size() + h.value.size() + h.raw.size();
  n += each(m.vias(),
            [](const Via& v) { return touchParams(v.params) + v.branch.size() + v.rport_value; });
  if (auto v = m.topVia()) n += v->host.size();
  if (auto f = m.from()) n += touchNameAddr(*f);
  if (auto t = m.to()) n += touchNameAddr(*t);
  if (auto c = m.callId()) n += c->size();
  if (auto c = m.cseq()) n += c->number;
  n += each(m.contacts(), touchNameAddr) + m.contactIsWildcard();
  n += each(m.routes(), touchNameAddr);
  n += each(m.recordRoutes(), touchNameAddr);
  n += each(m.pAssertedIdentities(), touchNameAddr);
  if (auto v = m.maxForwards()) n += *v;
  if (auto v = m.contentLength()) n += *v;
  if (auto v = m.contentType()) n += touchParams(v->params);
  n += each(m.accept(), [](const MediaType& t) {
    return touchParams(t.params) + t.admits("application", "sdp");
  });
  for (auto list : {m.require(), m.proxyRequire(), m.supported(), m.unsupported(), m.allow(),
                    m.privacy(), m.tokens(HeaderId::AllowEvents)})
    n += each(list, [](std::string_view s) { return s.size(); });
  if (auto v = m.sessionExpires()) n += v->delta + touchParams(v->params);
  if (auto v = m.minSE()) n += v->delta;
  n += each(m.reasons(), [](const Reason& r) { return touchParams(r.params) + r.text.size(); });
  if (auto v = m.rseq()) n += *v;
  if (auto v = m.rack()) n += v->rseq;
  if (auto v = m.expires()) n += *v;
  for (HeaderId id : {HeaderId::Authorization, HeaderId::ProxyAuthorization,
                      HeaderId::WWWAuthenticate, HeaderId::ProxyAuthenticate})
    n += each(m.auth(id),
              [](const AuthHeader& a) { return touchParams(a.params) + a.token68.size(); });
  return n;
}

// Errors whose cause is not carried into the serialized form: dropped
// header lines, and the Content-Length serialize() adds.
bool errorSurvivesSerialization(ParseError e) {
  return e != ParseError::BadHeaderLine && e != ParseError::TooManyHeaders &&
         e != ParseError::MissingContentLength;
}

void sameValues(const Message& a, const Message& b) {
  check(a.isRequest() == b.isRequest());
  check(a.methodText() == b.methodText());
  check(a.requestUriText() == b.requestUriText());
  check(a.statusCode() == b.statusCode());
  check(a.reasonPhrase() == b.reasonPhrase());
  check(a.body() == b.body());
  auto ha = a.headers();
  auto hb = b.headers();
  check(hb.size() == ha.size() ||
        (hb.size() == ha.size() + 1 && hb.back().id == HeaderId::ContentLength));
  for (std::size_t i = 0; i < ha.size(); ++i)
    check(ha[i].id == hb[i].id && ha[i].name == hb[i].name && ha[i].value == hb[i].value);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  static const ValidationPolicy policy;
  volatile std::size_t sink = 0;

  for (bool datagram : {true, false}) {
    ParseResult r = datagram ? parseDatagram(bytes) : parseMessage(bytes);
    if (!r.message) {
      check(isDiscard(r.error));
      continue;
    }
    check(!isDiscard(r.error));
    const Message& m = *r.message;
    check(m.parseError() == r.error);
    sink = sink + touchAll(m);

    if (m.isRequest()) {
      ValidationResult v = validateRequest(m, policy);
      int status = v.ok() ? 200 : v.status;
      check(status >= 100 && status <= 699);
      Message resp = v.ok() ? makeResponse(m, 200, {}, "fuzz") : makeResponse(m, v, "fuzz");
      std::string wire = resp.serialize();
      sink = sink + wire.size();
      // A response to a request whose dialog headers are sound is valid.
      if (r.ok() && v.ok()) check(parseDatagram(wire).ok());
    }

    std::string wire = m.serialize();
    ParseResult again = parseDatagram(wire);
    check(again.message.has_value());
    if (errorSurvivesSerialization(r.error)) {
      check(again.error == r.error);
      sameValues(m, *again.message);
      check(again.message->serialize() == wire);
    }
    sink = sink + touchAll(*again.message);

    // Mutate a copy; the original stays as it was.
    Message copy(m);
    copy.setHeader(HeaderId::MaxForwards, "70");
    copy.addHeader("X-Fuzz", "1");
    copy.setBody("body", "text/plain");
    if (copy.isRequest()) (void)copy.setRequestUri("sip:fuzz@example.com");
    copy.removeFirstValue(HeaderId::Route);
    ParseResult mutated = parseMessage(copy.serialize());
    check(mutated.message.has_value());
    check(mutated.message->body() == "body");
    check(m.serialize() == wire);

    // The transaction layer's received/rport stamp keeps the Via parse it
    // had: what it answers afterwards is what a re-parse of the wire gives.
    Message stamped(m);
    if (auto top = stamped.topVia(); top.ok() && stamped.headers().size() < 500) {
      const std::string value = std::string(top->text) + ";received=192.0.2.1;rport=5060";
      (void)stamped.vias();
      check(stamped.replaceFirstValue(HeaderId::Via, value));
      ParseResult re = parseDatagram(stamped.serialize());
      if (re.message.has_value()) {
        auto a = stamped.vias();
        auto b = re.message->vias();
        check(a.ok() == b.ok());
        if (a.ok() && b.ok()) {
          check(a->size() == b->size());
          for (std::size_t i = 0; i < a->size() && i < b->size(); ++i)
            check((*a)[i].text == (*b)[i].text && (*a)[i].branch == (*b)[i].branch &&
                  (*a)[i].received == (*b)[i].received && (*a)[i].port == (*b)[i].port);
        }
      }
    }
  }
  return 0;
}

#include "sbc/sip/validate.h"

#include <algorithm>
#include <bitset>

#include "sbc/sip/text.h"

namespace sbc::sip {

namespace {

ValidationResult reject(ParseError e) {
  ErrorStatus st = errorStatus(e);
  return ValidationResult{e, st.code, st.reason, {}};
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) {
    if (!out.empty()) out.append(", ");
    out.append(s);
  }
  return out;
}

std::string allowList(const ValidationPolicy& policy) {
  std::string out;
  for (Method m : policy.allowed_methods) {
    if (!out.empty()) out.append(", ");
    out.append(methodName(m));
  }
  return out;
}

bool optionSupported(const ValidationPolicy& policy, std::string_view tag) {
  return std::any_of(policy.supported_option_tags.begin(), policy.supported_option_tags.end(),
                     [&](const std::string& s) { return text::iequals(s, tag); });
}

bool typeAccepted(const ValidationPolicy& policy, const MediaType& type) {
  for (const std::string& a : policy.accepted_content_types) {
    std::string_view v = a;
    std::size_t slash = v.find('/');
    if (slash == std::string_view::npos) continue;
    if (type.is(v.substr(0, slash), v.substr(slash + 1))) return true;
  }
  return false;
}

}  // namespace

ValidationResult validateRequest(const Message& msg, const ValidationPolicy& policy) {
  if (!msg.isRequest()) return reject(ParseError::BadStartLine);

  // 1. Syntax: everything the parser found, then the mandatory headers and
  //    the strictly parsed optional ones.
  if (msg.parseError() != ParseError::Ok) return reject(msg.parseError());
  // Which headers are present, in one pass: an absent optional header is
  // never malformed, so its accessor (a scan of the header list and, for
  // most, the extra cache block) runs only for the headers present.
  std::bitset<static_cast<std::size_t>(HeaderId::kCount)> present;
  for (const HeaderField& h : msg.headers()) present.set(static_cast<std::size_t>(h.id));
  auto has = [&present](HeaderId id) { return present.test(static_cast<std::size_t>(id)); };
  for (HeaderId id :
       {HeaderId::To, HeaderId::From, HeaderId::CSeq, HeaderId::CallId, HeaderId::Via})
    if (!has(id)) return reject(ParseError::MissingHeader);
  if (!msg.vias()) return reject(ParseError::BadVia);
  if (auto r = msg.from(); !r)
    return reject(r.error() == ParseError::DuplicateHeader ? r.error() : ParseError::BadFrom);
  if (auto r = msg.to(); !r)
    return reject(r.error() == ParseError::DuplicateHeader ? r.error() : ParseError::BadTo);
  if (auto r = msg.callId(); !r)
    return reject(r.error() == ParseError::DuplicateHeader ? r.error() : ParseError::BadCallId);
  if (auto r = msg.cseq(); !r)
    return reject(r.error() == ParseError::DuplicateHeader ? r.error() : ParseError::BadCSeq);
  auto max_forwards = msg.maxForwards();
  if (!max_forwards) {
    if (max_forwards.error() != ParseError::Missing) return reject(max_forwards.error());
    if (!policy.accept_missing_max_forwards) return reject(ParseError::MissingHeader);
  }
  if (auto r = msg.contentLength(); !r && r.error() != ParseError::Missing)
    return reject(r.error());
  if (has(HeaderId::ContentType)) {
    if (auto r = msg.contentType(); !r)
      return reject(r.error() == ParseError::DuplicateHeader ? r.error()
                                                             : ParseError::BadContentType);
  }
  if (has(HeaderId::Contact) && !msg.contacts()) return reject(ParseError::BadContact);
  if (has(HeaderId::Route) && !msg.routes()) return reject(ParseError::BadRoute);
  if (has(HeaderId::RecordRoute) && !msg.recordRoutes()) return reject(ParseError::BadRecordRoute);
  if (has(HeaderId::Expires)) {
    if (auto r = msg.expires(); !r) return reject(r.error());
  }
  if (has(HeaderId::SessionExpires)) {
    if (auto r = msg.sessionExpires(); !r) return reject(r.error());
  }
  if (has(HeaderId::MinSE)) {
    if (auto r = msg.minSE(); !r) return reject(r.error());
  }
  if (has(HeaderId::RSeq)) {
    if (auto r = msg.rseq(); !r) return reject(r.error());
  }
  if (has(HeaderId::RAck)) {
    if (auto r = msg.rack(); !r) return reject(r.error());
  }
  if ((has(HeaderId::PAssertedIdentity) && !msg.pAssertedIdentities()) ||
      (has(HeaderId::Privacy) && !msg.privacy()) || (has(HeaderId::Reason) && !msg.reasons()) ||
      (has(HeaderId::Accept) && !msg.accept()) || (has(HeaderId::Require) && !msg.require()) ||
      (has(HeaderId::ProxyRequire) && !msg.proxyRequire()) ||
      (has(HeaderId::Supported) && !msg.supported()) || (has(HeaderId::Allow) && !msg.allow()))
    return reject(ParseError::BadHeaderValue);
  if (!msg.body().empty() && !has(HeaderId::ContentType)) return reject(ParseError::MissingHeader);
  if (policy.reject_bad_date) {
    if (msg.headerCount(HeaderId::Date) > 1) return reject(ParseError::DuplicateHeader);
    if (const HeaderField* d = msg.header(HeaderId::Date);
        d != nullptr && !isValidSipDate(d->value))
      return reject(ParseError::BadDate);
  }
  const Uri& ruri = msg.requestUri();
  if (ruri.isSip() && !ruri.headers.empty() && policy.reject_escaped_headers_in_ruri)
    return reject(ParseError::EscapedHeadersInRequestUri);

  // 2. Loop protection (RFC 3261 16.3 step 3 / RFC 4475 zeromf).
  if (max_forwards && *max_forwards == 0 && !policy.allow_zero_max_forwards)
    return reject(ParseError::TooManyHops);

  // 3. Method inspection (8.2.1).
  bool allowed = std::find(policy.allowed_methods.begin(), policy.allowed_methods.end(),
                           msg.method()) != policy.allowed_methods.end();
  if (!allowed) {
    auto r = reject(msg.method() == Method::Unknown ? ParseError::NotImplemented
                                                    : ParseError::MethodNotAllowed);
    r.extra.push_back({HeaderId::Allow, allowList(policy)});
    return r;
  }

  // 4. Header inspection (8.2.2): Request-URI scheme, then Require.
  if (ruri.scheme == UriScheme::Other) return reject(ParseError::UnsupportedUriScheme);
  if (msg.method() != Method::Cancel && msg.method() != Method::Ack) {
    std::string unsupported;
    for (HeaderId id : {HeaderId::Require, HeaderId::ProxyRequire}) {
      if (!has(id)) continue;
      auto tags = msg.tokens(id);
      for (std::string_view tag : *tags) {
        if (optionSupported(policy, tag)) continue;
        if (!unsupported.empty()) unsupported.append(", ");
        unsupported.append(tag);
      }
    }
    if (!unsupported.empty()) {
      auto r = reject(ParseError::BadExtension);
      r.extra.push_back({HeaderId::Unsupported, std::move(unsupported)});
      return r;
    }
  }

  // 5. Content processing (8.2.3).
  if (!msg.body().empty() && has(HeaderId::ContentType)) {
    auto ct = msg.contentType();
    if (ct && !typeAccepted(policy, *ct)) {
      auto r = reject(ParseError::UnsupportedMediaType);
      r.extra.push_back({HeaderId::Accept, join(policy.accepted_content_types)});
      return r;
    }
  }

  // 6. An INVITE whose Accept rules out SDP cannot be answered with an offer
  //    or answer (RFC 4475 sdp01).
  if (msg.method() == Method::Invite && has(HeaderId::Accept)) {
    auto accept = msg.accept();
    bool sdp = std::any_of(accept->begin(), accept->end(),
                           [](const MediaType& m) { return m.admits("application", "sdp"); });
    if (!sdp) {
      auto r = reject(ParseError::NotAcceptable);
      r.extra.push_back({HeaderId::Accept, "application/sdp"});
      return r;
    }
  }
  return {};
}

Message makeResponse(const Message& request, const ValidationResult& rejection,
                     std::string_view to_tag) {
  Message r = makeResponse(request, rejection.status, rejection.reason, to_tag);
  for (const ExtraHeader& h : rejection.extra) r.addHeader(h.id, h.value);
  return r;
}

}  // namespace sbc::sip

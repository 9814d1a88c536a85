#include "common/http/security_headers.h"

namespace sbc::http {

namespace {

void addIfAbsent(Response& response, std::string_view name, const std::string& value) {
  if (value.empty() || response.header(name)) return;
  response.add(name, value);
}

}  // namespace

void applySecurityHeaders(Response& response, const SecurityHeaders& headers, bool secure) {
  addIfAbsent(response, "Content-Security-Policy", headers.content_security_policy);
  addIfAbsent(response, "X-Frame-Options", headers.frame_options);
  addIfAbsent(response, "Referrer-Policy", headers.referrer_policy);
  addIfAbsent(response, "X-Content-Type-Options", headers.content_type_options);
  addIfAbsent(response, "Cross-Origin-Opener-Policy", headers.cross_origin_opener_policy);
  if (secure) addIfAbsent(response, "Strict-Transport-Security", headers.strict_transport_security);
}

AfterHook securityHeadersHook(SecurityHeaders headers) {
  return [headers = std::move(headers)](const Request& request, Response& response) {
    applySecurityHeaders(response, headers, request.secure);
  };
}

}  // namespace sbc::http

#pragma once
// Browser-facing security headers for the console (and harmless elsewhere).
#include <string>

#include "common/http/response.h"
#include "common/http/router.h"

namespace sbc::http {

struct SecurityHeaders {
  // Same-origin scripts, styles and API calls only; no framing, no plugins.
  std::string content_security_policy =
      "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
      "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
      "frame-ancestors 'none'";
  std::string frame_options = "DENY";
  std::string referrer_policy = "no-referrer";
  std::string content_type_options = "nosniff";
  std::string cross_origin_opener_policy = "same-origin";
  // Sent on TLS responses only, and only when not empty, e.g.
  // "max-age=31536000": once a browser has it, plain HTTP stops working.
  std::string strict_transport_security;
};

// Adds each header the response does not already carry (a handler may
// loosen one on purpose). An empty option is not sent.
void applySecurityHeaders(Response& response, const SecurityHeaders& headers, bool secure);

// The same as an after-hook for Router::after().
AfterHook securityHeadersHook(SecurityHeaders headers = {});

}  // namespace sbc::http

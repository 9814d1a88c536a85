// Request validation per RFC 3261 8.2 and RFC 4475: the checks a UAS (and a
// B2BUA's inbound leg) makes before processing a request. The app calls it
// after parsing; parsing alone never rejects on policy.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "sbc/sip/headers.h"
#include "sbc/sip/message.h"
#include "sbc/sip/result.h"

namespace sbc::sip {

struct ValidationPolicy {
  // Option-tags we support (Require / Proxy-Require checks, 420).
  std::vector<std::string> supported_option_tags{"100rel", "timer",    "replaces",
                                                 "path",   "outbound", "norefersub"};
  // Body types we accept (415); matched case-insensitively as type/subtype.
  std::vector<std::string> accepted_content_types{"application/sdp", "multipart/mixed",
                                                  "application/dtmf-relay", "application/isup"};
  // Methods we implement. Others: 405 when known (Allow lists these), 501
  // for extension methods.
  std::vector<Method> allowed_methods{Method::Invite, Method::Ack,     Method::Bye,
                                      Method::Cancel, Method::Options, Method::Prack,
                                      Method::Update, Method::Info,    Method::Register,
                                      Method::Notify, Method::Refer,   Method::Message};
  // Max-Forwards: 0 normally gives 483; the caller sets this for an OPTIONS
  // addressed to the element itself (RFC 3261 11 / RFC 4475 zeromf).
  bool allow_zero_max_forwards = false;
  // RFC 3261 8.1.1 makes Max-Forwards mandatory, but RFC 2543 UAs omit it and
  // RFC 4475 (inv2543) expects such a request to be processed, so a missing
  // Max-Forwards is accepted (treated as 70) unless this is false.
  bool accept_missing_max_forwards = true;
  // Escaped headers in a SIP/SIPS Request-URI (RFC 4475 3.1.2.11): we reject
  // with 400 by default; a proxy could instead ignore them.
  bool reject_escaped_headers_in_ruri = true;
  // A Date header that is not RFC 1123 "GMT" syntax: ignored by default
  // (RFC 4475 3.1.2.12 allows either), 400 when true.
  bool reject_bad_date = false;
};

struct ExtraHeader {
  HeaderId id;
  std::string value;
};

struct ValidationResult {
  ParseError error = ParseError::Ok;
  int status = 0;                  // 0 when the request is acceptable
  std::string_view reason;         // reason phrase for the response
  std::vector<ExtraHeader> extra;  // e.g. Unsupported for 420, Accept for 415/406

  bool ok() const { return status == 0; }
};

ValidationResult validateRequest(const Message& request, const ValidationPolicy& policy);

// The rejection as a response: makeResponse plus the extra headers.
Message makeResponse(const Message& request, const ValidationResult& rejection,
                     std::string_view to_tag = {});

}  // namespace sbc::sip

// Internal to sbc/sip: single-pass parsers for the common shapes of Via,
// name-addr and sip/sips URIs. Not for other modules.
#pragma once

#include <string_view>

#include "sbc/sip/headers.h"
#include "sbc/sip/result.h"
#include "sbc/sip/uri.h"

namespace sbc::sip::detail {

// Most values on the wire (and every value the B2BUA builds) have one shape:
// no LWS inside, no quoted parameter values, no escapes, no IPv6 host. For
// those a single forward scan gives the same result as the full grammar at a
// fraction of its cost. Each returns true only when `out` is exactly what the
// full parser returns for `text`; false means "not the common shape (or
// invalid): ask the full parser", never "invalid". The differential tests in
// tests/unit/sip/fast_parse_test.cc hold them to that.
bool fastUri(std::string_view text, Uri& out);
bool fastVia(std::string_view text, Via& out);
bool fastNameAddr(std::string_view text, bool allow_addr_spec, NameAddr& out);

// The full parsers without the fast path or the memo (for those tests).
Result<Uri> parseUriFull(std::string_view text);
Result<Via> parseViaFull(std::string_view text);
Result<NameAddr> parseNameAddrFull(std::string_view text, bool allow_addr_spec);

// Per-parameter rules shared by the full and the fast parsers, so that both
// accept and record exactly the same parameters.
bool viaParam(Via& via, const Param& p);
bool nameAddrParam(NameAddr& na, const Param& p);

}  // namespace sbc::sip::detail

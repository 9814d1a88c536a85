#pragma once
// Number portability per RFC 4694: which number a call is routed on, and the
// rn/npdi tel parameters it carries towards carriers.
#include <string>
#include <string_view>

#include "sbc/config/snapshot.h"
#include "sbc/sip/uri.h"

namespace sbc::b2bua {

struct LnpInfo {
  enum class Source : std::uint8_t {
    Upstream,  // the Request-URI carried rn: route on it, no lookup
    NoLookup,  // npdi without rn: someone dipped already, number not ported
    Dip,       // we looked it up in the snapshot's ported numbers
  };
  Source source = Source::Dip;
  std::string routing_digits;  // E.164 digits to route on: rn if any, else the number
  std::string rn;              // E.164 digits; empty when not ported
  bool npdi = false;           // a dip has been done (by us or upstream)
};

// `request_uri` is the URI as received (for rn/npdi), `e164` its number
// already normalized with `format` (the sending trunk's format, also used
// for an rn written in national form). An rn that does not normalize is
// ignored as if absent.
LnpInfo resolveLnp(const sip::Uri& request_uri, std::string_view e164,
                   const cfg::NumberFormat& format, const cfg::Snapshot& snapshot);

// The Request-URI user part towards `trunk`: the number in its format, plus
// ";rn=...;npdi" when the trunk takes LNP parameters (pass_lnp_params).
std::string lnpRequestUser(std::string_view e164, const LnpInfo& lnp, const cfg::Trunk& trunk);

}  // namespace sbc::b2bua

#include "sbc/b2bua/lnp.h"

#include "sbc/b2bua/numbers.h"

namespace sbc::b2bua {

LnpInfo resolveLnp(const sip::Uri& request_uri, std::string_view e164,
                   const cfg::NumberFormat& format, const cfg::Snapshot& snapshot) {
  LnpInfo info;
  const bool npdi = request_uri.npdi();
  if (auto rn = request_uri.rn()) {
    NumberResult n = normalizeNumber(*rn, format);
    if (n.ok()) {
      info.source = LnpInfo::Source::Upstream;
      info.rn = std::move(n.digits);
      info.routing_digits = info.rn;
      // An rn means a dip happened even if the sender forgot npdi.
      info.npdi = true;
      return info;
    }
  }
  info.routing_digits.assign(e164);
  if (npdi) {
    info.source = LnpInfo::Source::NoLookup;
    info.npdi = true;
    return info;
  }
  info.source = LnpInfo::Source::Dip;
  info.npdi = true;
  if (auto packed = cfg::packE164(e164)) {
    if (auto routing = snapshot.routingNumber(*packed)) {
      info.rn = cfg::unpackE164(*routing);
      info.routing_digits = info.rn;
    }
  }
  return info;
}

std::string lnpRequestUser(std::string_view e164, const LnpInfo& lnp, const cfg::Trunk& trunk) {
  std::string user = formatNumber(e164, trunk.numbers);
  if (!trunk.pass_lnp_params) return user;
  if (!lnp.rn.empty()) {
    user += ";rn=";
    user += formatNumber(lnp.rn, trunk.numbers);
  }
  if (lnp.npdi) user += ";npdi";
  return user;
}

}  // namespace sbc::b2bua

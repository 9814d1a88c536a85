#include "sbc/b2bua/sdp_rewriter.h"

#include "sbc/b2bua/ids.h"

namespace sbc::b2bua {

std::string_view toString(LegSide s) {
  return s == LegSide::A ? "a" : "b";
}

std::optional<sdp::SessionDescription> SdpRewriter::parse(std::string_view body) {
  auto r = sdp::parse(body, sdp::kLenient);
  if (!r.ok()) return std::nullopt;
  return std::move(r).value();
}

bool SdpRewriter::noteReceived(const sdp::SessionDescription& sdp, LegSdp& leg) {
  const sdp::Origin o = sdp.origin();
  const std::uint64_t id = o.sessionIdNumber().value_or(0);
  const std::uint64_t version = o.sessionVersionNumber().value_or(0);
  const bool same = leg.remote_seen && leg.remote_session == id && leg.remote_version == version;
  leg.remote_session = id;
  leg.remote_version = version;
  leg.remote_seen = true;
  return same;
}

const std::string& SdpRewriter::rewrite(sdp::SessionDescription sdp, LegSdp& leg,
                                        std::string_view our_address) {
  if (leg.session_id == 0) {
    // Below 2^62 so that the version can grow for any call's lifetime and
    // both stay within what every NTP-style parser accepts.
    leg.session_id = (randomU64() >> 2) | 1;
    leg.version = leg.session_id;
  }
  sdp.ensureMandatoryLines();
  // The session name is free text the far side's equipment fills in (product
  // names, host names): topology hiding replaces it like o=.
  sdp.setSessionName("-");
  const bool v6 = our_address.find(':') != std::string_view::npos;
  auto write = [&](std::uint64_t version) {
    sdp::Origin o;
    const std::string id = std::to_string(leg.session_id);
    const std::string ver = std::to_string(version);
    o.username = "-";
    o.sessionId = id;
    o.sessionVersion = ver;
    o.netType = "IN";
    o.addrType = v6 ? "IP6" : "IP4";
    o.address = our_address;
    sdp.setOrigin(o);
    return sdp.serialize();
  };
  std::string body = write(leg.version);
  if (!leg.last_sent.empty() && body != leg.last_sent) {
    ++leg.version;
    body = write(leg.version);
  }
  leg.last_sent = std::move(body);
  return leg.last_sent;
}

}  // namespace sbc::b2bua

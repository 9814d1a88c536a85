#include "sbc/b2bua/sdp_rewriter.h"

#include <array>
#include <charconv>

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

namespace {

// A number field as Origin::session*Number() reads it (digits, no overflow);
// 0 when it is not one.
std::uint64_t numberOr0(std::string_view s) {
  std::uint64_t v = 0;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || s.size() > 20 || r.ec != std::errc() || r.ptr != s.data() + s.size() ||
      s.front() == '+' || s.front() == '-')
    return 0;
  return v;
}

}  // namespace

bool SdpRewriter::noteReceived(const sdp::SessionDescription& sdp, LegSdp& leg) {
  // parse() checked o= (every field present, single spaces, a valid address),
  // so its second and third fields are the session id and version: no second
  // full parseOrigin() per SDP.
  std::string_view o;
  for (const sdp::LineView l : sdp.lines()) {
    if (l.type == 'o') {
      o = l.value;
      break;
    }
  }
  const std::size_t a = o.find(' ');
  const std::size_t b = a == std::string_view::npos ? a : o.find(' ', a + 1);
  const std::size_t c = b == std::string_view::npos ? b : o.find(' ', b + 1);
  std::uint64_t id = 0;
  std::uint64_t version = 0;
  if (c != std::string_view::npos) {
    id = numberOr0(o.substr(a + 1, b - a - 1));
    version = numberOr0(o.substr(b + 1, c - b - 1));
  }
  const bool same = leg.remote_seen && leg.remote_session == id && leg.remote_version == version;
  leg.remote_session = id;
  leg.remote_version = version;
  leg.remote_seen = true;
  return same;
}

namespace {

void appendUint(std::string& out, std::uint64_t v) {
  std::array<char, 24> buf{};
  const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  out.append(buf.data(), static_cast<std::size_t>(r.ptr - buf.data()));
}

// The common shape (one o=, one s=, a t=) is written in one pass, substituting
// o= and s= as the lines go by: no edit of the parsed text, no validation of
// our own values, no second serialization. Anything else takes the edit path.
bool plainShape(const sdp::SessionDescription& sdp) {
  int o = 0;
  int s = 0;
  bool t = false;
  for (const sdp::LineView l : sdp.lines()) {
    o += l.type == 'o' ? 1 : 0;
    s += l.type == 's' ? 1 : 0;
    t = t || l.type == 't';
  }
  return o == 1 && s == 1 && t;
}

void writeLines(std::string& out, const sdp::Section& section, const LegSdp& leg,
                std::uint64_t version, std::string_view our_address, bool v6) {
  for (const sdp::LineView l : section.lines()) {
    if (l.type == 'o') {
      out.append("o=- ");
      appendUint(out, leg.session_id);
      out.push_back(' ');
      appendUint(out, version);
      out.append(v6 ? " IN IP6 " : " IN IP4 ");
      out.append(our_address);
    } else if (l.type == 's') {
      out.append("s=-");
    } else {
      out.push_back(l.type);
      out.push_back('=');
      out.append(l.value);
    }
    out.append("\r\n");
  }
}

}  // namespace

const std::string& SdpRewriter::rewrite(sdp::SessionDescription sdp, LegSdp& leg,
                                        std::string_view our_address) {
  if (leg.session_id == 0) {
    // Below 2^62 so that the version can grow for any call's lifetime and
    // both stay within what every NTP-style parser accepts.
    leg.session_id = (randomU64() >> 2) | 1;
    leg.version = leg.session_id;
  }
  const bool v6 = our_address.find(':') != std::string_view::npos;
  if (plainShape(sdp)) {
    std::string body;
    auto write = [&](std::uint64_t version) {
      body.clear();
      body.reserve(sdp.serializedSize() + our_address.size() + 48);
      writeLines(body, sdp, leg, version, our_address, v6);
      for (const sdp::MediaDescription& m : sdp.media()) {
        writeLines(body, m, leg, version, our_address, v6);
      }
    };
    write(leg.version);
    if (!leg.last_sent.empty() && body != leg.last_sent) {
      ++leg.version;
      write(leg.version);
    }
    leg.last_sent = std::move(body);
    return leg.last_sent;
  }
  return rewriteByEdits(std::move(sdp), leg, our_address);
}

const std::string& SdpRewriter::rewriteByEdits(sdp::SessionDescription sdp, LegSdp& leg,
                                               std::string_view our_address) {
  if (leg.session_id == 0) {
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

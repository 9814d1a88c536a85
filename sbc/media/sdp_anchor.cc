#include "sbc/media/sdp_anchor.h"

#include <arpa/inet.h>

#include <array>
#include <charconv>
#include <vector>

#include "common/relayctl/base64.h"

namespace sbc::media {

std::string_view toString(AnchorError e) {
  switch (e) {
    case AnchorError::kNoStream:
      return "no RTP stream to anchor";
    case AnchorError::kNotAcceptable:
      return "media not acceptable";
    case AnchorError::kBadAnswer:
      return "answer does not fit the offer";
    case AnchorError::kRewrite:
      return "SDP rewrite failed";
  }
  return "?";
}

namespace {

bool isIpLiteral(std::string_view s) {
  if (s.empty() || s.size() >= 64) return false;
  std::array<char, 64> buf{};
  s.copy(buf.data(), s.size());
  std::array<unsigned char, 16> out{};
  return inet_pton(AF_INET, buf.data(), out.data()) == 1 ||
         inet_pton(AF_INET6, buf.data(), out.data()) == 1;
}

std::optional<std::uint8_t> parsePt(std::string_view s) {
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v > 127) return std::nullopt;
  return static_cast<std::uint8_t>(v);
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lc = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    if (lc(a[i]) != lc(b[i])) return false;
  }
  return true;
}

// RFC 2543 hold and unsignalled addresses: nowhere to send to yet.
bool usableAddress(std::string_view a) {
  return isIpLiteral(a) && !sdp::isUnspecifiedAddress(a);
}

relayctl::Direction toRelay(sdp::Direction d) {
  switch (d) {
    case sdp::Direction::kSendRecv:
      return relayctl::Direction::kSendRecv;
    case sdp::Direction::kSendOnly:
      return relayctl::Direction::kSendOnly;
    case sdp::Direction::kRecvOnly:
      return relayctl::Direction::kRecvOnly;
    case sdp::Direction::kInactive:
      return relayctl::Direction::kInactive;
  }
  return relayctl::Direction::kSendRecv;
}

bool feedbackProfile(std::string_view proto) {
  return !proto.empty() && (proto.back() == 'F' || proto.back() == 'f');
}

// A crypto line the relay can run: a suite it knows, one inline key of
// exactly the suite's length, no MKI, no session parameters.
std::optional<relayctl::Crypto> usableCrypto(const sdp::Crypto& c) {
  const auto len = relayctl::suiteMasterLength(c.suite);
  if (!len || c.keys.size() != 1 || !c.sessionParams.empty()) return std::nullopt;
  const sdp::CryptoKey& k = c.keys.front();
  if (!iequals(k.method, "inline") || !k.mki.empty()) return std::nullopt;
  if (relayctl::base64DecodedLength(k.keySalt) != len) return std::nullopt;
  return relayctl::Crypto{std::string(c.suite), std::string(k.keySalt), false};
}

// Fills endpoints, payload types, direction of the stream at `index`.
void describe(const sdp::SessionDescription& sdp, std::size_t index, PeerStream& out) {
  const sdp::MediaDescription& m = sdp.media()[index];
  out.index = index;
  out.feedback = feedbackProfile(m.proto());
  relayctl::LegSpec& spec = out.spec;
  const auto conn = sdp.effectiveConnection(m);
  const std::string_view addr = conn ? conn->address : std::string_view{};
  const bool mux = m.rtcpMux();
  spec.rtcpMux = mux;
  if (usableAddress(addr) && m.port() != 0) {
    spec.rtp = relayctl::Endpoint{std::string(addr), m.port()};
    if (!mux) {
      std::uint16_t rtcp_port = m.port() < 65535 ? static_cast<std::uint16_t>(m.port() + 1) : 0;
      std::string_view rtcp_addr = addr;
      if (auto r = m.rtcp()) {
        rtcp_port = r->port;
        if (!r->address.empty()) rtcp_addr = r->address;
      }
      if (rtcp_port != 0 && usableAddress(rtcp_addr)) {
        spec.rtcp = relayctl::Endpoint{std::string(rtcp_addr), rtcp_port};
      }
    }
  }
  const auto maps = m.rtpmaps();
  for (std::string_view f : m.formats()) {
    if (spec.payloadTypes.size() >= relayctl::kMaxPayloadTypes) break;
    const auto pt = parsePt(f);
    if (!pt) continue;
    std::optional<relayctl::PayloadType> entry;
    for (const sdp::RtpMap& r : maps) {
      if (r.payloadType != *pt) continue;
      if (r.encoding.empty() || r.encoding.size() > relayctl::kMaxEncodingLength ||
          r.clockRate == 0 || r.clockRate > 1000000) {
        break;
      }
      entry = relayctl::PayloadType{*pt, std::string(r.encoding), r.clockRate};
      break;
    }
    if (!entry) entry = staticPayloadType(*pt);
    if (!entry) continue;
    if (!spec.telephoneEventPt && iequals(entry->encoding, "telephone-event")) {
      spec.telephoneEventPt = entry->pt;
    }
    spec.payloadTypes.push_back(std::move(*entry));
  }
  // Hold by c=0.0.0.0 means "do not send to me".
  sdp::Direction d = sdp.effectiveDirection(m);
  if (conn && sdp::isUnspecifiedAddress(conn->address)) {
    d = d == sdp::Direction::kRecvOnly || d == sdp::Direction::kInactive
            ? sdp::Direction::kInactive
            : sdp::Direction::kSendOnly;
  }
  // As the peer declared it (the relay forwards to a peer that receives and
  // expects packets from one that sends; docs/RELAY_PROTOCOL.md).
  spec.direction = toRelay(d);
}

// Whether the relay can carry m= line `m` at all: enabled, RTP, not DTLS.
bool carriable(const sdp::MediaDescription& m) {
  if (m.isDisabled() || !m.isRtp()) return false;
  // DTLS-SRTP (UDP/TLS/RTP/...) is not something the relay terminates.
  return !(m.proto().size() >= 4 && iequals(m.proto().substr(0, 4), "UDP/"));
}

}  // namespace

std::optional<relayctl::PayloadType> staticPayloadType(std::uint8_t pt) {
  struct Entry {
    std::uint8_t pt;
    std::string_view name;
    std::uint32_t rate;
  };
  static constexpr std::array<Entry, 24> kTable{{
      {0, "PCMU", 8000},   {3, "GSM", 8000},    {4, "G723", 8000},   {5, "DVI4", 8000},
      {6, "DVI4", 16000},  {7, "LPC", 8000},    {8, "PCMA", 8000},   {9, "G722", 8000},
      {10, "L16", 44100},  {11, "L16", 44100},  {12, "QCELP", 8000}, {13, "CN", 8000},
      {14, "MPA", 90000},  {15, "G728", 8000},  {16, "DVI4", 11025}, {17, "DVI4", 22050},
      {18, "G729", 8000},  {25, "CelB", 90000}, {26, "JPEG", 90000}, {28, "nv", 90000},
      {31, "H261", 90000}, {32, "MPV", 90000},  {33, "MP2T", 90000}, {34, "H263", 90000},
  }};
  for (const Entry& e : kTable) {
    if (e.pt == pt) return relayctl::PayloadType{pt, std::string(e.name), e.rate};
  }
  return std::nullopt;
}

std::optional<std::size_t> pickStream(const sdp::SessionDescription& sdp) {
  std::optional<std::size_t> any;
  const auto media = sdp.media();
  for (std::size_t i = 0; i < media.size(); ++i) {
    const sdp::MediaDescription& m = media[i];
    if (!carriable(m)) continue;
    if (iequals(m.mediaType(), "audio")) return i;
    if (!any) any = i;
  }
  return any;
}

namespace {

// One carriable stream of an offer, checked against the offering leg's policy.
Result<PeerStream> readOfferStream(const sdp::SessionDescription& offer, std::size_t index,
                                   cfg::MediaPolicy policy) {
  PeerStream out;
  describe(offer, index, out);
  const sdp::MediaDescription& m = offer.media()[index];
  const bool savp = m.isSrtp();
  if (policy == cfg::MediaPolicy::Rtp) {
    // Plain RTP only: an offer that insists on SRTP cannot be answered.
    if (savp) return AnchorError::kNotAcceptable;
    return out;
  }
  // srtp-optional takes SDES when the peer uses the SAVP profile (RFC 4568
  // keys on an AVP line are "best effort" SRTP, which we do not do);
  // srtp-mandatory requires it.
  if (savp) {
    for (const sdp::Crypto& c : m.cryptos()) {
      if (auto usable = usableCrypto(c)) {
        out.spec.crypto = std::move(*usable);
        out.cryptoTag = c.tag;
        out.srtp = true;
        break;
      }
    }
    if (!out.srtp) return AnchorError::kNotAcceptable;
  } else if (policy == cfg::MediaPolicy::SrtpMandatory) {
    return AnchorError::kNotAcceptable;
  }
  return out;
}

}  // namespace

Result<PeerStream> readOffer(const sdp::SessionDescription& offer, cfg::MediaPolicy policy) {
  const auto index = pickStream(offer);
  if (!index) {
    // An offer whose only RTP stream is DTLS-SRTP is refused rather than
    // answered with a profile the peer did not ask for.
    return offer.mediaCount() == 0 ? AnchorError::kNoStream : AnchorError::kNotAcceptable;
  }
  return readOfferStream(offer, *index, policy);
}

Result<OfferStreams> readOfferStreams(const sdp::SessionDescription& offer,
                                      cfg::MediaPolicy policy) {
  auto primary = readOffer(offer, policy);
  if (!primary) return primary.error();
  OfferStreams out;
  out.primary = primary.value().index;
  out.streams.resize(offer.mediaCount());
  out.streams[out.primary] = std::move(primary).value();
  std::size_t carried = 1;
  const auto media = offer.media();
  for (std::size_t i = 0; i < media.size() && carried < kMaxStreams; ++i) {
    if (i == out.primary || !carriable(media[i])) continue;
    // A secondary stream the policy refuses is declined (port 0) rather
    // than failing the whole call: the primary one still carries the call.
    if (auto p = readOfferStream(offer, i, policy)) {
      out.streams[i] = std::move(p).value();
      ++carried;
    }
  }
  return out;
}

Result<PeerStream> readAnswer(const sdp::SessionDescription& answer, std::size_t index,
                              bool we_offered_srtp) {
  if (index >= answer.mediaCount()) return AnchorError::kBadAnswer;
  PeerStream out;
  const sdp::MediaDescription& m = answer.media()[index];
  if (m.isDisabled()) {
    out.index = index;
    out.rejected = true;
    return out;
  }
  describe(answer, index, out);
  if (!we_offered_srtp) return out;
  for (const sdp::Crypto& c : m.cryptos()) {
    if (c.tag != kOurCryptoTag) continue;
    auto usable = usableCrypto(c);
    if (!usable) break;
    out.spec.crypto = std::move(*usable);
    out.cryptoTag = c.tag;
    out.srtp = true;
    return out;
  }
  return AnchorError::kBadAnswer;
}

bool offerSrtp(cfg::MediaPolicy policy, bool offering_leg_srtp) {
  switch (policy) {
    case cfg::MediaPolicy::Rtp:
      return false;
    case cfg::MediaPolicy::SrtpOptional:
      return offering_leg_srtp;
    case cfg::MediaPolicy::SrtpMandatory:
      return true;
  }
  return false;
}

bool rewriteForLeg(sdp::SessionDescription& sdp, std::size_t index, const LocalStream& local) {
  if (index >= sdp.mediaCount()) return false;
  std::vector<std::optional<LocalStream>> streams(index + 1);
  streams[index] = local;
  return rewriteStreams(sdp, streams);
}

bool rewriteStreams(sdp::SessionDescription& sdp,
                    const std::vector<std::optional<LocalStream>>& streams) {
  const std::optional<LocalStream>* first = nullptr;
  for (const auto& l : streams) {
    if (l && !l->address.empty()) {
      first = &l;
      break;
    }
  }
  if (first == nullptr) return false;
  const LocalStream& any = **first;
  // Every stream of one leg is on the same relay address (one relay per
  // call, one address per realm).
  if (!sdp.setConnectionAddressEverywhere(any.address)) return false;
  // The engine writes its own o= afterwards; this keeps the function safe to
  // use on its own (refused only for a leniently parsed non-numeric o=).
  sdp.setOriginAddress(any.address);
  sdp.removeIce();
  sdp.removeDtls();
  bool disabled_any = false;
  auto media = sdp.media();
  for (std::size_t i = 0; i < media.size(); ++i) {
    sdp::MediaDescription& m = media[i];
    m.removeIce();
    m.removeDtls();
    m.removeCryptos();
    // RFC 5576 source attributes: the cname is often user@private-address
    // (baresip, browsers), and the SSRCs are the peer's business.
    m.removeAttributes("ssrc");
    m.removeAttributes("ssrc-group");
    if (i >= streams.size() || !streams[i]) {
      // Streams the relay does not carry: no address of the peer may leak.
      if (!m.isDisabled()) disabled_any = true;
      if (!m.setPort(0)) return false;
      m.clearRtcp();
      continue;
    }
    const LocalStream& local = *streams[i];
    if (local.rejected) {
      if (!m.setPort(0)) return false;
      m.clearRtcp();
      m.setRtcpMux(false);
      continue;
    }
    if (!m.setPort(local.rtpPort)) return false;
    if (m.isRtp()) {
      std::string_view proto = local.crypto ? (local.feedback ? "RTP/SAVPF" : "RTP/SAVP")
                                            : (local.feedback ? "RTP/AVPF" : "RTP/AVP");
      if (!m.setProto(proto)) return false;
    }
    m.setRtcpMux(local.rtcpMux);
    sdp::Rtcp rtcp;
    rtcp.port = local.rtcpMux ? local.rtpPort : local.rtcpPort;
    rtcp.netType = "IN";
    rtcp.addrType = sdp::addrTypeOf(local.address);
    rtcp.address = local.address;
    if (rtcp.port != 0) {
      if (!m.setRtcp(rtcp)) return false;
    } else {
      m.clearRtcp();
    }
    if (local.crypto) {
      sdp::Crypto c;
      c.tag = local.cryptoTag;
      c.suite = local.crypto->suite;
      sdp::CryptoKey k;
      k.keySalt = local.crypto->key;
      c.keys.push_back(k);
      if (!m.addCrypto(c)) return false;
    }
  }
  // A BUNDLE group naming streams we disabled would be refused by the peer.
  if (disabled_any) sdp.removeAttributes("group");
  return true;
}

}  // namespace sbc::media

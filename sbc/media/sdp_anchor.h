#pragma once
// SDP anchoring as pure functions: what the relay must know about a peer's
// stream (readOffer/readAnswer -> relayctl::LegSpec), and the SDP the other
// leg gets, carrying only the relay's address and ports (rewriteForLeg).
//
// Every enabled RTP m= line is anchored on a relay session of its own
// (readOfferStreams); the primary stream (pickStream: the first enabled audio
// RTP m= line, else the first enabled RTP one) decides whether the offer is
// acceptable at all. Other m= lines (T.38/UDPTL, DTLS-SRTP, rejected ones, or
// secondary streams the policy refuses) go out with port 0 (RFC 3264 8.2).
//
// Crypto, per the trunk media policy of the leg the SDP comes from / goes to:
//   rtp            RTP/AVP, no a=crypto (an SAVP offer from such a leg: 488)
//   srtp-optional  whatever the peer offered (SAVP with crypto, else AVP)
//   srtp-mandatory RTP/SAVP with one a=crypto (no usable crypto offered: 488)
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/relayctl/protocol.h"
#include "sbc/config/snapshot.h"
#include "sbc/sdp/sdp.h"

namespace sbc::media {

enum class AnchorError : std::uint8_t {
  kNoStream,       // no enabled RTP m= line to anchor
  kNotAcceptable,  // policy and offer do not meet (SIP 488)
  kBadAnswer,      // an answer that does not fit our offer
  kRewrite,        // the SDP could not be rewritten (a mutator refused)
};
std::string_view toString(AnchorError e);

template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(AnchorError error) : v_(error) {}   // NOLINT(google-explicit-constructor)
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  AnchorError error() const { return std::get<1>(v_); }

 private:
  std::variant<T, AnchorError> v_;
};

// Our a=crypto tag in offers we make (one line only).
inline constexpr std::uint32_t kOurCryptoTag = 1;
// The suite the relay generates a key for when we offer SRTP ourselves.
inline constexpr std::string_view kDefaultSuite = "AES_CM_128_HMAC_SHA1_80";

// What a peer's SDP says about the anchored stream.
struct PeerStream {
  std::size_t index = 0;  // the anchored m= line
  // The relay's view of the leg: remote endpoints, rtcp-mux, payload types,
  // telephone-event, direction (as the peer declared it; c=0.0.0.0 hold
  // counts as "does not receive"), crypto = the key the peer sends with.
  // realm and media timeout are left for the caller.
  relayctl::LegSpec spec;
  std::optional<std::uint32_t> cryptoTag;  // the peer's tag of the accepted a=crypto
  bool srtp = false;                       // this leg runs SRTP
  bool feedback = false;                   // AVPF/SAVPF profile
  bool rejected = false;                   // answer with port 0 on the stream
};

// Picks the stream to anchor; nullopt when there is none.
std::optional<std::size_t> pickStream(const sdp::SessionDescription& sdp);

// An offer received from a leg whose trunk has `policy`.
Result<PeerStream> readOffer(const sdp::SessionDescription& offer, cfg::MediaPolicy policy);

// At most this many m= lines are anchored per call; further ones go out
// disabled (each anchored line costs a relay session and a port pair per leg).
inline constexpr std::size_t kMaxStreams = 4;

// Every m= line of an offer: streams[i] is set for the lines the relay will
// carry, nullopt for those that go out disabled.
struct OfferStreams {
  std::size_t primary = 0;
  std::vector<std::optional<PeerStream>> streams;
};
// Fails as readOffer does when the primary stream is not acceptable; a
// secondary stream the policy refuses is left out (nullopt), not an error.
Result<OfferStreams> readOfferStreams(const sdp::SessionDescription& offer,
                                      cfg::MediaPolicy policy);

// The answer received to an offer we sent on a leg. `index`: the stream we
// anchored; `we_offered_srtp`: our offer carried a=crypto tag kOurCryptoTag,
// which the answer must accept.
Result<PeerStream> readAnswer(const sdp::SessionDescription& answer, std::size_t index,
                              bool we_offered_srtp);

// Whether the offer we send on a leg with `policy` carries SRTP, given
// whether the offering leg runs SRTP.
bool offerSrtp(cfg::MediaPolicy policy, bool offering_leg_srtp);

// The relay's side of the leg an SDP is sent on.
struct LocalStream {
  std::string_view address;  // relay address on that leg (IP literal)
  std::uint16_t rtpPort = 0;
  std::uint16_t rtcpPort = 0;
  bool rtcpMux = false;
  std::optional<relayctl::Crypto> crypto;  // the relay's sending key: SAVP + a=crypto
  std::uint32_t cryptoTag = kOurCryptoTag;
  bool feedback = false;  // AVPF/SAVPF
  bool rejected = false;  // port 0
};

// Rewrites an SDP received from one leg into what the other leg gets: c= at
// both levels, the anchored m= port and proto, a=rtcp/rtcp-mux, a=crypto as
// `local` says; ICE and DTLS attributes removed everywhere; every other m=
// line disabled. Codecs, fmtp, ptime, direction and unknown lines pass;
// a=ssrc/a=ssrc-group go (their cname often names a private address).
bool rewriteForLeg(sdp::SessionDescription& sdp, std::size_t index, const LocalStream& local);
// The same for several anchored streams: streams[i] describes m= line i;
// lines without an entry (nullopt or past the end) go out disabled. All
// entries share one relay address; false when there is none.
bool rewriteStreams(sdp::SessionDescription& sdp,
                    const std::vector<std::optional<LocalStream>>& streams);

// Payload type -> encoding/clock rate of the static RTP/AVP table (RFC 3551);
// nullopt for dynamic or unassigned numbers.
std::optional<relayctl::PayloadType> staticPayloadType(std::uint8_t pt);

}  // namespace sbc::media

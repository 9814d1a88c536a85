// Typed values of the SDP lines and attributes a media-anchoring SBC reads and
// rewrites. Every string_view points into the text it was parsed from (usually a
// SessionDescription), so it lives until that text is mutated or destroyed.
//
// parseX() take the value after "x=" (lines) or after "name:" (attributes), return
// nullopt on anything outside the grammar, and never throw.
// formatX() produce the value text for the corresponding parseX().
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sbc::sdp {

// ---- Lines ----------------------------------------------------------------

// o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>
// Ids are kept as text: devices send ids wider than 64 bits, and a B2BUA that
// only bumps the version must not reformat the rest.
struct Origin {
  std::string_view username{};
  std::string_view sessionId{};
  std::string_view sessionVersion{};
  std::string_view netType{};
  std::string_view addrType{};
  std::string_view address{};

  std::optional<std::uint64_t> sessionIdNumber() const;
  std::optional<std::uint64_t> sessionVersionNumber() const;
};
std::optional<Origin> parseOrigin(std::string_view value);
std::string formatOrigin(const Origin& origin);

// c=<nettype> <addrtype> <connection-address>. For IP4 "addr/ttl[/count]", for
// IP6 "addr[/count]"; other address types keep the whole text in address.
struct Connection {
  std::string_view netType = "IN";
  std::string_view addrType = "IP4";
  std::string_view address{};
  std::optional<std::uint32_t> ttl{};
  std::optional<std::uint32_t> addressCount{};
};
std::optional<Connection> parseConnection(std::string_view value);
std::string formatConnection(const Connection& connection);
// "IP6" when address contains ':', else "IP4".
std::string_view addrTypeOf(std::string_view address);
// 0.0.0.0 (RFC 2543 hold) or the IPv6 unspecified address.
bool isUnspecifiedAddress(std::string_view address);

// b=<bwtype>:<bandwidth>
struct Bandwidth {
  std::string_view type{};
  std::uint64_t value = 0;
};
std::optional<Bandwidth> parseBandwidth(std::string_view value);

// t=<start-time> <stop-time>
struct Timing {
  std::uint64_t start = 0;
  std::uint64_t stop = 0;
};
std::optional<Timing> parseTiming(std::string_view value);

// m=<media> <port>[/<number of ports>] <proto> <fmt> ...
struct MediaLine {
  std::string_view media{};
  std::uint16_t port = 0;
  std::optional<std::uint32_t> portCount{};
  std::string_view proto{};
  std::string_view formats{};  // the raw, SP-separated format list (may be empty)
};
// strict: RFC 8866 wants at least one fmt, and RTP protos want payload
// type numbers 0-127; lenient parsing relaxes both.
std::optional<MediaLine> parseMediaLine(std::string_view value, bool strict = true);

// ---- Attributes -----------------------------------------------------------

enum class Direction : std::uint8_t { kSendRecv, kSendOnly, kRecvOnly, kInactive };
std::string_view toString(Direction direction);
std::optional<Direction> directionFromName(std::string_view attributeName);
// The direction the answerer uses for an offered direction (RFC 3264 6.1).
Direction reversed(Direction direction);

// a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>]
struct RtpMap {
  std::uint8_t payloadType = 0;
  std::string_view encoding{};
  std::uint32_t clockRate = 0;
  std::optional<std::uint32_t> channels{};
};
std::optional<RtpMap> parseRtpMap(std::string_view value);

// a=fmtp:<format> <format specific parameters>
struct Fmtp {
  std::string_view format{};
  std::string_view params{};
};
std::optional<Fmtp> parseFmtp(std::string_view value);

// a=ptime / a=maxptime, milliseconds. A fraction ("20.5") is accepted and truncated.
std::optional<std::uint32_t> parsePtime(std::string_view value);

// a=crypto (RFC 4568): <tag> <crypto-suite> <key-params> [<session-params>]
// key-params: "inline:<key||salt base64>[|<lifetime>][|<MKI>:<MKI length>]", ';'-joined.
struct CryptoKey {
  std::string_view method = "inline";
  std::string_view keySalt{};    // for a method other than inline: the whole key-info
  std::string_view lifetime{};   // "2^31" or "1048576", empty when absent
  std::string_view mki{};        // empty when absent
  std::string_view mkiLength{};  // empty when absent
};
struct Crypto {
  std::uint32_t tag = 0;
  std::string_view suite{};
  std::vector<CryptoKey> keys{};
  std::string_view sessionParams{};  // raw, e.g. "KDR=1 UNENCRYPTED_SRTCP"; may be empty
};
std::optional<Crypto> parseCrypto(std::string_view value);
bool isValidCrypto(std::string_view value);  // parseCrypto without allocating
std::string formatCrypto(const Crypto& crypto);

// a=rtcp (RFC 3605): <port> [<nettype> <addrtype> <connection-address>]
struct Rtcp {
  std::uint16_t port = 0;
  std::string_view netType{};  // the three are empty when the address is absent
  std::string_view addrType{};
  std::string_view address{};
};
std::optional<Rtcp> parseRtcp(std::string_view value);
std::string formatRtcp(const Rtcp& rtcp);

// a=candidate (RFC 8839)
struct Candidate {
  std::string_view foundation{};
  std::uint32_t component = 0;
  std::string_view transport{};
  std::uint64_t priority = 0;
  std::string_view address{};
  std::uint16_t port = 0;
  std::string_view type{};  // host, srflx, prflx, relay
  std::string_view relAddr{};
  std::optional<std::uint16_t> relPort{};
  std::string_view extensions{};  // raw "name value ..." pairs after rport, may be empty
};
std::optional<Candidate> parseCandidate(std::string_view value);

// a=ice-ufrag / a=ice-pwd value: 1*256 ice-char.
bool isValidIceCredential(std::string_view value);

// a=fingerprint (RFC 8122): <hash-func> <hex pairs separated by ':'>
struct Fingerprint {
  std::string_view hashFunction{};
  std::string_view value{};
};
std::optional<Fingerprint> parseFingerprint(std::string_view value);

// a=setup (RFC 4145)
enum class Setup : std::uint8_t { kActive, kPassive, kActPass, kHoldConn };
std::optional<Setup> parseSetup(std::string_view value);
std::string_view toString(Setup setup);

// a=ssrc (RFC 5576): <ssrc-id> <attribute>[:<value>]
struct Ssrc {
  std::uint32_t id = 0;
  std::string_view attribute{};
  std::string_view value{};  // empty when absent
};
std::optional<Ssrc> parseSsrc(std::string_view value);

}  // namespace sbc::sdp

#pragma once
// The client side of HTTP digest authentication for SIP (RFC 3261 22,
// RFC 2617, RFC 7616 SHA-256): answers a carrier's 401/407 challenge with an
// Authorization / Proxy-Authorization value. Pure functions; the engine keeps
// the nonce count per leg.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "sbc/config/snapshot.h"
#include "sbc/sip/headers.h"

namespace sbc::b2bua {

enum class DigestAlgorithm : std::uint8_t { Md5, Md5Sess, Sha256, Sha256Sess };

struct DigestChallenge {
  std::string realm;
  std::string nonce;
  std::string opaque;
  bool has_opaque = false;
  DigestAlgorithm algorithm = DigestAlgorithm::Md5;
  bool qop_auth = false;      // "auth" offered
  bool qop_auth_int = false;  // "auth-int" offered
  bool stale = false;
};

// One WWW-Authenticate / Proxy-Authenticate value. nullopt: not Digest, no
// nonce, or an algorithm we do not implement (SHA-512-256...).
std::optional<DigestChallenge> parseChallenge(const sip::AuthHeader& header);
// The strongest challenge we can answer among several (SHA-256 over MD5).
std::optional<DigestChallenge> pickChallenge(std::span<const sip::AuthHeader> headers);

struct DigestInput {
  std::string_view method;  // "INVITE", "BYE" ... (the CSeq method)
  std::string_view uri;     // the Request-URI as sent
  std::string_view body;    // for qop=auth-int
  std::uint32_t nc = 1;     // nonce count, 1 for the first use of a nonce
  std::string_view cnonce;  // client nonce (random hex)
};

// The credentials value: `Digest username="..", realm="..", nonce="..",
// uri="..", response="..", algorithm=.., [cnonce="..", qop=auth, nc=..],
// [opaque=".."]`.
std::string digestAuthorization(const DigestChallenge& challenge,
                                const cfg::Credentials& credentials, const DigestInput& input);

// Lower-case hex of MD5 / SHA-256 (exposed for tests).
std::string md5Hex(std::string_view data);
std::string sha256Hex(std::string_view data);

}  // namespace sbc::b2bua

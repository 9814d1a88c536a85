#pragma once
// The server side of digest authentication (RFC 3261 22, RFC 7616): the
// challenges the SBC sends to PBXs and the verification of their answers.
// The hash functions and the client side are in digest_client.h.
//
// Nonces are stateless: hex(timestamp) + hex(HMAC-SHA256(process key,
// timestamp | realm)) truncated to 128 bits. Any SIP thread verifies a nonce
// another issued (the key is per process), nothing is stored per challenge,
// and a restart simply makes old nonces fail (the client gets a fresh
// challenge, not a 403). Nonce-count replay tracking is not done: a replayed
// Authorization is only good for the nonce lifetime, and the transaction
// layer absorbs exact retransmissions anyway.
#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "sbc/b2bua/digest_client.h"
#include "sbc/config/snapshot.h"
#include "sbc/sip/message.h"
#include "sbc/txn/timer_service.h"

namespace sbc::b2bua {

// Constant-time equality of two byte strings (the length is not secret).
bool constantTimeEquals(std::string_view a, std::string_view b);

struct DigestServerOptions {
  std::chrono::seconds nonce_lifetime{300};
};

class DigestServer {
 public:
  using Key = std::array<std::uint8_t, 32>;
  // The key defaults to one random key per process, so that every SIP
  // thread's DigestServer accepts the others' nonces.
  explicit DigestServer(DigestServerOptions options = {});
  DigestServer(DigestServerOptions options, const Key& key);

  enum class Check : std::uint8_t {
    Ok,
    Missing,   // no credentials for this realm: challenge
    BadNonce,  // not a nonce of ours (restart, other node): challenge
    Stale,     // right password, expired nonce: challenge with stale=true
    Failed,    // wrong user, password, uri or qop: 403
  };

  // Appends the challenges to a 401 (WWW-Authenticate) or 407
  // (Proxy-Authenticate): SHA-256 first, then MD5, both qop="auth".
  void challenge(sip::Message& response, std::string_view realm, bool stale,
                 txn::TimePoint now) const;
  // Verifies the Authorization (proxy=false) or Proxy-Authorization header
  // for `realm` against `credentials`.
  Check verify(const sip::Message& request, bool proxy, std::string_view realm,
               const cfg::Credentials& credentials, txn::TimePoint now) const;

  std::string makeNonce(std::string_view realm, txn::TimePoint now) const;
  // Age check and HMAC check of a nonce: Ok, Stale or BadNonce.
  Check checkNonce(std::string_view nonce, std::string_view realm, txn::TimePoint now) const;

 private:
  std::string mac(std::uint64_t stamp, std::string_view realm) const;

  DigestServerOptions options_;
  Key key_{};
};

std::string_view toString(DigestServer::Check c);

}  // namespace sbc::b2bua

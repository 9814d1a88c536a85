// AES-CM, AES-GCM and HMAC-SHA1 for libsrtp2 from OpenSSL's EVP, installed through
// libsrtp's own extension points (srtp_replace_cipher_type,
// srtp_replace_auth_type). libsrtp keeps everything SRTP (key derivation,
// streams, ROC, replay, packet layout); only the two primitives change.
//
// Why: Debian's libsrtp2 is built against NSS, whose AES-CTR is re-created
// per packet (PK11_CreateContextBySymKey opens a softoken session; its GCM
// does the same through PK11_Encrypt/PK11_Decrypt) and whose
// session table is a short hash of long chains under a lock: each packet
// walks a chain as long as the number of HMAC contexts open in the process,
// so the cost per packet grows with the number of SRTP calls, and the two
// packet threads serialise on NSS's locks (docs/PERFORMANCE.md, "SRTP").
#pragma once

#include <string_view>

namespace relay::srtp {

// Replaces libsrtp's AES_ICM_128/192/256, AES_GCM_128/256 and HMAC_SHA1 types. Call after
// srtp_init() and before any srtp_create() (initLibrary() does). libsrtp
// runs its known-answer self test on each replacement (and the old type's
// vectors on it) and refuses it if they fail; false then, with libsrtp's
// built-in types left in place.
bool installOpenSslCrypto();

// "openssl" once installOpenSslCrypto() succeeded, else "libsrtp" (the
// library's built-in backend).
std::string_view cryptoBackend();

}  // namespace relay::srtp

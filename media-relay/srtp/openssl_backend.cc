// HMAC-SHA1 below uses the SHA-1 block API (SHA1_Init/Update/Final), which
// OpenSSL 3 marks deprecated but still ships: keyed inner/outer states copied
// per packet by value, where EVP_MAC re-init frees and allocates a digest
// context per packet. Must precede every OpenSSL header.
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "media-relay/srtp/openssl_backend.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <srtp2/auth.h>
#include <srtp2/cipher.h>
#include <srtp2/srtp.h>

#include <array>
#include <atomic>
#include <climits>
#include <cstdint>
#include <cstring>
#include <new>

namespace relay::srtp {
namespace {

// libsrtp hands AES-ICM the master/session key followed by a 112-bit salt.
constexpr int kSaltLength = 14;
constexpr int kSha1Length = 20;

std::atomic<bool> gInstalled{false};

// A cipher object (IcmCipher, GcmCipher: `base` first, then `state`) with its
// own EVP context, filled in as libsrtp expects; nullptr when out of memory.
template <typename Cipher, typename Variant>
Cipher* newCipher(const Variant& v, const srtp_cipher_type_t& type, int keyLength) {
  auto* cipher = new (std::nothrow) Cipher;
  if (cipher == nullptr) return nullptr;
  cipher->state.ctx = EVP_CIPHER_CTX_new();
  if (cipher->state.ctx == nullptr) {
    delete cipher;
    return nullptr;
  }
  cipher->state.variant = &v;
  cipher->base.type = &type;
  cipher->base.state = &cipher->state;
  cipher->base.key_len = keyLength;
  cipher->base.algorithm = static_cast<int>(v.id);
  return cipher;
}

// ---- AES-CM (RFC 3711 4.1.1) ------------------------------------------------
// Counter block = (salt || 0x0000) XOR iv, where libsrtp builds iv from the
// SSRC and packet index (or the KDF label); OpenSSL's CTR then increments the
// whole block, which equals SRTP's 16-bit block counter for any packet
// shorter than 2^16 blocks (1 MiB).

struct IcmVariant {
  int keyLength;  // AES key bytes, salt excluded
  srtp_cipher_type_id_t id;
  const char* name;  // OpenSSL cipher name
};

struct IcmState {
  EVP_CIPHER_CTX* ctx = nullptr;
  const IcmVariant* variant = nullptr;
  std::array<std::uint8_t, 16> offset{};
};

struct IcmCipher {
  srtp_cipher_t base{};
  IcmState state;
};

// Fetched once at install: an explicit fetch keeps OpenSSL's provider lookup
// (a global lock) off the per-key path.
std::array<EVP_CIPHER*, 3> gCtr{};

constexpr std::array<IcmVariant, 3> kIcm{{
    {16, SRTP_AES_ICM_128, "AES-128-CTR"},
    {24, SRTP_AES_ICM_192, "AES-192-CTR"},
    {32, SRTP_AES_ICM_256, "AES-256-CTR"},
}};

extern const std::array<srtp_cipher_type_t, 3> kIcmTypes;

template <std::size_t I>
srtp_err_status_t icmAlloc(srtp_cipher_pointer_t* c, int keyLength, int /*tagLength*/) {
  const IcmVariant& v = kIcm[I];
  if (c == nullptr || keyLength != v.keyLength + kSaltLength) return srtp_err_status_bad_param;
  auto* cipher = newCipher<IcmCipher>(v, kIcmTypes[I], keyLength);
  if (cipher == nullptr) return srtp_err_status_alloc_fail;
  *c = &cipher->base;
  return srtp_err_status_ok;
}

srtp_err_status_t icmDealloc(srtp_cipher_pointer_t c) {
  if (c == nullptr) return srtp_err_status_bad_param;
  // base is the first member: the srtp_cipher_t libsrtp holds is our object.
  auto* cipher = reinterpret_cast<IcmCipher*>(c);
  EVP_CIPHER_CTX_free(cipher->state.ctx);
  cipher->state.offset.fill(0);
  delete cipher;
  return srtp_err_status_ok;
}

srtp_err_status_t icmInit(void* state, const std::uint8_t* key) {
  auto* s = static_cast<IcmState*>(state);
  const auto index = static_cast<std::size_t>(s->variant - kIcm.data());
  if (EVP_EncryptInit_ex(s->ctx, gCtr[index], nullptr, key, nullptr) != 1) {
    return srtp_err_status_init_fail;
  }
  s->offset.fill(0);
  std::memcpy(s->offset.data(), key + s->variant->keyLength, kSaltLength);
  return srtp_err_status_ok;
}

srtp_err_status_t icmSetIv(void* state, std::uint8_t* iv, srtp_cipher_direction_t /*direction*/) {
  auto* s = static_cast<IcmState*>(state);
  std::array<std::uint8_t, 16> counter{};
  for (std::size_t i = 0; i < counter.size(); ++i) {
    counter[i] = static_cast<std::uint8_t>(s->offset[i] ^ iv[i]);
  }
  return EVP_EncryptInit_ex(s->ctx, nullptr, nullptr, nullptr, counter.data()) == 1
             ? srtp_err_status_ok
             : srtp_err_status_cipher_fail;
}

// Encrypt and decrypt are the same XOR with the keystream.
srtp_err_status_t icmCrypt(void* state, std::uint8_t* buffer, unsigned int* length) {
  auto* s = static_cast<IcmState*>(state);
  if (*length > static_cast<unsigned int>(INT_MAX)) return srtp_err_status_bad_param;
  int out = 0;
  if (EVP_EncryptUpdate(s->ctx, buffer, &out, buffer, static_cast<int>(*length)) != 1 ||
      out != static_cast<int>(*length)) {
    return srtp_err_status_cipher_fail;
  }
  return srtp_err_status_ok;
}

// Known answers for libsrtp's self test at install. AES-128: RFC 3711
// appendix B.2; AES-192/256: RFC 6188 section 7.1. Keystream of the first
// two blocks with a zero IV (the plaintext is zero).
constexpr std::array<std::uint8_t, 32> kZero32{};

constexpr std::array<std::uint8_t, 30> kIcm128Key{
    0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f,
    0x3c, 0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd};
constexpr std::array<std::uint8_t, 32> kIcm128Stream{
    0xe0, 0x3e, 0xad, 0x09, 0x35, 0xc9, 0x5e, 0x80, 0xe1, 0x66, 0xb1, 0x6d, 0xd9, 0x2b, 0x4e, 0xb4,
    0xd2, 0x35, 0x13, 0x16, 0x2b, 0x02, 0xd0, 0xf7, 0x2a, 0x43, 0xa2, 0xfe, 0x4a, 0x5f, 0x97, 0xab};
constexpr std::array<std::uint8_t, 38> kIcm192Key{
    0xea, 0xb2, 0x34, 0x76, 0x4e, 0x51, 0x7b, 0x2d, 0x3d, 0x16, 0x0d, 0x58, 0x7d,
    0x8c, 0x86, 0x21, 0x97, 0x40, 0xf6, 0x5f, 0x99, 0xb6, 0xbc, 0xf7, 0xf0, 0xf1,
    0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd};
constexpr std::array<std::uint8_t, 32> kIcm192Stream{
    0x35, 0x09, 0x6c, 0xba, 0x46, 0x10, 0x02, 0x8d, 0xc1, 0xb5, 0x75, 0x03, 0x80, 0x4c, 0xe3, 0x7c,
    0x5d, 0xe9, 0x86, 0x29, 0x1d, 0xcc, 0xe1, 0x61, 0xd5, 0x16, 0x5e, 0xc4, 0x56, 0x8f, 0x5c, 0x9a};
constexpr std::array<std::uint8_t, 46> kIcm256Key{
    0x57, 0xf8, 0x2f, 0xe3, 0x61, 0x3f, 0xd1, 0x70, 0xa8, 0x5e, 0xc9, 0x3c, 0x40, 0xb1, 0xf0, 0x92,
    0x2e, 0xc4, 0xcb, 0x0d, 0xc0, 0x25, 0xb5, 0x82, 0x72, 0x14, 0x7c, 0xc4, 0x38, 0x94, 0x4a, 0x98,
    0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd};
constexpr std::array<std::uint8_t, 32> kIcm256Stream{
    0x92, 0xbd, 0xd2, 0x8a, 0x93, 0xc3, 0xf5, 0x25, 0x11, 0xc6, 0x77, 0xd0, 0x8b, 0x55, 0x15, 0xa4,
    0x9d, 0xa7, 0x1b, 0x23, 0x78, 0xa8, 0x54, 0xf6, 0x70, 0x50, 0x75, 0x6d, 0xed, 0x16, 0x5b, 0xac};
// libsrtp's test-case struct wants a mutable IV pointer; it only reads it.
std::array<std::uint8_t, 16> gZeroIv{};

const std::array<srtp_cipher_test_case_t, 3> kIcmTests{{
    {30, kIcm128Key.data(), gZeroIv.data(), 32, kZero32.data(), 32, kIcm128Stream.data(), 0,
     nullptr, 0, nullptr},
    {38, kIcm192Key.data(), gZeroIv.data(), 32, kZero32.data(), 32, kIcm192Stream.data(), 0,
     nullptr, 0, nullptr},
    {46, kIcm256Key.data(), gZeroIv.data(), 32, kZero32.data(), 32, kIcm256Stream.data(), 0,
     nullptr, 0, nullptr},
}};

const std::array<srtp_cipher_type_t, 3> kIcmTypes{{
    {icmAlloc<0>, icmDealloc, icmInit, nullptr, icmCrypt, icmCrypt, icmSetIv, nullptr,
     "AES-128 counter mode (OpenSSL EVP)", kIcmTests.data(), SRTP_AES_ICM_128},
    {icmAlloc<1>, icmDealloc, icmInit, nullptr, icmCrypt, icmCrypt, icmSetIv, nullptr,
     "AES-192 counter mode (OpenSSL EVP)", &kIcmTests[1], SRTP_AES_ICM_192},
    {icmAlloc<2>, icmDealloc, icmInit, nullptr, icmCrypt, icmCrypt, icmSetIv, nullptr,
     "AES-256 counter mode (OpenSSL EVP)", &kIcmTests[2], SRTP_AES_ICM_256},
}};

// ---- AES-GCM (RFC 7714) -----------------------------------------------------
// libsrtp computes the 96-bit IV itself (salt, SSRC, ROC, SEQ) and hands the
// cipher the session key first (the salt after it is not the cipher's).
// Per packet: set_iv (direction), set_aad (once or, for SRTCP, twice),
// encrypt + get_tag, or decrypt of payload || tag.

struct GcmVariant {
  int keyLength;
  srtp_cipher_type_id_t id;
  const char* name;
};

constexpr int kGcmSaltLength = 12;

constexpr std::array<GcmVariant, 2> kGcm{{
    {16, SRTP_AES_GCM_128, "AES-128-GCM"},
    {32, SRTP_AES_GCM_256, "AES-256-GCM"},
}};

std::array<EVP_CIPHER*, 2> gGcm{};

struct GcmState {
  EVP_CIPHER_CTX* ctx = nullptr;
  const GcmVariant* variant = nullptr;
  int tagLength = 16;
  bool encrypt = true;
};

struct GcmCipher {
  srtp_cipher_t base{};
  GcmState state;
};

extern const std::array<srtp_cipher_type_t, 2> kGcmTypes;

template <std::size_t I>
srtp_err_status_t gcmAlloc(srtp_cipher_pointer_t* c, int keyLength, int tagLength) {
  const GcmVariant& v = kGcm[I];
  if (c == nullptr || keyLength != v.keyLength + kGcmSaltLength ||
      (tagLength != 16 && tagLength != 8)) {
    return srtp_err_status_bad_param;
  }
  auto* cipher = newCipher<GcmCipher>(v, kGcmTypes[I], keyLength);
  if (cipher == nullptr) return srtp_err_status_alloc_fail;
  cipher->state.tagLength = tagLength;
  *c = &cipher->base;
  return srtp_err_status_ok;
}

srtp_err_status_t gcmDealloc(srtp_cipher_pointer_t c) {
  if (c == nullptr) return srtp_err_status_bad_param;
  auto* cipher = reinterpret_cast<GcmCipher*>(c);  // base is the first member
  EVP_CIPHER_CTX_free(cipher->state.ctx);
  delete cipher;
  return srtp_err_status_ok;
}

srtp_err_status_t gcmInit(void* state, const std::uint8_t* key) {
  auto* s = static_cast<GcmState*>(state);
  const auto index = static_cast<std::size_t>(s->variant - kGcm.data());
  return EVP_CipherInit_ex(s->ctx, gGcm[index], nullptr, key, nullptr, 1) == 1
             ? srtp_err_status_ok
             : srtp_err_status_init_fail;
}

srtp_err_status_t gcmSetIv(void* state, std::uint8_t* iv, srtp_cipher_direction_t direction) {
  auto* s = static_cast<GcmState*>(state);
  if (direction != srtp_direction_encrypt && direction != srtp_direction_decrypt) {
    return srtp_err_status_bad_param;
  }
  s->encrypt = direction == srtp_direction_encrypt;
  return EVP_CipherInit_ex(s->ctx, nullptr, nullptr, nullptr, iv, s->encrypt ? 1 : 0) == 1
             ? srtp_err_status_ok
             : srtp_err_status_cipher_fail;
}

srtp_err_status_t gcmSetAad(void* state, const std::uint8_t* aad, std::uint32_t length) {
  auto* s = static_cast<GcmState*>(state);
  if (length > static_cast<std::uint32_t>(INT_MAX)) return srtp_err_status_bad_param;
  int out = 0;
  return EVP_CipherUpdate(s->ctx, nullptr, &out, aad, static_cast<int>(length)) == 1
             ? srtp_err_status_ok
             : srtp_err_status_cipher_fail;
}

srtp_err_status_t gcmEncrypt(void* state, std::uint8_t* buffer, unsigned int* length) {
  auto* s = static_cast<GcmState*>(state);
  if (!s->encrypt) return srtp_err_status_bad_param;
  if (*length > static_cast<unsigned int>(INT_MAX)) return srtp_err_status_bad_param;
  if (*length == 0) return srtp_err_status_ok;
  int out = 0;
  if (EVP_CipherUpdate(s->ctx, buffer, &out, buffer, static_cast<int>(*length)) != 1 ||
      out != static_cast<int>(*length)) {
    return srtp_err_status_cipher_fail;
  }
  return srtp_err_status_ok;
}

// After encrypt: finishes the message and writes the tag.
srtp_err_status_t gcmGetTag(void* state, std::uint8_t* tag, std::uint32_t* length) {
  auto* s = static_cast<GcmState*>(state);
  if (!s->encrypt) return srtp_err_status_bad_param;
  std::array<std::uint8_t, 16> unused{};
  int out = 0;
  if (EVP_CipherFinal_ex(s->ctx, unused.data(), &out) != 1 ||
      EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_AEAD_GET_TAG, s->tagLength, tag) != 1) {
    return srtp_err_status_algo_fail;
  }
  *length = static_cast<std::uint32_t>(s->tagLength);
  return srtp_err_status_ok;
}

// `buffer` holds ciphertext || tag; on success *length drops the tag.
srtp_err_status_t gcmDecrypt(void* state, std::uint8_t* buffer, unsigned int* length) {
  auto* s = static_cast<GcmState*>(state);
  if (s->encrypt) return srtp_err_status_bad_param;
  const auto tag = static_cast<unsigned int>(s->tagLength);
  if (*length < tag || *length > static_cast<unsigned int>(INT_MAX)) {
    return srtp_err_status_bad_param;
  }
  const unsigned int body = *length - tag;
  if (EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_AEAD_SET_TAG, s->tagLength, buffer + body) != 1) {
    return srtp_err_status_cipher_fail;
  }
  int out = 0;
  if (body > 0 && (EVP_CipherUpdate(s->ctx, buffer, &out, buffer, static_cast<int>(body)) != 1 ||
                   out != static_cast<int>(body))) {
    return srtp_err_status_cipher_fail;
  }
  std::array<std::uint8_t, 16> unused{};
  if (EVP_CipherFinal_ex(s->ctx, unused.data(), &out) != 1) return srtp_err_status_auth_fail;
  *length = body;
  return srtp_err_status_ok;
}

// RFC 7714 section 16 (AES-128; AES-256 with the 32-byte key 00..1f, same
// IV, header and payload): IV 51753c6580c2726f20718414, AAD = the RTP header.
constexpr std::array<std::uint8_t, 28> kGcm128Key{
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d,
    0x0e, 0x0f, 0x51, 0x75, 0x69, 0x64, 0x20, 0x70, 0x72, 0x6f, 0x20, 0x71, 0x75, 0x6f};
constexpr std::array<std::uint8_t, 44> kGcm256Key{
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e,
    0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d,
    0x1e, 0x1f, 0x51, 0x75, 0x69, 0x64, 0x20, 0x70, 0x72, 0x6f, 0x20, 0x71, 0x75, 0x6f};
std::array<std::uint8_t, 12> gGcmIv{0x51, 0x75, 0x3c, 0x65, 0x80, 0xc2,
                                    0x72, 0x6f, 0x20, 0x71, 0x84, 0x14};
constexpr std::array<std::uint8_t, 12> kGcmAad{0x80, 0x40, 0xf1, 0x7b, 0x80, 0x41,
                                               0xf8, 0xd3, 0x55, 0x01, 0xa0, 0xb2};
constexpr std::array<std::uint8_t, 38> kGcmPlain{
    0x47, 0x61, 0x6c, 0x6c, 0x69, 0x61, 0x20, 0x65, 0x73, 0x74, 0x20, 0x6f, 0x6d,
    0x6e, 0x69, 0x73, 0x20, 0x64, 0x69, 0x76, 0x69, 0x73, 0x61, 0x20, 0x69, 0x6e,
    0x20, 0x70, 0x61, 0x72, 0x74, 0x65, 0x73, 0x20, 0x74, 0x72, 0x65, 0x73};
constexpr std::array<std::uint8_t, 54> kGcm128Sealed{
    0xf2, 0x4d, 0xe3, 0xa3, 0xfb, 0x34, 0xde, 0x6c, 0xac, 0xba, 0x86, 0x1c, 0x9d, 0x7e,
    0x4b, 0xca, 0xbe, 0x63, 0x3b, 0xd5, 0x0d, 0x29, 0x4e, 0x6f, 0x42, 0xa5, 0xf4, 0x7a,
    0x51, 0xc7, 0xd1, 0x9b, 0x36, 0xde, 0x3a, 0xdf, 0x88, 0x33, 0x89, 0x9d, 0x7f, 0x27,
    0xbe, 0xb1, 0x6a, 0x91, 0x52, 0xcf, 0x76, 0x5e, 0xe4, 0x39, 0x0c, 0xce};
constexpr std::array<std::uint8_t, 54> kGcm256Sealed{
    0x32, 0xb1, 0xde, 0x78, 0xa8, 0x22, 0xfe, 0x12, 0xef, 0x9f, 0x78, 0xfa, 0x33, 0x2e,
    0x33, 0xaa, 0xb1, 0x80, 0x12, 0x38, 0x9a, 0x58, 0xe2, 0xf3, 0xb5, 0x0b, 0x2a, 0x02,
    0x76, 0xff, 0xae, 0x0f, 0x1b, 0xa6, 0x37, 0x99, 0xb8, 0x7b, 0x7a, 0xa3, 0xdb, 0x36,
    0xdf, 0xff, 0xd6, 0xb0, 0xf9, 0xbb, 0x78, 0x78, 0xd7, 0xa7, 0x6c, 0x13};

const std::array<srtp_cipher_test_case_t, 2> kGcmTests{{
    {28, kGcm128Key.data(), gGcmIv.data(), 38, kGcmPlain.data(), 54, kGcm128Sealed.data(), 12,
     kGcmAad.data(), 16, nullptr},
    {44, kGcm256Key.data(), gGcmIv.data(), 38, kGcmPlain.data(), 54, kGcm256Sealed.data(), 12,
     kGcmAad.data(), 16, nullptr},
}};

const std::array<srtp_cipher_type_t, 2> kGcmTypes{{
    {gcmAlloc<0>, gcmDealloc, gcmInit, gcmSetAad, gcmEncrypt, gcmDecrypt, gcmSetIv, gcmGetTag,
     "AES-128 GCM (OpenSSL EVP)", kGcmTests.data(), SRTP_AES_GCM_128},
    {gcmAlloc<1>, gcmDealloc, gcmInit, gcmSetAad, gcmEncrypt, gcmDecrypt, gcmSetIv, gcmGetTag,
     "AES-256 GCM (OpenSSL EVP)", &kGcmTests[1], SRTP_AES_GCM_256},
}};

// ---- HMAC-SHA1 (RFC 2104) ---------------------------------------------------
// libsrtp calls start, update(packet), compute(ROC) per packet. The keyed
// inner and outer SHA-1 states (after the 64-byte ipad/opad block) are kept,
// so a packet costs two struct copies and the hashing itself: no allocation,
// no provider dispatch (EVP_MAC's keyless re-init freed and allocated a
// digest context per packet, ~4% of the relay's CPU on SRTP calls).

constexpr std::size_t kSha1Block = 64;

struct HmacState {
  SHA_CTX inner{};  // keyed: ipad block absorbed
  SHA_CTX outer{};  // keyed: opad block absorbed
  SHA_CTX work{};   // this packet's inner hash
  bool keyed = false;
};

struct HmacAuth {
  srtp_auth_t base{};
  HmacState state;
};

extern const srtp_auth_type_t kHmacType;

srtp_err_status_t hmacAlloc(srtp_auth_pointer_t* a, int keyLength, int outLength) {
  if (a == nullptr || keyLength < 0 || keyLength > kSha1Length || outLength < 0 ||
      outLength > kSha1Length) {
    return srtp_err_status_bad_param;
  }
  auto* auth = new (std::nothrow) HmacAuth;
  if (auth == nullptr) return srtp_err_status_alloc_fail;
  auth->base.type = &kHmacType;
  auth->base.state = &auth->state;
  auth->base.out_len = outLength;
  auth->base.key_len = keyLength;
  auth->base.prefix_len = 0;
  *a = &auth->base;
  return srtp_err_status_ok;
}

srtp_err_status_t hmacDealloc(srtp_auth_pointer_t a) {
  if (a == nullptr) return srtp_err_status_bad_param;
  auto* auth = reinterpret_cast<HmacAuth*>(a);  // base is the first member
  OPENSSL_cleanse(&auth->state, sizeof auth->state);
  delete auth;
  return srtp_err_status_ok;
}

srtp_err_status_t hmacInit(void* state, const std::uint8_t* key, int keyLength) {
  auto* s = static_cast<HmacState*>(state);
  s->keyed = false;
  // SRTP keys are at most 20 bytes (alloc checks): never longer than a block,
  // so RFC 2104's "hash a long key first" does not arise.
  if (keyLength < 0 || static_cast<std::size_t>(keyLength) > kSha1Block ||
      (key == nullptr && keyLength > 0)) {
    return srtp_err_status_init_fail;
  }
  std::array<std::uint8_t, kSha1Block> ipad{};
  std::array<std::uint8_t, kSha1Block> opad{};
  ipad.fill(0x36);
  opad.fill(0x5c);
  for (int i = 0; i < keyLength; ++i) {
    ipad[static_cast<std::size_t>(i)] ^= key[i];
    opad[static_cast<std::size_t>(i)] ^= key[i];
  }
  const bool ok =
      SHA1_Init(&s->inner) == 1 && SHA1_Update(&s->inner, ipad.data(), ipad.size()) == 1 &&
      SHA1_Init(&s->outer) == 1 && SHA1_Update(&s->outer, opad.data(), opad.size()) == 1;
  OPENSSL_cleanse(ipad.data(), ipad.size());
  OPENSSL_cleanse(opad.data(), opad.size());
  if (!ok) return srtp_err_status_init_fail;
  s->work = s->inner;
  s->keyed = true;
  return srtp_err_status_ok;
}

srtp_err_status_t hmacStart(void* state) {
  auto* s = static_cast<HmacState*>(state);
  if (!s->keyed) return srtp_err_status_auth_fail;
  s->work = s->inner;
  return srtp_err_status_ok;
}

srtp_err_status_t hmacUpdate(void* state, const std::uint8_t* buffer, int length) {
  auto* s = static_cast<HmacState*>(state);
  if (length < 0 || (buffer == nullptr && length > 0)) return srtp_err_status_bad_param;
  if (!s->keyed) return srtp_err_status_auth_fail;
  return SHA1_Update(&s->work, buffer, static_cast<std::size_t>(length)) == 1
             ? srtp_err_status_ok
             : srtp_err_status_auth_fail;
}

srtp_err_status_t hmacCompute(void* state, const std::uint8_t* buffer, int length, int tagLength,
                              std::uint8_t* tag) {
  auto* s = static_cast<HmacState*>(state);
  if (tagLength < 0 || tagLength > kSha1Length) return srtp_err_status_bad_param;
  if (srtp_err_status_t st = hmacUpdate(state, buffer, length); st != srtp_err_status_ok) {
    return st;
  }
  std::array<std::uint8_t, kSha1Length> innerHash{};
  std::array<std::uint8_t, kSha1Length> mac{};
  SHA_CTX outer = s->outer;
  const bool ok = SHA1_Final(innerHash.data(), &s->work) == 1 &&
                  SHA1_Update(&outer, innerHash.data(), innerHash.size()) == 1 &&
                  SHA1_Final(mac.data(), &outer) == 1;
  // The next packet starts from the keyed state even if libsrtp skips start.
  s->work = s->inner;
  if (!ok) return srtp_err_status_auth_fail;
  std::memcpy(tag, mac.data(), static_cast<std::size_t>(tagLength));
  return srtp_err_status_ok;
}

// RFC 2202 test case 1.
constexpr std::array<std::uint8_t, 20> kHmacKey{0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
                                                0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
                                                0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b};
constexpr std::array<std::uint8_t, 8> kHmacData{'H', 'i', ' ', 'T', 'h', 'e', 'r', 'e'};
constexpr std::array<std::uint8_t, 20> kHmacTag{0xb6, 0x17, 0x31, 0x86, 0x55, 0x05, 0x72,
                                                0x64, 0xe2, 0x8b, 0xc0, 0xb6, 0xfb, 0x37,
                                                0x8c, 0x8e, 0xf1, 0x46, 0xbe, 0x00};
const srtp_auth_test_case_t kHmacTest{20, kHmacKey.data(), 8,      kHmacData.data(),
                                      20, kHmacTag.data(), nullptr};

const srtp_auth_type_t kHmacType{hmacAlloc,
                                 hmacDealloc,
                                 hmacInit,
                                 hmacCompute,
                                 hmacUpdate,
                                 hmacStart,
                                 "HMAC-SHA1 (OpenSSL SHA-1)",
                                 &kHmacTest,
                                 SRTP_HMAC_SHA1};

bool fetchPrimitives() {
  for (std::size_t i = 0; i < kIcm.size(); ++i) {
    gCtr[i] = EVP_CIPHER_fetch(nullptr, kIcm[i].name, nullptr);
    if (gCtr[i] == nullptr) return false;
  }
  for (std::size_t i = 0; i < kGcm.size(); ++i) {
    gGcm[i] = EVP_CIPHER_fetch(nullptr, kGcm[i].name, nullptr);
    if (gGcm[i] == nullptr) return false;
  }
  return true;
}

}  // namespace

bool installOpenSslCrypto() {
  // The fetched primitives live for the process: libsrtp holds contexts
  // made from them until it is shut down, which the relay never does.
  if (!fetchPrimitives()) return false;
  // HMAC first: if a cipher fails afterwards, the mix is still correct (each
  // type stands alone); the backend is reported "openssl" only when all are.
  if (srtp_replace_auth_type(&kHmacType, SRTP_HMAC_SHA1) != srtp_err_status_ok) return false;
  for (const auto& type : kIcmTypes) {
    if (srtp_replace_cipher_type(&type, type.id) != srtp_err_status_ok) return false;
  }
  for (const auto& type : kGcmTypes) {
    if (srtp_replace_cipher_type(&type, type.id) != srtp_err_status_ok) return false;
  }
  gInstalled.store(true, std::memory_order_release);
  return true;
}

std::string_view cryptoBackend() {
  return gInstalled.load(std::memory_order_acquire) ? "openssl" : "libsrtp";
}

}  // namespace relay::srtp

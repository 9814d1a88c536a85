#include "media-relay/srtp/suite.h"

#include <array>

namespace relay::srtp {
namespace {

// Tag lengths: RFC 4568 section 6.2 (SRTCP keeps an 80-bit tag even for the
// _32 suite), RFC 7714 section 14.2 (GCM: 16-byte tag, 12-byte salt).
constexpr std::array<Suite, 4> kSuites{{
    {SuiteId::kAesCm128HmacSha1_80, "AES_CM_128_HMAC_SHA1_80", 16, 14, 10, 10, false},
    {SuiteId::kAesCm128HmacSha1_32, "AES_CM_128_HMAC_SHA1_32", 16, 14, 4, 10, false},
    {SuiteId::kAeadAes128Gcm, "AEAD_AES_128_GCM", 16, 12, 16, 16, true},
    {SuiteId::kAeadAes256Gcm, "AEAD_AES_256_GCM", 32, 12, 16, 16, true},
}};

}  // namespace

std::span<const Suite> allSuites() {
  return kSuites;
}

const Suite& suite(SuiteId id) {
  return kSuites[static_cast<std::size_t>(id)];
}

const Suite* findSuite(std::string_view sdesName) {
  for (const Suite& s : kSuites) {
    if (s.sdesName == sdesName) return &s;
  }
  return nullptr;
}

}  // namespace relay::srtp

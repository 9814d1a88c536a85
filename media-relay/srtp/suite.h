// SRTP crypto suites as data: everything the relay needs to know about a suite
// is one row of kSuites, so adding a suite never adds a code path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace relay::srtp {

enum class SuiteId : std::uint8_t {
  kAesCm128HmacSha1_80,
  kAesCm128HmacSha1_32,
  kAeadAes128Gcm,
  kAeadAes256Gcm,
};

struct Suite {
  SuiteId id;
  std::string_view sdesName;  // RFC 4568 / RFC 7714 crypto-suite name
  std::uint8_t keyLength;     // master key, bytes
  std::uint8_t saltLength;    // master salt, bytes
  std::uint8_t rtpTagLength;  // bytes appended to each SRTP packet
  std::uint8_t rtcpTagLength;
  bool aead;

  std::size_t masterLength() const { return std::size_t{keyLength} + saltLength; }
  // Worst-case growth of an RTP packet by protect().
  std::size_t rtpExpansion() const { return rtpTagLength; }
  // SRTCP adds the 4-byte E-flag/index word as well as the tag.
  std::size_t rtcpExpansion() const { return std::size_t{rtcpTagLength} + 4; }
};

// Longest master key||salt of any suite (AEAD_AES_256_GCM: 32 + 12).
inline constexpr std::size_t kMaxMasterLength = 44;

std::span<const Suite> allSuites();
const Suite& suite(SuiteId id);
// Exact, case-sensitive match on the SDES name (RFC 4568 names are upper case).
const Suite* findSuite(std::string_view sdesName);

}  // namespace relay::srtp

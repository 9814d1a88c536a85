// RFC 4568 SDES key-params and master key generation.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "media-relay/srtp/suite.h"

namespace relay::srtp {

// A master key followed by its master salt, as libsrtp and SDES both lay it out.
struct MasterKey {
  std::array<std::uint8_t, kMaxMasterLength> bytes{};
  std::uint8_t length = 0;

  std::span<const std::uint8_t> view() const { return {bytes.data(), length}; }
  friend bool operator==(const MasterKey& a, const MasterKey& b) {
    return a.length == b.length &&
           std::equal(a.bytes.begin(), a.bytes.begin() + a.length, b.bytes.begin());
  }
};

enum class SdesError : std::uint8_t {
  kNone = 0,
  kBadMethod,       // not "inline:"
  kBadBase64,       // key||salt is not valid base64
  kBadKeyLength,    // decoded length differs from the suite's key + salt
  kBadLifetime,     // not decimal or 2^n, zero, or above 2^48 (RFC 3711 limit)
  kMkiUnsupported,  // "|MKI:len": the relay keys one context per direction, no MKI
  kTooManyFields,   // anything after lifetime and MKI
};

std::string_view describe(SdesError error);

struct KeyParams {
  MasterKey key;
  std::optional<std::uint64_t> lifetime;  // packets; absent = the suite default
};

struct SdesResult {
  KeyParams params;
  SdesError error = SdesError::kNone;
  bool ok() const { return error == SdesError::kNone; }
};

// Parses one key-params ("inline:<base64 key||salt>[|lifetime][|MKI:len]").
// Several key-params in one a=crypto line (";"-separated) are the caller's job.
SdesResult parseKeyParams(const Suite& suite, std::string_view keyParams);

// "inline:<base64>" (no lifetime, no MKI: what we offer).
std::string formatKeyParams(const MasterKey& key);

// Fresh key||salt of the suite's length from OpenSSL's CSPRNG; nullopt when the
// RNG fails (never fall back to a weaker source).
std::optional<MasterKey> generateMasterKey(const Suite& suite);

}  // namespace relay::srtp

#pragma once
// Secrets at rest (trunk_credentials.secret): AES-256-GCM with a 32-byte key
// held outside the database. The console encrypts with encryptSecret(), the
// SBC decrypts with decryptSecret(); both share this exact byte format:
//
//   0x01 (format version) || 12-byte random nonce || ciphertext || 16-byte tag
//
// A random 96-bit nonce per secret is safe for far more secrets than a trunk
// table will ever hold (the GCM bound is ~2^32 messages per key).
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sbc::crypto {

inline constexpr std::size_t kKeySize = 32;
inline constexpr std::size_t kNonceSize = 12;
inline constexpr std::size_t kTagSize = 16;
inline constexpr std::uint8_t kFormatVersion = 0x01;
// version + nonce + tag: the size of an encrypted empty string.
inline constexpr std::size_t kSealedOverhead = 1 + kNonceSize + kTagSize;

using SecretKey = std::array<std::uint8_t, kKeySize>;
using Bytes = std::vector<std::uint8_t>;

// Empty only when OpenSSL itself fails (no randomness): never stores a secret
// unencrypted.
Bytes encryptSecret(const SecretKey& key, std::string_view plaintext);

// nullopt when the input is short, of an unknown version, tampered with, or
// sealed with another key. Never reads outside `sealed`.
std::optional<std::string> decryptSecret(const SecretKey& key,
                                         std::span<const std::uint8_t> sealed);

struct KeyResult {
  std::optional<SecretKey> key;
  std::string error;  // set when !key: what is wrong, for the operator
};

// 64 hex digits, or the base64 of 32 bytes; surrounding whitespace ignored.
KeyResult parseSecretKey(std::string_view text);
// Reads parseSecretKey()'s format from a file (start-up: the message names the file).
KeyResult loadSecretKeyFile(const std::string& path);

// Cryptographically random bytes (OpenSSL RAND_bytes); false on failure.
bool randomBytes(std::span<std::uint8_t> out);

std::string toHex(std::span<const std::uint8_t> bytes);

}  // namespace sbc::crypto

#include "admin-ui/password.h"

#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <array>
#include <vector>

#include "common/crypto/secret_box.h"

namespace sbc::admin {

std::optional<std::string> hashPassword(std::string_view password, const Argon2Params& p) {
  std::array<std::uint8_t, 16> salt{};
  if (!crypto::randomBytes(salt)) return std::nullopt;
  constexpr std::size_t kHashLen = 32;
  std::size_t len =
      argon2_encodedlen(p.t_cost, p.m_cost_kib, p.parallelism, salt.size(), kHashLen, Argon2_id);
  std::string out(len, '\0');
  int rc =
      argon2id_hash_encoded(p.t_cost, p.m_cost_kib, p.parallelism, password.data(), password.size(),
                            salt.data(), salt.size(), kHashLen, out.data(), out.size());
  if (rc != ARGON2_OK) return std::nullopt;
  out.resize(out.find('\0') == std::string::npos ? out.size() : out.find('\0'));
  return out;
}

bool verifyPassword(std::string_view encoded_hash, std::string_view password) {
  // argon2_verify needs a NUL-terminated string.
  std::string encoded(encoded_hash);
  argon2_type type;
  if (encoded.rfind("$argon2id$", 0) == 0) {
    type = Argon2_id;
  } else if (encoded.rfind("$argon2i$", 0) == 0) {
    type = Argon2_i;
  } else if (encoded.rfind("$argon2d$", 0) == 0) {
    type = Argon2_d;
  } else {
    return false;
  }
  return argon2_verify(encoded.c_str(), password.data(), password.size(), type) == ARGON2_OK;
}

const std::string& dummyPasswordHash() {
  static const std::string hash = hashPassword(randomToken(16)).value_or("");
  return hash;
}

std::string randomToken(std::size_t bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::vector<std::uint8_t> raw(bytes);
  if (!crypto::randomBytes(raw)) std::abort();  // no randomness: nothing safe to hand out
  std::string out;
  out.reserve((bytes * 4 + 2) / 3);
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::uint8_t b : raw) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 0x3f]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 0x3f]);
  return out;
}

std::string randomPassword() {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
  std::string out;
  while (out.size() < 20) {
    std::array<std::uint8_t, 32> raw{};
    if (!crypto::randomBytes(raw)) std::abort();
    for (std::uint8_t b : raw) {
      // Rejection sampling: no modulo bias.
      if (b >= 256 - (256 % kAlphabet.size())) continue;
      out.push_back(kAlphabet[b % kAlphabet.size()]);
      if (out.size() == 20) break;
    }
  }
  return out;
}

std::string sha256Hex(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md.data(), &len, EVP_sha256(), nullptr) != 1) {
    std::abort();
  }
  return crypto::toHex(std::span<const std::uint8_t>(md.data(), len));
}

bool constantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::optional<std::string> passwordProblem(std::string_view password) {
  if (password.size() < 12) return "must be at least 12 characters";
  if (password.size() > 1024) return "must be at most 1024 characters";
  return std::nullopt;
}

}  // namespace sbc::admin

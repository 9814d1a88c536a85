#include "common/crypto/secret_box.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

namespace sbc::crypto {
namespace {

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

// OpenSSL takes int lengths; secrets are small, but a caller's garbage may not be.
constexpr std::size_t kMaxPlaintext = 1 << 20;

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

std::optional<std::vector<std::uint8_t>> decodeBase64(std::string_view s) {
  while (!s.empty() && s.back() == '=') s.remove_suffix(1);
  std::vector<std::uint8_t> out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : s) {
    int v = base64Value(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>((acc >> bits) & 0xff));
    }
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

}  // namespace

bool randomBytes(std::span<std::uint8_t> out) {
  if (out.size() > INT_MAX) return false;
  return RAND_bytes(out.data(), static_cast<int>(out.size())) == 1;
}

Bytes encryptSecret(const SecretKey& key, std::string_view plaintext) {
  if (plaintext.size() > kMaxPlaintext) return {};
  Bytes out(kSealedOverhead + plaintext.size());
  out[0] = kFormatVersion;
  std::uint8_t* nonce = out.data() + 1;
  std::uint8_t* cipher = nonce + kNonceSize;
  std::uint8_t* tag = cipher + plaintext.size();
  if (!randomBytes({nonce, kNonceSize})) return {};

  CtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceSize, nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, key.data(), nonce) != 1)
    return {};
  // The version byte is authenticated too: a downgrade cannot pass for v1.
  if (EVP_EncryptUpdate(ctx.get(), nullptr, &len, out.data(), 1) != 1) return {};
  if (!plaintext.empty() &&
      EVP_EncryptUpdate(ctx.get(), cipher, &len,
                        reinterpret_cast<const unsigned char*>(plaintext.data()),
                        static_cast<int>(plaintext.size())) != 1)
    return {};
  if (EVP_EncryptFinal_ex(ctx.get(), cipher + plaintext.size(), &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagSize, tag) != 1)
    return {};
  return out;
}

std::optional<std::string> decryptSecret(const SecretKey& key,
                                         std::span<const std::uint8_t> sealed) {
  if (sealed.size() < kSealedOverhead || sealed[0] != kFormatVersion) return std::nullopt;
  const std::size_t text_len = sealed.size() - kSealedOverhead;
  if (text_len > kMaxPlaintext) return std::nullopt;
  const std::uint8_t* nonce = sealed.data() + 1;
  const std::uint8_t* cipher = nonce + kNonceSize;
  // OpenSSL's ctrl takes a non-const pointer for the expected tag.
  std::array<std::uint8_t, kTagSize> tag{};
  std::memcpy(tag.data(), cipher + text_len, kTagSize);

  std::string plain(text_len, '\0');
  CtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  if (!ctx || EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceSize, nullptr) != 1 ||
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, key.data(), nonce) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, sealed.data(), 1) != 1)
    return std::nullopt;
  if (text_len > 0 && EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()),
                                        &len, cipher, static_cast<int>(text_len)) != 1)
    return std::nullopt;
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagSize, tag.data()) != 1)
    return std::nullopt;
  // Final checks the tag; nothing decrypted is returned unless it matches.
  std::array<unsigned char, 16> tail{};
  if (EVP_DecryptFinal_ex(ctx.get(), tail.data(), &len) != 1) {
    OPENSSL_cleanse(plain.data(), plain.size());
    return std::nullopt;
  }
  return plain;
}

KeyResult parseSecretKey(std::string_view text) {
  text = trim(text);
  KeyResult r;
  SecretKey key{};
  if (text.size() == 2 * kKeySize) {
    bool ok = true;
    for (std::size_t i = 0; i < kKeySize && ok; ++i) {
      int hi = hexValue(text[2 * i]);
      int lo = hexValue(text[2 * i + 1]);
      ok = hi >= 0 && lo >= 0;
      key[i] = static_cast<std::uint8_t>((hi << 4) | lo);
    }
    if (ok) {
      r.key = key;
      return r;
    }
  }
  if (auto bytes = decodeBase64(text); bytes && bytes->size() == kKeySize) {
    std::memcpy(key.data(), bytes->data(), kKeySize);
    OPENSSL_cleanse(bytes->data(), bytes->size());
    r.key = key;
    return r;
  }
  r.error = "expected 32 bytes as 64 hex digits or as base64 (e.g. `openssl rand -hex 32`), got " +
            std::to_string(text.size()) + " characters";
  return r;
}

KeyResult loadSecretKeyFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return KeyResult{std::nullopt,
                     "secret key file " + path + ": cannot open: " + std::strerror(errno)};
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  std::string text = buf.str();
  if (text.size() > 4096) return KeyResult{std::nullopt, "secret key file " + path + ": too large"};
  KeyResult r = parseSecretKey(text);
  OPENSSL_cleanse(text.data(), text.size());
  if (!r.key) r.error = "secret key file " + path + ": " + r.error;
  return r;
}

std::string toHex(std::span<const std::uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (std::uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0x0f]);
  }
  return out;
}

}  // namespace sbc::crypto

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <set>

#include "common/crypto/secret_box.h"

namespace sbc::crypto {
namespace {

SecretKey testKey(std::uint8_t seed) {
  SecretKey k{};
  for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::uint8_t>(seed + i * 7);
  return k;
}

TEST(SecretBox, RoundTrips) {
  const auto key = testKey(1);
  for (std::string plain :
       {std::string(), std::string("s3cret"), std::string(300, 'x'), std::string("with\0nul", 8)}) {
    Bytes sealed = encryptSecret(key, plain);
    ASSERT_EQ(sealed.size(), kSealedOverhead + plain.size());
    EXPECT_EQ(sealed[0], kFormatVersion);
    auto back = decryptSecret(key, sealed);
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, plain);
  }
}

TEST(SecretBox, FreshNonceEveryTime) {
  const auto key = testKey(2);
  std::set<Bytes> seen;
  for (int i = 0; i < 50; ++i) seen.insert(encryptSecret(key, "same secret"));
  EXPECT_EQ(seen.size(), 50u);
}

TEST(SecretBox, DetectsTamperingAnywhere) {
  const auto key = testKey(3);
  const Bytes sealed = encryptSecret(key, "password123");
  for (std::size_t i = 0; i < sealed.size(); ++i) {
    for (std::uint8_t flip : {0x01, 0x80}) {
      Bytes bad = sealed;
      bad[i] ^= flip;
      EXPECT_FALSE(decryptSecret(key, bad).has_value()) << "byte " << i;
    }
  }
  Bytes longer = sealed;
  longer.push_back(0);
  EXPECT_FALSE(decryptSecret(key, longer).has_value());
  Bytes shorter(sealed.begin(), sealed.end() - 1);
  EXPECT_FALSE(decryptSecret(key, shorter).has_value());
}

TEST(SecretBox, WrongKeyFails) {
  const Bytes sealed = encryptSecret(testKey(4), "secret");
  EXPECT_FALSE(decryptSecret(testKey(5), sealed).has_value());
}

TEST(SecretBox, ShortAndGarbageInputIsRejectedNotCrashed) {
  const auto key = testKey(6);
  for (std::size_t n = 0; n <= kSealedOverhead; ++n) {
    Bytes b(n, 0x01);
    EXPECT_FALSE(decryptSecret(key, b).has_value()) << n;
  }
  EXPECT_FALSE(decryptSecret(key, std::span<const std::uint8_t>()).has_value());
  Bytes plaintext_in_column = {'h', 'u', 'n', 't', 'e', 'r', '2', 'h', 'u', 'n',
                               't', 'e', 'r', '2', 'h', 'u', 'n', 't', 'e', 'r',
                               '2', 'h', 'u', 'n', 't', 'e', 'r', '2', '!', '!'};
  EXPECT_FALSE(decryptSecret(key, plaintext_in_column).has_value());
  Bytes other_version = encryptSecret(key, "x");
  other_version[0] = 0x02;
  EXPECT_FALSE(decryptSecret(key, other_version).has_value());
}

TEST(SecretKeyParsing, HexAndBase64) {
  const std::string hex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
  auto k = parseSecretKey(hex + "\n");
  ASSERT_TRUE(k.key.has_value()) << k.error;
  for (std::size_t i = 0; i < kKeySize; ++i) EXPECT_EQ((*k.key)[i], i);
  // Same 32 bytes in base64.
  auto b = parseSecretKey("  AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n");
  ASSERT_TRUE(b.key.has_value()) << b.error;
  EXPECT_EQ(*b.key, *k.key);
  auto upper = parseSecretKey("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F");
  ASSERT_TRUE(upper.key.has_value());
  EXPECT_EQ(*upper.key, *k.key);
}

TEST(SecretKeyParsing, RejectsWrongSizesWithAClearError) {
  for (std::string_view bad :
       {"", "abcd", "zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd",
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f00"}) {
    auto r = parseSecretKey(bad);
    EXPECT_FALSE(r.key.has_value()) << bad;
    EXPECT_NE(r.error.find("32 bytes"), std::string::npos) << r.error;
  }
}

TEST(SecretKeyParsing, FileErrorsNameTheFile) {
  auto missing = loadSecretKeyFile("/nonexistent/sbc-secret.key");
  EXPECT_FALSE(missing.key.has_value());
  EXPECT_NE(missing.error.find("/nonexistent/sbc-secret.key"), std::string::npos);

  const std::string path = ::testing::TempDir() + "/sbc_key_test.key";
  {
    std::ofstream f(path);
    f << "not a key\n";
  }
  auto bad = loadSecretKeyFile(path);
  EXPECT_FALSE(bad.key.has_value());
  EXPECT_NE(bad.error.find(path), std::string::npos);
  {
    std::ofstream f(path);
    f << std::string(64, 'a') << "\n";
  }
  auto good = loadSecretKeyFile(path);
  ASSERT_TRUE(good.key.has_value()) << good.error;
  EXPECT_EQ((*good.key)[0], 0xaa);
  std::remove(path.c_str());
}

TEST(Random, BytesDiffer) {
  std::array<std::uint8_t, 16> a{}, b{};
  ASSERT_TRUE(randomBytes(a));
  ASSERT_TRUE(randomBytes(b));
  EXPECT_NE(a, b);
  EXPECT_EQ(toHex(std::array<std::uint8_t, 2>{0x0f, 0xa0}), "0fa0");
}

}  // namespace
}  // namespace sbc::crypto

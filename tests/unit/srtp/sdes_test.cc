#include <gtest/gtest.h>

#include "common/relayctl/base64.h"
#include "common/relayctl/protocol.h"
#include "media-relay/srtp/sdes.h"
#include "media-relay/srtp/suite.h"

namespace relay::srtp {
namespace {

// 30 bytes 0x00..0x1d in base64.
constexpr std::string_view kKey30 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd";

TEST(SuiteTable, LookupBySdesNameAndLengths) {
  const Suite* s = findSuite("AES_CM_128_HMAC_SHA1_32");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->id, SuiteId::kAesCm128HmacSha1_32);
  EXPECT_EQ(s->rtpTagLength, 4);
  EXPECT_EQ(s->rtcpTagLength, 10);
  EXPECT_EQ(findSuite("AEAD_AES_256_GCM")->masterLength(), 44u);
  EXPECT_EQ(findSuite("AEAD_AES_128_GCM")->masterLength(), 28u);
  EXPECT_EQ(findSuite("aes_cm_128_hmac_sha1_80"), nullptr);
  EXPECT_EQ(findSuite("F8_128_HMAC_SHA1_80"), nullptr);
}

// common/relayctl keeps its own copy of the key lengths (common/ may not
// depend on media-relay/); this keeps the two tables in step.
TEST(SuiteTable, AgreesWithControlProtocolKeyLengths) {
  for (const Suite& s : allSuites()) {
    EXPECT_EQ(sbc::relayctl::suiteMasterLength(s.sdesName), s.masterLength()) << s.sdesName;
    EXPECT_EQ(&suite(s.id), &s);
  }
}

TEST(Sdes, ParsesInlineKeyWithoutLifetime) {
  auto r = parseKeyParams(*findSuite("AES_CM_128_HMAC_SHA1_80"), "inline:" + std::string(kKey30));
  ASSERT_TRUE(r.ok()) << describe(r.error);
  ASSERT_EQ(r.params.key.length, 30);
  for (int i = 0; i < 30; ++i) EXPECT_EQ(r.params.key.bytes[i], i);
  EXPECT_FALSE(r.params.lifetime);
}

TEST(Sdes, ParsesPowerOfTwoAndDecimalLifetime) {
  const Suite& s = *findSuite("AES_CM_128_HMAC_SHA1_80");
  auto a = parseKeyParams(s, "inline:" + std::string(kKey30) + "|2^31");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a.params.lifetime, std::uint64_t{1} << 31);
  auto b = parseKeyParams(s, "inline:" + std::string(kKey30) + "|1048576");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b.params.lifetime, 1048576u);
}

TEST(Sdes, RejectsWhatItDoesNotSupportWithAClearError) {
  const Suite& s = *findSuite("AES_CM_128_HMAC_SHA1_80");
  const std::string k(kKey30);
  struct Case {
    std::string input;
    SdesError error;
  } cases[] = {
      {"uri:" + k, SdesError::kBadMethod},
      {"inline:" + k.substr(0, 36) + "!!!!", SdesError::kBadBase64},
      {"inline:" + k + " ", SdesError::kBadBase64},
      {"inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBka", SdesError::kBadKeyLength},  // 27 bytes
      {"inline:" + k + "|2^49", SdesError::kBadLifetime},
      {"inline:" + k + "|0", SdesError::kBadLifetime},
      {"inline:" + k + "|2^", SdesError::kBadLifetime},
      {"inline:" + k + "|abc", SdesError::kBadLifetime},
      {"inline:" + k + "|1:4", SdesError::kMkiUnsupported},
      {"inline:" + k + "|2^31|1:4", SdesError::kMkiUnsupported},
      {"inline:" + k + "|2^31|2^20", SdesError::kTooManyFields},
      {"inline:", SdesError::kBadKeyLength},
  };
  for (const auto& c : cases) {
    auto r = parseKeyParams(s, c.input);
    EXPECT_EQ(r.error, c.error) << c.input << " -> " << describe(r.error);
  }
  // A GCM-128 key (28 bytes) is the wrong size for an AES-CM suite.
  auto gcm = generateMasterKey(*findSuite("AEAD_AES_128_GCM"));
  ASSERT_TRUE(gcm);
  EXPECT_EQ(parseKeyParams(s, formatKeyParams(*gcm)).error, SdesError::kBadKeyLength);
}

TEST(Sdes, FormatThenParseRoundTripsEverySuite) {
  for (const Suite& s : allSuites()) {
    auto key = generateMasterKey(s);
    ASSERT_TRUE(key) << s.sdesName;
    EXPECT_EQ(key->length, s.masterLength());
    auto r = parseKeyParams(s, formatKeyParams(*key));
    ASSERT_TRUE(r.ok()) << s.sdesName << ": " << describe(r.error);
    EXPECT_EQ(r.params.key, *key);
  }
}

TEST(Sdes, GeneratedKeysDiffer) {
  const Suite& s = *findSuite("AEAD_AES_256_GCM");
  EXPECT_NE(*generateMasterKey(s), *generateMasterKey(s));
}

TEST(Base64, StrictDecoding) {
  using sbc::relayctl::base64DecodedLength;
  EXPECT_EQ(base64DecodedLength("TWFu"), 3u);
  EXPECT_EQ(base64DecodedLength("TWE="), 2u);
  EXPECT_EQ(base64DecodedLength("TWE"), 2u);  // unpadded accepted
  EXPECT_EQ(base64DecodedLength("TQ=="), 1u);
  EXPECT_FALSE(base64DecodedLength("TR=="));  // non-canonical trailing bits
  EXPECT_FALSE(base64DecodedLength("T"));
  EXPECT_FALSE(base64DecodedLength("TWE=="));
  EXPECT_FALSE(base64DecodedLength("TW\nE"));
  EXPECT_FALSE(base64DecodedLength(std::string_view("TW\0E", 4)));
  std::uint8_t out[2];
  EXPECT_FALSE(sbc::relayctl::base64Decode("TWFu", out));  // output too small
}

}  // namespace
}  // namespace relay::srtp

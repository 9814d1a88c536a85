#include "admin-ui/password.h"

#include <gtest/gtest.h>

#include <set>

namespace sbc::admin {
namespace {

// Cheap parameters: the test checks the format and the verification, not the cost.
const Argon2Params kFast{1, 1024, 1};

TEST(Password, HashIsArgon2idAndVerifies) {
  auto hash = hashPassword("correct horse battery", kFast);
  ASSERT_TRUE(hash);
  EXPECT_EQ(hash->rfind("$argon2id$v=19$m=1024,t=1,p=1$", 0), 0u) << *hash;
  EXPECT_TRUE(verifyPassword(*hash, "correct horse battery"));
  EXPECT_FALSE(verifyPassword(*hash, "correct horse batterY"));
  EXPECT_FALSE(verifyPassword(*hash, ""));
}

TEST(Password, SaltMakesEveryHashDifferent) {
  EXPECT_NE(*hashPassword("same password!", kFast), *hashPassword("same password!", kFast));
}

TEST(Password, DefaultParametersMeetOwaspMinimum) {
  auto hash = hashPassword("correct horse battery");
  ASSERT_TRUE(hash);
  EXPECT_NE(hash->find("m=19456,t=2,p=1"), std::string::npos) << *hash;
}

TEST(Password, GarbageHashesNeverVerify) {
  EXPECT_FALSE(verifyPassword("", "x"));
  EXPECT_FALSE(verifyPassword("plaintext", "plaintext"));
  EXPECT_FALSE(verifyPassword("$argon2id$v=19$m=1024,t=1,p=1$bad", "x"));
  EXPECT_FALSE(verifyPassword(std::string("$argon2id$\0zz", 13), "x"));
  EXPECT_FALSE(dummyPasswordHash().empty());
  EXPECT_FALSE(verifyPassword(dummyPasswordHash(), ""));
}

TEST(Password, RandomTokensAreUrlSafeAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    std::string t = randomToken(32);
    EXPECT_EQ(t.size(), 43u);
    for (char c : t)
      EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') << t;
    seen.insert(t);
  }
  EXPECT_EQ(seen.size(), 200u);
  EXPECT_EQ(randomToken(24).size(), 32u);
}

TEST(Password, GeneratedPasswordsPassThePolicy) {
  std::string p = randomPassword();
  EXPECT_EQ(p.size(), 20u);
  EXPECT_FALSE(passwordProblem(p));
  EXPECT_NE(p, randomPassword());
  EXPECT_TRUE(passwordProblem("short"));
  EXPECT_TRUE(passwordProblem(std::string(2000, 'a')));
}

TEST(Password, Sha256HexKnownAnswer) {
  EXPECT_EQ(sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Password, ConstantTimeEquals) {
  EXPECT_TRUE(constantTimeEquals("abc", "abc"));
  EXPECT_FALSE(constantTimeEquals("abc", "abd"));
  EXPECT_FALSE(constantTimeEquals("abc", "abcd"));
  EXPECT_TRUE(constantTimeEquals("", ""));
}

}  // namespace
}  // namespace sbc::admin

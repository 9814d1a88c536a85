#include <gtest/gtest.h>

#include "admin-ui/imports/e164.h"

namespace sbc::admin::imports {
namespace {

TEST(E164, StrictCheckNamesRuleAndPosition) {
  EXPECT_FALSE(checkE164("+14155550100"));
  EXPECT_FALSE(checkE164("+12"));
  EXPECT_FALSE(checkE164("+123456789012345"));  // 15 digits
  auto i = checkE164("14155550100");
  ASSERT_TRUE(i);
  EXPECT_EQ(i->rule, NumberRule::MissingPlus);
  i = checkE164("+1415x550100");
  ASSERT_TRUE(i);
  EXPECT_EQ(i->rule, NumberRule::NotADigit);
  EXPECT_EQ(i->position, 6u);
  i = checkE164("+1234567890123456");
  ASSERT_TRUE(i);
  EXPECT_EQ(i->rule, NumberRule::TooLong);
  EXPECT_EQ(i->position, 17u);
  EXPECT_EQ(checkE164("+0412")->rule, NumberRule::LeadingZero);
  EXPECT_EQ(checkE164("+1")->rule, NumberRule::TooShort);
  EXPECT_EQ(checkE164("")->rule, NumberRule::Empty);
  EXPECT_EQ(checkE164("+1 415")->rule, NumberRule::NotADigit);  // strict: no formatting
}

TEST(E164, PastedNumbersLoseTheirFormatting) {
  auto n = normaliseE164("  +1 (415) 555-0100 ");
  EXPECT_FALSE(n.issue);
  EXPECT_EQ(n.number, "+14155550100");
  n = normaliseE164("+44.20.7123.4567");
  EXPECT_EQ(n.number, "+442071234567");
  n = normaliseE164("  +1 415 55O 0100");  // letter O
  ASSERT_TRUE(n.issue);
  EXPECT_EQ(n.issue->rule, NumberRule::NotADigit);
  EXPECT_EQ(n.issue->position, 12u);
  EXPECT_TRUE(n.number.empty());
  EXPECT_EQ(normaliseE164("415 555 0100").issue->rule, NumberRule::MissingPlus);
  EXPECT_EQ(normaliseE164("   ").issue->rule, NumberRule::Empty);
}

}  // namespace
}  // namespace sbc::admin::imports

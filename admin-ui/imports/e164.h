#pragma once
// E.164 numbers as the schema stores them: '+', a non-zero digit, 1..14 more
// digits (the `e164` domain of migrations/0001). The checks say which rule a
// value breaks and where, so an operator can find the bad character.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace sbc::admin::imports {

enum class NumberRule {
  Empty,
  MissingPlus,  // does not start with '+'
  LeadingZero,  // country code starts with 0
  NotADigit,
  TooShort,  // fewer than 2 digits
  TooLong,   // more than 15 digits
};

std::string_view numberRuleText(NumberRule r);
// Stable machine names for API bodies ("missing_plus", ...).
std::string_view numberRuleName(NumberRule r);

struct NumberIssue {
  NumberRule rule;
  std::size_t position;  // 1-based character position in the checked text
};

// Strict: the text must already be exactly an E.164 number.
std::optional<NumberIssue> checkE164(std::string_view text);

// Lenient, for numbers pasted by people: surrounding blanks are ignored and
// spaces, '-', '.', '(' and ')' inside are dropped ("+1 (415) 555-0100").
// On success `number` holds the canonical form; positions refer to `text`.
struct NormalisedNumber {
  std::string number;
  std::optional<NumberIssue> issue;
};
NormalisedNumber normaliseE164(std::string_view text);

}  // namespace sbc::admin::imports

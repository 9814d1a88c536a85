#include "admin-ui/imports/e164.h"

namespace sbc::admin::imports {

std::string_view numberRuleText(NumberRule r) {
  switch (r) {
    case NumberRule::Empty:
      return "the number is empty";
    case NumberRule::MissingPlus:
      return "an E.164 number starts with '+'";
    case NumberRule::LeadingZero:
      return "a country code never starts with 0";
    case NumberRule::NotADigit:
      return "only digits may follow the '+'";
    case NumberRule::TooShort:
      return "an E.164 number has at least 2 digits";
    case NumberRule::TooLong:
      return "an E.164 number has at most 15 digits";
  }
  return "?";
}

std::string_view numberRuleName(NumberRule r) {
  switch (r) {
    case NumberRule::Empty:
      return "empty";
    case NumberRule::MissingPlus:
      return "missing_plus";
    case NumberRule::LeadingZero:
      return "leading_zero";
    case NumberRule::NotADigit:
      return "not_a_digit";
    case NumberRule::TooShort:
      return "too_short";
    case NumberRule::TooLong:
      return "too_long";
  }
  return "?";
}

namespace {
bool isDigit(char c) {
  return c >= '0' && c <= '9';
}
bool isFormatting(char c) {
  return c == ' ' || c == '-' || c == '.' || c == '(' || c == ')';
}
bool isBlank(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}
}  // namespace

std::optional<NumberIssue> checkE164(std::string_view s) {
  if (s.empty()) return NumberIssue{NumberRule::Empty, 1};
  if (s[0] != '+') return NumberIssue{NumberRule::MissingPlus, 1};
  for (std::size_t i = 1; i < s.size(); ++i) {
    if (!isDigit(s[i])) return NumberIssue{NumberRule::NotADigit, i + 1};
    if (i == 16) return NumberIssue{NumberRule::TooLong, i + 1};
  }
  if (s.size() > 1 && s[1] == '0') return NumberIssue{NumberRule::LeadingZero, 2};
  if (s.size() < 3) return NumberIssue{NumberRule::TooShort, s.size()};
  return std::nullopt;
}

NormalisedNumber normaliseE164(std::string_view text) {
  NormalisedNumber out;
  std::size_t b = 0, e = text.size();
  while (b < e && isBlank(text[b])) ++b;
  while (e > b && isBlank(text[e - 1])) --e;
  if (b == e) {
    out.issue = NumberIssue{NumberRule::Empty, b + 1};
    return out;
  }
  if (text[b] != '+') {
    out.issue = NumberIssue{NumberRule::MissingPlus, b + 1};
    return out;
  }
  out.number.push_back('+');
  for (std::size_t i = b + 1; i < e; ++i) {
    const char c = text[i];
    if (isFormatting(c)) continue;
    if (!isDigit(c)) {
      out.issue = NumberIssue{NumberRule::NotADigit, i + 1};
      break;
    }
    if (out.number.size() == 1 && c == '0') {
      out.issue = NumberIssue{NumberRule::LeadingZero, i + 1};
      break;
    }
    if (out.number.size() == 16) {
      out.issue = NumberIssue{NumberRule::TooLong, i + 1};
      break;
    }
    out.number.push_back(c);
  }
  if (!out.issue && out.number.size() < 3) out.issue = NumberIssue{NumberRule::TooShort, e};
  if (out.issue) out.number.clear();
  return out;
}

}  // namespace sbc::admin::imports

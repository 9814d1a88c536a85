#include "sbc/b2bua/numbers.h"

namespace sbc::b2bua {
namespace {

int hexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool isVisualSeparator(char c) {
  return c == '-' || c == '.' || c == '(' || c == ')' || c == ' ';
}

bool startsWith(std::string_view s, std::string_view prefix) {
  return !prefix.empty() && s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

}  // namespace

std::string_view toString(NumberError e) {
  switch (e) {
    case NumberError::Ok:
      return "ok";
    case NumberError::Empty:
      return "empty";
    case NumberError::Invalid:
      return "invalid";
    case NumberError::Incomplete:
      return "incomplete";
    case NumberError::TooLong:
      return "too_long";
  }
  return "unknown";
}

NumberResult normalizeNumber(std::string_view raw, const cfg::NumberFormat& format) {
  NumberResult r;
  // Clean copy: digits plus a leading '+'. Bounded so that a hostile user
  // part of kilobytes costs nothing: anything past 32 significant characters
  // is too long to be a number whatever the prefixes.
  char buf[32];
  std::size_t n = 0;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '%') {
      int hi = i + 2 < raw.size() ? hexDigit(raw[i + 1]) : -1;
      int lo = hi >= 0 ? hexDigit(raw[i + 2]) : -1;
      if (lo < 0) {
        r.error = NumberError::Invalid;
        return r;
      }
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    if (isVisualSeparator(c)) continue;
    bool plus_ok = c == '+' && n == 0;
    if (!plus_ok && (c < '0' || c > '9')) {
      r.error = NumberError::Invalid;
      return r;
    }
    if (n == sizeof(buf)) {
      r.error = NumberError::TooLong;
      return r;
    }
    buf[n++] = c;
  }
  std::string_view s(buf, n);
  if (s.empty() || s == "+") {
    r.error = NumberError::Empty;
    return r;
  }

  std::string_view national;  // digits after a stripped national prefix
  bool is_national = false;
  if (s.front() == '+') {
    s.remove_prefix(1);
  } else if (startsWith(s, format.international_prefix)) {
    s.remove_prefix(format.international_prefix.size());
  } else if (startsWith(s, format.national_prefix)) {
    national = s.substr(format.national_prefix.size());
    is_national = true;
  } else if (format.country_code == "1" && s.size() == 10 && s.front() >= '2') {
    national = s;
    is_national = true;
  }

  if (is_national) {
    if (national.empty()) {
      r.error = NumberError::Incomplete;
      return r;
    }
    r.digits.reserve(format.country_code.size() + national.size());
    r.digits.append(format.country_code);
    r.digits.append(national);
  } else {
    r.digits.assign(s);
  }

  const std::string& d = r.digits;
  if (d.empty()) {
    r.error = NumberError::Incomplete;
  } else if (d.front() == '0') {
    r.error = NumberError::Invalid;
  } else if (d.size() > kMaxE164Digits) {
    r.error = NumberError::TooLong;
  } else if (d.front() == '1') {
    if (d.size() < 11) r.error = NumberError::Incomplete;
    if (d.size() > 11) r.error = NumberError::TooLong;
  } else if (d.size() < kMinE164Digits) {
    r.error = NumberError::Incomplete;
  }
  if (!r.ok()) r.digits.clear();
  return r;
}

NumberResult normalizeUriNumber(const sip::Uri& uri, const cfg::NumberFormat& format) {
  if (uri.scheme != sip::UriScheme::Tel && !uri.isSip()) {
    NumberResult r;
    r.error = NumberError::Invalid;
    return r;
  }
  return normalizeNumber(uri.number(), format);
}

std::string formatNumber(std::string_view e164_digits, const cfg::NumberFormat& format) {
  std::string out;
  out.reserve(e164_digits.size() + 1);
  if (format.send_plus) out.push_back('+');
  out.append(e164_digits);
  return out;
}

}  // namespace sbc::b2bua

// Internal character-class and number helpers shared by the SDP parser and the
// field parsers. Not part of the public API.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>

namespace sbc::sdp::detail {

// Character classes as one table lookup per byte: every SDP byte we accept goes
// through one of these.
enum CharClass : std::uint8_t {
  kDigitClass = 1U << 0,
  kAlphaClass = 1U << 1,
  kHexClass = 1U << 2,
  kTokenClass = 1U << 3,   // RFC 8866 token-char
  kIceClass = 1U << 4,     // RFC 8839 ice-char: ALPHA / DIGIT / "+" / "/"
  kBase64Class = 1U << 5,  // base64 alphabet and padding
  kNonWsClass = 1U << 6,   // RFC 8866 non-ws-string: VCHAR / %x80-FF
  kHostClass = 1U << 7,    // FQDN: ALPHA / DIGIT / "-" / "."
};

constexpr std::array<std::uint8_t, 256> makeCharClasses() {
  std::array<std::uint8_t, 256> t{};
  for (unsigned u = 0; u < 256; ++u) {
    std::uint8_t v = 0;
    const bool digit = u >= '0' && u <= '9';
    const bool alpha = (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z');
    if (digit) v |= kDigitClass;
    if (alpha) v |= kAlphaClass;
    if (digit || (u >= 'a' && u <= 'f') || (u >= 'A' && u <= 'F')) v |= kHexClass;
    if (u == 0x21 || (u >= 0x23 && u <= 0x27) || u == 0x2A || u == 0x2B || u == 0x2D || u == 0x2E ||
        (u >= 0x30 && u <= 0x39) || (u >= 0x41 && u <= 0x5A) || (u >= 0x5E && u <= 0x7E)) {
      v |= kTokenClass;
    }
    if (digit || alpha || u == '+' || u == '/') v |= kIceClass;
    if (digit || alpha || u == '+' || u == '/' || u == '=') v |= kBase64Class;
    if (u > 0x20 && u != 0x7F) v |= kNonWsClass;
    if (digit || alpha || u == '-' || u == '.') v |= kHostClass;
    t[u] = v;
  }
  return t;
}
inline constexpr std::array<std::uint8_t, 256> kCharClasses = makeCharClasses();

constexpr bool hasClass(char c, std::uint8_t cls) {
  return (kCharClasses[static_cast<unsigned char>(c)] & cls) != 0;
}
constexpr bool isDigit(char c) {
  return c >= '0' && c <= '9';
}
constexpr bool isAlpha(char c) {
  return hasClass(c, kAlphaClass);
}
constexpr bool isAlnum(char c) {
  return hasClass(c, kDigitClass | kAlphaClass);
}
constexpr bool isHex(char c) {
  return hasClass(c, kHexClass);
}
constexpr char toLower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}
constexpr bool isTokenChar(char c) {
  return hasClass(c, kTokenClass);
}
constexpr bool isIceChar(char c) {
  return hasClass(c, kIceClass);
}
constexpr bool isBase64Char(char c) {
  return hasClass(c, kBase64Class);
}

template <typename Pred>
constexpr bool allOf(std::string_view s, Pred pred) {
  for (char c : s) {
    if (!pred(c)) return false;
  }
  return true;
}

// Non-empty and every byte in the class.
constexpr bool allOfClass(std::string_view s, std::uint8_t cls) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!hasClass(c, cls)) return false;
  }
  return true;
}

constexpr bool isToken(std::string_view s) {
  return allOfClass(s, kTokenClass);
}
constexpr bool isDigits(std::string_view s) {
  return allOfClass(s, kDigitClass);
}
constexpr bool isNonWsString(std::string_view s) {
  return allOfClass(s, kNonWsClass);
}

// Text acceptable as (part of) a line value we write ourselves: no NUL/CR/LF, and
// no trailing whitespace (a lenient re-parse would trim it and change the value).
constexpr bool isWritableValue(std::string_view s) {
  if (s.empty() || s.back() == ' ' || s.back() == '\t') return false;
  return allOf(s, [](char c) { return c != '\0' && c != '\r' && c != '\n'; });
}

constexpr bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (toLower(a[i]) != toLower(b[i])) return false;
  }
  return true;
}

constexpr bool istartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

// Digits only (no sign, no spaces), fits in T, at most maxDigits digits.
template <typename T>
std::optional<T> parseUnsigned(std::string_view s, std::size_t maxDigits = 20) {
  if (s.empty() || s.size() > maxDigits) return std::nullopt;
  T value = 0;
  // Below digits10 digits nothing can overflow, so the common short numbers skip
  // the per-digit check.
  const bool mayOverflow = s.size() > static_cast<std::size_t>(std::numeric_limits<T>::digits10);
  constexpr T kMax = std::numeric_limits<T>::max();
  for (char c : s) {
    if (!isDigit(c)) return std::nullopt;
    const auto d = static_cast<T>(c - '0');
    if (mayOverflow && value > (kMax - d) / 10) return std::nullopt;
    value = static_cast<T>(value * 10 + d);
  }
  return value;
}

// Position of c in s, or npos. SDP fields are a few bytes long, where a plain loop
// beats a call into libc's vectorised memchr.
constexpr std::size_t indexOf(std::string_view s, char c) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == c) return i;
  }
  return std::string_view::npos;
}

// Reads fields separated by single SPs. "a  b" yields "a", "", "b" and "a " yields
// "a", "": grammar checks reject the empty fields, so sloppy spacing never
// silently changes meaning.
class FieldReader {
 public:
  explicit FieldReader(std::string_view s) : rest_(s) {}

  bool next(std::string_view& field) {
    if (done_) return false;
    const std::size_t sp = indexOf(rest_, ' ');
    if (sp == std::string_view::npos) {
      field = rest_;
      done_ = true;
    } else {
      field = rest_.substr(0, sp);
      rest_ = rest_.substr(sp + 1);
    }
    return true;
  }
  bool done() const { return done_; }
  // Everything not yet read (the tail of a line whose last part is free text).
  std::string_view rest() const { return done_ ? std::string_view{} : rest_; }
  // Consumes the rest as one field.
  std::string_view takeRest() {
    if (done_) return {};
    done_ = true;
    return rest_;
  }

 private:
  std::string_view rest_;
  bool done_ = false;
};

}  // namespace sbc::sdp::detail

// Internal: RFC 3261 character classes and a cursor over header values.
// Not part of the public API (other modules include message.h / uri.h).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace sbc::sip::text {

enum CharClass : std::uint16_t {
  kAlpha = 1 << 0,
  kDigit = 1 << 1,
  kHex = 1 << 2,
  kMark = 1 << 3,        // - _ . ! ~ * ' ( )
  kToken = 1 << 4,       // alphanum - . ! % * _ + ` ' ~
  kWord = 1 << 5,        // token chars + ( ) < > : \ " / [ ] ? { }
  kUserUnres = 1 << 6,   // & = + $ , ; ? /
  kPassUnres = 1 << 7,   // & = + $ ,
  kParamUnres = 1 << 8,  // [ ] / : & + $
  kHnvUnres = 1 << 9,    // [ ] / ? : + $
  kReserved = 1 << 10,   // ; / ? : @ & = + $ ,
  kWsp = 1 << 11,        // SP HT
};

constexpr std::array<std::uint16_t, 256> makeTable() {
  std::array<std::uint16_t, 256> t{};
  for (int c = 'a'; c <= 'z'; ++c) t[c] |= kAlpha | kToken | kWord;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] |= kAlpha | kToken | kWord;
  for (int c = '0'; c <= '9'; ++c) t[c] |= kDigit | kHex | kToken | kWord;
  for (int c = 'a'; c <= 'f'; ++c) t[c] |= kHex;
  for (int c = 'A'; c <= 'F'; ++c) t[c] |= kHex;
  for (char c : std::string_view("-_.!~*'()")) t[static_cast<unsigned char>(c)] |= kMark;
  for (char c : std::string_view("-.!%*_+`'~")) t[static_cast<unsigned char>(c)] |= kToken | kWord;
  for (char c : std::string_view("()<>:\\\"/[]?{}")) t[static_cast<unsigned char>(c)] |= kWord;
  for (char c : std::string_view("&=+$,;?/")) t[static_cast<unsigned char>(c)] |= kUserUnres;
  for (char c : std::string_view("&=+$,")) t[static_cast<unsigned char>(c)] |= kPassUnres;
  for (char c : std::string_view("[]/:&+$")) t[static_cast<unsigned char>(c)] |= kParamUnres;
  for (char c : std::string_view("[]/?:+$")) t[static_cast<unsigned char>(c)] |= kHnvUnres;
  for (char c : std::string_view(";/?:@&=+$,")) t[static_cast<unsigned char>(c)] |= kReserved;
  t[' '] |= kWsp;
  t['\t'] |= kWsp;
  return t;
}

inline constexpr std::array<std::uint16_t, 256> kTable = makeTable();

inline bool is(char c, std::uint16_t cls) {
  return (kTable[static_cast<unsigned char>(c)] & cls) != 0;
}
inline bool isDigit(char c) {
  return c >= '0' && c <= '9';
}
inline bool isAlpha(char c) {
  return is(c, kAlpha);
}
inline bool isAlnum(char c) {
  return is(c, kAlpha | kDigit);
}
inline bool isHex(char c) {
  return is(c, kHex);
}
inline bool isToken(char c) {
  return is(c, kToken);
}
inline bool isWsp(char c) {
  return c == ' ' || c == '\t';
}
inline bool isUnreserved(char c) {
  return is(c, kAlpha | kDigit | kMark);
}
inline char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}
inline int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = lower(c);
  return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

// Position of the first of the bytes a, b, c, d at or after i (s.size() if
// none). SSE2 compares 16 bytes at a time; header values are scanned often.
inline std::size_t findAny(std::string_view s, std::size_t i, char a, char b, char c, char d) {
  const char* p = s.data();
  const std::size_t n = s.size();
#if defined(__SSE2__)
  const __m128i va = _mm_set1_epi8(a);
  const __m128i vb = _mm_set1_epi8(b);
  const __m128i vc = _mm_set1_epi8(c);
  const __m128i vd = _mm_set1_epi8(d);
  while (i + 16 <= n) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, va), _mm_cmpeq_epi8(v, vb)),
                               _mm_or_si128(_mm_cmpeq_epi8(v, vc), _mm_cmpeq_epi8(v, vd)));
    int mask = _mm_movemask_epi8(hit);
    if (mask != 0) return i + static_cast<std::size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
    i += 16;
  }
#endif
  while (i < n && p[i] != a && p[i] != b && p[i] != c && p[i] != d) ++i;
  return i;
}

// Position after any LWS (SP/HT, and CRLF followed by SP/HT) starting at i.
inline std::size_t skipLws(std::string_view s, std::size_t i) {
  for (;;) {
    while (i < s.size() && isWsp(s[i])) ++i;
    if (i + 2 < s.size() && s[i] == '\r' && s[i + 1] == '\n' && isWsp(s[i + 2])) {
      i += 3;
      continue;
    }
    return i;
  }
}

inline bool isAllToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!isToken(c)) return false;
  return true;
}

// Cursor over one header value. All methods are bounds-checked.
class Scanner {
 public:
  explicit Scanner(std::string_view s, std::size_t pos = 0) : s_(s), i_(pos) {}

  bool atEnd() const { return i_ >= s_.size(); }
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  std::size_t pos() const { return i_; }
  void setPos(std::size_t p) { i_ = p; }
  std::string_view rest() const { return i_ < s_.size() ? s_.substr(i_) : std::string_view{}; }
  std::string_view source() const { return s_; }
  std::string_view slice(std::size_t from, std::size_t to) const {
    return s_.substr(from, to - from);
  }

  // Returns true if any LWS was skipped.
  bool lws() {
    std::size_t j = skipLws(s_, i_);
    bool moved = j != i_;
    i_ = j;
    return moved;
  }
  bool consume(char c) {
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  // SWS c SWS (RFC 3261 25.1 separators such as EQUAL, SEMI, SLASH).
  bool sep(char c) {
    std::size_t save = i_;
    lws();
    if (consume(c)) {
      lws();
      return true;
    }
    i_ = save;
    return false;
  }
  std::string_view token() {
    std::size_t b = i_;
    while (i_ < s_.size() && isToken(s_[i_])) ++i_;
    return s_.substr(b, i_ - b);
  }
  std::string_view run(std::uint16_t cls) {
    std::size_t b = i_;
    while (i_ < s_.size() && is(s_[i_], cls)) ++i_;
    return s_.substr(b, i_ - b);
  }
  // quoted-string: returns the content without the quotes (escapes kept);
  // false if unterminated or if it holds a bare CR/LF that is not folding.
  bool quoted(std::string_view& out) {
    if (!consume('"')) return false;
    std::size_t b = i_;
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (c == '"') {
        out = s_.substr(b, i_ - b);
        ++i_;
        return true;
      }
      if (c == '\\') {
        if (i_ + 1 >= s_.size()) return false;
        char n = s_[i_ + 1];
        if (n == '\r' || n == '\n') return false;
        i_ += 2;
        continue;
      }
      if (c == '\r' || c == '\n') {
        std::size_t j = skipLws(s_, i_);
        if (j == i_) return false;
        i_ = j;
        continue;
      }
      // qdtext: no raw control characters (HT allowed); UTF-8 octets pass.
      auto u = static_cast<unsigned char>(c);
      if ((u < 0x20 && c != '\t') || u == 0x7f) return false;
      ++i_;
    }
    return false;
  }

 private:
  std::string_view s_;
  std::size_t i_;
};

}  // namespace sbc::sip::text

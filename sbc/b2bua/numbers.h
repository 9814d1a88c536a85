#pragma once
// Telephone number normalisation: what a trunk sends (per its NumberFormat)
// into E.164 digits without '+', and E.164 back into what a trunk expects.
// Pure functions on untrusted input: no exceptions, no allocation beyond the
// result (E.164 digits fit the small-string buffer).
#include <cstdint>
#include <string>
#include <string_view>

#include "sbc/config/snapshot.h"
#include "sbc/sip/uri.h"

namespace sbc::b2bua {

enum class NumberError : std::uint8_t {
  Ok,
  Empty,       // nothing but separators
  Invalid,     // letters, '*', '#', a leading 0 after the prefixes, ...
  Incomplete,  // too few digits for an E.164 number (484)
  TooLong,     // more than 15 digits
};
std::string_view toString(NumberError e);

struct NumberResult {
  std::string digits;  // E.164 digits without '+' when ok()
  NumberError error = NumberError::Ok;
  bool ok() const { return error == NumberError::Ok; }
};

// Fewest digits accepted as a complete E.164 number (country code included);
// +1 (NANP) numbers must have exactly 11.
inline constexpr std::size_t kMinE164Digits = 7;
inline constexpr std::size_t kMaxE164Digits = 15;

// `raw` as written in a URI user part or tel: number: %XX escapes are
// resolved, visual separators (RFC 3966: - . ( ) and space) dropped. Then, in
// this order: "+" -> E.164; the international prefix -> E.164; the national
// prefix -> country code + rest; with country code 1, ten digits starting
// 2-9 are a NANP national number; anything else is taken as E.164 digits.
NumberResult normalizeNumber(std::string_view raw, const cfg::NumberFormat& format);

// The number of a URI: a tel: number, or the user part (up to ';') of a
// sip/sips URI, whether or not it says user=phone.
NumberResult normalizeUriNumber(const sip::Uri& uri, const cfg::NumberFormat& format);

// E.164 digits as a trunk expects them: "+14155550100" with send_plus, else
// "14155550100".
std::string formatNumber(std::string_view e164_digits, const cfg::NumberFormat& format);

}  // namespace sbc::b2bua

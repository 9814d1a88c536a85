#include "common/http/http_date.h"

#include <array>
#include <cstdio>

namespace sbc::http {

namespace {

constexpr std::array<std::string_view, 7> kDays = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

bool digits(std::string_view s, int& out) {
  out = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  return !s.empty();
}

}  // namespace

std::string formatHttpDate(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::array<char, 40> buf{};
  int n = std::snprintf(buf.data(), buf.size(), "%s, %02d %s %04d %02d:%02d:%02d GMT",
                        kDays[static_cast<std::size_t>(tm.tm_wday % 7)].data(), tm.tm_mday,
                        kMonths[static_cast<std::size_t>(tm.tm_mon % 12)].data(), tm.tm_year + 1900,
                        tm.tm_hour, tm.tm_min, tm.tm_sec);
  return std::string(buf.data(), n > 0 ? static_cast<std::size_t>(n) : 0);
}

std::optional<std::time_t> parseHttpDate(std::string_view s) {
  // "Sun, 06 Nov 1994 08:49:37 GMT": fixed length and layout.
  if (s.size() != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' ||
      s[19] != ':' || s[22] != ':' || s.substr(25) != " GMT") {
    return std::nullopt;
  }
  std::tm tm{};
  int month = -1;
  for (std::size_t i = 0; i < kMonths.size(); ++i) {
    if (s.substr(8, 3) == kMonths[i]) month = static_cast<int>(i);
  }
  int day = 0, year = 0, hour = 0, minute = 0, second = 0;
  if (month < 0 || !digits(s.substr(5, 2), day) || !digits(s.substr(12, 4), year) ||
      !digits(s.substr(17, 2), hour) || !digits(s.substr(20, 2), minute) ||
      !digits(s.substr(23, 2), second) || day < 1 || day > 31 || hour > 23 || minute > 59 ||
      second > 60) {
    return std::nullopt;
  }
  tm.tm_mday = day;
  tm.tm_mon = month;
  tm.tm_year = year - 1900;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  return timegm(&tm);
}

std::string_view currentHttpDate() {
  thread_local std::time_t cached_at = 0;
  thread_local std::string cached;
  std::time_t now = std::time(nullptr);
  if (now != cached_at) {
    cached = formatHttpDate(now);
    cached_at = now;
  }
  return cached;
}

}  // namespace sbc::http

#pragma once
// HTTP dates (RFC 9110 5.6.7): IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT".
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace sbc::http {

std::string formatHttpDate(std::time_t t);
// IMF-fixdate only; the two obsolete forms answer nullopt (treated as absent).
std::optional<std::time_t> parseHttpDate(std::string_view text);
// The current time, formatted at most once per second per thread.
std::string_view currentHttpDate();

}  // namespace sbc::http

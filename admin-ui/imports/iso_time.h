#pragma once
// RFC 3339 date-times for API bodies and CSV: "2026-12-01T15:30:00Z",
// "2026-12-01T15:30:00.250+01:00". libstdc++ 12 has no std::chrono::parse.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace sbc::admin::imports {

using TimePoint = std::chrono::sys_time<std::chrono::microseconds>;

// Seconds and the offset are required (a time without a zone is ambiguous);
// fractions up to microseconds; 'T' or ' ' between date and time.
std::optional<TimePoint> parseIsoTime(std::string_view text);
// UTC with milliseconds when non-zero: "2026-12-01T14:30:00Z", "...:00.250Z".
std::string formatIsoTime(TimePoint t);

}  // namespace sbc::admin::imports

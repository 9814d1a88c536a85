#pragma once
// Logging set-up shared by every process: one line per event, level settable
// at run time.
#include <string_view>

namespace sbc::common {

// Installs the default logger ("sbc", "relay", ...) writing to stderr.
// level: trace, debug, info, warn, error, critical, off.
void initLogging(std::string_view process_name, std::string_view level);

// Changes the level of the default logger; false for an unknown level name.
bool setLogLevel(std::string_view level);

}  // namespace sbc::common

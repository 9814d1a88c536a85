#pragma once
// Logging set-up shared by every process: one line per event, level settable
// at run time (PUT /api/log-level, see log_http.h).
//
// Line format (logfmt, one event per line, docs/OPERATIONS.md "Logs"):
//   2026-11-25T23:10:00.123+00:00 level=info proc=sbc tid=4242 msg="sbc 0.1 starting"
//   2026-11-25T23:10:05.456+00:00 level=info proc=sbc tid=4242 event=call_end call_id=abc@pbx
//   trunk=pbx-a ...
// A message that starts with "event=" is already key=value and is written as
// is; any other message is quoted into msg="...". Values that come from the
// network (Call-IDs, numbers) go through logValue() so that a crafted value
// cannot forge keys or lines.
#include <string>
#include <string_view>

namespace sbc::common {

// Installs the default logger ("sbc", "relay", ...) writing to stderr.
// level: trace, debug, info, warn, error, critical, off.
void initLogging(std::string_view process_name, std::string_view level);

// Changes the level of every logger; false (and nothing changed) for an
// unknown level name.
bool setLogLevel(std::string_view level);
// The default logger's level name ("info", ...).
std::string_view logLevel();

// A logfmt value: as is when it is a non-empty run of printable characters
// other than space, '"', '=' and '\'; otherwise double-quoted with '"' and '\'
// escaped and control or non-ASCII bytes as \xNN. Empty gives "".
std::string logValue(std::string_view value);

}  // namespace sbc::common

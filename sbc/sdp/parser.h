// parse(): SDP text -> SessionDescription, or an Error naming the line and the fault.
#pragma once

#include <cstddef>
#include <string_view>

#include "sbc/sdp/result.h"
#include "sbc/sdp/session_description.h"

namespace sbc::sdp {

struct ParseOptions {
  // Accept what broken but common devices send (see README.md, "Strict and lenient"):
  // missing s=/t=, lines out of order, trailing whitespace, blank lines, malformed
  // known attributes (kept as opaque lines that typed accessors skip), m= without
  // formats, media without any c=, non-numeric o= ids.
  bool lenient = false;
  // Bounds on the work hostile input can cause; exceeding one is an error.
  std::size_t maxBytes = std::size_t{64} * 1024;
  std::size_t maxLines = 1024;
  std::size_t maxLineLength = 4096;  // values above 65535 act as 65535
  std::size_t maxMedia = 64;
};

inline constexpr ParseOptions kStrict{};
inline constexpr ParseOptions kLenient{.lenient = true};

// Never throws, never reads outside `text`, work linear in text.size().
// Accepts CRLF or bare LF line endings and a missing final line ending.
Result<SessionDescription> parse(std::string_view text, const ParseOptions& options = {});

}  // namespace sbc::sdp

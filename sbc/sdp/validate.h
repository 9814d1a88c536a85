// Internal: the RFC 8866 grammar checks shared by the parser (strict mode) and the
// mutation API (which only ever writes lines that a strict parse accepts).
#pragma once

#include <string_view>

#include "sbc/sdp/result.h"

namespace sbc::sdp::detail {

enum class Level : std::uint8_t { kSession, kMedia };

struct AttributeParts {
  std::string_view name;
  std::string_view value;
  bool hasValue = false;
};
AttributeParts splitAttribute(std::string_view text);

// Position of a known line type in the RFC 8866 order of its section, or -1 for a
// type that has no place there (unknown letters, or session-only letters in media).
int rankOf(Level level, char type);

// Strict check of a line's value (the text after "x="). ErrorCode::kNone if valid.
// Unknown type letters only need a non-empty value.
ErrorCode checkLineValue(char type, std::string_view value);

// Strict check of an attribute line's value ("name" or "name:value").
ErrorCode checkAttribute(std::string_view text);

bool isValidRepeat(std::string_view value);
bool isValidTimeZones(std::string_view value);

}  // namespace sbc::sdp::detail

// Encoding and strict decoding of control protocol lines (no trailing '\n').
// Decoders never throw and bound their work: a line over kMaxLineBytes is
// rejected before parsing, nesting is limited, every string is length-checked.
#pragma once

#include <string>
#include <string_view>

#include "common/relayctl/protocol.h"

namespace sbc::relayctl {

std::string encode(const Request& request);
std::string encode(const Response& response);

Result<Request> decodeRequest(std::string_view line);
Result<Response> decodeResponse(std::string_view line);

// The error response for a request that failed to decode: carries the
// request's id when it could be read, so that the SBC can match it.
Response errorResponse(std::string_view line, const Error& error);

}  // namespace sbc::relayctl

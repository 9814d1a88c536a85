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
std::string encode(const Event& event);

Result<Request> decodeRequest(std::string_view line);
Result<Response> decodeResponse(std::string_view line);
// Strict: the envelope must be {"version","event","call_id","leg","stats"}.
Result<Event> decodeEvent(std::string_view line);

// Cheap test, without parsing, of whether a line from the relay is an event
// (has an "event" key) rather than a response: the client calls decodeEvent()
// when true, decodeResponse() otherwise. The key cannot be faked from inside a
// string value, because a quote inside a JSON string is always escaped.
bool isEventLine(std::string_view line);

// The error response for a request that failed to decode: carries the
// request's id when it could be read, so that the SBC can match it.
Response errorResponse(std::string_view line, const Error& error);

}  // namespace sbc::relayctl

#pragma once
// Transaction keys (RFC 3261 17.1.3, 17.2.3) and the RFC 2543 comparisons.
// Keys are appended to a caller-owned buffer so that a lookup reuses one
// string's capacity instead of allocating.
#include <cstdint>
#include <string>
#include <string_view>

#include "sbc/sip/headers.h"
#include "sbc/sip/message.h"

namespace sbc::txn {

// The method a request is matched under: ACK matches the INVITE it
// acknowledges (RFC 3261 17.2.3); every other method matches itself.
std::string_view matchMethod(const sip::Message& request);

// Port of the Via sent-by, with the transport's default when absent.
std::uint16_t sentByPort(const sip::Via& via);

// RFC 3261 17.2.3: branch + sent-by (host case-insensitive, port defaulted) +
// method. Requires via.hasRfc3261Branch().
void appendServerKey(std::string& out, const sip::Via& top, std::string_view method);

// RFC 3261 17.1.3: branch of the top Via + CSeq method (CANCEL shares the
// INVITE's branch).
void appendClientKey(std::string& out, std::string_view branch, std::string_view method);

// RFC 2543 (RFC 3261 17.2.3, last paragraphs): the part of the RFC 2543
// identity that can be hashed: Call-ID, CSeq number, From tag, top Via sent-by
// and method. Request-URI, To tag and the rest of the Via are compared on the
// candidates. False when a needed header does not parse.
bool append2543Key(std::string& out, const sip::Message& request, std::string_view method);

// "Top Via header field match" for RFC 2543 requests: transport, sent-by and
// branch (which such clients may still send, without the cookie).
bool sameVia2543(const sip::Via& a, const sip::Via& b);

}  // namespace sbc::txn

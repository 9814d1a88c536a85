// Error codes and the Result type every parser of sbc::sip returns.
// Untrusted input never throws: a parse either yields a value or a ParseError
// that maps to the SIP status a UAS should answer with.
#pragma once

#include <cassert>
#include <cstdint>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>

namespace sbc::sip {

enum class ParseError : std::uint8_t {
  Ok = 0,
  Missing,  // the header is absent (accessors of optional headers)

  // Hard failures: the message cannot be answered and is discarded.
  Empty,              // no bytes / only CRLFs
  BadStartLine,       // neither a Request-Line nor a Status-Line
  BadStatusCode,      // response code not 3 digits in 100..699
  IncompleteHeaders,  // no empty line terminating the header section
  NoUsableVia,        // request or response without a parsable top Via
  ResponseUnusable,   // response without usable CSeq/Call-ID/From/To

  // The message parsed but is invalid: answer with errorStatus().
  BadVersion,             // 505
  BadRequestLine,         // 400: extra/trailing SP, <> or LWS in Request-URI
  BadRequestUri,          // 400: Request-URI does not parse
  BadHeaderLine,          // 400: line without a colon, bad header name, stray CR/LF
  TooManyHeaders,         // 400
  BadContentLength,       // 400: not a number, negative, overlarge
  MultipleContentLength,  // 400
  BodyTooShort,           // 400: Content-Length larger than the bytes received
  MissingContentLength,   // 400: stream transports need Content-Length
  BadVia,
  BadFrom,
  BadTo,
  BadCallId,
  BadCSeq,
  BadMaxForwards,
  BadContact,
  BadRoute,
  BadRecordRoute,
  BadContentType,
  BadHeaderValue,              // 400: any other strictly parsed header
  MissingHeader,               // 400: a mandatory header is absent
  DuplicateHeader,             // 400: several values in a single-value header
  CSeqMethodMismatch,          // 400
  EscapedHeadersInRequestUri,  // 400 (our policy for SIP/SIPS Request-URIs)
  BadDate,                     // 400 (only when the policy rejects bad Date headers)

  // Request validation (validateRequest) results.
  UnsupportedUriScheme,  // 416
  BadExtension,          // 420 + Unsupported
  UnsupportedMediaType,  // 415 + Accept
  NotAcceptable,         // 406 + Accept
  TooManyHops,           // 483
  MethodNotAllowed,      // 405 + Allow
  NotImplemented,        // 501 + Allow
};

struct ErrorStatus {
  int code;                 // SIP status code; 0 for Ok, -1 for "discard"
  std::string_view reason;  // reason phrase to put in the response
};

// The status a UAS answers with; code -1 means "discard, do not answer".
ErrorStatus errorStatus(ParseError e);
// True for the errors after which no response can be built.
bool isDiscard(ParseError e);
// Short stable name for logs and metrics, e.g. "bad_cseq".
std::string_view toString(ParseError e);

// Either a value or a ParseError. No exceptions: value() on an error is a bug
// (asserted in debug builds).
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit on purpose
  Result(ParseError error) : error_(error) { assert(error != ParseError::Ok); }  // NOLINT

  bool ok() const { return error_ == ParseError::Ok; }
  explicit operator bool() const { return ok(); }
  ParseError error() const { return error_; }

  const T& value() const& {
    assert(ok());
    return *value_;
  }
  T& value() & {
    assert(ok());
    return *value_;
  }
  // By value on temporaries, so that `for (x : *msg.require())` does not
  // iterate a reference into a destroyed Result.
  T value() && {
    assert(ok());
    return std::move(*value_);
  }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  T operator*() && { return std::move(*this).value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }
  T valueOr(T fallback) const { return ok() ? *value_ : std::move(fallback); }

 private:
  std::optional<T> value_;
  ParseError error_ = ParseError::Ok;
};

// Reference flavour: accessors of cached structures return a view of the
// cache instead of a copy.
template <class T>
class [[nodiscard]] Result<const T&> {
 public:
  Result(const T& value) : value_(&value) {}                                     // NOLINT
  Result(ParseError error) : error_(error) { assert(error != ParseError::Ok); }  // NOLINT

  bool ok() const { return error_ == ParseError::Ok; }
  explicit operator bool() const { return ok(); }
  ParseError error() const { return error_; }
  const T& value() const {
    assert(ok());
    return *value_;
  }
  const T& operator*() const { return value(); }
  const T* operator->() const { return value_; }

 private:
  const T* value_ = nullptr;
  ParseError error_ = ParseError::Ok;
};

}  // namespace sbc::sip

// Error reporting for the SDP module: parse functions return Result<T>, never throw.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace sbc::sdp {

enum class ErrorCode : std::uint8_t {
  kNone = 0,
  // Input limits (bounded work on hostile input).
  kTooLarge,
  kTooManyLines,
  kLineTooLong,
  kTooManyMedia,
  // Line framing.
  kEmpty,
  kBadLine,       // not "<a-z>=<value>"
  kBadCharacter,  // NUL, or CR not followed by LF
  kEmptyLine,     // blank line before the end
  kEmptyValue,    // "<x>=" with nothing after it where the grammar wants text
  // Structure.
  kMissingVersion,
  kBadVersion,
  kMissingOrigin,
  kBadOrigin,
  kMissingSessionName,
  kMissingTiming,
  kBadTiming,
  kBadRepeat,
  kBadTimeZone,
  kMisplacedLine,  // known line out of RFC 8866 order, or not allowed at this level
  kDuplicateLine,
  kBadConnection,
  kMissingConnection,
  kBadBandwidth,
  kBadMedia,
  // Attributes.
  kBadAttribute,  // bad name, empty value, or a value on a flag attribute
  kBadRtpmap,
  kBadFmtp,
  kBadPtime,
  kBadCrypto,
  kBadRtcp,
  kBadIce,
  kBadCandidate,
  kBadFingerprint,
  kBadSetup,
  kBadMid,
  kBadSsrc,
};

// Static, human-readable description of a code (for logs and SIP reason text).
std::string_view describe(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kNone;
  std::uint32_t line = 0;  // 1-based line of the input; 0 when not tied to a line

  std::string_view message() const { return describe(code); }
  // "line 7: malformed a=crypto" (allocates; meant for logs).
  std::string toString() const;
  friend bool operator==(const Error&, const Error&) = default;
};

// Either a value or an Error. value()/operator* on an error is a programming bug
// (checked with std::get, which the data path never reaches after ok()).
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(error) {}         // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // Error{} (code kNone) when ok().
  Error error() const { return ok() ? Error{} : std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

}  // namespace sbc::sdp

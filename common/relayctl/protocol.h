// Relay control protocol: the messages the SBC and the media relay exchange,
// one JSON object per line over one TCP connection per SBC. See
// docs/RELAY_PROTOCOL.md for the wire format; codec.h turns these into lines.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace sbc::relayctl {

inline constexpr int kProtocolVersion = 1;
inline constexpr std::size_t kMaxLineBytes = std::size_t{64} * 1024;
inline constexpr std::size_t kMaxIdLength = 64;
inline constexpr std::size_t kMaxCallIdLength = 128;
inline constexpr std::size_t kMaxPayloadTypes = 32;
inline constexpr std::size_t kMaxEncodingLength = 32;
inline constexpr std::size_t kMaxMessageLength = 256;
inline constexpr std::uint32_t kMaxMediaTimeoutSeconds = 86400;
inline constexpr int kMaxJsonDepth = 8;

enum class ErrorCode : std::uint8_t {
  kBadJson,
  kUnknownVerb,
  kBadField,
  kUnknownSession,
  kNoPorts,
  kVersionUnsupported,
  kTooLarge,
  kInternal,
};
std::string_view toString(ErrorCode code);  // the wire name, e.g. "bad_field"
std::optional<ErrorCode> errorCodeFromString(std::string_view name);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string field;    // dotted path for kBadField ("legs[1].rtp.port"), else empty
  std::string message;  // human-readable, for logs
  friend bool operator==(const Error&, const Error&) = default;
};

// Either a value or an Error; decoding never throws.
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

enum class Realm : std::uint8_t { kInside, kOutside };
enum class Direction : std::uint8_t { kSendRecv, kSendOnly, kRecvOnly, kInactive };
// Which first source may latch a leg that has a signalled remote (create
// only; docs/RELAY_PROTOCOL.md "latch"). Either way the leg never re-latches.
enum class LatchMode : std::uint8_t {
  kStrict,     // the signalled ip:port, or the signalled IP within the window
  kWindowAny,  // any source within the window (multi-homed PBX), then strict
};

struct Endpoint {
  std::string address;  // IPv4 or IPv6 literal, never a host name
  std::uint16_t port = 0;
  friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

struct PayloadType {
  std::uint8_t pt = 0;   // 0..127
  std::string encoding;  // "PCMU", "opus", ...
  std::uint32_t clockRate = 0;
  friend bool operator==(const PayloadType&, const PayloadType&) = default;
};

// SRTP keying for one leg. In a request either `key` is set or `generate` is
// true (the relay makes the key); in a response `key` is what the relay uses.
struct Crypto {
  std::string suite;  // SDES name: AES_CM_128_HMAC_SHA1_80, ..., AEAD_AES_256_GCM
  std::string key;    // base64 of master key || master salt, exact suite length
  bool generate = false;
  friend bool operator==(const Crypto&, const Crypto&) = default;
};

// Master key + salt length of a suite the protocol accepts; nullopt if unknown.
std::optional<std::size_t> suiteMasterLength(std::string_view suite);

struct LegSpec {
  Realm realm = Realm::kInside;
  std::optional<Endpoint> rtp;   // remote; absent until known (latching)
  std::optional<Endpoint> rtcp;  // remote RTCP when not rtcp-mux
  bool rtcpMux = false;
  std::vector<PayloadType> payloadTypes;
  std::optional<std::uint8_t> telephoneEventPt;
  std::optional<Crypto> crypto;  // absent: plain RTP
  Direction direction = Direction::kSendRecv;
  std::uint32_t mediaTimeoutSeconds = 0;  // 0: no media timeout
  LatchMode latch = LatchMode::kStrict;
  friend bool operator==(const LegSpec&, const LegSpec&) = default;
};

// Only the fields present change.
struct LegUpdate {
  std::optional<Endpoint> rtp;
  std::optional<Endpoint> rtcp;
  std::optional<bool> rtcpMux;
  std::optional<std::vector<PayloadType>> payloadTypes;
  std::optional<std::uint8_t> telephoneEventPt;
  std::optional<Crypto> crypto;  // re-key
  bool plain = false;            // back to plain RTP: both keys dropped (never with crypto)
  std::optional<Direction> direction;
  std::optional<std::uint32_t> mediaTimeoutSeconds;
  friend bool operator==(const LegUpdate&, const LegUpdate&) = default;
};

struct CreateRequest {
  std::string callId;
  std::array<LegSpec, 2> legs;  // [0] = A leg (caller side), [1] = B leg
  friend bool operator==(const CreateRequest&, const CreateRequest&) = default;
};
struct UpdateRequest {
  std::string callId;
  std::array<LegUpdate, 2> legs;
  friend bool operator==(const UpdateRequest&, const UpdateRequest&) = default;
};
struct DestroyRequest {
  std::string callId;
  friend bool operator==(const DestroyRequest&, const DestroyRequest&) = default;
};
struct QueryRequest {
  std::string callId;
  friend bool operator==(const QueryRequest&, const QueryRequest&) = default;
};
struct PingRequest {
  friend bool operator==(const PingRequest&, const PingRequest&) = default;
};

using RequestBody =
    std::variant<CreateRequest, UpdateRequest, DestroyRequest, QueryRequest, PingRequest>;

struct Request {
  std::string id;  // unique per connection; a repeat is answered from cache
  int version = kProtocolVersion;
  RequestBody body;
  friend bool operator==(const Request&, const Request&) = default;
};

struct LegAllocation {
  std::string localAddress;  // where the remote side sends (IP literal)
  std::uint16_t rtpPort = 0;
  std::uint16_t rtcpPort = 0;    // == rtpPort under rtcp-mux
  std::optional<Crypto> crypto;  // the key the relay sends with, when SRTP
  friend bool operator==(const LegAllocation&, const LegAllocation&) = default;
};

struct LegStats {
  std::uint64_t packetsIn = 0;
  std::uint64_t bytesIn = 0;
  std::uint64_t packetsOut = 0;
  std::uint64_t bytesOut = 0;
  std::uint64_t lost = 0;
  std::uint32_t jitterUs = 0;
  std::uint64_t srtpAuthFailures = 0;
  std::uint64_t rtpTimeouts = 0;
  friend bool operator==(const LegStats&, const LegStats&) = default;
};

struct CreateResponse {
  std::array<LegAllocation, 2> legs;
  friend bool operator==(const CreateResponse&, const CreateResponse&) = default;
};
struct UpdateResponse {
  std::array<LegAllocation, 2> legs;
  friend bool operator==(const UpdateResponse&, const UpdateResponse&) = default;
};
struct DestroyResponse {
  std::array<LegStats, 2> legs;
  friend bool operator==(const DestroyResponse&, const DestroyResponse&) = default;
};
struct QueryResponse {
  std::array<LegStats, 2> legs;
  friend bool operator==(const QueryResponse&, const QueryResponse&) = default;
};
struct PongResponse {
  std::uint32_t sessions = 0;
  std::uint32_t portsFree = 0;
  friend bool operator==(const PongResponse&, const PongResponse&) = default;
};

using ResponseBody = std::variant<CreateResponse, UpdateResponse, DestroyResponse, QueryResponse,
                                  PongResponse, Error>;

struct Response {
  std::string id;  // the request's id; empty when the request had none readable
  int version = kProtocolVersion;
  ResponseBody body;
  friend bool operator==(const Response&, const Response&) = default;
};

// Unsolicited relay -> SBC notifications on the same connection. An event
// line carries "event" where a response carries "id" (and never both), so the
// SBC tells them apart with isEventLine() before decoding (codec.h).
enum class EventKind : std::uint8_t {
  kMediaTimeout,    // no packets on `leg` for its media_timeout (sent once per leg)
  kSessionExpired,  // the relay freed the session (owner gone past the TTL); one per leg
};
std::string_view toString(EventKind kind);  // the wire name, e.g. "media_timeout"

struct Event {
  EventKind kind = EventKind::kMediaTimeout;
  std::string callId;
  std::uint8_t leg = 0;  // 0 = A leg, 1 = B leg
  LegStats stats;        // that leg's counters when the event was raised
  int version = kProtocolVersion;
  friend bool operator==(const Event&, const Event&) = default;
};

}  // namespace sbc::relayctl

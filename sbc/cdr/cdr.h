#pragma once
// One call detail record per call attempt (answered or not), filled by the
// B2BUA as the call progresses and submitted to CdrWriter when it ends.
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sbc::cdr {

enum class Direction : std::uint8_t {
  Inbound,   // carrier -> PBX
  Outbound,  // PBX -> carrier
  Internal,  // PBX -> PBX (a DID of ours called from a PBX)
};

enum class EndedBy : std::uint8_t { Caller, Callee, Sbc };

// One leg's media as the relay counted it: packets/bytes are what it
// received from that leg's party, *_out what it sent to that party.
struct LegMedia {
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
  std::uint64_t packets_lost = 0;
  double jitter_ms = 0;
  std::uint64_t packets_out = 0;
  std::uint64_t bytes_out = 0;
  std::uint64_t srtp_failures = 0;
};

// A random (version 4) UUID, "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx".
std::string newUuid();

struct Cdr {
  using Time = std::chrono::system_clock::time_point;

  // The idempotency key: with start_time, what makes a replayed record a
  // duplicate rather than a second call.
  std::string uuid = newUuid();
  std::string node;
  Direction direction = Direction::Outbound;
  std::string a_call_id;         // as received from the caller
  std::string b_call_id;         // the SBC's own, towards the callee
  std::int64_t in_trunk_id = 0;  // 0: unknown (stored as NULL)
  std::string in_trunk;          // name at the time of the call
  std::int64_t out_trunk_id = 0;
  std::string out_trunk;
  std::string caller_in;  // as received
  std::string callee_in;
  std::string caller_out;  // as sent
  std::string callee_out;
  std::string routing_number;  // RFC 4694 rn used for routing, if any
  Time start_time{};           // the initial INVITE's arrival; required
  std::optional<Time> ringing_time;
  std::optional<Time> answer_time;
  std::optional<Time> end_time;
  int sip_code = 0;  // final response to the caller; 0: none
  std::string sip_reason;
  std::optional<int> q850_cause;
  EndedBy ended_by = EndedBy::Sbc;
  // Why: "bye", "cancel", "session-timer", "no-ack", "max-duration",
  // "media-timeout", "shutdown", "limit", ...
  std::string end_reason;
  std::uint32_t failover_attempts = 0;
  std::vector<std::string> tried_gateways;  // "host:port/transport" in order
  LegMedia a_media;  // filled by the media relay's final stats; zero until then
  LegMedia b_media;
  std::string media_relay;   // "address:port" of the relay; empty: media not anchored
  bool media_stats = false;  // the relay's final stats arrived (false: zeros are unknown)

  // Answer to end, 0 when never answered.
  std::int64_t durationMs() const;
};

// The cdrs columns CdrWriter writes, in order; Row holds one record's values
// as PostgreSQL text (nullopt: NULL). The spool stores rows in this form.
using Row = std::vector<std::optional<std::string>>;
std::span<const std::string_view> columns();
Row toRow(const Cdr& c);

// The same row in PostgreSQL COPY text format (tab-separated, `\N` for NULL,
// backslash escapes), appended to `out` without the final newline: what
// CdrWriter streams, written straight from the record with no Row and no
// string per value (the CDR thread's cost per call).
void appendCopyRow(std::string& out, const Cdr& c);
// A value in COPY text format (the escapes of appendCopyRow); a NUL becomes '?'.
void appendCopyText(std::string& out, std::string_view value);
// "2024-05-01 12:34:56.789012+00"
std::string formatTimestamp(Cdr::Time t);
// {"a","b\"c"}: a PostgreSQL text[] literal.
std::string formatTextArray(std::span<const std::string> items);

std::string_view toString(Direction d);
std::string_view toString(EndedBy e);

}  // namespace sbc::cdr

#pragma once
// One record per call attempt (CDR), emitted exactly once through the
// engine's CallRecordSink when the call ends, whatever ended it.
#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "sbc/b2bua/policy.h"
#include "sbc/config/snapshot.h"

namespace sbc::b2bua {

enum class EndedBy : std::uint8_t { Caller, Callee, Sbc };
std::string_view toString(EndedBy e);

// One leg's media as the relay counted it: "in" is what the relay received
// from that leg's party, "out" what it sent to that party.
struct LegMediaStats {
  std::uint64_t packets_in = 0;
  std::uint64_t bytes_in = 0;
  std::uint64_t packets_out = 0;
  std::uint64_t bytes_out = 0;
  std::uint64_t packets_lost = 0;
  double jitter_ms = 0;
  std::uint64_t srtp_failures = 0;  // SRTP/SRTCP authentication failures (dropped)
};

struct CallRecord {
  using Time = std::chrono::system_clock::time_point;

  std::string a_call_id;  // as the caller sent it
  std::string b_call_id;  // ours, of the last B leg tried
  cfg::TrunkId inbound_trunk_id = 0;
  std::string inbound_trunk;
  cfg::TrunkId outbound_trunk_id = 0;  // the trunk that answered, or the last tried
  std::string outbound_trunk;
  Direction direction = Direction::Outbound;

  std::string caller_in;       // From user part as received
  std::string callee_in;       // Request-URI user part as received
  std::string caller_out;      // From user part as sent on the B leg
  std::string callee_out;      // Request-URI user part as sent on the B leg
  std::string routing_number;  // RFC 4694 rn, if any

  Time start{};    // INVITE received
  Time ringing{};  // first 18x relayed to the caller; epoch if none
  Time answer{};   // 2xx relayed to the caller; epoch if never answered
  Time end{};

  int final_code = 0;  // the final response the caller got (200 for answered calls)
  std::string final_reason;
  int q850_cause = -1;  // from a Reason header seen on the ending message; -1 none

  EndedBy ended_by = EndedBy::Sbc;
  // "bye", "cancel", "rejected", "failed", "no-ack", "max-duration",
  // "session-timer", "ring-timeout", "media", "shutdown", "limit", ...
  std::string ended_reason;

  std::uint32_t failover_attempts = 0;      // targets tried after the first
  std::vector<std::string> gateways_tried;  // "host:port" in order

  // The engine's handle of the call: lets the media anchor's final stats,
  // which arrive after the record, find it.
  std::uint64_t call_handle = 0;
  // "address:port" of the media relay that carried the call; empty when the
  // media was not anchored.
  std::string media_relay;
  bool media_stats = false;              // the relay's final stats arrived in time
  std::array<LegMediaStats, 2> media{};  // [0] A leg, [1] B leg

  bool answered() const { return answer != Time{}; }
  std::chrono::milliseconds duration() const {
    return answered() ? std::chrono::duration_cast<std::chrono::milliseconds>(end - answer)
                      : std::chrono::milliseconds{0};
  }
};

using CallRecordSink = std::function<void(CallRecord&&)>;

}  // namespace sbc::b2bua

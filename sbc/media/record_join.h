#pragma once
// Holds the call record of an anchored call until its relay session's final
// per-leg stats (the destroy reply) arrive, so that the CDR carries them. The
// engine emits the record at the end of the call, right after it released
// the media; the relay answers the destroy a few milliseconds later. A record
// waits at most `deadline`: then (or at once when the destroy failed) it goes
// out without stats, counted. Records of calls with no destroy in flight
// (unanchored, or released before the relay created the session) pass
// straight through. Everything runs on the SIP thread: nothing here blocks.
#include <chrono>
#include <cstdint>
#include <memory>
#include <unordered_map>

#include "common/relayctl/protocol.h"
#include "sbc/b2bua/call_record.h"
#include "sbc/media/relay_anchor.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace sbc::media {

struct RecordJoinStats {
  std::uint64_t joined = 0;     // records written with the relay's stats
  std::uint64_t timed_out = 0;  // written without: no answer within the deadline
  std::uint64_t failed = 0;     // written without: the relay refused the destroy
};

// Relay counters as the CDR's units (jitter in ms).
b2bua::LegMediaStats toLegMedia(const relayctl::LegStats& s);

class RecordJoin {
 public:
  // Takes the anchor's stats sink; `out` gets every record exactly once.
  RecordJoin(boost::asio::io_context& io, RelayAnchor& anchor, std::chrono::milliseconds deadline,
             b2bua::CallRecordSink out);
  ~RecordJoin();  // flush()es
  RecordJoin(const RecordJoin&) = delete;
  RecordJoin& operator=(const RecordJoin&) = delete;

  // The engine's CallRecordSink.
  void onRecord(b2bua::CallRecord&& record);
  // Emits every held record now, without stats (shutdown).
  void flush();

  std::size_t held() const { return held_.size(); }
  const RecordJoinStats& stats() const { return stats_; }

 private:
  struct Held;
  void onStats(b2bua::CallHandle call, const std::array<relayctl::LegStats, 2>* stats);
  void emit(b2bua::CallHandle call);

  boost::asio::io_context& io_;
  RelayAnchor& anchor_;
  std::chrono::milliseconds deadline_;
  b2bua::CallRecordSink out_;
  std::unordered_map<b2bua::CallHandle, std::unique_ptr<Held>> held_;
  RecordJoinStats stats_;
};

}  // namespace sbc::media

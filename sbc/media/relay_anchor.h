#pragma once
// b2bua::MediaAnchor over the media relay: every offer and answer of a call
// goes through the relay, one relay session per anchored m= line (created on
// the first offer that carries the line, updated by answers and re-offers,
// re-created when a failover target is in another realm or has another media
// policy), and the SDP each leg gets carries only the relay's address and
// ports (sdp_anchor.h). Runs on the SIP thread; the continuation
// runs when the relay answers (RelayClient callbacks, same thread).
//
// Ends calls through the engine (set with setEndCall) when the relay reports
// a media timeout or an expired session, and when the call's relay is lost.
#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/relayctl/protocol.h"
#include "sbc/b2bua/engine.h"
#include "sbc/b2bua/sdp_rewriter.h"
#include "sbc/media/relay_client.h"
#include "sbc/media/sdp_anchor.h"

namespace sbc::media {

struct RelayAnchorOptions {
  std::uint32_t media_timeout_seconds = 0;  // per leg, 0: off
  // Relay session ids are "<prefix>-<call handle>": the prefix must be unique
  // per process run (node name + start-up randomness).
  std::string session_prefix = "sbc";
};

// "<node name>.<8 random hex>": relay session ids stay unique across SBC
// restarts (the relay keeps a dead SBC's sessions for a TTL). Characters the
// protocol does not allow in ids become '_'.
std::string sessionPrefix(std::string_view node_name);

// Counters of the anchor (SIP thread; read with stats()).
struct AnchorStats {
  std::uint64_t sessions_created = 0;
  std::uint64_t sessions_destroyed = 0;
  std::uint64_t offers = 0;
  std::uint64_t answers = 0;
  std::uint64_t failures = 0;          // relay refused or did not answer
  std::uint64_t not_acceptable = 0;    // policy vs SDP (488)
  std::uint64_t no_relay = 0;          // no healthy relay for a new call
  std::uint64_t media_timeouts = 0;    // calls ended by a media timeout event
  std::uint64_t relay_lost_calls = 0;  // calls ended because their relay went away
  std::uint64_t reanchored = 0;        // calls given new sessions for a new target
  std::uint64_t streams_removed = 0;   // m= lines turned off mid-call (session destroyed)
};

class RelayAnchor final : public b2bua::MediaAnchor {
 public:
  using EndCall = std::function<void(b2bua::CallHandle, b2bua::EndReason)>;
  // The outcome of a released call's destroy: its final per-leg stats ([0] A,
  // [1] B) for the CDR, or nullptr when the relay refused or did not answer.
  using StatsSink =
      std::function<void(b2bua::CallHandle, const std::array<relayctl::LegStats, 2>* stats)>;

  RelayAnchor(RelayClient& client, RelayAnchorOptions options);
  ~RelayAnchor() override;

  void setEndCall(EndCall end_call);
  void setStatsSink(StatsSink sink);

  // b2bua::MediaAnchor
  void setLegs(b2bua::CallHandle call, const b2bua::MediaLeg& a, const b2bua::MediaLeg& b) override;
  void anchorOffer(b2bua::CallHandle call, b2bua::LegSide from, std::string sdp,
                   Continuation done) override;
  void anchorAnswer(b2bua::CallHandle call, b2bua::LegSide from, std::string sdp,
                    Continuation done) override;
  void release(b2bua::CallHandle call) override;

  // "address:port" of the relay carrying the call; empty if none.
  std::string relayOf(b2bua::CallHandle call) const;
  // While a released call's destroy is in flight (its StatsSink call still to
  // come): "address:port" of its relay. nullopt otherwise.
  std::optional<std::string> destroyPending(b2bua::CallHandle call) const;
  std::size_t sessionCount() const;
  const AnchorStats& stats() const;

  struct Session;

 private:
  struct Exchange;
  void onEvent(std::size_t relay, const relayctl::Event& event);
  // The call's session when a relay exchange completes; null when the call
  // is gone, or was released meanwhile (its sessions are then freed).
  Session* settled(b2bua::CallHandle call);
  // Sends one exchange's create/update requests (all in flight at once);
  // `leg` is the leg whose peer's SDP they carry; `finish` runs on the last
  // answer.
  void sendRequests(Session& s, int leg,
                    std::vector<std::pair<std::size_t, relayctl::RequestBody>> requests,
                    const std::shared_ptr<Exchange>& ex, std::function<void()> finish,
                    std::string_view what);
  void writeSdp(Exchange& ex, const std::vector<std::optional<LocalStream>>& locals);
  // Destroys stream `i`'s relay session (its counters go into the call's
  // totals); `final`: at release, where a failure means "no stats".
  void destroyStream(Session& s, std::size_t i, bool final);
  // Sends destroy for every created stream session of `s`; with `report`,
  // the summed stats go to the StatsSink once all are answered.
  void destroyStreams(Session& s, bool report);
  void onRelayLost(std::size_t relay);

  RelayClient& client_;
  RelayAnchorOptions options_;
  EndCall end_call_;
  StatsSink stats_sink_;
  std::unordered_map<b2bua::CallHandle, std::unique_ptr<Session>> sessions_;
  std::unordered_map<b2bua::CallHandle, std::string> destroying_;  // -> relay endpoint
  AnchorStats stats_;
  // Continuations and relay callbacks check this before touching `this`.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace sbc::media

#pragma once
// The B2BUA call engine of one SIP thread: the transaction user that turns
// every new INVITE into a Call of two dialogs (A leg towards the caller, B leg
// towards the callee) and relays between them with full topology hiding.
//
// Ownership and wiring: the Engine owns its TransactionLayer (they reference
// each other); the app gives it the thread's TimerService and a
// MessageSender bridged to the transport, feeds every parsed message into
// onReceived() and every asynchronous transport failure into
// onTransportError(). Single-threaded: every call happens on the SIP thread
// (MediaAnchor continuations included).
#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sbc/b2bua/call_record.h"
#include "sbc/b2bua/ids.h"
#include "sbc/b2bua/message_tap.h"
#include "sbc/b2bua/policy.h"
#include "sbc/b2bua/sdp_rewriter.h"
#include "sbc/config/snapshot.h"
#include "sbc/sip/message.h"
#include "sbc/sip/validate.h"
#include "sbc/txn/sender.h"
#include "sbc/txn/timer_service.h"
#include "sbc/txn/transaction_layer.h"
#include "sbc/txn/types.h"

namespace sbc::b2bua {

// One transport listener as the engine sees it: the realm it serves and the
// address the SBC advertises there (Via, Contact, SDP o=).
struct ListenerInfo {
  std::string realm;  // "inside" / "outside": matched against cfg::Trunk::realm
  txn::Protocol protocol = txn::Protocol::Udp;
  std::uint32_t index = 0;  // the transport's listener index (txn::Peer::listener)
  std::string host;         // advertised IP (or name) for Via/Contact
  std::uint16_t port = 5060;
};

struct EngineConfig {
  Shard shard = 0;  // this SIP thread's shard, encoded in every id we make
  std::vector<ListenerInfo> listeners;
  // User-Agent/Server towards trunks without their own product string; empty:
  // none at all.
  std::string product = "edge-sbc";
  // Host names that mean "the SBC itself" in a Request-URI (besides the
  // advertised hosts), for OPTIONS pings.
  std::vector<std::string> local_hosts;
  txn::LayerOptions layer;  // T1/T2/T4 and friends
  // What a request must pass before the engine looks at it. Only the option
  // tags the engine implements end to end: a Require: replaces (or path,
  // outbound...) gets 420 instead of being silently dropped on the far leg.
  sip::ValidationPolicy validation = [] {
    sip::ValidationPolicy v;
    v.supported_option_tags = {"100rel", "timer"};
    return v;
  }();

  // Guards (zero: derived from the timers, 64*T1).
  std::chrono::milliseconds no_ack_timeout{0};     // 2xx sent, no ACK: BYE both legs
  std::chrono::milliseconds cancel_timeout{0};     // CANCEL sent, no final from B: 487 to A
  std::chrono::milliseconds anchor_timeout{5000};  // MediaAnchor continuation overdue
  // Used when a trunk leaves them at 0.
  std::uint32_t default_max_call_seconds = 14400;
  std::uint32_t default_ring_timeout_seconds = 120;
  // Offer 100rel on the B leg and PRACK reliable 18x ourselves.
  bool offer_100rel = true;
};

// A call in progress, for the management API.
struct CallInfo {
  CallHandle handle = 0;
  Direction direction = Direction::Outbound;
  std::string inbound_trunk;
  std::string outbound_trunk;
  std::string caller;
  std::string callee;
  std::string state;  // "routing", "early", "answering", "confirmed", "ending"
  std::chrono::system_clock::time_point start{};
  std::chrono::seconds duration{0};  // since answer; 0 if not answered
  std::string relay;                 // "address:port" of its media relay (filled by the app)
  std::string call_id;               // A leg's, as the caller sent it (the trace key)
  bool traced = false;               // SIP tracing on
};

inline constexpr std::size_t kRejectCauses = 10;  // RejectCause values
inline constexpr std::size_t kMethods = 15;       // sip::Method values

struct EngineStats {
  // Indexed by Direction.
  std::array<std::uint64_t, 2> calls_total{};
  std::array<std::uint64_t, 2> calls_active{};
  std::array<std::uint64_t, 2> calls_answered{};
  std::array<std::uint64_t, 2> calls_failed{};            // ended without answer (any cause)
  std::array<std::uint64_t, kRejectCauses> rejections{};  // indexed by RejectCause
  std::uint64_t dropped_unknown_source = 0;               // Identity::Drop: nothing sent
  std::uint64_t failovers = 0;
  std::uint64_t forked_2xx_released = 0;  // extra 2xx ACKed and BYEd
  std::uint64_t glare_491 = 0;
  std::uint64_t session_refreshes_answered = 0;  // refreshes answered locally
  std::uint64_t auth_retries = 0;                // requests resent with credentials
  // Indexed by sip::Method (Unknown = 0 for extension methods).
  std::array<std::uint64_t, kMethods> requests_in{};
  std::array<std::uint64_t, kMethods> requests_out{};
  std::array<std::uint64_t, 7> responses_in{};  // by class: [1]=1xx ... [6]=6xx
  std::array<std::uint64_t, 7> responses_out{};
};

// Why the SBC itself ends a call (endCall()).
// RelayLost: the call's media relay went away (past the client's grace).
enum class EndReason : std::uint8_t { MediaTimeout, Admin, Shutdown, RelayLost };

class Engine final : public RequestSender {
 public:
  Engine(txn::TimerService& timers, txn::MessageSender& sender, Policy& policy,
         ChannelLimits& limits, EngineConfig config, cfg::SnapshotPtr snapshot, CallRecordSink sink,
         MediaAnchor* anchor = nullptr);
  ~Engine() override;
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // ---- from the app
  // Every parsed (not discarded) message. Requests of known calls and
  // responses go straight to the transaction layer; new out-of-dialog
  // requests are first identified by the policy (Drop: nothing is sent).
  void onReceived(sip::Message message, const txn::Peer& source);
  // An asynchronous transport failure for bytes sent with this owner id.
  void onTransportError(txn::TxnId owner);
  // New configuration for new calls; calls in progress keep theirs.
  void setSnapshot(cfg::SnapshotPtr snapshot);
  // Ends a call from outside (media timeout reported by the relay, admin):
  // BYE/CANCEL both legs, release, CDR. False if no such call.
  bool endCall(CallHandle call, EndReason reason);
  // BYEs/CANCELs every call and releases every channel (node shutdown).
  void shutdown();
  // Drain: false answers every new INVITE 503 with Retry-After (so that the
  // PBX or carrier fails over) while calls in progress and in-dialog requests
  // go on as before. True (the default) takes new calls again.
  void setAcceptingCalls(bool accepting);

  // SIP tracing (engine_trace.cc). The tap gets every message of traced
  // calls; null: tracing off. traceCall() turns tracing on for a call in
  // progress, from now on (either leg's Call-ID finds it) and answers its
  // A-leg Call-ID, the trace key; "" when there is no such call.
  void setMessageTap(MessageTap* tap);
  std::string traceCall(std::string_view call_id);

  // ---- observation
  std::vector<CallInfo> activeCalls() const;
  std::size_t callCount() const;
  // Room for this many calls (ended ones linger T4) without a rehash.
  void reserveCalls(std::size_t calls);
  const EngineStats& stats() const;
  txn::TransactionLayer& layer();

  // ---- RequestSender (for the policy's REGISTER and OPTIONS pings)
  bool sendOutOfDialog(sip::Message request, const txn::Destination& to, std::string_view realm,
                       Callback on_final) override;
  std::string advertisedHostPort(std::string_view realm, txn::Protocol protocol) const override;
  std::string makeCallId() override;
  std::string makeTag() override;

  struct Impl;  // engine_impl.h

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace sbc::b2bua

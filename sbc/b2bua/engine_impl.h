#pragma once
// The engine's internals, shared by engine*.cc (not part of the public API).
//
// Life of a call: created when a new INVITE is accepted; ended exactly once
// by finish() (channels released, CDR emitted, relay released); erased from
// the maps only from a timer callback (Linger), never inside a handler, so a
// Call& stays valid for the whole of any callback or continuation.
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "sbc/b2bua/call.h"
#include "sbc/b2bua/engine.h"
#include "sbc/b2bua/message_tap.h"
#include "sbc/b2bua/topology.h"
#include "sbc/txn/transaction.h"

namespace sbc::b2bua {

// What response handlers need of a client transaction; built from the
// transaction, or from copies when the response waited for a media anchor
// (by then the transaction may be gone).
struct ClientView {
  txn::TxnId id;
  txn::TxnKind kind = txn::TxnKind::NonInviteClient;
  const sip::Message& request;
  const txn::Destination& peer;
};

// How a call ends (see terminate()).
struct Ending {
  EndedBy by = EndedBy::Sbc;
  std::string_view reason;          // CDR ended_reason
  int a_code = 500;                 // final response to A if it was not answered yet
  std::string_view a_phrase;        // its reason phrase (default if empty)
  std::optional<LegSide> bye_from;  // the leg whose BYE ends the call (not BYEd back)
  std::string reason_header;        // Reason on the BYEs/CANCEL we send ("" none)
  int q850 = -1;
};

struct Engine::Impl final : txn::TransactionUser {
  Impl(txn::TimerService& timers, txn::MessageSender& sender, Policy& policy, ChannelLimits& limits,
       EngineConfig config, cfg::SnapshotPtr snapshot, CallRecordSink sink, MediaAnchor* anchor);
  ~Impl() override;

  // ---- counting wrapper around the app's sender (stats: messages out)
  class CountingSender final : public txn::MessageSender {
   public:
    CountingSender(txn::MessageSender& inner, EngineStats& stats, Impl& impl)
        : inner_(inner), stats_(stats), impl_(impl) {}
    bool send(const sip::Message& message, std::string_view wire, const txn::Destination& to,
              txn::TxnId owner) override;
    bool isReliable(const txn::Destination& to) const override { return inner_.isReliable(to); }

   private:
    txn::MessageSender& inner_;
    EngineStats& stats_;
    Impl& impl_;  // for SIP tracing
  };

  // ---- TransactionUser
  void onNewRequest(txn::ServerTransaction& txn, const sip::Message& request) override;
  void onResponse(txn::ClientTransaction& txn, const sip::Message& response) override;
  void onTimeout(txn::Transaction& txn, txn::TimerId timer) override;
  void onTransportError(txn::Transaction& txn) override;
  void onStrayAck(const sip::Message& ack, const txn::Peer& source,
                  txn::ServerTransaction* accepted) override;
  void onStrayResponse(const sip::Message& response, const txn::Peer& source) override;
  void onTerminated(txn::Transaction& txn) override;

  // ---- engine.cc: entry, out-of-dialog, helpers
  void onReceived(sip::Message message, const txn::Peer& source);
  void handleOutOfDialog(txn::ServerTransaction& stx, const sip::Message& req, const Identity& id);
  void answerOptions(txn::ServerTransaction& stx, const sip::Message& req);
  bool validate(txn::ServerTransaction& stx, const sip::Message& req, bool to_us);
  bool addressedToUs(const sip::Message& req) const;
  void countRejection(RejectCause cause);
  Call* findCall(CallHandle h);
  Call* findCallByCallId(std::string_view call_id);
  const ListenerInfo* pickListener(std::string_view realm, txn::Protocol protocol) const;
  const ListenerInfo* listenerByIndex(std::uint32_t index) const;
  std::string contactOf(const Leg& leg) const;
  std::string_view productOf(const Leg& leg) const;
  std::string_view ourHost(const Leg& leg) const;
  CallRecord::Time wallNow() const;
  std::uint32_t timerMs(std::chrono::milliseconds configured) const;  // 0 -> 64*T1

  // Timers of a call: the callback finds the call again by handle.
  void arm(Call& c, CallTimer which, txn::Duration after);
  void disarm(Call& c, CallTimer which);
  void onCallTimer(CallHandle h, CallTimer which);

  // Responses on server transactions we own.
  sip::Message responseFor(const Leg& leg, const sip::Message& req, int code,
                           std::string_view phrase = {}) const;
  void reply(txn::ServerTransaction& stx, const Leg* leg, int code, std::string_view phrase = {});
  void addOurCapabilities(sip::Message& m, bool supported_100rel) const;

  // ---- engine_setup.cc: the initial INVITE, B attempts, failover, CANCEL
  void onNewInvite(txn::ServerTransaction& stx, const sip::Message& req, const cfg::Trunk& trunk);
  void rejectNewCall(Call& c, txn::ServerTransaction& stx, int code, std::string_view phrase,
                     std::string_view reason_hdr, std::string_view cdr_reason, RejectCause cause);
  void startAttempt(Call& c);
  bool sendBInvite(Call& c, const Target& t);
  void nextTarget(Call& c);
  void failCall(Call& c);
  void dispatchResponse(Call& c, const ClientView& ctx, const sip::Message& rsp);
  void onBInviteResponse(Call& c, const ClientView& ctx, const sip::Message& rsp);
  void onB1xx(Call& c, const ClientView& ctx, const sip::Message& rsp);
  void onB2xx(Call& c, const ClientView& ctx, const sip::Message& rsp);
  void onBFailure(Call& c, const ClientView& ctx, const sip::Message& rsp);
  void onBInviteGone(Call& c, bool timed_out);
  void sendProvisionalToA(Call& c, int code, std::string_view phrase, const std::string* sdp);
  void sendReliable(Call& c, sip::Message response);
  void sendAnswerToA(Call& c, int code, std::string_view phrase, const std::string* sdp,
                     std::uint32_t late_offer_cseq);
  void onCancel(txn::ServerTransaction& stx, const sip::Message& cancel);
  void completeCancel(Call& c);
  bool retryWithCredentials(Call& c, LegSide leg, const ClientView& ctx, const sip::Message& rsp,
                            sip::Message& resend);
  void ackAndBye(const sip::Message& invite, const sip::Message& response,
                 const txn::Destination& to);
  void sendAck(Call& c, LegSide side, std::uint32_t cseq, const std::string* sdp,
               const sip::Message* invite = nullptr);
  // A copy of `request` with the leg's next CSeq and a new branch.
  sip::Message resendOf(Call& c, LegSide leg, const sip::Message& request);
  void updateDialogFromResponse(Leg& leg, const sip::Message& rsp);

  // ---- engine_dialog.cc: requests inside a call
  void handleCallRequest(Call& c, txn::ServerTransaction& stx, const sip::Message& req);
  void onBye(Call& c, txn::ServerTransaction& stx, const sip::Message& req, LegSide from);
  void onPrack(Call& c, txn::ServerTransaction& stx, const sip::Message& req, LegSide from);
  void relayRequest(Call& c, txn::ServerTransaction& stx, const sip::Message& req, LegSide from);
  void sendRelayed(Call& c, txn::TxnId server, LegSide from, sip::Message out, sip::Method method,
                   bool offer, std::string previous_sdp = {});
  void onRelayResponse(Call& c, Pending& p, const ClientView& ctx, const sip::Message& rsp);
  void finishRelayResponse(Call& c, const Pending& p, const sip::Message& rsp,
                           const std::string* sdp);
  void onLocalResponse(Call& c, Pending& p, const ClientView& ctx, const sip::Message& rsp);
  void onAck(Call& c, const sip::Message& ack, LegSide leg);
  bool isRefresh(Call& c, const sip::Message& req, LegSide from);
  void answerRefresh(Call& c, txn::ServerTransaction& stx, const sip::Message& req, LegSide from);
  void sendBye(Call& c, LegSide to, std::string_view reason_header);
  void awaitAck(Call& c, LegSide leg, std::uint32_t cseq, std::string response,
                const txn::Destination& to, bool initial, std::uint32_t relay_cseq,
                bool answer_in_ack);

  // ---- session_timer.cc: RFC 4028 per leg, guards
  void negotiateASessionTimer(Call& c, const sip::Message& invite);
  void negotiateBSessionTimer(Call& c, const sip::Message& response);
  void addSessionExpires(sip::Message& m, const Leg& leg, bool in_request) const;
  void takeSessionExpiresFromRequest(Leg& leg, const sip::Message& req);
  void takeSessionExpiresFromResponse(Leg& leg, const sip::Message& rsp);
  void armSessionTimer(Call& c, LegSide side);
  void onSessionTimer(Call& c, LegSide side);
  void sendRefresh(Call& c, LegSide side);

  // ---- engine_end.cc: ending, CDR, media hook plumbing
  void terminate(Call& c, const Ending& e);
  void finish(Call& c, const Ending& e, int final_code, std::string_view final_phrase);
  void eraseCall(CallHandle h);
  void setBCallId(Call& c, std::string_view call_id);
  // The ChannelLimits key of a call's A or B side (distinct: a hairpin uses
  // one trunk twice): Call::channel_id and the side in 7 bytes, so that the
  // limits' set of keys stays in std::string's inline buffer.
  static std::string channelKey(const Call& c, LegSide side);
  static std::uint64_t nextChannelId();
  using SdpThen = std::function<void(Call&, const std::string*)>;
  // Passes an SDP received on `from` through the anchor (if any) and the o=
  // rewriter for the other leg; `then` gets the body to send (null: failed).
  void transformSdp(Call& c, LegSide from, bool offer, std::string_view body, SdpThen then);
  // While an anchor operation is pending, later events of the call wait.
  bool deferIfBusy(Call& c, std::function<void()> event);
  void runDeferred(Call& c);
  void completeMedia(Call& c, const MediaResult* result);
  void dispatchInDialog(Call& c, txn::ServerTransaction& stx, const sip::Message& req,
                        LegSide from);

  // ---- engine_trace.cc: SIP tracing (a traced call reports its messages to
  // the tap; with no call traced, each message costs one branch)
  void enableTrace(Call& c, bool with_initial_invite);
  void tapSent(const sip::Message& m, std::string_view wire, const txn::Destination& to);
  void tapReceived(const sip::Message& m, const txn::Peer& source);
  void tap(const Call& c, std::string_view call_id, bool inbound, const txn::Peer& peer,
           std::string_view wire);

  // ---- state
  txn::TimerService& timers;
  EngineStats stats;
  CountingSender sender;
  txn::TransactionLayer layer;
  Policy& policy;
  ChannelLimits& limits;
  EngineConfig config;
  cfg::SnapshotPtr snapshot;
  CallRecordSink sink;
  MediaAnchor* anchor;

  std::unordered_map<CallHandle, std::unique_ptr<Call>> calls;
  // Call-ID (of either leg) -> call, keyed by the Call-ID's hash so that the
  // index holds no copy of the string (the legs have it); lookups compare
  // against the legs. See indexCallId()/unindexCallId().
  std::unordered_multimap<std::size_t, CallHandle> by_call_id;
  void indexCallId(std::string_view call_id, CallHandle h);
  void unindexCallId(std::string_view call_id, CallHandle h);
  CallHandle next_handle = 1;

  // The verdict of Policy::identify for the request now inside
  // layer.onMessage() (set only around that call).
  const Identity* incoming_identity = nullptr;
  bool shutting_down = false;  // after shutdown(): new calls get 503
  bool draining = false;       // setAcceptingCalls(false): new calls get 503
  MessageTap* message_tap = nullptr;
  std::size_t traced_calls = 0;  // calls with traced set, not yet erased

  std::unordered_map<std::uint64_t, RequestSender::Callback> ood_requests;

  CallRecord::Time wall_base;
  txn::TimePoint steady_base;
};

bool hasToken(const sip::Message& m, sip::HeaderId id, std::string_view token);
bool isSdp(const sip::Message& m);

}  // namespace sbc::b2bua

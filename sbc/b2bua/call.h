#pragma once
// A call (internal to the engine): two legs and what ties them together
// while requests are relayed between them.
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sbc/b2bua/call_record.h"
#include "sbc/b2bua/compact.h"
#include "sbc/b2bua/leg.h"
#include "sbc/b2bua/policy.h"
#include "sbc/config/snapshot.h"
#include "sbc/sip/message.h"
#include "sbc/txn/timer_service.h"
#include "sbc/txn/types.h"

namespace sbc::b2bua {

enum class CallState : std::uint8_t {
  Routing,    // before the first B-leg INVITE left (e.g. anchoring the offer)
  Trying,     // B INVITE sent, nothing relayed to A yet
  Early,      // an 18x relayed to A
  Answering,  // 2xx sent to A, waiting for A's ACK
  Confirmed,  // A ACKed
  Ending,     // over: CDR written, channels released; lingers to absorb stragglers
};
std::string_view toString(CallState s);

// Timers of a call; one handle each (the id is packed into the callback).
enum class CallTimer : std::uint8_t {
  Failover,       // no 1xx from the current gateway in time
  Ring,           // early dialog too old
  NoAck,          // 2xx to A without ACK
  Retransmit2xx,  // resend the 2xx awaiting ACK
  MaxDuration,
  Cancel,       // CANCEL sent to B, no final response
  Reliable1xx,  // resend the reliable 18x to A
  SessionA,     // refresh / expiry on the A leg
  SessionB,
  Anchor,  // MediaAnchor continuation overdue
  Linger,  // erase the ended call
  kCount,
};

// What a client transaction of the call is for.
enum class PendingKind : std::uint8_t {
  Relay,    // a request received on `from`, relayed to the other leg
  Refresh,  // our session refresh (UPDATE / re-INVITE) on leg `from`
  Bye,      // our BYE on leg `from`
  Prack,    // our PRACK on leg `from`
};

struct Pending {
  PendingKind kind = PendingKind::Relay;
  LegSide from = LegSide::A;  // Relay: the leg it came from; others: the leg it goes to
  sip::Method method = sip::Method::Unknown;
  txn::TxnId server;  // Relay: the server transaction on `from`
  txn::TxnId client;  // our client transaction
  bool auth_retried = false;
  bool se_retried = false;        // 422 handled once
  bool offer_in_request = false;  // INVITE/UPDATE carried SDP
  std::string previous_sdp;       // a relayed offer: what the far leg had before
};

// A 2xx to an INVITE that waits for its ACK (the initial INVITE on A, or a
// re-INVITE on either leg). We retransmit it (T1 doubling, capped at T2)
// until the ACK, and give up after 64*T1.
struct AwaitAck {
  LegSide leg = LegSide::A;
  std::uint32_t cseq = 0;
  std::string response;  // the 2xx as sent (its bytes: resent until the ACK)
  txn::Destination to;
  txn::Duration interval{0};
  bool initial = false;  // the call's first INVITE
  // The ACK to forward to the other leg when this one arrives (a relayed
  // re-INVITE, or a late offer answered in the ACK); 0: none.
  std::uint32_t relay_cseq = 0;
  bool relay_answer_in_ack = false;  // the ACK carries the SDP answer
};

// The B-leg INVITE now in flight (one per target tried).
struct Attempt {
  txn::TxnId invite;
  std::size_t target = 0;
  const cfg::Trunk* channel = nullptr;  // trunk whose channel this call holds (B side)
  bool sent = false;                    // an INVITE left for the current target
  bool provisional = false;             // any 1xx seen (stops the failover timer)
  bool auth_retried = false;
  bool se_retried = false;
  bool offer = false;           // our INVITE carried SDP
  std::uint32_t last_rseq = 0;  // highest RSeq of B we PRACKed
};

// A reliable provisional response we send to A (RFC 3262).
struct Reliable1xx {
  std::uint32_t rseq = 0;
  sip::Message response;
  txn::Duration interval{0};
  txn::TimePoint started{};
};

// What the CDR needs from the call's life, kept compactly until finish()
// builds the CallRecord (the rest of the record comes from the legs then).
struct CdrDraft {
  CallRecord::Time start{};    // INVITE received
  CallRecord::Time ringing{};  // first 18x relayed to the caller
  CallRecord::Time answer{};   // 2xx relayed to the caller
  cfg::TrunkId inbound_trunk_id = 0;
  cfg::TrunkId outbound_trunk_id = 0;
  int final_code = 0;
  int q850_cause = -1;
  Direction direction = Direction::Outbound;

  enum Text : std::uint8_t {
    kCallerIn,
    kCalleeIn,
    kCallerOut,
    kCalleeOut,
    kRoutingNumber,
    kGatewaysTried,  // "host:port" of each target tried, '\n' after each
    kTextCount,
  };
  std::string_view text(Text which) const { return text_.get(which); }
  void setText(Text which, std::string_view value) { text_.set(which, value); }
  bool anyGatewayTried() const { return !text_.get(kGatewaysTried).empty(); }
  void addGatewayTried(std::string_view host_port);
  // Several texts in one rebuild of the block (compact.h).
  void setTexts(std::initializer_list<std::pair<std::size_t, std::string_view>> values) {
    text_.setMany(values);
  }
  // What an attempt sent (caller and callee as sent) and the gateway it
  // tried, in one rebuild.
  void noteAttempt(std::string_view caller_out, std::string_view callee_out,
                   std::string_view host_port);

 private:
  PackedStrings<kTextCount> text_;
};

inline void CdrDraft::addGatewayTried(std::string_view host_port) {
  std::string all(text_.get(kGatewaysTried));
  all.append(host_port).push_back('\n');
  text_.set(kGatewaysTried, all);
}

inline void CdrDraft::noteAttempt(std::string_view caller_out, std::string_view callee_out,
                                  std::string_view host_port) {
  std::string all(text_.get(kGatewaysTried));
  all.append(host_port).push_back('\n');
  text_.setMany({{kCallerOut, caller_out}, {kCalleeOut, callee_out}, {kGatewaysTried, all}});
}

struct Call;

// The continuation of the anchor operation in progress and the events of
// the call that wait for it, in order.
struct MediaWait {
  std::function<void(Call&, const std::string*)> then;
  std::vector<std::function<void()>> deferred;
};

struct Call {
  CallHandle handle = 0;
  cfg::SnapshotPtr snapshot;  // the configuration this call started with
  Direction direction = Direction::Outbound;
  CallState state = CallState::Routing;
  std::uint64_t channel_id = 0;  // unique in the process; ChannelLimits keys (channelKey())

  Leg a;
  Leg b;
  Leg& leg(LegSide s) { return s == LegSide::A ? a : b; }
  const Leg& leg(LegSide s) const { return s == LegSide::A ? a : b; }

  // Set-up only: dropped once the call is answered (no failover after a
  // 2xx); routing() recreates an empty one if asked later.
  std::unique_ptr<RoutingDecision> routing_decision;
  RoutingDecision& routing() {
    if (!routing_decision) routing_decision = std::make_unique<RoutingDecision>();
    return *routing_decision;
  }
  Attempt attempt;
  bool a_channel = false;  // channel held on the A trunk
  txn::TxnId a_invite;     // A's INVITE server transaction
  std::uint32_t a_invite_cseq = 0;
  int a_max_forwards = 70;
  bool a_requires_100rel = false;
  std::uint32_t a_rseq = 0;                 // last RSeq we used towards A
  const cfg::Trunk* limit_trunk = nullptr;  // a target skipped for its channel limit

  bool cancelled = false;  // caller CANCELled (or we gave up) before answer
  bool media_failed = false;
  int last_failure_code = 0;  // last final failure from a B leg (0: timed out)
  bool all_timed_out = true;
  // Its reason phrase and Reason header (passed to A), in one block: most
  // calls never see a failure.
  std::string_view lastFailureReason() const { return failure_text.get(0); }
  std::string_view lastFailureReasonHdr() const { return failure_text.get(1); }
  void setLastFailure(std::string_view reason, std::string_view reason_hdr) {
    failure_text.setMany({{0, reason}, {1, reason_hdr}});
  }
  void clearLastFailureReason() { failure_text.set(0, {}); }
  PackedStrings<2> failure_text;

  Lazy<AwaitAck> await_ack;
  std::vector<Pending> pending;
  Lazy<Reliable1xx> a_reliable;          // sent, not yet PRACKed
  Lazy<sip::Message> a_reliable_queued;  // next 18x, after the PRACK

  std::array<txn::TimerHandle, static_cast<std::size_t>(CallTimer::kCount)> timers{};

  // Media anchoring in progress: later events of this call wait in order.
  bool media_busy = false;
  LegSide media_out = LegSide::B;  // the leg the anchored SDP goes to
  std::uint64_t media_op = 0;
  // Only while anchoring is in progress or events wait for it (dropped
  // when both are done): 8 bytes on a call that is not anchoring.
  Lazy<MediaWait> media_wait;
  MediaWait& mediaWait() {
    if (!media_wait) media_wait.emplace();
    return *media_wait;
  }

  CdrDraft record;
  txn::TimePoint started{};
  txn::TimePoint answered{};
  bool finished = false;           // CDR emitted, channels released
  bool traced = false;             // SIP tracing on (engine_trace.cc)
  std::uint8_t linger_rounds = 0;  // Linger timer re-armed while a BYE of ours is unanswered

  Pending* findPending(txn::TxnId client) {
    for (auto& p : pending) {
      if (p.client == client) return &p;
    }
    return nullptr;
  }
  bool byePending() const {
    for (const auto& p : pending) {
      if (p.kind == PendingKind::Bye) return true;
    }
    return false;
  }
  void erasePending(txn::TxnId client) {
    std::erase_if(pending, [&](const Pending& p) { return p.client == client; });
  }
  // A session refresh on `side` waits for offers that involve that dialog:
  // any relayed one (it spans both legs), our own refresh there, or a 2xx
  // on that leg still waiting for its ACK.
  bool offerInProgressOn(LegSide side) const {
    for (const auto& p : pending) {
      if (p.method != sip::Method::Invite && p.method != sip::Method::Update) continue;
      if (p.kind == PendingKind::Relay || p.from == side) return true;
    }
    return await_ack.has_value() && (await_ack->leg == side || await_ack->relay_cseq != 0);
  }
  bool offerInProgress() const {
    for (const auto& p : pending) {
      if (p.method == sip::Method::Invite || p.method == sip::Method::Update) return true;
    }
    // An INVITE transaction waiting for its ACK is still in progress (RFC
    // 3261 14.1), the initial one included.
    return await_ack.has_value();
  }
};

}  // namespace sbc::b2bua

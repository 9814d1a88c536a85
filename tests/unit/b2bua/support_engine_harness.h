#pragma once
// A scripted harness for the B2BUA engine: simulated time, a wire that
// records every message the engine sends, a fake policy, a channel-limit
// fake that fails the test on a double release, and helpers that play the
// PBX (A side) and the carrier (B side) by building messages and feeding
// them into Engine::onReceived.
//
// The policy engineer may use this read-only.
#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "sbc/b2bua/engine.h"
#include "sbc/sip/message.h"
#include "sbc/txn/fake_timer_service.h"
#include "sbc/txn/sender.h"

namespace sbc::b2bua::testing {

using namespace std::chrono_literals;

sip::Message parse(std::string text);
// Whether a token-list header (Supported, Require, Allow...) lists `token`.
bool listsToken(const sip::Message& m, sip::HeaderId id, std::string_view token);
inline bool hasSupported(const sip::Message& m, std::string_view token) {
  return listsToken(m, sip::HeaderId::Supported, token);
}

// Fails the test (with the message) if `message` contains any of the strings.
void assertNoLeak(const sip::Message& message, const std::vector<std::string>& forbidden);
::testing::AssertionResult noLeak(const std::string& wire,
                                  const std::vector<std::string>& forbidden);

struct Sent {
  txn::Duration at;
  std::string wire;
  txn::Destination to;
  sip::Message message() const { return parse(wire); }
  std::string startLine() const { return wire.substr(0, wire.find("\r\n")); }
};

class FakeWire final : public txn::MessageSender {
 public:
  explicit FakeWire(txn::FakeTimerService& clock) : clock_(clock) {}
  bool send(const sip::Message&, std::string_view wire, const txn::Destination& to,
            txn::TxnId) override {
    sent.push_back(Sent{clock_.elapsed(), std::string(wire), to});
    return true;
  }
  std::vector<Sent> sent;

 private:
  txn::FakeTimerService& clock_;
};

// Counts channels per trunk; a release of a channel not held fails the test.
class CountingLimits final : public ChannelLimits {
 public:
  RejectCause tryAcquire(const cfg::Trunk& trunk, Direction direction,
                         std::string_view key) override;
  void release(cfg::TrunkId trunk, std::string_view key) override;
  std::vector<Usage> usage() const override;

  std::size_t held() const { return held_.size(); }
  std::size_t heldOn(cfg::TrunkId trunk) const;
  std::map<cfg::TrunkId, std::uint32_t> max;  // per trunk; absent: unlimited
  std::size_t acquired_total = 0;
  std::size_t released_total = 0;

 private:
  std::set<std::pair<cfg::TrunkId, std::string>> held_;
};

class FakePolicy final : public Policy {
 public:
  Identity identify(const sip::Message& request, const txn::Peer& source,
                    const cfg::Snapshot& snapshot) override;
  sip::Message handleRegister(const sip::Message& request, const txn::Peer& source,
                              const cfg::Trunk& trunk) override;
  RoutingDecision route(const sip::Message& invite, const cfg::Trunk& from,
                        const cfg::Snapshot& snapshot) override;

  // Source address -> trunk id; unknown sources are dropped.
  std::map<std::string, cfg::TrunkId> by_address;
  std::function<RoutingDecision(const sip::Message&, const cfg::Trunk&, const cfg::Snapshot&)>
      router;
  int identify_calls = 0;
};

// An anchor that completes only when the test says so (asynchronously),
// replacing c= with the relay's address.
class FakeAnchor final : public MediaAnchor {
 public:
  struct Op {
    CallHandle call;
    LegSide from;
    bool offer;
    std::string sdp;
    Continuation done;
  };
  void anchorOffer(CallHandle call, LegSide from, std::string sdp, Continuation done) override;
  void anchorAnswer(CallHandle call, LegSide from, std::string sdp, Continuation done) override;
  void release(CallHandle call) override { released.push_back(call); }
  // Completes the oldest pending operation; false if none.
  bool completeOne(bool ok = true);
  std::size_t completeAll();

  std::deque<Op> pending;
  std::vector<CallHandle> released;
  std::string relay_address = "192.0.2.200";
  bool synchronous = false;
};

// What a peer (PBX or carrier) knows about its dialog with the SBC, to send
// in-dialog requests the way that peer would.
struct PeerDialog {
  std::string call_id;
  std::string local;   // the peer's own From/To value, with its tag
  std::string remote;  // the SBC's, with the SBC's tag
  std::string target;  // the SBC's Contact URI
  std::string via_host;
  std::uint32_t cseq = 100;
  std::string request(std::string_view method, std::string_view extra = {},
                      std::string_view body = {}, std::optional<std::uint32_t> cseq_override = {});
};

struct ResponseSpec {
  std::string to_tag = "cartag1";
  std::string contact = "<sip:carrier@198.51.100.10:5060>";
  std::vector<std::string> record_route;
  std::string extra;  // raw header lines, each ending in CRLF
  std::string body;   // SDP when set
  std::string reason;
};

// A response to `request` as a far UA would send it.
sip::Message respond(const sip::Message& request, int code, const ResponseSpec& spec = {});

extern const char* const kPbxSdp;
extern const char* const kCarrierSdp;
extern const std::vector<std::string> kPbxSecrets;      // must never reach the carrier
extern const std::vector<std::string> kCarrierSecrets;  // must never reach the PBX

struct InviteSpec {
  std::string ruri = "sip:+14155550100@10.0.0.1";
  std::string from = "\"Alice\" <sip:+12125550199@10.0.0.5>;tag=pbxtag";
  std::string to = "<sip:+14155550100@10.0.0.1>";
  std::string call_id = "pbx-call-1@10.0.0.5";
  std::string branch = "z9hG4bKpbx1";
  std::uint32_t cseq = 10;
  std::string extra;
  std::string body = kPbxSdp;
  int max_forwards = 70;
};
std::string pbxInvite(const InviteSpec& spec = {});

struct HarnessOptions {
  bool with_anchor = false;
  std::uint32_t session_expires = 0;      // carrier trunk; 0 disables
  std::uint32_t pbx_session_expires = 0;  // PBX trunk; 0 disables
  std::uint32_t failover_ms = 4000;
  std::size_t gateways = 2;  // carrier targets in the routing decision
};

class Harness {
 public:
  explicit Harness(HarnessOptions options = {});
  ~Harness();

  // Feed a message from a peer.
  void fromPbx(const std::string& text) { engine->onReceived(parse(text), pbx); }
  void fromPbx(const sip::Message& m) { engine->onReceived(parse(m.serialize()), pbx); }
  void fromCarrier(const std::string& text, const txn::Peer& peer) {
    engine->onReceived(parse(text), peer);
  }
  void fromCarrier(const sip::Message& m) { fromCarrier(m.serialize(), carrier); }
  void fromCarrier(const sip::Message& m, const txn::Peer& peer) {
    fromCarrier(m.serialize(), peer);
  }

  // Messages sent to `address` since the last take (consumed).
  std::vector<Sent> take(const std::string& address);
  // Exactly one message to `address` whose start line begins with `prefix`
  // among those not yet taken (the others stay).
  sip::Message expect(const std::string& address, std::string_view prefix);
  // None pending for `address` with that start-line prefix.
  bool none(const std::string& address, std::string_view prefix = {}) const;
  std::size_t count(const std::string& address, std::string_view prefix) const;

  // The PBX's view of its dialog with us, from a response we sent it (the
  // default InviteSpec's From and Call-ID); and its ACK for our 2xx.
  PeerDialog pbxDialogFrom(const sip::Message& response, std::uint32_t cseq = 10) const;
  void ackFromPbx(const sip::Message& ok);

  // Runs a whole call up to the confirmed state: INVITE from the PBX, 180
  // and 200 (SDP) from the carrier, ACK from the PBX. Returns the INVITE the
  // carrier got; fills the dialogs of both peers.
  sip::Message establish(const InviteSpec& spec = {});
  PeerDialog pbx_dialog;      // valid after establish()
  PeerDialog carrier_dialog;  // valid after establish()
  sip::Message carrier_invite;
  sip::Message pbx_200;

  txn::FakeTimerService clock;
  FakeWire wire{clock};
  FakePolicy policy;
  CountingLimits limits;
  FakeAnchor anchor;
  std::shared_ptr<cfg::Snapshot> snapshot;
  std::vector<CallRecord> cdrs;
  std::unique_ptr<Engine> engine;
  EngineConfig config;

  txn::Peer pbx{txn::Protocol::Udp, "10.0.0.5", 5060, 0, 0};
  txn::Peer carrier{txn::Protocol::Udp, "198.51.100.10", 5060, 0, 1};
  txn::Peer carrier2{txn::Protocol::Udp, "198.51.100.11", 5060, 0, 1};
  const cfg::Trunk* pbx_trunk = nullptr;
  const cfg::Trunk* carrier_trunk = nullptr;

 private:
  std::vector<bool> taken_;
};

}  // namespace sbc::b2bua::testing

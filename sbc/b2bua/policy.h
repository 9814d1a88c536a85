#pragma once
// The contract between the B2BUA's call engine (engine.h: dialogs, legs,
// forwarding, topology hiding) and its policy (policy_*.h: who is calling,
// may they, where does the call go). Written first so that both halves could
// be built at once; either side may extend it additively.
//
// Threading: one engine and one set of policy objects per SIP thread, except
// ChannelLimits, which is shared by all threads of a node (lock-free counts).
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sbc/config/snapshot.h"
#include "sbc/sip/message.h"
#include "sbc/txn/types.h"

namespace sbc::b2bua {

enum class Direction : std::uint8_t {
  Outbound,  // PBX (inside) -> carrier (outside)
  Inbound,   // carrier (outside) -> PBX (inside)
};

// Why a call or request was refused; also the metric label.
enum class RejectCause : std::uint8_t {
  None,
  UnknownSource,  // no trunk: the request is dropped without any answer
  Auth,           // digest failed / challenge sent
  ChannelLimit,
  CallRate,
  NoRoute,
  NotOurNumber,  // DID unknown or not active
  PortedOut,
  Forbidden,  // trunk disabled, bad number format, ...
  Flood,
};
std::string_view toString(RejectCause c);

// ---- 1. Who is calling: first step for every new out-of-dialog request.
struct Identity {
  enum class Verdict : std::uint8_t {
    Accept,     // `trunk` sent it
    Challenge,  // answer `response` (401/407 with a fresh nonce)
    Reject,     // answer `response` (403, ...)
    Drop,       // unknown source: send nothing at all
  };
  Verdict verdict = Verdict::Drop;
  const cfg::Trunk* trunk = nullptr;
  std::optional<sip::Message> response;  // for Challenge / Reject
  RejectCause cause = RejectCause::None;
};

// ---- 2. Where a new call goes: an ordered list of candidates to try.
struct Target {
  const cfg::Trunk* trunk = nullptr;  // the trunk the B leg goes to
  // Where to send: a gateway of the trunk, or a registered contact of a PBX.
  std::string host;  // where to send: an IP literal (a name only without a DNS cache)
  std::uint16_t port = 5060;
  txn::Protocol protocol = txn::Protocol::Udp;
  // The gateway's configured host when it is a DNS name: the Request-URI and
  // To carry it (RFC 3263: the name is the target, the address only where the
  // bytes go). Empty: `host` is used in the URIs too.
  std::string uri_host;
  std::string tls_server_name;
  // The TLS client profile for protocol Tls (cfg::TlsProfileRegistry id; 0:
  // the node default). Travels to the transport in txn::Destination.
  std::uint32_t tls_profile = 0;
  std::int64_t gateway_id = 0;  // 0 for a registered contact
  // The Request-URI user part as this trunk expects it (normalized number,
  // with ";rn=...;npdi" per trunk policy), and the To user part.
  std::string request_user;
  std::string to_user;
  // Contact URI of a registration (sent as the Request-URI as is), else empty.
  std::string registered_contact;
  // A registered contact's flow: the connection its REGISTER came on (RFC
  // 5626 style reuse; 0: any / UDP). Added by the policy.
  std::uint64_t connection = 0;
  // The caller's number as this trunk expects it (From user part; also for a
  // P-Asserted-Identity the engine passes on); empty when the caller is not
  // a number (anonymous, a name): keep what was received.
  std::string from_user;
};

struct RoutingDecision {
  Direction direction = Direction::Outbound;
  std::vector<Target> targets;            // try in order; failover walks this list
  RejectCause cause = RejectCause::None;  // when targets is empty
  int reject_code = 0;                    // e.g. 404, 484, 503
  std::string reject_reason;
  // Numbers for the CDR and the far leg, E.164 digits.
  std::string caller;          // as normalized
  std::string callee;          // as dialled, normalized
  std::string routing_number;  // LNP rn, if any
  bool npdi = false;           // LNP dip done (by us or upstream)
  std::string asserted;        // P-Asserted-Identity number normalized, if any
};

// ---- 3. Channel and call-rate limits, shared by every SIP thread of a node.
class ChannelLimits {
 public:
  virtual ~ChannelLimits() = default;
  // Takes one channel of `trunk` in `direction` for call `call_key` (a key
  // unique per call on this node). Refused when a limit (total, direction or
  // calls per second) would be exceeded; the cause says which. Idempotent per
  // (trunk, call_key): a second acquire for the same pair succeeds without
  // counting twice.
  virtual RejectCause tryAcquire(const cfg::Trunk& trunk, Direction direction,
                                 std::string_view call_key) = 0;
  // Gives it back; idempotent (a second release for the same pair is a no-op).
  virtual void release(cfg::TrunkId trunk, std::string_view call_key) = 0;
  struct Usage {
    cfg::TrunkId trunk = 0;
    std::uint32_t inbound = 0, outbound = 0;
    std::uint64_t rejected_limit = 0, rejected_rate = 0;
  };
  virtual std::vector<Usage> usage() const = 0;
};

// ---- The policy as the engine sees it.
class Policy {
 public:
  virtual ~Policy() = default;
  // Out-of-dialog request (INVITE, OPTIONS, REGISTER, MESSAGE...) from `source`.
  virtual Identity identify(const sip::Message& request, const txn::Peer& source,
                            const cfg::Snapshot& snapshot) = 0;
  // Handles a REGISTER from an identified PBX trunk: the complete response.
  virtual sip::Message handleRegister(const sip::Message& request, const txn::Peer& source,
                                      const cfg::Trunk& trunk) = 0;
  // Routes a new INVITE from `from` (limits are the engine's business, per target).
  virtual RoutingDecision route(const sip::Message& invite, const cfg::Trunk& from,
                                const cfg::Snapshot& snapshot) = 0;
  // Credentials to answer a 401/407 challenge from `trunk` (nullptr: none).
  virtual const cfg::Credentials* credentialsFor(const cfg::Trunk& trunk) const {
    return trunk.outbound.present() ? &trunk.outbound : nullptr;
  }
};

}  // namespace sbc::b2bua

namespace sbc::b2bua {

// Out-of-dialog requests the SBC originates itself (outbound REGISTER,
// OPTIONS pings to gateways), sent through the engine's transaction layer.
// The engine builds the Via; the caller builds the rest (Request-URI, From,
// To, Call-ID, CSeq, Contact, ...) with ids from makeCallId()/makeTag().
class RequestSender {
 public:
  virtual ~RequestSender() = default;
  struct Outcome {
    const sip::Message* response =
        nullptr;  // final response, or nullptr on timeout/transport error
    bool timeout = false;
    bool transport_error = false;
  };
  using Callback = std::function<void(const Outcome&)>;
  // `realm` picks the listener (and so the Via/Contact address) to send from.
  virtual bool sendOutOfDialog(sip::Message request, const txn::Destination& to,
                               std::string_view realm, Callback on_final) = 0;
  // The address and port the SBC advertises in `realm` for `protocol`, for
  // Contact headers built by the caller ("203.0.113.5:5060").
  virtual std::string advertisedHostPort(std::string_view realm, txn::Protocol protocol) const = 0;
  virtual std::string makeCallId() = 0;
  virtual std::string makeTag() = 0;
};

}  // namespace sbc::b2bua

#pragma once
// Topology hiding: how the engine writes what one leg's peer sees. Messages
// on a leg are built from that leg's dialog state, never copied from the
// other leg; the only things that cross are what the header policy lets
// through (P-Asserted-Identity/Privacy per RFC 3325 trust, the trunk's strip
// and X- allow lists), with any host part replaced by ours.
#include <cstdint>
#include <string>
#include <string_view>

#include "sbc/b2bua/leg.h"
#include "sbc/config/snapshot.h"
#include "sbc/sip/message.h"
#include "sbc/txn/types.h"

namespace sbc::b2bua {

struct ListenerInfo;

// "host:port", IPv6 in brackets.
std::string hostPort(std::string_view host, std::uint16_t port);
// The Via value of a request we send: "SIP/2.0/UDP host:port;branch=..;rport".
std::string viaValue(const ListenerInfo& listener, txn::Protocol protocol, std::string_view branch);
// Our Contact on a leg: "<sip:host:port>" (";transport=tcp|tls" when not UDP).
std::string contactValue(const ListenerInfo& listener, txn::Protocol protocol);
// A From/To/PAI value without its tag parameter, as written otherwise.
std::string nameAddrWithoutTag(const sip::NameAddr& na);
std::string withTag(std::string_view name_addr, std::string_view tag);
// User-Agent/Server towards a trunk: its own product string if it has one
// (possibly empty: none), else the node's.
std::string_view productFor(const cfg::Trunk* trunk, std::string_view node_product);

// A request inside `leg`'s dialog (RFC 3261 12.2.1.1): Request-URI and Route
// from the route set (loose routing; strict routing when the first route
// lacks ;lr), our Via, Max-Forwards, From/To with the dialog's tags, Call-ID,
// CSeq, our Contact for target-refresh methods, User-Agent.
sip::Message buildInDialogRequest(const Leg& leg, sip::Method method, std::uint32_t cseq,
                                  std::string_view branch, std::string_view contact,
                                  std::string_view user_agent, std::uint32_t max_forwards = 70);

// What crosses from one leg to the other besides what the engine writes.
struct HeaderCopyOptions {
  const cfg::Trunk* from = nullptr;  // the trunk the message came from (null: untrusted)
  const cfg::Trunk* to = nullptr;    // the trunk it goes to
  std::string_view our_host;         // replaces host parts of identities
  bool identity = true;  // P-Asserted-Identity/Privacy/Diversion are meaningful (requests)
};

// Copies the end-to-end headers of `in` that the policy allows into `out`:
// Subject, Priority, Accept, Accept-Language, Content-Disposition, Event,
// Subscription-State, Reason (for BYE/CANCEL), P-Asserted-Identity and
// Privacy per RFC 3325 trust of both trunks (hosts rewritten), Diversion
// (hosts rewritten), X- headers in the target's allow list; then removes the
// target's strip list. Everything else (Via, Record-Route, Contact,
// User-Agent, Call-Info, History-Info, unknown headers...) stays behind.
void copyPolicyHeaders(const sip::Message& in, sip::Message& out, const HeaderCopyOptions& options);

// RFC 3323 privacy asking to hide the caller's identity (id, user or header).
bool privacyHidesIdentity(const sip::Message& message);

// "Display" <sip:user@our_host[;user=phone]>; tel: URIs are kept as they are.
std::string identityWithOurHost(const sip::NameAddr& na, std::string_view our_host);

}  // namespace sbc::b2bua

#pragma once
// Messages the transaction layer builds itself (the ACK for a non-2xx, the
// 100 Trying) or helps the TU build (CANCEL, branch ids, where a response
// goes). Exposed so that the TU and tests use exactly the same rules.
#include <optional>
#include <string>
#include <string_view>

#include "sbc/sip/message.h"
#include "sbc/txn/types.h"

namespace sbc::txn {

// RFC 3261 17.1.1.3: the ACK for a non-2xx final response to `invite`: the
// INVITE's Request-URI, Call-ID, From, CSeq number (method ACK), top Via only,
// and Route headers; To from the response (with its tag); Max-Forwards 70;
// no body. nullopt if the INVITE lacks what is needed (never for one this
// layer sent).
std::optional<sip::Message> makeAck(const sip::Message& invite, const sip::Message& response);

// RFC 3261 9.1: CANCEL for `request`: same Request-URI, Call-ID, From, To
// (without a tag the request did not have), CSeq number (method CANCEL), top
// Via (same branch) and Route headers; Max-Forwards 70.
std::optional<sip::Message> makeCancel(const sip::Message& request);

// A fresh RFC 3261 branch: "z9hG4bK" + `tag` + 16 hex digits of a per-thread
// random sequence. `tag` lets the B2BUA encode its shard (token characters
// only).
std::string makeBranch(std::string_view tag = {});

// RFC 3261 18.2.1 with RFC 3581: sets received=<source address> on the top
// Via when its host differs from the source (always when rport is present),
// and rport=<source port> when the client sent a bare rport. Returns whether
// the message changed.
bool stampReceived(sip::Message& request, const Peer& source);

// RFC 3261 18.2.2 with RFC 3581: where responses to `request` (received from
// `source`) go. Reliable: back on the same connection (its address with the
// sent-by port as the fallback). Unreliable: the source address, at the
// source port if rport was used (or `symmetric`), else the sent-by port.
Destination responseDestination(const sip::Message& request, const Peer& source,
                                bool symmetric = false);

}  // namespace sbc::txn

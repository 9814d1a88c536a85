#pragma once
// Identifiers the SBC generates for its own legs: Call-IDs, tags, branches.
// Each starts with the SIP thread's shard as two hex digits, so that, with
// several SIP threads, the dispatcher finds the thread of any message of a
// call from the ids in it without a shared table. The rest is random hex from
// a CSPRNG: the ids reveal nothing (no host name, no counter) and cannot be
// guessed by a peer trying to inject requests into another call's dialog.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sbc::b2bua {

using Shard = std::uint8_t;

// 32 hex digits: shard (2) + 120 random bits (30).
std::string makeCallId(Shard shard);
// 15 hex digits: shard (2) + 52 random bits (13; RFC 3261 19.3 asks for 32).
// 15 is std::string's inline capacity: a tag costs no allocation wherever
// it is copied (3 per call at 16 digits).
std::string makeTag(Shard shard);
// "z9hG4bK" + shard (2 hex) + 16 random hex digits (txn::makeBranch).
std::string makeBranch(Shard shard);

// The shard encoded in an id we generated (a Call-ID, tag, or a branch with
// the "z9hG4bK" prefix); nullopt when the id is not of our shape (at least 15
// hex digits).
std::optional<Shard> shardOf(std::string_view id);

// Random bytes for anything else that must not be guessable (cnonce, RSeq
// start, SDP session ids).
std::uint64_t randomU64();

}  // namespace sbc::b2bua

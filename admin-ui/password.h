#pragma once
// Password hashing (argon2id, libargon2) and the random secrets of the
// console: session cookies, CSRF tokens, API tokens, generated passwords.
// Hashing is slow on purpose (~tens of ms, ~19 MiB): call it off the I/O
// thread (Api::offload()).
#include <optional>
#include <string>
#include <string_view>

namespace sbc::admin {

struct Argon2Params {
  unsigned t_cost = 2;          // passes
  unsigned m_cost_kib = 19456;  // OWASP's argon2id minimum (19 MiB)
  unsigned parallelism = 1;
};

// The PHC string "$argon2id$v=19$m=...,t=...,p=...$salt$hash"; nullopt only
// when libargon2 or the random source fails.
std::optional<std::string> hashPassword(std::string_view password, const Argon2Params& p = {});
// False for a wrong password and for anything that is not an argon2 hash.
bool verifyPassword(std::string_view encoded_hash, std::string_view password);

// A hash of a random password: verified against when the user does not exist,
// so that an unknown name costs the same time as a wrong password.
const std::string& dummyPasswordHash();

// `bytes` random bytes as base64url without padding (32 -> 43 characters).
std::string randomToken(std::size_t bytes = 32);
// 20 characters from an alphabet without look-alikes (~115 bits).
std::string randomPassword();
// SHA-256 as 64 lowercase hex digits (what sessions/api_tokens store, via decode(..,'hex')).
std::string sha256Hex(std::string_view data);
// Compares without an early exit (tokens, CSRF).
bool constantTimeEquals(std::string_view a, std::string_view b);

// Password policy for new passwords: nullopt when acceptable, else why not.
std::optional<std::string> passwordProblem(std::string_view password);

}  // namespace sbc::admin

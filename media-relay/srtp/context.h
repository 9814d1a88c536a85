// One SRTP crypto context per direction of one leg, wrapping libsrtp2's srtp_t.
// A Context is not thread-safe: it belongs to the thread that owns the leg.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "media-relay/srtp/suite.h"

// libsrtp's session type, declared here so that its headers stay private.
struct srtp_ctx_t_;

namespace relay::srtp {

enum class Status : std::uint8_t {
  kOk = 0,
  kAuthFailure,  // tag mismatch: tampered, wrong key, or not SRTP at all
  kReplay,       // already seen, or too old for the replay window
  kBadLength,    // too short for the header/tag, or no room for the trailer
  kBadPacket,    // not RTP/RTCP version 2, or a header that overruns the packet
  kError,        // libsrtp refused for another reason (init, key, internal)
};

std::string_view describe(Status status);

enum class Direction : std::uint8_t {
  kOutbound,  // protect
  kInbound,   // unprotect
};

struct ContextOptions {
  // Lets protect() re-send a packet index it has already protected. A relay
  // forwarding a peer's duplicate needs this; it reuses keystream only for
  // the same index, so off unless the caller knows it forwards duplicates.
  bool allowRepeatTx = false;
  std::uint16_t replayWindow = 128;  // packets; libsrtp accepts 64..32767
};

class Context;
using ContextPtr = std::unique_ptr<Context>;

class Context {
 public:
  // Null on failure (master length not the suite's, libsrtp init failure);
  // *status says why when given.
  static ContextPtr create(const Suite& suite, std::span<const std::uint8_t> masterKeySalt,
                           Direction direction, const ContextOptions& options = {},
                           Status* status = nullptr);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  // In place. `length` is the packet's length in and out; `buffer` is all the
  // writable space, which must leave room for the suite's expansion.
  Status protectRtp(std::span<std::uint8_t> buffer, std::size_t& length);
  Status unprotectRtp(std::span<std::uint8_t> buffer, std::size_t& length);
  Status protectRtcp(std::span<std::uint8_t> buffer, std::size_t& length);
  Status unprotectRtcp(std::span<std::uint8_t> buffer, std::size_t& length);

  const Suite& suite() const { return *suite_; }
  Direction direction() const { return direction_; }

  // Where a packet's work starts: a caller that knows which contexts its next
  // packets need can prefetch these (the packet path is a chain of dependent
  // cache misses through libsrtp's allocations at 1,000 calls).
  const void* session() const { return srtp_; }

 private:
  Context(const Suite& suite, Direction direction, srtp_ctx_t_* srtp);

  const Suite* suite_;
  // libsrtp's session held directly: one dependent load fewer per packet
  // than a separate holder object.
  srtp_ctx_t_* srtp_;
  Direction direction_;
};

// srtp_init() once per process, thread-safe; true when libsrtp is usable.
bool initLibrary();

}  // namespace relay::srtp

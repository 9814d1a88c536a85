// Counters of the packet path. Each is written by one worker thread only, with
// relaxed load+store (no locked instruction on the packet path), and read by
// the control thread (query/destroy answers) and the /metrics scrape.
#pragma once

#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/relayctl/protocol.h"

namespace relay {

inline void bump(std::atomic<std::uint64_t>& c, std::uint64_t n = 1) {
  c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

struct LegCounters {
  std::atomic<std::uint64_t> packetsIn{0};
  std::atomic<std::uint64_t> bytesIn{0};
  std::atomic<std::uint64_t> packetsOut{0};
  std::atomic<std::uint64_t> bytesOut{0};
  std::atomic<std::uint64_t> lost{0};
  std::atomic<std::uint32_t> jitterUs{0};
  std::atomic<std::uint64_t> srtpAuthFailures{0};
  std::atomic<std::uint64_t> rtpTimeouts{0};

  sbc::relayctl::LegStats snapshot() const {
    constexpr auto r = std::memory_order_relaxed;
    return {packetsIn.load(r), bytesIn.load(r),  packetsOut.load(r),       bytesOut.load(r),
            lost.load(r),      jitterUs.load(r), srtpAuthFailures.load(r), rtpTimeouts.load(r)};
  }
};

struct SessionCounters {
  std::array<LegCounters, 2> legs;
};

enum class DropReason : std::uint8_t {
  kStrictSource,   // not the latched/signalled source (RTP Bleed defence)
  kDirection,      // sendonly/recvonly/inactive forbids it
  kSrtpAuth,       // SRTP/SRTCP authentication failed
  kSrtpReplay,     // SRTP replay or too old
  kSrtpOther,      // SRTP failure other than auth/replay (incl. protect)
  kSrtpPlainRtcp,  // plain RTCP on an SRTP leg: unauthenticated, so dropped (RFC 3711 3.4)
  kNoKey,          // SRTP leg whose remote key is not known yet
  kNoRemote,       // nowhere to send yet (no signalled remote, nothing latched)
  kMalformed,      // not RTP/RTCP version 2, truncated
  kSendError,      // sendto/sendmmsg failed
  kCount,
};
inline constexpr std::array<std::string_view, static_cast<std::size_t>(DropReason::kCount)>
    kDropReasonNames{"strict_source",   "direction", "srtp_auth", "srtp_replay", "srtp_other",
                     "srtp_plain_rtcp", "no_key",    "no_remote", "malformed",   "send_error"};

// How long the relay held each forwarded packet: from the kernel's receive
// stamp (SO_TIMESTAMPNS, taken when the packet entered the host's stack) to
// the return of the send call that forwarded it. So it covers the wait in
// the socket's receive queue, the worker's scheduling and its work, which is
// the relay's own added latency whatever the sender's bursts look like.
// Half-octave buckets from 256 ns to 1.07 s: the index is a few bit
// operations, so recording costs no search and no division on the packet path.
struct ForwardDelay {
  static constexpr std::size_t kBuckets = 45;  // finite upper bounds; [kBuckets] is +Inf
  static constexpr unsigned kUnitShift = 7;    // 128 ns

  static constexpr std::size_t bucket(std::uint64_t ns) {
    const std::uint64_t v = ns >> kUnitShift;
    if (v < 2) return 0;
    // v in [2^m, 2^(m+1)): the bit below the top one says which half.
    const auto m = static_cast<std::size_t>(std::bit_width(v) - 1);
    const std::size_t i = 2 * m - 1 + static_cast<std::size_t>((v >> (m - 1)) & 1U);
    return i < kBuckets ? i : kBuckets;
  }
  // Upper bound of bucket i < kBuckets, in nanoseconds (exclusive).
  static constexpr std::uint64_t upperBoundNs(std::size_t i) {
    if (i == 0) return std::uint64_t{2} << kUnitShift;
    const std::size_t m = (i + 1) / 2;
    const std::uint64_t units =
        (i + 1) % 2 == 0 ? std::uint64_t{3} << (m - 1) : std::uint64_t{1} << (m + 1);
    return units << kUnitShift;
  }

  std::array<std::atomic<std::uint64_t>, kBuckets + 1> counts{};  // per bucket, not cumulative
  std::atomic<std::uint64_t> sumNs{0};

  void record(std::uint64_t ns) {
    bump(counts[bucket(ns)]);
    bump(sumNs, ns);
  }
};

// Per worker; kind index 0 = plain RTP leg, 1 = SRTP leg.
struct alignas(64) WorkerCounters {
  std::array<std::atomic<std::uint64_t>, 2> packetsIn{};
  std::array<std::atomic<std::uint64_t>, 2> bytesIn{};
  std::array<std::atomic<std::uint64_t>, 2> packetsOut{};
  std::array<std::atomic<std::uint64_t>, 2> bytesOut{};
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(DropReason::kCount)> dropped{};
  std::atomic<std::uint64_t> mediaTimeouts{0};
  std::atomic<std::uint64_t> sessions{0};
  // RTP packets the senders sent that never arrived (sequence gaps, RFC 3550
  // A.3), summed over legs as their cumulative loss grows.
  std::array<std::atomic<std::uint64_t>, 2> rtpLost{};
  ForwardDelay forwardDelay;
  // What the worker thread got (WorkerScheduling, and its priority), written
  // once by the thread at start.
  std::atomic<std::uint8_t> schedPolicy{0};
  std::atomic<int> schedPriority{0};

  void drop(DropReason r) { bump(dropped[static_cast<std::size_t>(r)]); }
};

}  // namespace relay

// The packet side of the load generator: two sockets per call (leg A, leg B),
// one sending thread that paces every stream at 50 packets/s, one receiving
// thread that checks what the relay forwarded and measures its delay.
#pragma once

#include <netinet/in.h>
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "media-relay/srtp/context.h"
#include "tests/bench/relay_load/control.h"

namespace bench::relay_load {

inline constexpr std::size_t kRtpHeaderBytes = 12;
inline constexpr std::size_t kPayloadBytes = 160;  // 20 ms of G.711
inline constexpr int kPacketsPerSecond = 50;

struct TrafficConfig {
  Mode mode = Mode::kRtp;
  const relay::srtp::Suite* suite = nullptr;
  double warmupSeconds = 1.0;  // sent but not measured: lets the relay latch
  double seconds = 10.0;       // the measured window
  double drainSeconds = 0.5;   // after the last send, for the last packets
  pid_t relayPid = 0;          // 0: no CPU figures
  // Streams are spread over sub-ticks of this length, each sending the
  // streams whose 20 ms phase falls in it, back to back: a burst per
  // sub-tick. Must divide 20 ms.
  std::int64_t tickNs = 200'000;
  // Our relay's /metrics: relay_forward_delay_seconds is read before and
  // after the window for the relay's own p50/p99 (absent: not reported).
  std::optional<sockaddr_in> relayMetrics;
  // Run the sending thread at SCHED_FIFO (one step above the process's
  // priority) when allowed, so that its ticks preempt the receiving thread
  // and other work on its core and start on time.
  bool senderFifo = true;
};

struct TrafficReport {
  std::uint64_t sent = 0;           // packets sent in the window
  std::uint64_t received = 0;       // of those, received on the right far leg
  std::uint64_t arrived = 0;        // valid packets that arrived during the window, whenever sent
  std::uint64_t receivedTotal = 0;  // anything that arrived, window or not
  std::uint64_t misrouted = 0;      // arrived on a socket that was not its far leg
  std::uint64_t malformed = 0;      // not our payload (or SRTP that did not unprotect)
  std::uint64_t srtpFailures = 0;
  std::uint64_t outOfOrder = 0;  // sequence below one already seen on that stream
  double windowSeconds = 0;
  double offeredPps = 0;    // what the generator managed to send (nominal: 100 per call)
  double forwardedPps = 0;  // arrived / window: what the relay delivered meanwhile
  double lossPercent = 0;
  double p50Us = 0, p99Us = 0, p999Us = 0, maxUs = 0;
  double relayCpuSeconds = -1;  // < 0: unknown
  double relayCpuUsPerPacket = -1;
  // The user-space part alone (utime): the relay's own code, which a change
  // to its data layout moves, apart from the kernel's UDP work (stime).
  double relayUserUsPerPacket = -1;
  double generatorCpuPercent = 0;  // of one core, both threads
  std::uint64_t lateTicks = 0;     // sub-ticks more than 2 ms behind schedule
  std::uint64_t ticks = 0;         // sub-ticks started
  bool senderFifo = false;         // the sending thread got SCHED_FIFO
  // The relay's own forward delay over the window (relay_forward_delay_seconds
  // scraped before and after); count < 0: not available.
  double relayDelayCount = -1;
  double relayP50Us = -1, relayP99Us = -1, relayP999Us = -1;
};

class Traffic {
 public:
  Traffic(std::size_t calls, const TrafficConfig& config);
  ~Traffic();
  Traffic(const Traffic&) = delete;
  Traffic& operator=(const Traffic&) = delete;

  // Binds two UDP sockets per call (leg A on `a`, leg B on `b`, ephemeral ports).
  bool open(in_addr a, in_addr b, std::string& error);
  sockaddr_in local(std::size_t call, int leg) const;

  // Where each leg sends, and SRTP contexts for leg B in SRTP mode.
  bool configure(std::span<const CallPlan> plans, std::span<const CallSetup> setups,
                 std::string& error);

  // Warm-up + window + drain; blocks.
  TrafficReport run();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// utime + stime of a process (all threads), seconds; < 0 when unreadable.
double processCpuSeconds(pid_t pid, double* userSeconds = nullptr);

}  // namespace bench::relay_load

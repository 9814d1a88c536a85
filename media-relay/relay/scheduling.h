// Scheduling of the packet worker threads ([node] worker_scheduling and
// worker_priority). A worker at a real-time policy is not preempted by the
// normal-policy processes of the host (builds, log shippers, the SBC's
// threads), so a packet waits only for the packets ahead of it: at 1,000
// calls on a shared core that moved the relay's p99 from 1.4-22 ms to
// ~150 us. Only the workers get it: the control and metrics thread stays at
// the normal policy, so a flood of control requests never competes with the
// packets, and a scrape never delays them.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace relay {

enum class WorkerScheduling : std::uint8_t { kOther, kFifo, kRr };

// "other" | "fifo" | "rr" (the names rtpengine's --scheduling uses).
std::optional<WorkerScheduling> parseWorkerScheduling(std::string_view name);
std::string_view workerSchedulingName(WorkerScheduling s);

// What a thread actually runs at, read back from the kernel.
struct ThreadScheduling {
  WorkerScheduling policy = WorkerScheduling::kOther;
  int priority = 0;  // 1..99 for fifo/rr, 0 for other
};

// Sets the calling thread's policy. Returns 0 or the errno of the refusal
// (EPERM: neither CAP_SYS_NICE nor an RLIMIT_RTPRIO of at least `priority`).
// kOther leaves the thread as it is (it inherited the process's policy).
int applyToCurrentThread(WorkerScheduling policy, int priority);
ThreadScheduling currentThreadScheduling();

}  // namespace relay

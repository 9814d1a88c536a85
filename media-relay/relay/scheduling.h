// Scheduling of the packet worker threads ([node] worker_scheduling and
// worker_priority): the helper shared with the SBC's SIP thread
// (sbc/common/thread_scheduling.h) under the names the relay has used since
// it had its own. Only the workers get it: the control and metrics thread
// stays at the normal policy, so a flood of control requests never competes
// with the packets, and a scrape never delays them.
#pragma once

#include "sbc/common/thread_scheduling.h"

namespace relay {

using WorkerScheduling = sbc::common::SchedPolicy;
using sbc::common::applyToCurrentThread;
using sbc::common::currentThreadScheduling;
using sbc::common::ThreadScheduling;

inline std::optional<WorkerScheduling> parseWorkerScheduling(std::string_view name) {
  return sbc::common::parseSchedPolicy(name);
}
inline std::string_view workerSchedulingName(WorkerScheduling s) {
  return sbc::common::schedPolicyName(s);
}

}  // namespace relay

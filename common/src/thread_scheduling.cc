#include "sbc/common/thread_scheduling.h"

#include <sched.h>

#include <cerrno>

namespace sbc::common {

std::optional<SchedPolicy> parseSchedPolicy(std::string_view name) {
  if (name == "other") return SchedPolicy::kOther;
  if (name == "fifo") return SchedPolicy::kFifo;
  if (name == "rr") return SchedPolicy::kRr;
  return std::nullopt;
}

std::string_view schedPolicyName(SchedPolicy s) {
  switch (s) {
    case SchedPolicy::kFifo:
      return "fifo";
    case SchedPolicy::kRr:
      return "rr";
    case SchedPolicy::kOther:
      break;
  }
  return "other";
}

// sched_setscheduler rather than pthread_setschedparam: glibc's pthread
// calls pass no SCHED_RESET_ON_FORK and cache the policy in the thread
// descriptor; pid 0 is the calling thread.
int applyToCurrentThread(SchedPolicy policy, int priority) {
  if (policy == SchedPolicy::kOther) return 0;
  sched_param param{};
  param.sched_priority = priority;
  const int kernel_policy = (policy == SchedPolicy::kFifo ? SCHED_FIFO : SCHED_RR);
  if (sched_setscheduler(0, kernel_policy | SCHED_RESET_ON_FORK, &param) != 0) return errno;
  return 0;
}

ThreadScheduling currentThreadScheduling() {
  const int policy = sched_getscheduler(0);
  sched_param param{};
  if (policy < 0 || sched_getparam(0, &param) != 0) return {};
  switch (policy & ~SCHED_RESET_ON_FORK) {
    case SCHED_FIFO:
      return {SchedPolicy::kFifo, param.sched_priority};
    case SCHED_RR:
      return {SchedPolicy::kRr, param.sched_priority};
    default:
      return {};
  }
}

}  // namespace sbc::common

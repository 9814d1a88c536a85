#include "media-relay/relay/scheduling.h"

#include <pthread.h>
#include <sched.h>

namespace relay {

std::optional<WorkerScheduling> parseWorkerScheduling(std::string_view name) {
  if (name == "other") return WorkerScheduling::kOther;
  if (name == "fifo") return WorkerScheduling::kFifo;
  if (name == "rr") return WorkerScheduling::kRr;
  return std::nullopt;
}

std::string_view workerSchedulingName(WorkerScheduling s) {
  switch (s) {
    case WorkerScheduling::kFifo:
      return "fifo";
    case WorkerScheduling::kRr:
      return "rr";
    case WorkerScheduling::kOther:
      break;
  }
  return "other";
}

int applyToCurrentThread(WorkerScheduling policy, int priority) {
  if (policy == WorkerScheduling::kOther) return 0;
  sched_param param{};
  param.sched_priority = priority;
  return pthread_setschedparam(pthread_self(),
                               policy == WorkerScheduling::kFifo ? SCHED_FIFO : SCHED_RR, &param);
}

ThreadScheduling currentThreadScheduling() {
  int policy = SCHED_OTHER;
  sched_param param{};
  if (pthread_getschedparam(pthread_self(), &policy, &param) != 0) return {};
  if (policy == SCHED_FIFO) return {WorkerScheduling::kFifo, param.sched_priority};
  if (policy == SCHED_RR) return {WorkerScheduling::kRr, param.sched_priority};
  return {};
}

}  // namespace relay

#pragma once
// The engine's MessageTap that copies each traced message into the
// TraceQueue (one copy of the bytes, no I/O): the only part of tracing that
// runs on a SIP thread.
#include "sbc/b2bua/message_tap.h"
#include "sbc/trace/trace_queue.h"

namespace sbc::trace {

class QueueTap final : public b2bua::MessageTap {
 public:
  explicit QueueTap(TraceQueue& queue) : queue_(queue) {}
  void onMessage(const b2bua::TapEvent& e) override;

 private:
  TraceQueue& queue_;
};

TraceRecord toRecord(const b2bua::TapEvent& e, std::chrono::system_clock::time_point at);

}  // namespace sbc::trace

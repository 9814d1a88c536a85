#include "sbc/trace/trace_queue.h"

#include <iterator>

namespace sbc::trace {

std::string_view toString(Leg l) {
  return l == Leg::A ? "a" : "b";
}
std::string_view toString(Direction d) {
  return d == Direction::In ? "in" : "out";
}
std::string_view toString(Transport t) {
  switch (t) {
    case Transport::Udp:
      return "udp";
    case Transport::Tcp:
      return "tcp";
    case Transport::Tls:
      return "tls";
  }
  return "udp";
}

std::string hostPort(std::string_view address, std::uint16_t port) {
  std::string out;
  const bool v6 = address.find(':') != std::string_view::npos;
  out.reserve(address.size() + 8);
  if (v6) out += '[';
  out += address;
  if (v6) out += ']';
  out += ':';
  out += std::to_string(port);
  return out;
}

TraceQueue::TraceQueue(TraceQueueLimits limits) : limits_(limits) {}

bool TraceQueue::push(TraceRecord&& record) {
  const std::size_t cost = record.cost();
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() < limits_.max_records && bytes_ + cost <= limits_.max_bytes) {
      bytes_ += cost;
      queue_.push_back(std::move(record));
      accepted_.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
  }
  dropped_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

void TraceQueue::drainTo(std::vector<TraceRecord>& out) {
  std::deque<TraceRecord> taken;
  {
    std::lock_guard lock(mutex_);
    taken.swap(queue_);
    bytes_ = 0;
  }
  out.reserve(out.size() + taken.size());
  std::move(taken.begin(), taken.end(), std::back_inserter(out));
}

std::size_t TraceQueue::size() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

}  // namespace sbc::trace

#pragma once
// SBC_UDP_TIMING's second half, a latency diagnostic for the SIP thread: when
// the variable is set, the thread's io_context runs one handler at a time
// (WorkTiming::run) and every handler (a received UDP batch, a timer sweep, a
// task posted from another thread) is measured three ways:
//   cpu    the thread's own CPU time (CLOCK_THREAD_CPUTIME_ID): real work
//   runq   time runnable but waiting for a CPU (/proc/thread-self/schedstat):
//          preemption, and the wake-up delay after epoll reported readiness
//   wall   from the handler's label (mark()) to its end, when labelled
// plus minor page faults and involuntary context switches (getrusage). Any
// handler whose wall (or cpu + runq) reaches SBC_WORK_SLOW_US (2,000 us by
// default) is logged to stderr as it happens; log2 histograms per label go to
// stderr when the loop ends. Off (and free) unless the variable is set.
#include <cstddef>
#include <functional>
#include <string>

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace sbc::transport {

class WorkTiming {
 public:
  // True when SBC_UDP_TIMING is set (read once).
  static bool enabled();
  // Names the handler now running on this thread, with a count of what it
  // handled (datagrams, timers): the first label of a handler wins and starts
  // its wall clock; later calls only add to the count. `what` must be a
  // string literal. Costs a branch when the diagnostic is off or the thread
  // is not inside WorkTiming::run().
  static void mark(const char* what, std::size_t items = 1);
  // io.run(), one handler at a time, each measured; prints the histograms to
  // stderr when the loop ends. Call on the thread that runs `io`. `context`
  // (optional, called on that thread) adds the state of the moment to each
  // slow handler's line: table sizes, say.
  static std::size_t run(boost::asio::io_context& io,
                         const std::function<std::string()>& context = {});
};

}  // namespace sbc::transport

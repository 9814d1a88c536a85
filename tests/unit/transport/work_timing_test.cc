#include "sbc/transport/work_timing.h"

#include <gtest/gtest.h>
#include <time.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <chrono>
#include <string>
#include <thread>

namespace sbc::transport {
namespace {

std::int64_t threadCpuUs() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000 + ts.tv_nsec / 1000;
}

// Burns `us` of this thread's CPU time.
void spin(std::int64_t us) {
  const std::int64_t until = threadCpuUs() + us;
  volatile std::uint64_t sink = 0;
  while (threadCpuUs() < until) sink = sink + 1;
}

// The "sip work slow: <label> ..." line, or "" when there is none.
std::string slowLine(const std::string& log, const std::string& label) {
  const std::string key = "sip work slow: " + label + " ";
  const auto at = log.find(key);
  if (at == std::string::npos) return "";
  return log.substr(at, log.find('\n', at) - at);
}

std::int64_t field(const std::string& line, const std::string& name) {
  const auto at = line.find(" " + name + "=");
  if (at == std::string::npos) return -2;
  return std::stoll(line.substr(at + name.size() + 2));
}

TEST(WorkTiming, RunsEveryHandlerLikeRun) {
  boost::asio::io_context io;
  int ran = 0;
  for (int i = 0; i < 3; ++i) {
    boost::asio::post(io, [&] {
      WorkTiming::mark("task", 2);
      ++ran;
    });
  }
  // A handler posted by a handler runs too, as with io.run().
  boost::asio::post(io, [&] { boost::asio::post(io, [&] { ++ran; }); });
  testing::internal::CaptureStderr();
  const std::size_t handlers = WorkTiming::run(io);
  const std::string log = testing::internal::GetCapturedStderr();
  EXPECT_EQ(ran, 4);
  EXPECT_EQ(handlers, 5u);
  EXPECT_NE(log.find("sip work timing task: n=3 items=6;"), std::string::npos) << log;
  EXPECT_NE(log.find("sip work timing unlabelled: n=2 "), std::string::npos) << log;
}

// What the diagnostic is for: a handler that works long is told apart from
// one that was only away from the CPU (here: asleep).
TEST(WorkTiming, SlowHandlersShowTheirCpuTime) {
  boost::asio::io_context io;
  boost::asio::post(io, [] {
    WorkTiming::mark("busy");
    spin(5000);
  });
  boost::asio::post(io, [] {
    WorkTiming::mark("asleep");
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  });
  boost::asio::post(io, [] { spin(5000); });
  testing::internal::CaptureStderr();
  WorkTiming::run(io, [] { return std::string("txns=7"); });
  const std::string log = testing::internal::GetCapturedStderr();

  const std::string busy = slowLine(log, "busy");
  ASSERT_FALSE(busy.empty()) << log;
  EXPECT_GE(field(busy, "cpu"), 5000) << busy;
  EXPECT_GE(field(busy, "wall"), 5000) << busy;
  EXPECT_NE(busy.find("txns=7"), std::string::npos) << busy;

  const std::string asleep = slowLine(log, "asleep");
  ASSERT_FALSE(asleep.empty()) << log;
  EXPECT_GE(field(asleep, "wall"), 5000) << asleep;
  EXPECT_LT(field(asleep, "cpu"), 2000) << asleep;

  // Unlabelled work has no wall clock, but its CPU time still counts.
  const std::string unlabelled = slowLine(log, "unlabelled");
  ASSERT_FALSE(unlabelled.empty()) << log;
  EXPECT_EQ(field(unlabelled, "wall"), -1) << unlabelled;
  EXPECT_GE(field(unlabelled, "cpu"), 5000) << unlabelled;

  EXPECT_NE(log.find("sip work timing busy: n=1 items=1;"), std::string::npos) << log;
}

TEST(WorkTiming, MarkOutsideRunDoesNothing) {
  WorkTiming::mark("nowhere", 5);
  boost::asio::io_context io;
  boost::asio::post(io, [] {});
  testing::internal::CaptureStderr();
  WorkTiming::run(io);
  const std::string log = testing::internal::GetCapturedStderr();
  EXPECT_EQ(log.find("nowhere"), std::string::npos) << log;
}

}  // namespace
}  // namespace sbc::transport

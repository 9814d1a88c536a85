// [node] sip_scheduling / sip_priority, and the thread scheduling helper the
// SBC shares with the media relay (sbc/common/thread_scheduling.h).
#include <gtest/gtest.h>

#include <sched.h>

#include <cerrno>
#include <stdexcept>
#include <string>
#include <thread>

#include "sbc/app/config.h"
#include "sbc/common/thread_scheduling.h"

namespace sbc::app {
namespace {

using common::SchedPolicy;

const std::string kRest =
    "[database]\ndsn = \"host=127.0.0.1 dbname=sbc\"\n"
    "[[listen]]\nrealm = \"inside\"\naddress = \"127.0.0.1\"\n";

Config withNode(const std::string& node) {
  return parseConfig("[node]\n" + node + "\n" + kRest);
}

std::string errorOf(const std::string& node) {
  try {
    withNode(node);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

TEST(SipScheduling, DefaultsToTheNormalPolicy) {
  const Config c = parseConfig(kRest);
  EXPECT_EQ(c.sip_scheduling, SchedPolicy::kOther);
  EXPECT_EQ(c.sip_priority, 5);
  EXPECT_EQ(withNode("name = \"a\"").sip_scheduling, SchedPolicy::kOther);
}

TEST(SipScheduling, ParsesPolicyAndPriority) {
  Config c = withNode("sip_scheduling = \"fifo\"\nsip_priority = 20");
  EXPECT_EQ(c.sip_scheduling, SchedPolicy::kFifo);
  EXPECT_EQ(c.sip_priority, 20);
  c = withNode("sip_scheduling = \"rr\"");
  EXPECT_EQ(c.sip_scheduling, SchedPolicy::kRr);
  EXPECT_EQ(c.sip_priority, 5);
  c = withNode("sip_scheduling = \"other\"\nsip_priority = 99");
  EXPECT_EQ(c.sip_scheduling, SchedPolicy::kOther);
  EXPECT_EQ(c.sip_priority, 99);
  EXPECT_EQ(withNode("sip_priority = 1").sip_priority, 1);
}

TEST(SipScheduling, BadValuesNameTheKey) {
  for (const char* bad : {"sip_scheduling = \"realtime\"", "sip_scheduling = \"FIFO\"",
                          "sip_scheduling = \"\"", "sip_scheduling = 1"}) {
    EXPECT_NE(errorOf(bad).find("node.sip_scheduling"), std::string::npos) << bad;
  }
  for (const char* bad :
       {"sip_priority = 0", "sip_priority = 100", "sip_priority = -5", "sip_priority = \"5\""}) {
    EXPECT_NE(errorOf(bad).find("node.sip_priority"), std::string::npos) << bad;
  }
}

// The shipped sample keeps the normal policy (fifo measured worse where the
// call path shares the cores) and names the priority an opt-in would use,
// below the relay's 10.
TEST(SipScheduling, SampleFileKeepsTheNormalPolicy) {
  const Config c = loadConfig(std::string(SBC_SOURCE_DIR) + "/deploy/sbc.sample.toml");
  EXPECT_EQ(c.sip_scheduling, SchedPolicy::kOther);
  EXPECT_EQ(c.sip_priority, 5);
}

TEST(ThreadScheduling, NamesRoundTrip) {
  for (auto s : {SchedPolicy::kOther, SchedPolicy::kFifo, SchedPolicy::kRr}) {
    EXPECT_EQ(common::parseSchedPolicy(common::schedPolicyName(s)), s);
  }
  EXPECT_FALSE(common::parseSchedPolicy(""));
  EXPECT_FALSE(common::parseSchedPolicy("batch"));
  EXPECT_FALSE(common::parseSchedPolicy("Fifo"));
}

TEST(ThreadScheduling, OtherLeavesTheThreadAlone) {
  std::thread([] {
    EXPECT_EQ(common::applyToCurrentThread(SchedPolicy::kOther, 50), 0);
    const common::ThreadScheduling got = common::currentThreadScheduling();
    EXPECT_EQ(got.policy, SchedPolicy::kOther);
    EXPECT_EQ(got.priority, 0);
  }).join();
}

TEST(ThreadScheduling, OutOfRangePriorityIsRefused) {
  std::thread([] {
    EXPECT_EQ(common::applyToCurrentThread(SchedPolicy::kFifo, 0), EINVAL);
    EXPECT_EQ(common::applyToCurrentThread(SchedPolicy::kRr, 100), EINVAL);
    EXPECT_EQ(common::currentThreadScheduling().policy, SchedPolicy::kOther);
  }).join();
}

// Only the thread that asked runs real-time: the test process, a thread
// beside it and a thread it starts afterwards stay at the normal policy.
TEST(ThreadScheduling, OnlyTheCallingThreadAndNotItsChildren) {
  int result = -1;
  common::ThreadScheduling self, child;
  std::thread([&] {
    result = common::applyToCurrentThread(SchedPolicy::kFifo, 3);
    self = common::currentThreadScheduling();
    std::thread([&] { child = common::currentThreadScheduling(); }).join();
  }).join();
  if (result == EPERM) GTEST_SKIP() << "no right to SCHED_FIFO here (CAP_SYS_NICE/RLIMIT_RTPRIO)";
  ASSERT_EQ(result, 0);
  EXPECT_EQ(self.policy, SchedPolicy::kFifo);
  EXPECT_EQ(self.priority, 3);
  EXPECT_EQ(child.policy, SchedPolicy::kOther);
  EXPECT_EQ(child.priority, 0);
  EXPECT_EQ(common::currentThreadScheduling().policy, SchedPolicy::kOther);
  EXPECT_EQ(sched_getscheduler(0), SCHED_OTHER);
}

}  // namespace
}  // namespace sbc::app

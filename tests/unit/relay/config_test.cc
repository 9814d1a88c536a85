#include <gtest/gtest.h>

#include <fstream>

#include "media-relay/relay/config.h"

namespace relay {
namespace {

TEST(RelayConfig, DefaultsAndFullFile) {
  RelayConfig d = parseConfig("");
  EXPECT_EQ(d.portMin, 30000);
  EXPECT_EQ(d.workers, 1u);
  EXPECT_TRUE(d.forwardDelay);
  EXPECT_EQ(d.forwardDelaySample, 8u);
  EXPECT_EQ(d.sessionTtl, std::chrono::seconds(60));
  // Real-time workers are opt-in: they outrank every normal process on the host.
  EXPECT_EQ(d.workerScheduling, WorkerScheduling::kOther);
  EXPECT_EQ(d.workerPriority, 10);

  RelayConfig c = parseConfig(R"(
[node]
name = "r9"
workers = 2
forward_delay = false
forward_delay_sample = 3
worker_scheduling = "fifo"
worker_priority = 20
[realm.inside]
address = "10.0.0.1"
[realm.outside]
address = "0.0.0.0"
advertise = "203.0.113.9"
[ports]
min = 20000
max = 20099
[control]
address = "127.0.0.1"
port = 0
[http]
port = 9000
[sessions]
ttl = 5
media_timeout = 30
latch_window_ms = 1500
)");
  EXPECT_EQ(c.nodeName, "r9");
  EXPECT_EQ(c.workers, 2u);
  EXPECT_FALSE(c.forwardDelay);
  EXPECT_EQ(c.forwardDelaySample, 3u);
  EXPECT_EQ(c.workerScheduling, WorkerScheduling::kFifo);
  EXPECT_EQ(c.workerPriority, 20);
  EXPECT_EQ(c.inside.advertised(), "10.0.0.1");
  EXPECT_EQ(c.outside.address, "0.0.0.0");
  EXPECT_EQ(c.outside.advertised(), "203.0.113.9");
  EXPECT_EQ(c.portMin, 20000);
  EXPECT_EQ(c.portMax, 20099);
  EXPECT_EQ(c.control.port, 0);
  EXPECT_EQ(c.http.port, 9000);
  EXPECT_EQ(c.sessionTtl, std::chrono::seconds(5));
  EXPECT_EQ(c.defaultMediaTimeout, 30u);
  EXPECT_EQ(c.latchWindow, std::chrono::milliseconds(1500));
}

TEST(RelayConfig, RejectsBadValuesNamingTheKey) {
  struct Case {
    const char* toml;
    const char* mentions;
  } cases[] = {
      {"[ports]\nmin = 30001", "ports.min"},
      {"[ports]\nmin = 30000\nmax = 30001", "ports.max"},
      {"[realm.outside]\naddress = \"0.0.0.0\"", "advertise"},
      {"[realm.inside]\naddress = \"relay.example\"", "realm.inside.address"},
      {"[control]\nport = 70000", "control.port"},
      {"[node]\nworkers = 0", "node.workers"},
      {"[sessions]\nttl = \"60\"", "sessions.ttl"},
      {"[sesions]\nttl = 60", "sesions"},
      {"[node]\nwrokers = 2", "node.wrokers"},
      {"[node]\nworker_scheduling = \"realtime\"", "node.worker_scheduling"},
      {"[node]\nworker_scheduling = \"FIFO\"", "node.worker_scheduling"},
      {"[node]\nworker_scheduling = 1", "node.worker_scheduling"},
      {"[node]\nworker_priority = 0", "node.worker_priority"},
      {"[node]\nworker_priority = 100", "node.worker_priority"},
      {"[node", "config"},
  };
  for (const auto& c : cases) {
    try {
      parseConfig(c.toml);
      ADD_FAILURE() << "accepted: " << c.toml;
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(c.mentions), std::string::npos)
          << c.toml << " -> " << e.what();
    }
  }
}

TEST(RelayConfig, TheSampleFileLoads) {
  RelayConfig c = loadConfig(std::string(SBC_FIXTURES_DIR) + "/../../deploy/relay.sample.toml");
  EXPECT_EQ(c.control.port, 7722);
  EXPECT_EQ(c.http.port, 7723);
  // What a production node runs with (deploy/systemd/media-relay.service grants it).
  EXPECT_EQ(c.workerScheduling, WorkerScheduling::kFifo);
  EXPECT_EQ(c.workerPriority, 10);
}

TEST(RelayConfig, SchedulingNamesRoundTrip) {
  for (auto s : {WorkerScheduling::kOther, WorkerScheduling::kFifo, WorkerScheduling::kRr}) {
    EXPECT_EQ(parseWorkerScheduling(workerSchedulingName(s)), s);
  }
  EXPECT_FALSE(parseWorkerScheduling(""));
  EXPECT_FALSE(parseWorkerScheduling("batch"));
}

}  // namespace
}  // namespace relay

#include <gtest/gtest.h>

#include <thread>

#include "sbc/trace/tap.h"
#include "sbc/trace/trace_queue.h"
#include "sbc/trace/trace_writer.h"

namespace sbc::trace {
namespace {

TraceRecord record(std::string message) {
  TraceRecord r;
  r.call_id = "c1";
  r.message = std::move(message);
  return r;
}

TEST(TraceQueue, RefusesAndCountsBeyondItsRecordLimitAndKeepsOrder) {
  TraceQueue q(TraceQueueLimits{3, 1 << 20});
  EXPECT_TRUE(q.push(record("1")));
  EXPECT_TRUE(q.push(record("2")));
  EXPECT_TRUE(q.push(record("3")));
  EXPECT_FALSE(q.push(record("4")));
  EXPECT_EQ(q.size(), 3u);
  EXPECT_EQ(q.accepted(), 3u);
  EXPECT_EQ(q.dropped(), 1u);

  std::vector<TraceRecord> out;
  q.drainTo(out);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].message, "1");
  EXPECT_EQ(out[2].message, "3");
  EXPECT_EQ(q.size(), 0u);
  // Room again once drained.
  EXPECT_TRUE(q.push(record("5")));
}

TEST(TraceQueue, RefusesBeyondItsByteLimit) {
  const std::size_t one = record(std::string(1000, 'x')).cost();
  TraceQueue q(TraceQueueLimits{100, one * 2 + record("").cost()});
  EXPECT_TRUE(q.push(record(std::string(1000, 'x'))));
  EXPECT_TRUE(q.push(record(std::string(1000, 'x'))));
  EXPECT_FALSE(q.push(record(std::string(1000, 'x'))));
  // A small one still fits.
  EXPECT_TRUE(q.push(record("")));
  EXPECT_EQ(q.dropped(), 1u);
  std::vector<TraceRecord> out;
  q.drainTo(out);
  EXPECT_TRUE(q.push(record(std::string(1000, 'x'))));
}

TEST(TraceQueue, ManyProducersNeverExceedTheBoundAndEveryPushIsAccounted) {
  TraceQueue q(TraceQueueLimits{1000, 1 << 30});
  std::vector<std::thread> producers;
  for (int t = 0; t < 4; ++t) {
    producers.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) q.push(record("m"));
    });
  }
  for (auto& t : producers) t.join();
  EXPECT_EQ(q.size(), 1000u);
  EXPECT_EQ(q.accepted() + q.dropped(), 4000u);
}

TEST(QueueTap, CopiesTheEventWithTheALegCallIdForBothLegs) {
  TraceQueue q;
  QueueTap tap(q);
  std::string wire = "SIP/2.0 180 Ringing\r\n\r\n";
  b2bua::TapEvent e;
  e.call_id = "a-call@pbx";
  e.leg = b2bua::LegSide::B;
  e.inbound = true;
  e.protocol = txn::Protocol::Tcp;
  e.local_host = "203.0.113.1";
  e.local_port = 5060;
  e.remote_address = "198.51.100.7";
  e.remote_port = 5070;
  e.wire = wire;
  tap.onMessage(e);
  wire.assign("changed");  // the record owns its copy
  std::vector<TraceRecord> out;
  q.drainTo(out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].call_id, "a-call@pbx");
  EXPECT_EQ(out[0].leg, Leg::B);
  EXPECT_EQ(out[0].direction, Direction::In);
  EXPECT_EQ(out[0].transport, Transport::Tcp);
  EXPECT_EQ(hostPort(out[0].remote_address, out[0].remote_port), "198.51.100.7:5070");
  EXPECT_EQ(out[0].message, "SIP/2.0 180 Ringing\r\n\r\n");
}

TEST(TraceText, NulAndInvalidUtf8BecomeReplacementCharacters) {
  EXPECT_EQ(toPgText("plain"), "plain");
  EXPECT_EQ(toPgText("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(toPgText(std::string_view("a\0b", 3)),
            "a\xef\xbf\xbd"
            "b");
  EXPECT_EQ(toPgText("\xff"), "\xef\xbf\xbd");
  EXPECT_EQ(toPgText("\xc3"), "\xef\xbf\xbd");                  // truncated sequence
  EXPECT_EQ(toPgText("\xc0\xaf"), "\xef\xbf\xbd\xef\xbf\xbd");  // overlong
  EXPECT_EQ(hostPort("::1", 5060), "[::1]:5060");
}

TEST(TraceText, TimestampsAreUtcWithMicroseconds) {
  using namespace std::chrono_literals;
  EXPECT_EQ(pgTimestamp(std::chrono::system_clock::time_point(1700000000s + 5us)),
            "2023-11-14 22:13:20.000005+00");
}

TEST(TraceWriter, RefusesAMalformedHepAddress) {
  TraceQueue q;
  TraceWriterOptions o;
  o.hep_address = "not-an-address";
  EXPECT_THROW(TraceWriter(q, nullptr, o), std::invalid_argument);
  o.hep_address = "127.0.0.1:0";
  EXPECT_THROW(TraceWriter(q, nullptr, o), std::invalid_argument);
}

}  // namespace
}  // namespace sbc::trace

#include <gtest/gtest.h>

#include "media-relay/relay/latch.h"

namespace relay {
namespace {

using namespace std::chrono_literals;

SockAddr addr(const char* ip, std::uint16_t port) {
  return *SockAddr::fromString(ip, port);
}

TEST(Latch, WithoutSignalledRemoteLatchesTheFirstSourceForGood) {
  Latch l;
  auto t = Latch::Clock::time_point{} + 100s;
  l.signal(std::nullopt, t, 3s);
  EXPECT_EQ(l.destination(), nullptr);
  EXPECT_TRUE(l.accept(addr("192.0.2.1", 4000), t));
  EXPECT_TRUE(l.accept(addr("192.0.2.1", 4000), t + 1s));
  EXPECT_FALSE(l.accept(addr("192.0.2.66", 4000), t + 1s));  // RTP Bleed
  EXPECT_FALSE(l.accept(addr("192.0.2.1", 4001), t + 1s));
  ASSERT_NE(l.destination(), nullptr);
  EXPECT_EQ(*l.destination(), addr("192.0.2.1", 4000));
}

TEST(Latch, SignalledRemoteAcceptsNatPortOnlyWithinWindow) {
  auto t = Latch::Clock::time_point{} + 100s;
  Latch nat;
  nat.signal(addr("10.0.0.5", 40000), t, 3s);
  EXPECT_EQ(*nat.destination(), addr("10.0.0.5", 40000));
  EXPECT_FALSE(nat.accept(addr("10.0.0.6", 40000), t + 1s));  // other IP: never
  EXPECT_TRUE(nat.accept(addr("10.0.0.5", 61234), t + 1s));   // NAT rewrote the port
  EXPECT_EQ(*nat.destination(), addr("10.0.0.5", 61234));     // symmetric: send there
  EXPECT_FALSE(nat.accept(addr("10.0.0.5", 40000), t + 2s));  // latched: no second source

  Latch late;
  late.signal(addr("10.0.0.5", 40000), t, 3s);
  EXPECT_FALSE(late.accept(addr("10.0.0.5", 61234), t + 4s));  // window over
  EXPECT_TRUE(late.accept(addr("10.0.0.5", 40000), t + 4s));   // exact address still fine
}

TEST(Latch, NewSignalledRemoteReopensSameOneKeeps) {
  auto t = Latch::Clock::time_point{} + 100s;
  Latch l;
  l.signal(addr("10.0.0.5", 40000), t, 3s);
  EXPECT_TRUE(l.accept(addr("10.0.0.5", 50000), t));
  l.signal(addr("10.0.0.5", 40000), t + 10s, 3s);  // re-INVITE repeats the SDP
  EXPECT_TRUE(l.latched());
  EXPECT_TRUE(l.accept(addr("10.0.0.5", 50000), t + 11s));
  l.signal(addr("10.0.0.9", 40000), t + 20s, 3s);  // the call moved
  EXPECT_FALSE(l.accept(addr("10.0.0.5", 50000), t + 20s));
  EXPECT_TRUE(l.accept(addr("10.0.0.9", 40000), t + 21s));
}

TEST(Latch, WindowAnyLatchesAnyFirstSourceWithinWindowThenNeverMoves) {
  using sbc::relayctl::LatchMode;
  auto t = Latch::Clock::time_point{} + 100s;
  // A multi-homed PBX: its SDP says 127.0.0.2, its RTP leaves from 127.0.0.1.
  Latch any;
  any.signal(addr("127.0.0.2", 40000), t, 3s, LatchMode::kWindowAny);
  EXPECT_TRUE(any.accept(addr("127.0.0.1", 40000), t + 1s));
  EXPECT_EQ(*any.destination(), addr("127.0.0.1", 40000));
  // Still no re-latching mid-call, not even to the signalled address.
  EXPECT_FALSE(any.accept(addr("192.0.2.66", 40000), t + 2s));
  EXPECT_FALSE(any.accept(addr("127.0.0.2", 40000), t + 2s));
  EXPECT_TRUE(any.accept(addr("127.0.0.1", 40000), t + 30s));

  // The same source in strict mode is refused, and does not latch.
  Latch strict;
  strict.signal(addr("127.0.0.2", 40000), t, 3s, LatchMode::kStrict);
  EXPECT_FALSE(strict.accept(addr("127.0.0.1", 40000), t + 1s));
  EXPECT_FALSE(strict.latched());
  EXPECT_TRUE(strict.accept(addr("127.0.0.2", 40000), t + 1s));

  // After the window, window_any is as strict as strict.
  Latch late;
  late.signal(addr("127.0.0.2", 40000), t, 3s, LatchMode::kWindowAny);
  EXPECT_FALSE(late.accept(addr("127.0.0.1", 40000), t + 4s));
  EXPECT_FALSE(late.accept(addr("127.0.0.2", 41000), t + 4s));
  EXPECT_TRUE(late.accept(addr("127.0.0.2", 40000), t + 4s));

  // A new signalled remote re-opens the window in the same mode.
  any.signal(addr("127.0.0.3", 40000), t + 60s, 3s, LatchMode::kWindowAny);
  EXPECT_TRUE(any.accept(addr("127.0.0.4", 5000), t + 61s));
}

TEST(Latch, RepeatedSignalReopensTheWindowOnlyWhileNothingLatched) {
  using sbc::relayctl::LatchMode;
  auto t = Latch::Clock::time_point{} + 100s;
  Latch l;
  l.signal(addr("127.0.0.2", 40000), t, 3s, LatchMode::kWindowAny);        // the offer
  EXPECT_FALSE(l.accept(addr("127.0.0.1", 40000), t + 20s));               // ringing: window over
  l.signal(addr("127.0.0.2", 40000), t + 25s, 3s, LatchMode::kWindowAny);  // the answer
  EXPECT_TRUE(l.accept(addr("127.0.0.1", 40000), t + 26s));
  l.signal(addr("127.0.0.2", 40000), t + 60s, 3s, LatchMode::kWindowAny);  // a re-INVITE
  EXPECT_FALSE(l.accept(addr("192.0.2.66", 40000), t + 61s));              // latched: stays
  EXPECT_TRUE(l.accept(addr("127.0.0.1", 40000), t + 61s));
}

TEST(Latch, Ipv6) {
  auto t = Latch::Clock::time_point{} + 1s;
  Latch l;
  l.signal(addr("2001:db8::1", 5004), t, 3s);
  EXPECT_FALSE(l.accept(addr("2001:db8::2", 5004), t));
  EXPECT_FALSE(l.accept(addr("10.0.0.1", 5004), t));
  EXPECT_TRUE(l.accept(addr("2001:db8::1", 6000), t));
}

}  // namespace
}  // namespace relay

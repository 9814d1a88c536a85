// Gateways by host name: the DNS cache (dns_cache.h) with a fake resolver,
// and what routing and gateway health do with its answers.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sbc/b2bua/dns_cache.h"
#include "sbc/b2bua/gateway_health.h"
#include "sbc/b2bua/routing.h"
#include "sbc/txn/fake_timer_service.h"
#include "tests/unit/b2bua/policy_fixtures.h"

namespace sbc::b2bua {
namespace {

using namespace std::chrono_literals;
using Clock = DnsCache::Clock;

// A resolver whose answers the test sets; counts the questions per name.
struct FakeDns {
  std::mutex mutex;
  std::map<std::string, DnsAnswer> answers;
  std::map<std::string, int> asked;

  void set(const std::string& name, std::vector<std::string> addresses) {
    std::lock_guard lock(mutex);
    answers[name] = DnsAnswer{std::move(addresses), {}};
  }
  void fail(const std::string& name) {
    std::lock_guard lock(mutex);
    answers[name] = DnsAnswer{{}, "SERVFAIL"};
  }
  int askedFor(const std::string& name) {
    std::lock_guard lock(mutex);
    return asked[name];
  }
  ResolveFn fn() {
    return [this](const std::string& name) {
      std::lock_guard lock(mutex);
      ++asked[name];
      auto it = answers.find(name);
      return it == answers.end() ? DnsAnswer{{}, "NXDOMAIN"} : it->second;
    };
  }
};

DnsCacheOptions manual(FakeDns& dns) {
  DnsCacheOptions o;
  o.ttl = 60s;
  o.retry = 2s;
  o.resolve = dns.fn();
  o.worker = false;
  return o;
}

TEST(DnsCache, IpLiteralsAreNeverResolved) {
  FakeDns dns;
  DnsCache cache(manual(dns));
  cache.setNames({"192.0.2.1", "2001:db8::1", "[2001:db8::2]"});
  EXPECT_EQ(cache.refreshDue(Clock::now()), 0u);
  EXPECT_EQ(cache.lookup("192.0.2.1"), "192.0.2.1");
  EXPECT_EQ(cache.lookup("[2001:db8::2]"), "2001:db8::2");
  EXPECT_EQ(cache.stats().names, 0u);
  EXPECT_TRUE(dns.asked.empty());
  EXPECT_TRUE(isIpLiteral("10.0.0.1"));
  EXPECT_TRUE(isIpLiteral("::1"));
  EXPECT_FALSE(isIpLiteral("localhost"));
  EXPECT_FALSE(isIpLiteral("10.0.0.1.example"));
  EXPECT_FALSE(isIpLiteral(""));
}

TEST(DnsCache, ANameHasNoAddressUntilResolvedThenTheFirstAnswer) {
  FakeDns dns;
  dns.set("sip.carrier.example", {"198.51.100.7", "198.51.100.8"});
  DnsCache cache(manual(dns));
  cache.setNames({"sip.carrier.example"});
  // Nothing resolved yet: the caller gets no address and never waits.
  EXPECT_EQ(cache.lookup("sip.carrier.example"), std::nullopt);
  EXPECT_EQ(cache.stats().unresolved, 1u);
  EXPECT_EQ(cache.stats().unresolved_lookups, 1u);

  EXPECT_EQ(cache.refreshDue(Clock::now()), 1u);
  EXPECT_EQ(cache.lookup("sip.carrier.example"), "198.51.100.7");
  EXPECT_EQ(cache.stats().unresolved, 0u);
  EXPECT_EQ(cache.lookup("other.example"), std::nullopt);  // not a gateway name
}

TEST(DnsCache, RefreshedAfterTheTtlNotBefore) {
  FakeDns dns;
  dns.set("gw.example", {"192.0.2.10"});
  DnsCache cache(manual(dns));
  cache.setNames({"gw.example"});
  const auto t0 = Clock::now();
  cache.refreshDue(t0);
  dns.set("gw.example", {"192.0.2.11"});
  EXPECT_EQ(cache.refreshDue(t0 + 59s), 0u);
  EXPECT_EQ(cache.lookup("gw.example"), "192.0.2.10");
  EXPECT_EQ(cache.refreshDue(t0 + 60s), 1u);
  EXPECT_EQ(cache.lookup("gw.example"), "192.0.2.11");
  EXPECT_EQ(dns.askedFor("gw.example"), 2);
}

TEST(DnsCache, AFailedRefreshKeepsTheLastGoodAnswerAndRetriesSooner) {
  FakeDns dns;
  dns.set("gw.example", {"192.0.2.10"});
  DnsCache cache(manual(dns));
  cache.setNames({"gw.example"});
  const auto t0 = Clock::now();
  cache.refreshDue(t0);
  dns.fail("gw.example");
  cache.refreshDue(t0 + 60s);
  EXPECT_EQ(cache.lookup("gw.example"), "192.0.2.10");
  EXPECT_EQ(cache.stats().stale_kept, 1u);
  EXPECT_EQ(cache.stats().failures, 1u);
  // Retried after `retry` (2 s), not a whole TTL later.
  dns.set("gw.example", {"192.0.2.12"});
  EXPECT_EQ(cache.refreshDue(t0 + 61s), 0u);
  EXPECT_EQ(cache.refreshDue(t0 + 62s), 1u);
  EXPECT_EQ(cache.lookup("gw.example"), "192.0.2.12");
}

TEST(DnsCache, ANameThatNeverResolvesStaysUnusableWithBackoff) {
  FakeDns dns;
  DnsCache cache(manual(dns));
  cache.setNames({"nowhere.invalid"});
  const auto t0 = Clock::now();
  cache.refreshDue(t0);       // fails; retry in 2 s
  cache.refreshDue(t0 + 2s);  // fails; retry in 4 s
  EXPECT_EQ(cache.refreshDue(t0 + 5s), 0u);
  cache.refreshDue(t0 + 6s);  // fails; retry in 8 s
  EXPECT_EQ(dns.askedFor("nowhere.invalid"), 3);
  EXPECT_EQ(cache.lookup("nowhere.invalid"), std::nullopt);
  const DnsStats s = cache.stats();
  EXPECT_EQ(s.failures, 3u);
  EXPECT_EQ(s.unresolved, 1u);
  // The backoff stops at the TTL.
  auto t = t0 + 6s;
  for (int i = 0; i < 10; ++i) {
    t += 60s;
    cache.refreshDue(t);
  }
  EXPECT_EQ(cache.refreshDue(t + 59s), 0u);
  EXPECT_EQ(cache.refreshDue(t + 60s), 1u);
}

TEST(DnsCache, NamesNoLongerListedAreForgotten) {
  FakeDns dns;
  dns.set("a.example", {"192.0.2.1"});
  dns.set("b.example", {"192.0.2.2"});
  DnsCache cache(manual(dns));
  cache.setNames({"a.example", "b.example"});
  cache.refreshDue(Clock::now());
  cache.setNames({"b.example"});
  EXPECT_EQ(cache.lookup("a.example"), std::nullopt);
  EXPECT_EQ(cache.lookup("b.example"), "192.0.2.2");  // kept its answer
  EXPECT_EQ(cache.stats().names, 1u);
}

TEST(DnsCache, TheWorkerResolvesOffTheCallersThread) {
  FakeDns dns;
  dns.set("gw.example", {"192.0.2.20"});
  DnsCacheOptions o = manual(dns);
  o.worker = true;
  DnsCache cache(o);
  cache.setNames({"gw.example"});
  std::optional<std::string> got;
  const auto deadline = Clock::now() + 5s;
  while (!(got = cache.lookup("gw.example")) && Clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  EXPECT_EQ(got, "192.0.2.20");
}

TEST(DnsCache, SystemResolverKnowsLocalhost) {
  DnsAnswer a = systemResolve("localhost");
  ASSERT_FALSE(a.addresses.empty()) << a.error;
  EXPECT_TRUE(a.addresses.front() == "127.0.0.1" || a.addresses.front() == "::1")
      << a.addresses.front();
  EXPECT_TRUE(systemResolve("no-such-host.invalid").addresses.empty());
}

// ---- routing through a HealthView that knows some names

struct NamedHealth : HealthView {
  bool isDown(std::int64_t) const override { return false; }
  std::optional<std::string> addressOf(std::string_view host) const override {
    if (isIpLiteral(host)) return std::string(host);
    auto it = names.find(std::string(host));
    if (it == names.end()) return std::nullopt;
    return it->second;
  }
  std::map<std::string, std::string> names;
};

class DnsRoutingTest : public ::testing::Test {
 protected:
  DnsRoutingTest() : registrar_(timers_) {
    cfg::Trunk pbx = testing::pbx(1, "pbx");
    pbx.acl.push_back(testing::cidr("10.0.0.0/24"));
    snap_.trunks.push_back(pbx);
    cfg::Trunk c = testing::carrier(10, "carrier");
    c.gateways.push_back(testing::gateway(1001, "sip.carrier.example", 10));
    c.gateways.push_back(testing::gateway(1002, "down.carrier.example", 20));
    c.gateways.push_back(testing::gateway(1003, "192.0.2.9", 30));
    c.gateways[0].transport = cfg::Transport::Tls;
    snap_.trunks.push_back(c);
    snap_.routes.push_back({"", 10, 10, 100});
    snap_.index();
    health_.names["sip.carrier.example"] = "198.51.100.7";
  }
  RoutingDecision route() {
    Router r({}, &health_, &registrar_, 1);
    sip::Message m = testing::parseSip(
        testing::request("INVITE", "sip:+12125550123@sbc", "+14155550100", "x", ""));
    return r.route(m, *snap_.trunk(1), snap_);
  }

  txn::FakeTimerService timers_;
  Registrar registrar_;
  NamedHealth health_;
  cfg::Snapshot snap_;
};

TEST_F(DnsRoutingTest, NamesAreSentToTheirAddressUnresolvedOnesSkipped) {
  RoutingDecision d = route();
  ASSERT_EQ(d.targets.size(), 2u);
  EXPECT_EQ(d.targets[0].gateway_id, 1001);
  EXPECT_EQ(d.targets[0].host, "198.51.100.7");
  // TLS still checks the carrier's certificate against its name.
  EXPECT_EQ(d.targets[0].tls_server_name, "sip.carrier.example");
  EXPECT_EQ(d.targets[1].gateway_id, 1003);
  EXPECT_EQ(d.targets[1].host, "192.0.2.9");
}

TEST_F(DnsRoutingTest, NoGatewayResolvedMeansNoRoute) {
  health_.names.clear();
  snap_.trunks[1].gateways.pop_back();
  snap_.index();
  RoutingDecision d = route();
  EXPECT_TRUE(d.targets.empty());
  EXPECT_EQ(d.reject_code, 503);
}

// ---- gateway health pings a name at its cached address

TEST(DnsHealth, PingsANameAtItsAddressOnceResolved) {
  FakeDns dns;
  dns.set("gw.example", {"198.51.100.30"});
  txn::FakeTimerService timers;
  testing::FakeRequestSender sender;
  HealthOptions o;
  o.interval = 10s;
  o.dns.resolve = dns.fn();
  GatewayHealth h(sender, timers, o);
  cfg::Snapshot snap;
  cfg::Trunk c = testing::carrier(10, "carrier");
  c.gateways.push_back(testing::gateway(1, "gw.example"));
  cfg::Gateway quiet = testing::gateway(2, "quiet.example");
  quiet.options_ping = false;  // not pinged, but routing still needs its address
  c.gateways.push_back(quiet);
  snap.trunks.push_back(c);
  snap.index();
  dns.set("quiet.example", {"198.51.100.31"});
  h.setSnapshot(snap);
  const auto deadline = Clock::now() + 5s;
  while ((!h.addressOf("gw.example") || !h.addressOf("quiet.example")) && Clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  EXPECT_EQ(h.addressOf("gw.example"), "198.51.100.30");
  EXPECT_EQ(h.addressOf("quiet.example"), "198.51.100.31");
  EXPECT_EQ(h.addressOf("192.0.2.1"), "192.0.2.1");
  timers.advance(0ms);
  ASSERT_EQ(sender.sent.size(), 1u);
  EXPECT_EQ(sender.sent[0].to.address, "198.51.100.30");
  EXPECT_EQ(sender.sent[0].request.requestUriText(), "sip:gw.example:5060");
  EXPECT_EQ(h.dnsStats().names, 2u);
}

TEST(DnsHealth, AnUnresolvedNameCountsAsAFailedPing) {
  FakeDns dns;  // knows nothing
  txn::FakeTimerService timers;
  testing::FakeRequestSender sender;
  HealthOptions o;
  o.interval = 10s;
  o.down_after = 1;
  o.dns.resolve = dns.fn();
  o.dns.worker = false;
  GatewayHealth h(sender, timers, o);
  cfg::Snapshot snap;
  cfg::Trunk c = testing::carrier(10, "carrier");
  c.gateways.push_back(testing::gateway(1, "nowhere.invalid"));
  snap.trunks.push_back(c);
  snap.index();
  h.setSnapshot(snap);
  timers.advance(0ms);
  EXPECT_TRUE(sender.sent.empty());
  EXPECT_TRUE(h.isDown(1));
  EXPECT_EQ(h.addressOf("nowhere.invalid"), std::nullopt);
}

}  // namespace
}  // namespace sbc::b2bua

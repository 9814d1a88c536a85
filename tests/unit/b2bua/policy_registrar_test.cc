#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "sbc/b2bua/policy_flood.h"
#include "sbc/b2bua/registrar.h"
#include "sbc/txn/fake_timer_service.h"
#include "tests/unit/b2bua/policy_fixtures.h"

namespace sbc::b2bua {
namespace {

using namespace std::chrono_literals;
using testing::parseSip;

struct RecordingSink : RegistrationSink {
  void onBindingEvent(const BindingEvent& e) override { events.push_back(e); }
  std::vector<BindingEvent> events;
};

class RegistrarTest : public ::testing::Test {
 protected:
  RegistrarTest() : registrar_(timers_, options(), &sink_) {
    trunk_ = testing::pbx(5, "pbx", cfg::AuthMode::Register);
    nat_.protocol = txn::Protocol::Udp;
    nat_.address = "203.0.113.7";
    nat_.port = 40123;
  }
  static RegistrarOptions options() {
    RegistrarOptions o;
    o.min_expires = 60;
    o.max_expires = 3600;
    o.max_contacts_per_trunk = 3;
    return o;
  }
  sip::Message reg(std::string_view contacts, std::uint32_t cseq = 1,
                   std::string_view call_id = "reg-1") {
    std::string s =
        "REGISTER sip:sbc.example.com SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKr" +
        std::to_string(cseq) +
        "\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:pbx1@sbc.example.com>;tag=f1\r\n"
        "To: <sip:pbx1@SBC.example.com>\r\n"
        "Call-ID: " +
        std::string(call_id) +
        "\r\n"
        "CSeq: " +
        std::to_string(cseq) +
        " REGISTER\r\n"
        "User-Agent: TestPBX 1.0\r\n" +
        std::string(contacts) + "Content-Length: 0\r\n\r\n";
    return parseSip(std::move(s));
  }
  sip::Message handle(const sip::Message& m, const txn::Peer& from) {
    return registrar_.handleRegister(m, from, trunk_, "totag1");
  }
  sip::Message handle(const sip::Message& m) { return handle(m, nat_); }

  static std::vector<std::string> contactsOf(const sip::Message& resp) {
    std::vector<std::string> out;
    auto c = resp.contacts();
    if (!c.ok()) return out;
    for (const auto& na : *c)
      out.push_back(std::string(na.uri.text) + " " +
                    std::string(na.params.get("expires").value_or("-")));
    return out;
  }

  txn::FakeTimerService timers_;
  RecordingSink sink_;
  Registrar registrar_;
  cfg::Trunk trunk_;
  txn::Peer nat_;
};

TEST_F(RegistrarTest, RegisterStoresSourceAndAnswersWithBindings) {
  sip::Message r = handle(reg("Contact: <sip:pbx1@10.0.0.5:5060>\r\nExpires: 600\r\n"));
  EXPECT_EQ(r.statusCode(), 200);
  EXPECT_EQ(r.to()->tag, "totag1");
  EXPECT_EQ(contactsOf(r), std::vector<std::string>{"sip:pbx1@10.0.0.5:5060 600"});
  auto live = registrar_.contactsOf(5);
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0]->contact, "sip:pbx1@10.0.0.5:5060");
  EXPECT_EQ(live[0]->source, nat_);  // calls go to the NAT address, not the Contact
  EXPECT_EQ(live[0]->aor, "pbx1@sbc.example.com");
  EXPECT_EQ(live[0]->user_agent, "TestPBX 1.0");
  EXPECT_EQ(registrar_.trunkBySource("203.0.113.7", 40123), 5);
  EXPECT_EQ(registrar_.trunkBySource("203.0.113.7", 5060), 0);
  ASSERT_EQ(sink_.events.size(), 1u);
  EXPECT_EQ(sink_.events[0].kind, BindingEvent::Kind::Added);
  EXPECT_EQ(sink_.events[0].binding.contact, "sip:pbx1@10.0.0.5:5060");
}

TEST_F(RegistrarTest, ExpiryFromContactParamHeaderOrDefaultClamped) {
  sip::Message r =
      handle(reg("Contact: <sip:a@10.0.0.5>;expires=120, <sip:b@10.0.0.5>\r\nExpires: 7200\r\n"));
  EXPECT_EQ(r.statusCode(), 200);
  EXPECT_EQ(contactsOf(r), (std::vector<std::string>{"sip:a@10.0.0.5 120", "sip:b@10.0.0.5 3600"}));
  sip::Message d = handle(reg("Contact: <sip:c@10.0.0.5>\r\n", 2));
  EXPECT_EQ(contactsOf(d).back(), "sip:c@10.0.0.5 3600");  // default
}

TEST_F(RegistrarTest, IntervalTooBrief) {
  sip::Message r = handle(reg("Contact: <sip:pbx1@10.0.0.5>\r\nExpires: 30\r\n"));
  EXPECT_EQ(r.statusCode(), 423);
  ASSERT_NE(r.header(sip::HeaderId::MinExpires), nullptr);
  EXPECT_EQ(r.header(sip::HeaderId::MinExpires)->value, "60");
  EXPECT_TRUE(registrar_.contactsOf(5).empty());
  // One short contact spoils the whole request: nothing is half applied.
  sip::Message mixed =
      handle(reg("Contact: <sip:a@10.0.0.5>;expires=600, <sip:b@10.0.0.5>;expires=5\r\n"));
  EXPECT_EQ(mixed.statusCode(), 423);
  EXPECT_EQ(registrar_.size(), 0u);
}

TEST_F(RegistrarTest, RefreshRemoveAndExpiry) {
  ASSERT_EQ(handle(reg("Contact: <sip:pbx1@10.0.0.5>;expires=300\r\n", 1)).statusCode(), 200);
  timers_.advance(200s);
  // Refresh from a new NAT port: the binding follows the source.
  txn::Peer moved = nat_;
  moved.port = 40999;
  sip::Message r = handle(reg("Contact: <sip:pbx1@10.0.0.5>;expires=300\r\n", 2), moved);
  EXPECT_EQ(contactsOf(r), std::vector<std::string>{"sip:pbx1@10.0.0.5 300"});
  EXPECT_EQ(registrar_.trunkBySource("203.0.113.7", 40123), 0);
  EXPECT_EQ(registrar_.trunkBySource("203.0.113.7", 40999), 5);
  EXPECT_EQ(sink_.events.back().kind, BindingEvent::Kind::Refreshed);
  // Out-of-order CSeq on the same Call-ID is refused and changes nothing.
  EXPECT_EQ(handle(reg("Contact: <sip:pbx1@10.0.0.5>;expires=0\r\n", 2)).statusCode(), 500);
  EXPECT_EQ(registrar_.size(), 1u);
  // Lapses without refresh.
  timers_.advance(299s);
  EXPECT_EQ(registrar_.contactsOf(5).size(), 1u);
  timers_.advance(2s);
  EXPECT_TRUE(registrar_.contactsOf(5).empty());
  EXPECT_EQ(registrar_.trunkBySource("203.0.113.7", 40999), 0);
  timers_.advance(30s);  // the purge timer reports it
  EXPECT_EQ(registrar_.size(), 0u);
  EXPECT_EQ(sink_.events.back().kind, BindingEvent::Kind::Removed);
  EXPECT_EQ(registrar_.stats().expired, 1u);
}

TEST_F(RegistrarTest, ExpiresZeroRemovesOneContact) {
  ASSERT_EQ(handle(reg("Contact: <sip:a@10.0.0.5>, <sip:b@10.0.0.5>\r\n", 1)).statusCode(), 200);
  sip::Message r = handle(reg("Contact: <sip:a@10.0.0.5>;expires=0\r\n", 2));
  EXPECT_EQ(r.statusCode(), 200);
  EXPECT_EQ(contactsOf(r), std::vector<std::string>{"sip:b@10.0.0.5 3600"});
  EXPECT_EQ(sink_.events.back().kind, BindingEvent::Kind::Removed);
  EXPECT_EQ(sink_.events.back().binding.contact, "sip:a@10.0.0.5");
}

TEST_F(RegistrarTest, WildcardRemovesAll) {
  ASSERT_EQ(handle(reg("Contact: <sip:a@10.0.0.5>, <sip:b@10.0.0.5>\r\n", 1)).statusCode(), 200);
  EXPECT_EQ(handle(reg("Contact: *\r\nExpires: 10\r\n", 2)).statusCode(), 400);
  EXPECT_EQ(handle(reg("Contact: *\r\n", 2)).statusCode(), 400);  // Expires is mandatory
  EXPECT_EQ(
      handle(reg("Contact: *\r\nContact: <sip:c@10.0.0.5>\r\nExpires: 0\r\n", 2)).statusCode(),
      400);
  EXPECT_EQ(registrar_.size(), 2u);
  sip::Message r = handle(reg("Contact: *\r\nExpires: 0\r\n", 3));
  EXPECT_EQ(r.statusCode(), 200);
  EXPECT_TRUE(contactsOf(r).empty());
  EXPECT_EQ(registrar_.size(), 0u);
  EXPECT_EQ(registrar_.trunkBySource("203.0.113.7", 40123), 0);
}

TEST_F(RegistrarTest, QueryWithoutContactListsBindings) {
  ASSERT_EQ(handle(reg("Contact: <sip:a@10.0.0.5>;expires=600\r\n", 1)).statusCode(), 200);
  timers_.advance(100s);
  sip::Message r = handle(reg("", 2));
  EXPECT_EQ(r.statusCode(), 200);
  EXPECT_EQ(contactsOf(r), std::vector<std::string>{"sip:a@10.0.0.5 500"});
}

TEST_F(RegistrarTest, BoundedContactsAndBadInput) {
  EXPECT_EQ(handle(reg("Contact: <sip:a@h>, <sip:b@h>, <sip:c@h>, <sip:d@h>\r\n")).statusCode(),
            403);
  EXPECT_EQ(registrar_.size(), 0u);
  EXPECT_EQ(handle(reg("Contact: <sip:a@h>;expires=soon\r\n")).statusCode(), 400);
  EXPECT_EQ(handle(reg("Contact: <tel:+14155550100>\r\n")).statusCode(), 400);
  EXPECT_EQ(handle(reg("Contact: <sip:a@h>\r\nExpires: never\r\n")).statusCode(), 400);
  EXPECT_EQ(registrar_.size(), 0u);
}

TEST_F(RegistrarTest, RestoreFromDatabase) {
  Binding b;
  b.trunk = 5;
  b.aor = "pbx1@sbc.example.com";
  b.contact = "sip:pbx1@10.0.0.5";
  b.source = nat_;
  b.expires_at = timers_.now() + 100s;
  registrar_.restore(b);
  EXPECT_EQ(registrar_.contactsOf(5).size(), 1u);
  EXPECT_EQ(registrar_.trunkBySource(nat_.address, nat_.port), 5);
  EXPECT_TRUE(sink_.events.empty());
}

// ---- flood guard

IpAddr ip(std::string_view text) {
  auto a = IpAddr::parse(text);
  EXPECT_TRUE(a.has_value()) << text;
  return a.value_or(IpAddr{});
}

TEST(IpAddr, ParsesAndFoldsMappedV4) {
  EXPECT_EQ(ip("::ffff:192.0.2.1"), ip("192.0.2.1"));
  EXPECT_TRUE(ip("2001:db8::1").v6);
  EXPECT_FALSE(IpAddr::parse("").has_value());
  EXPECT_FALSE(IpAddr::parse("example.com").has_value());
  EXPECT_FALSE(IpAddr::parse(std::string(100, '1')).has_value());
}

TEST(FloodGuard, BurstThenRate) {
  FloodOptions o;
  o.rate = 10;
  o.burst = 5;
  FloodGuard g(o);
  txn::TimePoint t = txn::TimePoint{} + 1h;
  IpAddr a = ip("198.51.100.1"), b = ip("198.51.100.2");
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(g.allow(a, t));
  EXPECT_FALSE(g.allow(a, t));
  EXPECT_TRUE(g.allow(b, t));  // other sources are not affected
  t += 99ms;
  EXPECT_FALSE(g.allow(a, t));
  t += 1ms;
  EXPECT_TRUE(g.allow(a, t));
  EXPECT_FALSE(g.allow(a, t));
  EXPECT_EQ(g.dropped(), 3u);
}

TEST(FloodGuard, MemoryIsBoundedUnderSpoofedSources) {
  FloodOptions o;
  o.rate = 1;
  o.burst = 1;
  o.table_size = 64;
  FloodGuard g(o);
  txn::TimePoint t = txn::TimePoint{} + 1h;
  IpAddr hot = ip("192.0.2.200");
  EXPECT_TRUE(g.allow(hot, t));
  EXPECT_FALSE(g.allow(hot, t));
  for (int i = 0; i < 100000; ++i) {
    IpAddr a;
    a.bytes[0] = 10;
    a.bytes[1] = static_cast<std::uint8_t>(i >> 16);
    a.bytes[2] = static_cast<std::uint8_t>(i >> 8);
    a.bytes[3] = static_cast<std::uint8_t>(i);
    (void)g.allow(a, t);
  }
  EXPECT_GT(g.evictions(), 99000u);
}

}  // namespace
}  // namespace sbc::b2bua

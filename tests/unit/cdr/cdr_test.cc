// The CDR record and its database form (no database).
#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "sbc/cdr/cdr.h"

namespace sbc::cdr {
namespace {

using namespace std::chrono_literals;

TEST(Cdr, UuidsAreVersion4AndUnique) {
  const std::regex shape("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    Cdr c;
    EXPECT_TRUE(std::regex_match(c.uuid, shape)) << c.uuid;
    seen.insert(c.uuid);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

// Each thread draws from its own generator, seeded once: two threads must
// not produce the same keys.
TEST(Cdr, UuidsAreDistinctAcrossThreads) {
  std::vector<std::string> a, b;
  std::thread t([&] {
    for (int i = 0; i < 1000; ++i) a.push_back(newUuid());
  });
  for (int i = 0; i < 1000; ++i) b.push_back(newUuid());
  t.join();
  std::set<std::string> all(a.begin(), a.end());
  all.insert(b.begin(), b.end());
  EXPECT_EQ(all.size(), 2000u);
}

TEST(Cdr, DurationIsAnswerToEnd) {
  Cdr c;
  c.start_time = Cdr::Time(1'700'000'000s);
  EXPECT_EQ(c.durationMs(), 0);
  c.end_time = c.start_time + 30s;
  EXPECT_EQ(c.durationMs(), 0);  // never answered
  c.answer_time = c.start_time + 5s;
  EXPECT_EQ(c.durationMs(), 25'000);
  c.end_time = c.start_time + 1s;  // clock oddity: never negative
  EXPECT_EQ(c.durationMs(), 0);
}

TEST(Cdr, TimestampsAreUtcWithMicroseconds) {
  EXPECT_EQ(formatTimestamp(Cdr::Time(0s)), "1970-01-01 00:00:00.000000+00");
  EXPECT_EQ(formatTimestamp(Cdr::Time(1'700'000'000'123'456us)), "2023-11-14 22:13:20.123456+00");
}

TEST(Cdr, TextArraysAreEscaped) {
  std::vector<std::string> v{"198.51.100.7:5060/udp", "a\"b", "c\\d", ""};
  EXPECT_EQ(formatTextArray(v), R"({"198.51.100.7:5060/udp","a\"b","c\\d",""})");
  EXPECT_EQ(formatTextArray({}), "{}");
}

TEST(Cdr, RowHasOneValuePerColumnAndNullsWhereUnknown) {
  Cdr c;
  c.start_time = Cdr::Time(1'700'000'000s);
  c.direction = Direction::Inbound;
  c.in_trunk_id = 5;
  c.q850_cause = 16;
  c.ended_by = EndedBy::Callee;
  c.a_media.jitter_ms = 1.25;
  Row r = toRow(c);
  const auto cols = columns();
  ASSERT_EQ(r.size(), cols.size());
  auto at = [&](std::string_view name) -> const std::optional<std::string>& {
    for (std::size_t i = 0; i < cols.size(); ++i)
      if (cols[i] == name) return r[i];
    throw std::runtime_error("no column " + std::string(name));
  };
  EXPECT_EQ(at("uuid"), c.uuid);
  EXPECT_EQ(at("direction"), "inbound");
  EXPECT_EQ(at("in_trunk_id"), "5");
  EXPECT_EQ(at("out_trunk_id"), std::nullopt);
  EXPECT_EQ(at("answer_time"), std::nullopt);
  EXPECT_EQ(at("q850_cause"), "16");
  EXPECT_EQ(at("ended_by"), "callee");
  EXPECT_EQ(at("a_jitter_ms"), "1.250");
  EXPECT_EQ(at("duration_ms"), "0");
  EXPECT_EQ(at("tried_gateways"), "{}");
}

TEST(Cdr, NetworkTextIsMadeStorable) {
  Cdr c;
  c.caller_in = std::string("alice\0bob", 9);
  c.callee_in =
      "\xff\xfe"
      "123";
  c.sip_reason = "Caf\xc3\xa9";  // valid UTF-8 stays
  c.a_call_id = std::string(5000, 'x');
  Row r = toRow(c);
  const auto cols = columns();
  auto at = [&](std::string_view name) {
    for (std::size_t i = 0; i < cols.size(); ++i)
      if (cols[i] == name) return *r[i];
    return std::string();
  };
  EXPECT_EQ(at("caller_in"), "alice?bob");
  EXPECT_EQ(at("callee_in"), "??123");
  EXPECT_EQ(at("sip_reason"), "Caf\xc3\xa9");
  EXPECT_EQ(at("a_call_id").size(), 1024u);
}

// The COPY text the writer streams must be exactly the escaped Row, for
// whatever a record holds: the Row form is what the INSERT fallback and the
// spool use, and the two paths must store the same values.
std::string copyTextOfRow(const Row& r) {
  std::string out;
  for (std::size_t i = 0; i < r.size(); ++i) {
    if (i) out += '\t';
    if (r[i]) {
      appendCopyText(out, *r[i]);
    } else {
      out += "\\N";
    }
  }
  return out;
}

TEST(Cdr, CopyRowEqualsTheEscapedRow) {
  std::vector<Cdr> cases(4);
  cases[0].start_time = Cdr::Time(1'700'000'000'123'456us);
  {
    Cdr& c = cases[1];  // everything set, with text that needs cleaning and escaping
    c.start_time = Cdr::Time(1'709'164'800'000'001us);  // 2024-02-29 (leap day)
    c.node = "node\t1";
    c.direction = Direction::Internal;
    c.a_call_id = "a\\b\r\nc";
    c.b_call_id = std::string(2000, 'y');
    c.in_trunk_id = 7;
    c.in_trunk = "pbx";
    c.out_trunk_id = -3;
    c.out_trunk = "Caf\xc3\xa9";
    c.caller_in = std::string("al\0ce", 5);
    c.callee_in =
        "\xff\xfe"
        "123";
    c.caller_out = "+4930123";
    c.callee_out = "+4930124";
    c.routing_number = "4930999";
    c.ringing_time = c.start_time + 1500ms;
    c.answer_time = c.start_time + 3s;
    c.end_time = c.start_time + 63s + 7us;
    c.sip_code = 200;
    c.sip_reason = "OK";
    c.q850_cause = 16;
    c.ended_by = EndedBy::Caller;
    c.end_reason = "bye";
    c.failover_attempts = 2;
    c.tried_gateways = {"198.51.100.7:5060/udp", "a\"b\\c\td"};
    c.a_media = {123, 4567, 8, 1.2345, 9, 10, 11};
    c.b_media = {UINT64_MAX, 0, 0, 12345.6785, 1, 2, 3};
    c.media_relay = "127.0.0.1:7000";
    c.media_stats = true;
  }
  cases[2].start_time = Cdr::Time(-1s);              // before 1970
  cases[3].start_time = Cdr::Time(-2'203'891'200s);  // 1900-03-01
  cases[3].end_time = Cdr::Time(951'782'400s);       // 2000-02-29
  for (const Cdr& c : cases) {
    std::string line = "prefix";
    appendCopyRow(line, c);
    EXPECT_EQ(line, "prefix" + copyTextOfRow(toRow(c)));
  }
}

TEST(Cdr, TimestampsAcrossCalendarEdges) {
  EXPECT_EQ(formatTimestamp(Cdr::Time(-1us)), "1969-12-31 23:59:59.999999+00");
  EXPECT_EQ(formatTimestamp(Cdr::Time(951'782'400s)), "2000-02-29 00:00:00.000000+00");
  EXPECT_EQ(formatTimestamp(Cdr::Time(4'107'542'399s)), "2100-02-28 23:59:59.000000+00");
  EXPECT_EQ(formatTimestamp(Cdr::Time(4'107'542'400s)), "2100-03-01 00:00:00.000000+00");
  EXPECT_EQ(formatTimestamp(Cdr::Time(-2'203'891'201s)), "1900-02-28 23:59:59.000000+00");
}

TEST(Cdr, CopyTextEscapesWhatEndsAFieldOrRow) {
  std::string out;
  appendCopyText(out, std::string("a\tb\nc\rd\\e\0f", 11));
  EXPECT_EQ(out, "a\\tb\\nc\\rd\\\\e?f");
}

}  // namespace
}  // namespace sbc::cdr

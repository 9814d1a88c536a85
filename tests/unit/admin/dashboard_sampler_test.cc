// The dashboard's sampling logic without nodes or a database: what one tick
// makes of the gathered /api/v1/live/* bodies and CDR counts (makeSample),
// and the hour of history the dashboard draws (DashboardHistory).
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "admin-ui/dashboard_sampler.h"

namespace sbc::admin {
namespace {

namespace json = boost::json;
using std::chrono::seconds;

json::value parse(std::string_view s) {
  return json::parse(s);
}

const TrunkPoint* trunk(const DashboardSample& s, std::string_view name) {
  for (const TrunkPoint& t : s.trunks)
    if (t.name == name) return &t;
  return nullptr;
}

DashboardSample sampleAt(std::int64_t at, std::int64_t active) {
  DashboardSample s;
  s.at = at;
  s.active_calls = active;
  s.trunks.push_back(TrunkPoint{1, "carrier-a", "carrier", active, 6.0});
  return s;
}

TEST(DashboardSample, UsageIsSummedOverNodesPerTrunk) {
  GatheredState g;
  g.usage = parse(R"({"items":[
      {"node":"n1","id":1,"name":"carrier-a","kind":"carrier","total":3},
      {"node":"n2","id":1,"name":"carrier-a","kind":"carrier","total":4},
      {"node":"n1","id":2,"name":"pbx","kind":"pbx","total":1}],
    "nodes":[{"name":"n1","ok":true},{"name":"n2","ok":true}]})");
  DashboardSample s = makeSample(1000, g);
  EXPECT_EQ(s.at, 1000);
  ASSERT_EQ(s.trunks.size(), 2U);
  ASSERT_NE(trunk(s, "carrier-a"), nullptr);
  EXPECT_EQ(trunk(s, "carrier-a")->active, 7);
  EXPECT_EQ(trunk(s, "carrier-a")->id, 1);
  EXPECT_EQ(trunk(s, "carrier-a")->kind, "carrier");
  EXPECT_EQ(trunk(s, "pbx")->active, 1);
}

TEST(DashboardSample, CallRatePerTrunkIsCdrsOverTheWindowInMinutes) {
  GatheredState g;
  g.usage =
      parse(R"({"items":[{"id":1,"name":"carrier-a","kind":"carrier","total":2}],"nodes":[]})");
  g.finished_by_trunk = {{"carrier-a", 5}, {"gone-trunk", 2}, {"", 9}};
  g.elapsed_seconds = 10;
  DashboardSample s = makeSample(1000, g);
  ASSERT_NE(trunk(s, "carrier-a"), nullptr);
  EXPECT_DOUBLE_EQ(trunk(s, "carrier-a")->calls_per_minute, 30.0);  // 5 in 10 s
  // A trunk known from CDRs only still gets its rate (id 0: no node reports it).
  ASSERT_NE(trunk(s, "gone-trunk"), nullptr);
  EXPECT_EQ(trunk(s, "gone-trunk")->id, 0);
  EXPECT_DOUBLE_EQ(trunk(s, "gone-trunk")->calls_per_minute, 12.0);
  EXPECT_EQ(trunk(s, ""), nullptr) << "CDRs without a trunk are no trunk";
}

TEST(DashboardSample, NoCdrWindowMeansNoRateRatherThanInfinity) {
  // The first tick after a start (or a database that did not answer) has no
  // window: rates stay 0, never a division by zero or a negative jump.
  GatheredState g;
  g.finished_by_trunk = {{"carrier-a", 5}};
  g.elapsed_seconds = 0;
  DashboardSample s = makeSample(1000, g);
  ASSERT_NE(trunk(s, "carrier-a"), nullptr);
  EXPECT_EQ(trunk(s, "carrier-a")->calls_per_minute, 0.0);
  g.elapsed_seconds = -3;  // clocks: the database's window can never be trusted blindly
  s = makeSample(1000, g);
  EXPECT_EQ(trunk(s, "carrier-a")->calls_per_minute, 0.0);
}

TEST(DashboardSample, ActiveCallsCountEachCallOnceAcrossTrunksAndSkipPlaceholders) {
  GatheredState g;
  g.calls = parse(R"({"items":[
      {"node":"n1","handle":17,"in_trunk":"pbx","out_trunk":"carrier-a"},
      {"node":"n1","handle":17,"in_trunk":"pbx","out_trunk":"carrier-a"},
      {"node":"n2","handle":17},
      {"node":"n2","handle":18},
      {"node":"n3","value":"timeout"}],
    "nodes":[{"name":"n1","ok":true},{"name":"n2","ok":true},{"name":"n3","ok":false}]})");
  DashboardSample s = makeSample(1000, g);
  ASSERT_TRUE(s.active_calls.has_value());
  EXPECT_EQ(*s.active_calls, 3);  // n1/17, n2/17, n2/18
}

TEST(DashboardSample, NoNodeAnsweringIsUnknownNotZero) {
  GatheredState g;
  g.calls = parse(R"({"items":[],"nodes":[{"name":"n1","ok":false,"error":"refused"}]})");
  EXPECT_FALSE(makeSample(1000, g).active_calls.has_value());
  g.calls = nullptr;  // the gathering itself failed
  EXPECT_FALSE(makeSample(1000, g).active_calls.has_value());
  g.calls = parse(R"({"items":[],"nodes":[{"name":"n1","ok":true}]})");
  ASSERT_TRUE(makeSample(1000, g).active_calls.has_value());
  EXPECT_EQ(*makeSample(1000, g).active_calls, 0);
}

TEST(DashboardSample, MalformedNodeAnswersAreIgnored) {
  GatheredState g;
  g.usage = parse(R"({"items":[1,"x",{"total":5},{"name":"a","total":"many"},null]})");
  g.calls = parse(R"({"items":"nope","nodes":"nope"})");
  g.relays = parse(R"([1,2,3])");
  DashboardSample s = makeSample(1000, g);
  ASSERT_EQ(s.trunks.size(), 1U);
  EXPECT_EQ(s.trunks[0].name, "a");
  EXPECT_EQ(s.trunks[0].active, 0);
  EXPECT_FALSE(s.active_calls.has_value());
  EXPECT_TRUE(relayRows(g.relays).empty());
}

TEST(DashboardRelays, RowsPerNodeWithHealth) {
  json::array rows = relayRows(parse(R"({"items":[
      {"node":"n1","endpoint":"127.0.0.1:7000","connected":true,"healthy":true,"sessions":4,"ports_free":96},
      {"node":"n2","endpoint":"127.0.0.1:7001","connected":false},
      {"node":"n3","value":"timeout"}]})"));
  ASSERT_EQ(rows.size(), 2U);
  EXPECT_EQ(rows[0].at("endpoint").as_string(), "127.0.0.1:7000");
  EXPECT_TRUE(rows[0].at("healthy").as_bool());
  EXPECT_EQ(rows[0].at("sessions").as_int64(), 4);
  EXPECT_FALSE(rows[1].at("connected").as_bool());
  EXPECT_FALSE(rows[1].at("healthy").as_bool());
  EXPECT_EQ(rows[1].at("ports_free").as_int64(), 0);
}

TEST(DashboardHistory, KeepsOnlyTheWindowAsTheRingWraps) {
  DashboardHistory h(seconds(60), seconds(10));
  for (std::int64_t t = 0; t <= 200; t += 10) h.add(sampleAt(1000 + t, t), {}, json::array());
  // (1200 - 60, 1200]: 1150 .. 1200.
  EXPECT_EQ(h.size(), 6U);
  json::object o = h.toJson();
  const json::array& times = o.at("times").as_array();
  ASSERT_EQ(times.size(), 6U);
  EXPECT_EQ(times.front().as_int64(), 1150);
  EXPECT_EQ(times.back().as_int64(), 1200);
  EXPECT_EQ(o.at("updated_at").as_int64(), 1200);
  EXPECT_EQ(o.at("window_seconds").as_int64(), 60);
  EXPECT_EQ(o.at("interval_seconds").as_int64(), 10);
  EXPECT_EQ(o.at("active_calls").as_array().back().as_int64(), 200);
}

TEST(DashboardHistory, SeriesAreAlignedOnTimesWithNullWhereATrunkIsMissing) {
  DashboardHistory h(seconds(3600), seconds(10));
  DashboardSample a = sampleAt(100, 2);
  DashboardSample b;  // no node answered, no trunk reported
  b.at = 110;
  DashboardSample c = sampleAt(120, 3);
  c.trunks.push_back(TrunkPoint{2, "pbx", "pbx", 1, 0});
  h.add(a, {}, json::array());
  h.add(b, {}, json::array());
  h.add(c, json::array{json::object{{"node", "n1"}}}, json::array{json::object{{"name", "n1"}}});
  json::object o = h.toJson();
  const json::array& active = o.at("active_calls").as_array();
  ASSERT_EQ(active.size(), 3U);
  EXPECT_TRUE(active[1].is_null());
  const json::array& trunks = o.at("trunks").as_array();
  ASSERT_EQ(trunks.size(), 2U);  // by name: carrier-a, pbx
  const json::object& carrier = trunks[0].as_object();
  EXPECT_EQ(carrier.at("name").as_string(), "carrier-a");
  const json::array& ca = carrier.at("active").as_array();
  ASSERT_EQ(ca.size(), 3U);
  EXPECT_EQ(ca[0].as_int64(), 2);
  EXPECT_TRUE(ca[1].is_null());
  EXPECT_EQ(ca[2].as_int64(), 3);
  const json::array& pa = trunks[1].as_object().at("active").as_array();
  EXPECT_TRUE(pa[0].is_null());
  EXPECT_TRUE(pa[1].is_null());
  EXPECT_EQ(pa[2].as_int64(), 1);
  // Relays and nodes are the latest tick's.
  EXPECT_EQ(o.at("relays").as_array().size(), 1U);
  EXPECT_EQ(o.at("nodes").as_array().size(), 1U);
}

TEST(DashboardHistory, EmptyHistoryHasNoUpdateTime) {
  DashboardHistory h;
  json::object o = h.toJson();
  EXPECT_TRUE(o.at("updated_at").is_null());
  EXPECT_TRUE(o.at("times").as_array().empty());
  EXPECT_EQ(o.at("window_seconds").as_int64(), 3600);
}

}  // namespace
}  // namespace sbc::admin

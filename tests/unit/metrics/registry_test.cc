#include "common/metrics/registry.h"

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>

#include "common/metrics/process_metrics.h"
#include "tests/unit/metrics/prom_text.h"

namespace sbc::metrics {
namespace {

using test::findSample;
using test::parsePrometheusText;

constexpr double kBuckets[] = {0.1, 1.0, 10.0};

// A module's metrics, declared in one table as modules are meant to.
struct TrunkMetrics {
  CounterFamily calls;
  GaugeFamily active;
  HistogramFamily setup_time;
  CounterFamily dropped;

  explicit TrunkMetrics(Registry& r) {
    r.declare(*this,
              {
                  {&TrunkMetrics::calls,
                   "sbc_test_calls_total",
                   "Calls by trunk and result",
                   {"trunk", "result"}},
                  {&TrunkMetrics::active, "sbc_test_active_calls", "Calls up now", {"trunk"}},
                  {&TrunkMetrics::setup_time,
                   "sbc_test_setup_seconds",
                   "Call setup time",
                   {"trunk"},
                   {std::begin(kBuckets), std::end(kBuckets)}},
                  {&TrunkMetrics::dropped, "sbc_test_dropped_total", "Dropped packets"},
              });
  }
};

std::vector<test::Sample> scrape(const Registry& registry) {
  auto samples = parsePrometheusText(registry.serialize());
  EXPECT_TRUE(samples.has_value()) << registry.serialize();
  return samples.value_or(std::vector<test::Sample>{});
}

TEST(MetricsRegistry, TableFamiliesExportNamesLabelsAndValues) {
  Registry registry(false);
  TrunkMetrics m(registry);

  prometheus::Counter& ok = m.calls.with({"carrier-a", "ok"});
  ok.Increment();
  ok.Increment(2);
  m.calls.with({"carrier-a", "busy"}).Increment();
  m.active.with({"carrier-a"}).Set(7);
  m.setup_time.with({"carrier-a"}).Observe(0.5);
  m.setup_time.with({"carrier-a"}).Observe(5);
  m.dropped.get().Increment(4);

  auto samples = scrape(registry);
  EXPECT_EQ(findSample(samples, "sbc_test_calls_total", {{"trunk", "carrier-a"}, {"result", "ok"}}),
            3.0);
  EXPECT_EQ(findSample(samples, "sbc_test_calls_total", {{"result", "busy"}}), 1.0);
  EXPECT_EQ(findSample(samples, "sbc_test_active_calls", {{"trunk", "carrier-a"}}), 7.0);
  EXPECT_EQ(findSample(samples, "sbc_test_setup_seconds_count", {{"trunk", "carrier-a"}}), 2.0);
  EXPECT_EQ(findSample(samples, "sbc_test_setup_seconds_sum", {{"trunk", "carrier-a"}}), 5.5);
  EXPECT_EQ(findSample(samples, "sbc_test_setup_seconds_bucket", {{"le", "1"}}), 1.0);
  EXPECT_EQ(findSample(samples, "sbc_test_setup_seconds_bucket", {{"le", "10"}}), 2.0);
  EXPECT_EQ(findSample(samples, "sbc_test_setup_seconds_bucket", {{"le", "+Inf"}}), 2.0);
  EXPECT_EQ(findSample(samples, "sbc_test_dropped_total"), 4.0);

  std::string text = registry.serialize();
  EXPECT_NE(text.find("# TYPE sbc_test_calls_total counter"), std::string::npos);
  EXPECT_NE(text.find("# HELP sbc_test_active_calls Calls up now"), std::string::npos);
  EXPECT_NE(text.find("# TYPE sbc_test_setup_seconds histogram"), std::string::npos);
}

TEST(MetricsRegistry, ResolvedSeriesIsStableForHotPaths) {
  Registry registry(false);
  TrunkMetrics m(registry);
  prometheus::Counter& first = m.calls.with({"t", "ok"});
  EXPECT_EQ(&first, &m.calls.with({"t", "ok"}));
  EXPECT_NE(&first, &m.calls.with({"t", "busy"}));
  EXPECT_EQ(m.calls.labelNames(), (std::vector<std::string>{"trunk", "result"}));
}

TEST(MetricsRegistry, SameTableTwiceSharesFamilies) {
  Registry registry(false);
  TrunkMetrics a(registry);
  TrunkMetrics b(registry);
  a.calls.with({"t", "ok"}).Increment();
  b.calls.with({"t", "ok"}).Increment();
  EXPECT_EQ(b.calls.with({"t", "ok"}).Value(), 2.0);
  int families = 0;
  std::string text = registry.serialize();
  for (std::size_t pos = 0;
       (pos = text.find("# TYPE sbc_test_calls_total", pos)) != std::string::npos; ++pos) {
    ++families;
  }
  EXPECT_EQ(families, 1);
}

TEST(MetricsRegistry, BadDeclarationsAreRefusedAtStartUp) {
  Registry registry(false);
  EXPECT_THROW(registry.counter("bad-name", "h"), std::invalid_argument);
  EXPECT_THROW(registry.counter("ok_total", "h", {"bad-label"}), std::invalid_argument);
  EXPECT_THROW(registry.counter("ok_total", "h", {"a", "a"}), std::invalid_argument);
  EXPECT_THROW(registry.histogram("h_seconds", "h", {"le"}, kBuckets), std::invalid_argument);
  EXPECT_THROW(registry.histogram("h_seconds", "h", {}, {}), std::invalid_argument);
  constexpr double kDecreasing[] = {1.0, 0.5};
  EXPECT_THROW(registry.histogram("h2_seconds", "h", {}, kDecreasing), std::invalid_argument);

  registry.counter("x_total", "h", {"a"});
  EXPECT_NO_THROW(registry.counter("x_total", "h", {"a"}));
  EXPECT_THROW(registry.gauge("x_total", "h", {"a"}), std::invalid_argument);
  EXPECT_THROW(registry.counter("x_total", "h", {"b"}), std::invalid_argument);
}

TEST(MetricsRegistry, CollectablesAreScrapedEachTime) {
  struct Fixed : prometheus::Collectable {
    std::vector<prometheus::MetricFamily> Collect() const override {
      prometheus::MetricFamily f;
      f.name = "sbc_test_external";
      f.help = "from elsewhere";
      f.type = prometheus::MetricType::Gauge;
      prometheus::ClientMetric m;
      m.gauge.value = ++calls;
      f.metric.push_back(m);
      return {f};
    }
    mutable int calls = 0;
  };
  Registry registry(false);
  registry.addCollectable(std::make_shared<Fixed>());
  EXPECT_EQ(findSample(scrape(registry), "sbc_test_external"), 1.0);
  EXPECT_EQ(findSample(scrape(registry), "sbc_test_external"), 2.0);
}

TEST(ProcessMetrics, ExportedByDefaultWithPlausibleValues) {
  Registry registry;
  auto samples = scrape(registry);
  auto cpu = findSample(samples, "process_cpu_seconds_total");
  auto rss = findSample(samples, "process_resident_memory_bytes");
  auto fds = findSample(samples, "process_open_fds");
  auto max_fds = findSample(samples, "process_max_fds");
  auto start = findSample(samples, "process_start_time_seconds");
  ASSERT_TRUE(cpu && rss && fds && max_fds && start);
  EXPECT_GE(*cpu, 0.0);
  EXPECT_GT(*rss, 1024.0 * 1024.0);  // a process with gtest loaded uses more than 1 MiB
  EXPECT_GE(*fds, 3.0);              // stdin, stdout, stderr
  EXPECT_GE(*max_fds, *fds);
  double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_LE(*start, now + 1);
  EXPECT_GT(*start, now - 3600);  // this test process started within the hour

  std::string text = registry.serialize();
  EXPECT_NE(text.find("# TYPE process_cpu_seconds_total counter"), std::string::npos);
  EXPECT_NE(text.find("# TYPE process_open_fds gauge"), std::string::npos);
}

TEST(ProcessMetrics, OpenFdsFollowsOpenFiles) {
  auto before = readProcessStats();
  ASSERT_TRUE(before);
  FILE* f = std::fopen("/proc/self/stat", "r");
  ASSERT_NE(f, nullptr);
  auto during = readProcessStats();
  std::fclose(f);
  ASSERT_TRUE(during);
  EXPECT_EQ(during->open_fds, before->open_fds + 1);
}

TEST(ProcessMetrics, CanBeLeftOut) {
  Registry registry(false);
  EXPECT_EQ(registry.serialize().find("process_"), std::string::npos);
}

}  // namespace
}  // namespace sbc::metrics

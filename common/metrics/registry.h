#pragma once
// The process's metric registry: a thin layer over prometheus-cpp.
//
// A module declares all its metric families in one table bound to a struct
// (Envoy's stats-table idea, without the macros):
//
//   struct RelayMetrics {
//     metrics::CounterFamily packets;
//     metrics::GaugeFamily sessions;
//     explicit RelayMetrics(metrics::Registry& r) {
//       r.declare(*this, {
//           {&RelayMetrics::packets, "relay_packets_total", "Packets relayed", {"leg"}},
//           {&RelayMetrics::sessions, "relay_sessions", "Active sessions"},
//       });
//     }
//   };
//
// The family's type comes from the member it is stored in, so the table cannot
// disagree with the struct. Hot paths resolve a series once
// (`prometheus::Counter& c = m.packets.with({"a"});`) and keep the reference:
// increments are then a lock-free atomic add, never a map lookup.
#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <cstddef>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace sbc::metrics {

// What a /metrics answer carries as Content-Type (Prometheus text format).
inline constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

// A handle on one metric family and the label names it was declared with.
// Copyable and cheap; the family itself lives in the Registry.
template <typename T>
class Family {
 public:
  Family() = default;

  // The series for these label values, in declaration order, created on first
  // use. This takes the family's lock: call it at set-up (or once per new label
  // value) and keep the reference. Missing values count as "", extra ones are
  // ignored (a debug build asserts).
  T& with(std::initializer_list<std::string_view> values) const {
    return with(std::span<const std::string_view>(values.begin(), values.size()));
  }
  T& with(std::span<const std::string_view> values) const;
  // The only series of a family declared without labels.
  T& get() const { return with(std::span<const std::string_view>{}); }

  const std::string& name() const { return name_; }
  const std::vector<std::string>& labelNames() const { return label_names_; }
  explicit operator bool() const { return family_ != nullptr; }
  prometheus::Family<T>* raw() const { return family_; }

 private:
  friend class Registry;
  prometheus::Family<T>* family_ = nullptr;
  std::string name_;
  std::vector<std::string> label_names_;
  std::vector<double> buckets_;  // histograms only
};

using CounterFamily = Family<prometheus::Counter>;
using GaugeFamily = Family<prometheus::Gauge>;
using HistogramFamily = Family<prometheus::Histogram>;

// One row of a module's metric table. `buckets` is for histograms only (upper
// bounds, strictly increasing; +Inf is implicit).
template <typename Owner>
struct MetricDef {
  std::variant<CounterFamily Owner::*, GaugeFamily Owner::*, HistogramFamily Owner::*> member;
  std::string_view name;
  std::string_view help;
  std::vector<std::string_view> labels = {};
  std::vector<double> buckets = {};
};

// Latency buckets in seconds, 0.5 ms .. 10 s, for request/response timings.
std::span<const double> latencyBuckets();

class Registry {
 public:
  // With process_metrics, every scrape also reports process_* (CPU, memory,
  // file descriptors, start time) read from /proc/self.
  explicit Registry(bool process_metrics = true);
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Builds every family of `table` into `owner`. Start-up only: throws
  // std::invalid_argument for an invalid name or label, buckets on a
  // non-histogram, or a name already declared with another type or labels.
  // Declaring the same table twice (two servers in one process) shares the
  // families.
  template <typename Owner>
  void declare(Owner& owner, std::initializer_list<MetricDef<Owner>> table) {
    for (const MetricDef<Owner>& def : table) {
      std::visit(
          [&](auto member) { build(owner.*member, def.name, def.help, def.labels, def.buckets); },
          def.member);
    }
  }

  // Single families, for code that needs one or two.
  CounterFamily counter(std::string_view name, std::string_view help,
                        const std::vector<std::string_view>& labels = {});
  GaugeFamily gauge(std::string_view name, std::string_view help,
                    const std::vector<std::string_view>& labels = {});
  HistogramFamily histogram(std::string_view name, std::string_view help,
                            const std::vector<std::string_view>& labels,
                            std::span<const double> buckets);

  // Something collected at every scrape (e.g. values read from elsewhere).
  void addCollectable(std::shared_ptr<prometheus::Collectable> collectable);

  // Everything, in the Prometheus text format (kContentType).
  std::string serialize() const;
  std::vector<prometheus::MetricFamily> collect() const;

  prometheus::Registry& prometheus() { return *registry_; }
  const std::shared_ptr<prometheus::Registry>& prometheusShared() const { return registry_; }

 private:
  void build(CounterFamily& out, std::string_view name, std::string_view help,
             const std::vector<std::string_view>& labels, const std::vector<double>& buckets);
  void build(GaugeFamily& out, std::string_view name, std::string_view help,
             const std::vector<std::string_view>& labels, const std::vector<double>& buckets);
  void build(HistogramFamily& out, std::string_view name, std::string_view help,
             const std::vector<std::string_view>& labels, const std::vector<double>& buckets);
  // Checks a declaration against earlier ones; returns the label names.
  std::vector<std::string> checkDeclaration(std::string_view name, std::string_view type,
                                            const std::vector<std::string_view>& labels);

  std::shared_ptr<prometheus::Registry> registry_;
  mutable std::mutex mutex_;
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables_;
  struct Declared {
    std::string name;
    std::string type;
    std::vector<std::string> labels;
  };
  std::vector<Declared> declared_;
};

}  // namespace sbc::metrics

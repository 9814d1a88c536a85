#include "common/metrics/registry.h"

#include <prometheus/check_names.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <functional>
#include <stdexcept>
#include <type_traits>

#include "common/metrics/process_metrics.h"

namespace sbc::metrics {

namespace {

constexpr std::array<double, 14> kLatencyBuckets = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0};

prometheus::Labels makeLabels(const std::vector<std::string>& names,
                              std::span<const std::string_view> values) {
  assert(values.size() == names.size() && "label values must match the declared label names");
  prometheus::Labels labels;
  for (std::size_t i = 0; i < names.size(); ++i) {
    labels.emplace(names[i], i < values.size() ? std::string(values[i]) : std::string());
  }
  return labels;
}

std::string concat(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (std::string_view part : parts) out += part;
  return out;
}

}  // namespace

std::span<const double> latencyBuckets() {
  return kLatencyBuckets;
}

template <typename T>
T& Family<T>::with(std::span<const std::string_view> values) const {
  assert(family_ != nullptr && "metric family used before it was declared");
  if constexpr (std::is_same_v<T, prometheus::Histogram>) {
    return family_->Add(makeLabels(label_names_, values), buckets_);
  } else {
    return family_->Add(makeLabels(label_names_, values));
  }
}

template class Family<prometheus::Counter>;
template class Family<prometheus::Gauge>;
template class Family<prometheus::Histogram>;

Registry::Registry(bool process_metrics)
    : registry_(
          std::make_shared<prometheus::Registry>(prometheus::Registry::InsertBehavior::Merge)) {
  if (process_metrics) collectables_.push_back(std::make_shared<ProcessCollector>());
}

std::vector<std::string> Registry::checkDeclaration(std::string_view name, std::string_view type,
                                                    const std::vector<std::string_view>& labels) {
  std::string name_str(name);
  if (!prometheus::CheckMetricName(name_str)) {
    throw std::invalid_argument("invalid metric name: " + name_str);
  }
  std::vector<std::string> label_names;
  label_names.reserve(labels.size());
  for (std::string_view label : labels) {
    std::string label_str(label);
    if (!prometheus::CheckLabelName(label_str) || label_str == "le" || label_str == "quantile") {
      throw std::invalid_argument(concat({"invalid label name '", label_str, "' for ", name_str}));
    }
    if (std::find(label_names.begin(), label_names.end(), label_str) != label_names.end()) {
      throw std::invalid_argument(
          concat({"duplicate label name '", label_str, "' for ", name_str}));
    }
    label_names.push_back(std::move(label_str));
  }
  std::lock_guard lock(mutex_);
  for (const Declared& d : declared_) {
    if (d.name != name_str) continue;
    if (d.type != type || d.labels != label_names) {
      throw std::invalid_argument("metric " + name_str +
                                  " already declared with another type or labels");
    }
    return label_names;
  }
  declared_.push_back(Declared{name_str, std::string(type), label_names});
  return label_names;
}

void Registry::build(CounterFamily& out, std::string_view name, std::string_view help,
                     const std::vector<std::string_view>& labels,
                     const std::vector<double>& buckets) {
  if (!buckets.empty()) throw std::invalid_argument("buckets on counter " + std::string(name));
  out.label_names_ = checkDeclaration(name, "counter", labels);
  out.name_ = std::string(name);
  out.family_ =
      &prometheus::BuildCounter().Name(out.name_).Help(std::string(help)).Register(*registry_);
}

void Registry::build(GaugeFamily& out, std::string_view name, std::string_view help,
                     const std::vector<std::string_view>& labels,
                     const std::vector<double>& buckets) {
  if (!buckets.empty()) throw std::invalid_argument("buckets on gauge " + std::string(name));
  out.label_names_ = checkDeclaration(name, "gauge", labels);
  out.name_ = std::string(name);
  out.family_ =
      &prometheus::BuildGauge().Name(out.name_).Help(std::string(help)).Register(*registry_);
}

void Registry::build(HistogramFamily& out, std::string_view name, std::string_view help,
                     const std::vector<std::string_view>& labels,
                     const std::vector<double>& buckets) {
  if (buckets.empty())
    throw std::invalid_argument("histogram without buckets: " + std::string(name));
  if (std::adjacent_find(buckets.begin(), buckets.end(), std::greater_equal<>()) != buckets.end()) {
    throw std::invalid_argument("histogram buckets not increasing: " + std::string(name));
  }
  out.label_names_ = checkDeclaration(name, "histogram", labels);
  out.name_ = std::string(name);
  out.buckets_ = buckets;
  out.family_ =
      &prometheus::BuildHistogram().Name(out.name_).Help(std::string(help)).Register(*registry_);
}

CounterFamily Registry::counter(std::string_view name, std::string_view help,
                                const std::vector<std::string_view>& labels) {
  CounterFamily family;
  build(family, name, help, labels, {});
  return family;
}

GaugeFamily Registry::gauge(std::string_view name, std::string_view help,
                            const std::vector<std::string_view>& labels) {
  GaugeFamily family;
  build(family, name, help, labels, {});
  return family;
}

HistogramFamily Registry::histogram(std::string_view name, std::string_view help,
                                    const std::vector<std::string_view>& labels,
                                    std::span<const double> buckets) {
  HistogramFamily family;
  build(family, name, help, labels, std::vector<double>(buckets.begin(), buckets.end()));
  return family;
}

void Registry::addCollectable(std::shared_ptr<prometheus::Collectable> collectable) {
  std::lock_guard lock(mutex_);
  collectables_.push_back(std::move(collectable));
}

std::vector<prometheus::MetricFamily> Registry::collect() const {
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  std::vector<std::shared_ptr<prometheus::Collectable>> extra;
  {
    std::lock_guard lock(mutex_);
    extra = collectables_;
  }
  for (const auto& collectable : extra) {
    auto more = collectable->Collect();
    families.insert(families.end(), std::make_move_iterator(more.begin()),
                    std::make_move_iterator(more.end()));
  }
  return families;
}

std::string Registry::serialize() const {
  return prometheus::TextSerializer().Serialize(collect());
}

}  // namespace sbc::metrics

#pragma once
// process_* metrics read from /proc/self at scrape time, with the names the
// Prometheus client libraries use, so dashboards work the same for every
// process of ours.
#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <optional>
#include <vector>

namespace sbc::metrics {

struct ProcessStats {
  double cpu_seconds = 0;  // user + system
  double resident_bytes = 0;
  double virtual_bytes = 0;
  double open_fds = 0;
  double max_fds = 0;
  double start_time_seconds = 0;  // since the Unix epoch
  double threads = 0;
};

// Reads the current values; nullopt where /proc is unreadable.
std::optional<ProcessStats> readProcessStats();

class ProcessCollector : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override;
};

}  // namespace sbc::metrics

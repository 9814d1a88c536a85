#pragma once
// The cluster module's metric families, declared once (cluster_metrics.cc).
#include "common/metrics/registry.h"

namespace sbc::cluster {

struct ClusterMetrics {
  metrics::GaugeFamily leased;            // {trunk, kind}: calls, inbound, outbound
  metrics::GaugeFamily peers;             // {trunk}
  metrics::CounterFamily lease_requests;  // {result}: granted, partial, refused, released
  metrics::CounterFamily sync_failures;
  metrics::CounterFamily expired_deleted;
  metrics::GaugeFamily fenced;

  explicit ClusterMetrics(metrics::Registry& registry);
};

}  // namespace sbc::cluster

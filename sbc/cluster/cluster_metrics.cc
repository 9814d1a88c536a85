#include "sbc/cluster/cluster_metrics.h"

namespace sbc::cluster {

ClusterMetrics::ClusterMetrics(metrics::Registry& r) {
  r.declare(*this,
            {
                {&ClusterMetrics::leased,
                 "sbc_cluster_leased_channels",
                 "Channels of the trunk this node holds in the database (cluster mode), by "
                 "limit kind (calls, inbound, outbound)",
                 {"trunk", "kind"}},
                {&ClusterMetrics::peers,
                 "sbc_cluster_peers",
                 "Other live nodes holding or asking for channels of the trunk",
                 {"trunk"}},
                {&ClusterMetrics::lease_requests,
                 "sbc_cluster_lease_requests_total",
                 "Lease changes asked of the database, by result (granted, partial, refused, "
                 "released)",
                 {"result"}},
                {&ClusterMetrics::sync_failures, "sbc_cluster_lease_sync_failures_total",
                 "Lease refreshes or changes that failed (database unreachable, errors)"},
                {&ClusterMetrics::expired_deleted, "sbc_cluster_expired_leases_deleted_total",
                 "Leases of dead nodes (heartbeat older than the expiry) this node deleted"},
                {&ClusterMetrics::fenced, "sbc_cluster_fenced",
                 "1 while this node admits no new limited call for want of a lease refresh"},
            });
}

}  // namespace sbc::cluster

// The relay's Prometheus metrics, collected at scrape time from the control
// thread's and the workers' counters (so the packet path never touches a
// prometheus-cpp object). Every family is listed here:
//   relay_sessions                       gauge    sessions in the table
//   relay_ports_free / relay_ports_total gauge    RTP/RTCP port pairs
//   relay_ports_in_use                   gauge    total - free (the pool's usage)
//   relay_control_connections            gauge    SBC connections open
//   relay_sessions_created_total         counter
//   relay_sessions_expired_total         counter  freed after the TTL, unadopted
//   relay_control_requests_total         counter
//   relay_control_errors_total           counter  requests answered with an error
//   relay_events_total{result}           counter  sent | undelivered
//   relay_media_timeouts_total           counter
//   relay_packets_total{kind,direction}  counter  kind rtp|srtp (the leg's), direction in|out
//   relay_bytes_total{kind,direction}    counter  wire bytes
//   relay_dropped_total{reason}          counter  see DropReason
//   relay_srtp_auth_failures_total       counter  (also in relay_dropped_total{reason="srtp_auth"})
//   relay_rtp_lost_packets_total{kind}   counter  RTP sequence gaps (network loss to the relay)
//   relay_leg_jitter_seconds{kind}       histogram interarrival jitter of finished legs
//   relay_leg_loss_ratio{kind}           histogram lost/expected of finished legs
//   relay_forward_delay_seconds          histogram kernel receive stamp -> send returned, per
//                                        forwarded packet (ForwardDelay in counters.h)
//   relay_worker_priority{policy,worker} gauge    scheduling each packet worker got
//                                        (other|fifo|rr; the value: its RT priority)
#pragma once

#include <prometheus/collectable.h>

#include <memory>
#include <vector>

#include "media-relay/relay/control_server.h"
#include "media-relay/relay/counters.h"

namespace relay {

class RelayCollector : public prometheus::Collectable {
 public:
  RelayCollector(std::shared_ptr<ControlCounters> control,
                 std::vector<std::shared_ptr<WorkerCounters>> workers)
      : control_(std::move(control)), workers_(std::move(workers)) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::shared_ptr<ControlCounters> control_;
  std::vector<std::shared_ptr<WorkerCounters>> workers_;
};

}  // namespace relay

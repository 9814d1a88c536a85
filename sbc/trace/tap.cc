#include "sbc/trace/tap.h"

namespace sbc::trace {

TraceRecord toRecord(const b2bua::TapEvent& e, std::chrono::system_clock::time_point at) {
  TraceRecord r;
  r.call_id.assign(e.call_id);
  r.leg = e.leg == b2bua::LegSide::A ? Leg::A : Leg::B;
  r.direction = e.inbound ? Direction::In : Direction::Out;
  r.at = at;
  switch (e.protocol) {
    case txn::Protocol::Udp:
      r.transport = Transport::Udp;
      break;
    case txn::Protocol::Tcp:
      r.transport = Transport::Tcp;
      break;
    case txn::Protocol::Tls:
      r.transport = Transport::Tls;
      break;
  }
  r.local_address.assign(e.local_host);
  r.local_port = e.local_port;
  r.remote_address.assign(e.remote_address);
  r.remote_port = e.remote_port;
  r.message.assign(e.wire);
  return r;
}

void QueueTap::onMessage(const b2bua::TapEvent& e) {
  queue_.push(toRecord(e, std::chrono::system_clock::now()));
}

}  // namespace sbc::trace

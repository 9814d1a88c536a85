#pragma once
// Where the engine reports the messages of traced calls (SIP tracing, see
// sbc/trace). Called on the SIP thread, synchronously, for every message of
// a call with tracing on, on both legs, as it leaves or arrives (sent: the
// bytes handed to the transport, retransmissions included; received: the
// parsed message serialized back, which is byte for byte for what the
// engine accepted). Must not block; views are valid only during the call.
#include <cstdint>
#include <string_view>

#include "sbc/b2bua/sdp_rewriter.h"
#include "sbc/txn/types.h"

namespace sbc::b2bua {

struct TapEvent {
  std::string_view call_id;  // the call's A-leg Call-ID (as the caller sent it), for both legs
  LegSide leg = LegSide::A;
  bool inbound = false;
  txn::Protocol protocol = txn::Protocol::Udp;
  std::string_view local_host;  // the listener's advertised address
  std::uint16_t local_port = 0;
  std::string_view remote_address;
  std::uint16_t remote_port = 0;
  std::string_view wire;
};

class MessageTap {
 public:
  virtual ~MessageTap() = default;
  virtual void onMessage(const TapEvent& event) = 0;
};

}  // namespace sbc::b2bua

#pragma once
// One traced SIP message, as it crossed the wire, on its way from a SIP
// thread to the database and the HEP collector.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace sbc::trace {

enum class Leg : std::uint8_t { A, B };  // A: towards the caller, B: towards the callee
enum class Direction : std::uint8_t { In, Out };
enum class Transport : std::uint8_t { Udp, Tcp, Tls };

std::string_view toString(Leg l);        // "a" / "b" (sip_traces.leg)
std::string_view toString(Direction d);  // "in" / "out"
std::string_view toString(Transport t);  // "udp" / "tcp" / "tls"

struct TraceRecord {
  // The call's A-leg Call-ID, as the caller sent it, for the messages of both
  // legs: the id live calls and CDRs (a_call_id) show.
  std::string call_id;
  Leg leg = Leg::A;
  Direction direction = Direction::In;
  std::chrono::system_clock::time_point at{};
  Transport transport = Transport::Udp;
  std::string local_address;  // IP literal (the listener's advertised address)
  std::uint16_t local_port = 0;
  std::string remote_address;
  std::uint16_t remote_port = 0;
  std::string message;  // the bytes on the wire

  // What the bounded queue charges for this record.
  std::size_t cost() const {
    return sizeof(TraceRecord) + call_id.size() + local_address.size() + remote_address.size() +
           message.size();
  }
};

// "addr:port", IPv6 in brackets (sip_traces.local / remote).
std::string hostPort(std::string_view address, std::uint16_t port);

}  // namespace sbc::trace

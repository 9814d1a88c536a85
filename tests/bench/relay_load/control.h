// Setting up and tearing down relay sessions for the load generator: one
// Controller per relay kind (ours over the relayctl TCP protocol, rtpengine
// over its ng protocol). Set-up is not timed, so controllers may block.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "media-relay/srtp/sdes.h"
#include "media-relay/srtp/suite.h"

namespace bench::relay_load {

enum class Mode : std::uint8_t {
  kRtp,   // RTP on both legs
  kSrtp,  // leg A plain RTP, leg B SRTP: the relay protects and unprotects
};

// One call as the generator sees it: a socket per leg.
struct CallPlan {
  std::string callId;
  sockaddr_in local[2]{};       // the generator's socket of leg A [0] and B [1]
  relay::srtp::MasterKey keyB;  // SRTP: what the generator sends leg B's packets with
};

// What the relay answered for one call.
struct CallSetup {
  sockaddr_in relay[2]{};  // where leg i's socket sends (the relay's port on that leg)
  std::optional<relay::srtp::MasterKey> relayKeyB;  // SRTP: what the relay protects leg B with
};

class Controller {
 public:
  virtual ~Controller() = default;
  // Creates every call (setups[i] for plans[i]); false with `error` on the first failure.
  virtual bool createCalls(std::span<const CallPlan> plans, Mode mode,
                           const relay::srtp::Suite& suite, std::span<CallSetup> setups,
                           std::string& error) = 0;
  // Best effort; returns the relay's own count of forwarded packets when it tells.
  virtual std::optional<std::uint64_t> destroyCalls(std::span<const CallPlan> plans) = 0;
};
using ControllerPtr = std::unique_ptr<Controller>;

// Our media-relay: one TCP connection, newline-delimited JSON (common/relayctl).
ControllerPtr connectOurRelay(const sockaddr_in& control, std::string& error);
// rtpengine: bencode over UDP (ng protocol): offer/answer/delete.
ControllerPtr connectRtpengine(const sockaddr_in& control, std::string& error);

// "a.b.c.d:port" -> sockaddr_in; nullopt when not that form.
std::optional<sockaddr_in> parseHostPort(std::string_view text);
std::optional<in_addr> parseIpv4(std::string_view text);
std::string formatIp(const sockaddr_in& address);

}  // namespace bench::relay_load

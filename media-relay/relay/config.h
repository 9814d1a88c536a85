// Static settings of one media relay, read once at start from a TOML file
// (deploy/relay.sample.toml documents every key). Loading throws: it happens
// only at start-up.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "media-relay/relay/scheduling.h"

namespace relay {

// Where one realm's media sockets bind, and the address the relay tells the
// SBC to put in SDP for it (differs from the bind address behind 1:1 NAT, or
// when binding a wildcard).
struct RealmConfig {
  std::string address;    // IP literal to bind
  std::string advertise;  // IP literal announced; empty: `address`
  const std::string& advertised() const { return advertise.empty() ? address : advertise; }
};

struct Listener {
  std::string address = "127.0.0.1";
  std::uint16_t port = 0;  // 0: any free port (logged at start)
};

struct RelayConfig {
  std::string nodeName = "relay-1";
  std::string logLevel = "info";
  RealmConfig inside{"127.0.0.1", {}};
  RealmConfig outside{"127.0.0.1", {}};
  std::uint16_t portMin = 30000;  // even; RTP on even ports, RTCP on the next odd one
  std::uint16_t portMax = 39999;
  Listener control{"127.0.0.1", 7722};
  Listener http{"127.0.0.1", 7723};
  unsigned workers = 1;
  // The packet workers' scheduling policy (scheduling.h). Off by default: a
  // real-time thread outranks every normal process on its core, which is the
  // operator's decision for the host; the shipped sample configuration and
  // systemd unit turn it on for a production node. Refused (no CAP_SYS_NICE
  // and RLIMIT_RTPRIO below the priority): a warning, and the normal policy.
  WorkerScheduling workerScheduling = WorkerScheduling::kOther;
  int workerPriority = 10;  // 1..99; below threaded IRQ handlers (50)
  // Kernel receive stamps on the media sockets, for relay_forward_delay_seconds
  // (the relay's own added latency per packet). Stamping every packet costs
  // about 3-4% of the CPU per packet (a control message per datagram, a clock
  // read per send), so only one session in forwardDelaySample is stamped: its
  // packets share the worker's queue with all the others, so their delays
  // stand for everyone's.
  bool forwardDelay = true;
  unsigned forwardDelaySample = 8;
  // How long the sessions of a dropped control connection live on, waiting to
  // be adopted by a reconnecting SBC.
  std::chrono::seconds sessionTtl{60};
  // Applied to a leg created with media_timeout 0; 0 here keeps it off.
  std::uint32_t defaultMediaTimeout = 0;
  // After create/update with a signalled remote: how long a packet from the
  // signalled IP on another port (NAT) may still latch the leg.
  std::chrono::milliseconds latchWindow{3000};
  std::size_t maxControlConnections = 64;
};

// Parses TOML text; throws std::runtime_error naming the bad key.
RelayConfig parseConfig(const std::string& tomlText, const std::string& origin = "config");
RelayConfig loadConfig(const std::string& path);

}  // namespace relay

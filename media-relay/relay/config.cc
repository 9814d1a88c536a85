#include "media-relay/relay/config.h"

#include <arpa/inet.h>
#include <toml++/toml.h>

#include "sbc/common/toml_config.h"

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace relay {
namespace {

using sbc::tomlcfg::fail;
using sbc::tomlcfg::get;
using sbc::tomlcfg::getInt;
using sbc::tomlcfg::onlyKeys;
using sbc::tomlcfg::section;

bool isIp(const std::string& s) {
  unsigned char out[16];
  return inet_pton(AF_INET, s.c_str(), out) == 1 || inet_pton(AF_INET6, s.c_str(), out) == 1;
}

std::string ipKey(const toml::table& t, std::string_view key, const std::string& fallback,
                  const std::string& origin, const std::string& where, bool allowEmpty = false) {
  auto v = get<std::string>(t, key, fallback, origin, where);
  if (allowEmpty && v.empty()) return v;
  if (!isIp(v))
    fail(origin, where + "." + std::string(key) + " must be an IP literal, not '" + v + "'");
  return v;
}

void readListener(const toml::table& root, std::string_view name, Listener& l,
                  const std::string& origin) {
  const toml::table* t = section(root, name, origin);
  if (!t) return;
  std::string where(name);
  onlyKeys(*t, {"address", "port"}, origin, where);
  l.address = ipKey(*t, "address", l.address, origin, where);
  l.port = static_cast<std::uint16_t>(getInt(*t, "port", l.port, 0, 65535, origin, where));
}

}  // namespace

RelayConfig parseConfig(const std::string& text, const std::string& origin) {
  toml::table root;
  try {
    root = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    std::ostringstream os;
    os << e;
    throw std::runtime_error(os.str());
  }
  RelayConfig c;
  onlyKeys(root, {"node", "realm", "ports", "control", "http", "sessions"}, origin, "");
  if (auto* node = section(root, "node", origin)) {
    onlyKeys(*node,
             {"name", "log_level", "workers", "forward_delay", "forward_delay_sample",
              "worker_scheduling", "worker_priority"},
             origin, "node");
    c.nodeName = get<std::string>(*node, "name", c.nodeName, origin, "node");
    c.logLevel = get<std::string>(*node, "log_level", c.logLevel, origin, "node");
    c.workers = static_cast<unsigned>(getInt(*node, "workers", 1, 1, 64, origin, "node"));
    c.forwardDelay = get<bool>(*node, "forward_delay", c.forwardDelay, origin, "node");
    c.forwardDelaySample = static_cast<unsigned>(
        getInt(*node, "forward_delay_sample", c.forwardDelaySample, 1, 1 << 20, origin, "node"));
    const auto scheduling =
        get<std::string>(*node, "worker_scheduling",
                         std::string(workerSchedulingName(c.workerScheduling)), origin, "node");
    const auto policy = parseWorkerScheduling(scheduling);
    if (!policy) {
      fail(origin, "node.worker_scheduling must be \"other\", \"fifo\" or \"rr\", not '" +
                       scheduling + "'");
    }
    c.workerScheduling = *policy;
    c.workerPriority =
        static_cast<int>(getInt(*node, "worker_priority", c.workerPriority, 1, 99, origin, "node"));
  }
  if (auto* realms = section(root, "realm", origin)) {
    onlyKeys(*realms, {"inside", "outside"}, origin, "realm");
    for (auto [name, realm] : {std::pair{"inside", &c.inside}, std::pair{"outside", &c.outside}}) {
      const toml::table* t = section(*realms, name, origin);
      if (!t) continue;
      std::string where = std::string("realm.") + name;
      onlyKeys(*t, {"address", "advertise"}, origin, where);
      realm->address = ipKey(*t, "address", realm->address, origin, where);
      realm->advertise = ipKey(*t, "advertise", "", origin, where, true);
      if (realm->advertise.empty() && (realm->address == "0.0.0.0" || realm->address == "::")) {
        fail(origin, where + ".advertise is required when address is a wildcard");
      }
    }
  }
  if (auto* ports = section(root, "ports", origin)) {
    onlyKeys(*ports, {"min", "max"}, origin, "ports");
    c.portMin =
        static_cast<std::uint16_t>(getInt(*ports, "min", c.portMin, 1024, 65534, origin, "ports"));
    c.portMax =
        static_cast<std::uint16_t>(getInt(*ports, "max", c.portMax, 1025, 65535, origin, "ports"));
    if (c.portMin % 2 != 0) fail(origin, "ports.min must be even (RTP on even ports)");
    if (c.portMax < c.portMin + 3) fail(origin, "ports.max must leave room for two port pairs");
  }
  readListener(root, "control", c.control, origin);
  readListener(root, "http", c.http, origin);
  if (auto* s = section(root, "sessions", origin)) {
    onlyKeys(*s, {"ttl", "media_timeout", "latch_window_ms", "max_control_connections"}, origin,
             "sessions");
    c.sessionTtl = std::chrono::seconds(getInt(*s, "ttl", 60, 1, 86400, origin, "sessions"));
    c.defaultMediaTimeout =
        static_cast<std::uint32_t>(getInt(*s, "media_timeout", 0, 0, 86400, origin, "sessions"));
    c.latchWindow = std::chrono::milliseconds(
        getInt(*s, "latch_window_ms", 3000, 0, 60000, origin, "sessions"));
    c.maxControlConnections = static_cast<std::size_t>(
        getInt(*s, "max_control_connections", 64, 1, 4096, origin, "sessions"));
  }
  return c;
}

RelayConfig loadConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  return parseConfig(ss.str(), path);
}

}  // namespace relay

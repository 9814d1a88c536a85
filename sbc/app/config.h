#pragma once
// Static per-node settings, read once at start from a TOML file. Everything an
// operator edits day to day lives in PostgreSQL instead (see BRIEF.md).
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace sbc::app {

enum class ListenProtocol { Udp, Tcp, Tls };

struct ListenConfig {
  std::string realm;  // "inside" (PBXs) or "outside" (carriers)
  ListenProtocol protocol = ListenProtocol::Udp;
  std::string address;  // IPv4 or IPv6 literal
  uint16_t port = 5060;
  // TLS only.
  std::string certificate;  // PEM chain, leaf first
  std::string private_key;
  std::string ca;  // CA bundle for client verification
  bool verify_client = false;
};

struct Config {
  std::string node_name = "sbc";
  std::string log_level = "info";
  // Replaces User-Agent/Server on both legs; empty removes them.
  std::string product = "edge-sbc";
  // Host names (besides the listen addresses) under which the SBC answers as
  // itself, e.g. to OPTIONS pings.
  std::vector<std::string> domains;
  size_t max_message_size = 65535;
  std::chrono::seconds idle_timeout{300};
  std::vector<ListenConfig> listen;
};

// Parses a TOML document; throws std::runtime_error naming the bad key.
Config parseConfig(const std::string& toml_text, const std::string& origin = "config");
Config loadConfig(const std::string& path);

const char* toString(ListenProtocol p);

}  // namespace sbc::app

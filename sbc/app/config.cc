#include "sbc/app/config.h"

#include <toml++/toml.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

#include <boost/asio/ip/address.hpp>

namespace sbc::app {
namespace {

[[noreturn]] void fail(const std::string& origin, const std::string& what) {
  throw std::runtime_error(origin + ": " + what);
}

template <typename T>
T get(const toml::table& t, std::string_view key, T fallback, const std::string& origin,
      const std::string& where) {
  const toml::node* n = t.get(key);
  if (!n) return fallback;
  if (auto v = n->value<T>()) return *v;
  fail(origin, where + "." + std::string(key) + " has the wrong type");
}

ListenProtocol parseProtocol(const std::string& s, const std::string& origin,
                             const std::string& where) {
  if (s == "udp") return ListenProtocol::Udp;
  if (s == "tcp") return ListenProtocol::Tcp;
  if (s == "tls") return ListenProtocol::Tls;
  fail(origin, where + ".transport must be udp, tcp or tls, not '" + s + "'");
}

}  // namespace

const char* toString(ListenProtocol p) {
  switch (p) {
    case ListenProtocol::Udp:
      return "udp";
    case ListenProtocol::Tcp:
      return "tcp";
    case ListenProtocol::Tls:
      return "tls";
  }
  return "?";
}

Config parseConfig(const std::string& text, const std::string& origin) {
  toml::table root;
  try {
    root = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    std::ostringstream os;
    os << e;
    throw std::runtime_error(os.str());
  }
  Config c;
  if (auto* node = root["node"].as_table()) {
    c.node_name = get<std::string>(*node, "name", c.node_name, origin, "node");
    c.log_level = get<std::string>(*node, "log_level", c.log_level, origin, "node");
    c.product = get<std::string>(*node, "product", c.product, origin, "node");
  }
  if (auto* sip = root["sip"].as_table()) {
    int64_t mms = get<int64_t>(*sip, "max_message_size", 65535, origin, "sip");
    if (mms < 1024 || mms > 1 << 20) fail(origin, "sip.max_message_size must be 1024..1048576");
    c.max_message_size = static_cast<size_t>(mms);
    int64_t idle = get<int64_t>(*sip, "idle_timeout", 300, origin, "sip");
    if (idle < 1 || idle > 86400) fail(origin, "sip.idle_timeout must be 1..86400 seconds");
    c.idle_timeout = std::chrono::seconds(idle);
    if (auto* domains = (*sip)["domains"].as_array()) {
      for (auto& d : *domains) {
        auto s = d.value<std::string>();
        if (!s || s->empty()) fail(origin, "sip.domains must be a list of host names");
        c.domains.push_back(*s);
      }
    }
  }
  auto* listen = root["listen"].as_array();
  if (!listen || listen->empty()) fail(origin, "at least one [[listen]] entry is required");
  int idx = 0;
  for (auto& entry : *listen) {
    std::string where = "listen[" + std::to_string(idx++) + "]";
    auto* t = entry.as_table();
    if (!t) fail(origin, where + " must be a table");
    ListenConfig l;
    l.realm = get<std::string>(*t, "realm", "", origin, where);
    if (l.realm != "inside" && l.realm != "outside")
      fail(origin, where + ".realm must be 'inside' or 'outside'");
    l.protocol =
        parseProtocol(get<std::string>(*t, "transport", "udp", origin, where), origin, where);
    l.address = get<std::string>(*t, "address", "", origin, where);
    boost::system::error_code ec;
    boost::asio::ip::make_address(l.address, ec);
    if (ec) fail(origin, where + ".address must be an IP address, not '" + l.address + "'");
    int64_t port =
        get<int64_t>(*t, "port", l.protocol == ListenProtocol::Tls ? 5061 : 5060, origin, where);
    if (port < 0 || port > 65535) fail(origin, where + ".port must be 0..65535");
    l.port = static_cast<uint16_t>(port);
    l.certificate = get<std::string>(*t, "certificate", "", origin, where);
    l.private_key = get<std::string>(*t, "private_key", "", origin, where);
    l.ca = get<std::string>(*t, "ca", "", origin, where);
    l.verify_client = get<bool>(*t, "verify_client", false, origin, where);
    if (l.protocol == ListenProtocol::Tls && (l.certificate.empty() || l.private_key.empty()))
      fail(origin, where + ": a tls listener needs certificate and private_key");
    if (l.verify_client && l.ca.empty()) fail(origin, where + ": verify_client needs ca");
    c.listen.push_back(std::move(l));
  }
  return c;
}

Config loadConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  return parseConfig(ss.str(), path);
}

}  // namespace sbc::app

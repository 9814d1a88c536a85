#include "sbc/app/config.h"

#include <toml++/toml.h>

#include "sbc/common/toml_config.h"

#include <sstream>
#include <stdexcept>

#include <boost/asio/ip/address.hpp>

namespace sbc::app {
namespace {

using sbc::tomlcfg::fail;
using sbc::tomlcfg::get;
using sbc::tomlcfg::getInt;
using sbc::tomlcfg::resolvePath;
using sbc::tomlcfg::section;

ListenProtocol parseProtocol(const std::string& s, const std::string& origin,
                             const std::string& where) {
  if (s == "udp") return ListenProtocol::Udp;
  if (s == "tcp") return ListenProtocol::Tcp;
  if (s == "tls") return ListenProtocol::Tls;
  fail(origin, where + ".transport must be udp, tcp or tls, not '" + s + "'");
}

bool isIp(const std::string& s, bool* unspecified = nullptr) {
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(s, ec);
  if (ec) return false;
  if (unspecified) *unspecified = a.is_unspecified();
  return true;
}

void parseDns(const toml::table& t, const std::string& origin, DnsConfig& out) {
  sbc::tomlcfg::onlyKeys(t, {"hosts"}, origin, "dns");
  const toml::node* n = t.get("hosts");
  if (!n) return;
  const toml::table* hosts = n->as_table();
  if (!hosts) fail(origin, "dns.hosts must be a table of name = address(es)");
  for (const auto& [name, value] : *hosts) {
    const std::string where = "dns.hosts." + std::string(name.str());
    std::vector<std::string> addresses;
    if (auto one = value.value<std::string>()) {
      addresses.push_back(*one);
    } else if (const toml::array* list = value.as_array()) {
      for (const auto& item : *list) {
        auto a = item.value<std::string>();
        if (!a) fail(origin, where + " must list IP addresses");
        addresses.push_back(*a);
      }
    } else {
      fail(origin, where + " must be an IP address or a list of them");
    }
    for (const auto& a : addresses) {
      bool wildcard = false;
      if (!isIp(a, &wildcard) || wildcard) {
        std::string what = where;
        what.append(": '").append(a).append("' is not a specific IP address");
        fail(origin, what);
      }
    }
    if (addresses.empty()) fail(origin, where + " has no address");
    out.hosts.emplace(std::string(name.str()), std::move(addresses));
  }
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

Config parseConfig(const std::string& text, const std::string& origin,
                   const std::string& base_dir) {
  toml::table root;
  try {
    root = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    std::ostringstream os;
    os << e;
    throw std::runtime_error(os.str());
  }
  Config c;
  if (auto* node = section(root, "node", origin)) {
    c.node_name = get<std::string>(*node, "name", c.node_name, origin, "node");
    if (c.node_name.empty()) fail(origin, "node.name must not be empty");
    c.log_level = get<std::string>(*node, "log_level", c.log_level, origin, "node");
    c.product = get<std::string>(*node, "product", c.product, origin, "node");
    c.shutdown_grace =
        std::chrono::seconds(getInt(*node, "shutdown_grace", 5, 0, 600, origin, "node", "seconds"));
    const auto scheduling =
        get<std::string>(*node, "sip_scheduling",
                         std::string(common::schedPolicyName(c.sip_scheduling)), origin, "node");
    const auto policy = common::parseSchedPolicy(scheduling);
    if (!policy) {
      fail(origin,
           "node.sip_scheduling must be \"other\", \"fifo\" or \"rr\", not '" + scheduling + "'");
    }
    c.sip_scheduling = *policy;
    c.sip_priority =
        static_cast<int>(getInt(*node, "sip_priority", c.sip_priority, 1, 99, origin, "node"));
  }
  if (auto* sip = section(root, "sip", origin)) {
    c.max_message_size =
        static_cast<size_t>(getInt(*sip, "max_message_size", 65535, 1024, 1 << 20, origin, "sip"));
    c.idle_timeout =
        std::chrono::seconds(getInt(*sip, "idle_timeout", 300, 1, 86400, origin, "sip", "seconds"));
    c.presize_cps =
        static_cast<uint32_t>(getInt(*sip, "presize_cps", 1000, 0, 100000, origin, "sip"));
    if (const toml::node* d = sip->get("domains")) {
      auto* domains = d->as_array();
      if (!domains) fail(origin, "sip.domains must be a list of host names");
      for (auto& e : *domains) {
        auto s = e.value<std::string>();
        if (!s || s->empty()) fail(origin, "sip.domains must be a list of host names");
        c.domains.push_back(*s);
      }
    }
  }

  const toml::table* db = section(root, "database", origin);
  if (!db) fail(origin, "[database] with dsn is required");
  c.database.dsn = get<std::string>(*db, "dsn", "", origin, "database");
  if (c.database.dsn.empty()) fail(origin, "database.dsn is required");
  c.database.secret_key_file =
      resolvePath(get<std::string>(*db, "secret_key_file", "", origin, "database"), base_dir);
  c.database.pool_threads =
      static_cast<unsigned>(getInt(*db, "pool_threads", 2, 1, 64, origin, "database"));
  c.database.migrate = get<bool>(*db, "migrate", false, origin, "database");

  if (auto* cdr = section(root, "cdr", origin)) {
    c.cdr_spool_dir = get<std::string>(*cdr, "spool_dir", c.cdr_spool_dir, origin, "cdr");
    if (c.cdr_spool_dir.empty()) fail(origin, "cdr.spool_dir must not be empty");
  }
  c.cdr_spool_dir = resolvePath(c.cdr_spool_dir, base_dir);

  if (auto* mgmt = section(root, "mgmt", origin)) {
    c.mgmt_address = get<std::string>(*mgmt, "address", c.mgmt_address, origin, "mgmt");
    if (!isIp(c.mgmt_address))
      fail(origin, "mgmt.address must be an IP address, not '" + c.mgmt_address + "'");
    c.mgmt_port = static_cast<uint16_t>(getInt(*mgmt, "port", 8080, 0, 65535, origin, "mgmt"));
  }

  const toml::node* listen_node = root.get("listen");
  auto* listen = listen_node ? listen_node->as_array() : nullptr;
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
    bool wildcard = false;
    if (!isIp(l.address, &wildcard))
      fail(origin, where + ".address must be an IP address, not '" + l.address + "'");
    l.port = static_cast<uint16_t>(getInt(
        *t, "port", l.protocol == ListenProtocol::Tls ? 5061 : 5060, 0, 65535, origin, where));
    l.advertise = get<std::string>(*t, "advertise", "", origin, where);
    if (!l.advertise.empty()) {
      bool adv_wildcard = false;
      if (!isIp(l.advertise, &adv_wildcard) || adv_wildcard)
        fail(origin, where + ".advertise must be a specific IP address, not '" + l.advertise + "'");
    } else if (wildcard) {
      fail(origin, where + ".advertise is required when address is a wildcard ('" + l.address +
                       "'): peers need an address to reach");
    }
    const bool tls = l.protocol == ListenProtocol::Tls;
    if (tls && (!t->contains("certificate") || !t->contains("private_key")))
      fail(origin, where + ": a tls listener needs certificate and private_key");
    auto files = sbc::tomlcfg::getTlsServerFiles(*t, origin, where, base_dir, true);
    l.certificate = std::move(files.certificate);
    l.private_key = std::move(files.private_key);
    l.ca = std::move(files.ca);
    l.verify_client = files.verify_client;
    if (tls && (l.certificate.empty() || l.private_key.empty()))
      fail(origin, where + ": a tls listener needs certificate and private_key");
    c.listen.push_back(std::move(l));
  }

  if (auto* media = section(root, "media", origin)) {
    c.media.timeout_seconds = static_cast<uint32_t>(
        getInt(*media, "timeout", c.media.timeout_seconds, 0, 86400, origin, "media", "seconds"));
    c.media.request_timeout = std::chrono::milliseconds(
        getInt(*media, "request_timeout_ms", 700, 50, 10000, origin, "media", "ms"));
    c.media.ping_interval = std::chrono::milliseconds(
        getInt(*media, "ping_interval_ms", 2000, 100, 60000, origin, "media", "ms"));
    c.media.relay_grace =
        std::chrono::seconds(getInt(*media, "relay_grace", 5, 0, 3600, origin, "media", "seconds"));
  }
  if (auto* trace = section(root, "trace", origin)) {
    c.trace.retention_hours = static_cast<uint32_t>(
        getInt(*trace, "retention_hours", c.trace.retention_hours, 0, 87600, origin, "trace"));
    c.trace.hep_address = get<std::string>(*trace, "hep_address", "", origin, "trace");
    c.trace.hep_id =
        static_cast<uint32_t>(getInt(*trace, "hep_id", 0, 0, 0xffffffffLL, origin, "trace"));
  }
  if (auto* dns = section(root, "dns", origin)) parseDns(*dns, origin, c.dns);
  if (auto* cl = section(root, "cluster", origin)) {
    c.cluster.enabled = get<bool>(*cl, "enabled", false, origin, "cluster");
    c.cluster.lease_block =
        static_cast<uint32_t>(getInt(*cl, "lease_block", 10, 1, 100000, origin, "cluster"));
    c.cluster.low_water = static_cast<uint32_t>(
        getInt(*cl, "low_water", c.cluster.lease_block / 4, 0, 100000, origin, "cluster"));
    c.cluster.expiry =
        std::chrono::seconds(getInt(*cl, "expiry", 15, 2, 3600, origin, "cluster", "seconds"));
    c.cluster.sync_interval = std::chrono::milliseconds(
        getInt(*cl, "sync_interval_ms", 1000, 50, 60000, origin, "cluster", "ms"));
    c.cluster.fence = get<bool>(*cl, "fence", true, origin, "cluster");
    if (c.cluster.sync_interval * 3 > c.cluster.expiry)
      fail(origin, "cluster.expiry must be at least 3 sync intervals (cluster.sync_interval_ms)");
  }
  if (const toml::node* relay_node = root.get("relay")) {
    auto* relays = relay_node->as_array();
    if (!relays) fail(origin, "relay must be a list of tables ([[relay]])");
    int ridx = 0;
    for (auto& entry : *relays) {
      std::string where = "relay[" + std::to_string(ridx++) + "]";
      auto* t = entry.as_table();
      if (!t) fail(origin, where + " must be a table");
      RelayConfig r;
      r.address = get<std::string>(*t, "address", "", origin, where);
      bool wildcard = false;
      if (!isIp(r.address, &wildcard) || wildcard)
        fail(origin, where + ".address must be a specific IP address, not '" + r.address + "'");
      r.port = static_cast<uint16_t>(getInt(*t, "port", 0, 1, 65535, origin, where));
      c.relays.push_back(std::move(r));
    }
  }
  return c;
}

Config loadConfig(const std::string& path) {
  tomlcfg::ConfigFile file = tomlcfg::readConfigFile(path);
  return parseConfig(file.text, path, file.base_dir);
}

}  // namespace sbc::app

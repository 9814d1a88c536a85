#include "sbc/config/loader.h"

#include <pqxx/pqxx>

#include <spdlog/spdlog.h>

#include <unordered_map>

namespace sbc::cfg {
namespace {

using Clock = std::chrono::steady_clock;

std::vector<std::string> textArray(const pqxx::field& f) {
  std::vector<std::string> out;
  if (f.is_null()) return out;
  pqxx::array_parser parser = f.as_array();
  for (;;) {
    auto [what, value] = parser.get_next();
    if (what == pqxx::array_parser::done) break;
    if (what == pqxx::array_parser::string_value) out.push_back(std::move(value));
  }
  return out;
}

std::uint32_t u32(const pqxx::field& f) {
  auto v = f.as<std::int64_t>();
  return v < 0 ? 0 : static_cast<std::uint32_t>(v);
}

Transport transportOf(std::string_view s) {
  if (s == "tcp") return Transport::Tcp;
  if (s == "tls") return Transport::Tls;
  return Transport::Udp;
}

DidStatus didStatusOf(std::string_view s) {
  if (s == "porting_in") return DidStatus::PortingIn;
  if (s == "ported_out") return DidStatus::PortedOut;
  if (s == "reserved") return DidStatus::Reserved;
  return DidStatus::Active;
}

MediaPolicy mediaOf(std::string_view s) {
  if (s == "srtp-optional") return MediaPolicy::SrtpOptional;
  if (s == "srtp-mandatory") return MediaPolicy::SrtpMandatory;
  return MediaPolicy::Rtp;
}

AuthMode authOf(std::string_view s) {
  if (s == "digest") return AuthMode::Digest;
  if (s == "register") return AuthMode::Register;
  return AuthMode::Acl;
}

std::string_view stripPlus(std::string_view s) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  return s;
}

void loadTrunks(pqxx::transaction_base& tx, Snapshot& snap) {
  auto rows = tx.exec(
      "SELECT id, name, kind, realm, enabled, auth_mode,"
      " max_calls, max_inbound, max_outbound, cps::float8, cps_burst, reject_code, reject_reason,"
      " header_strip, header_allow_x, pai_trust, product_header,"
      " country_code, national_prefix, international_prefix, send_plus,"
      " pass_lnp_params, ported_out_action, media_policy,"
      " session_expires, min_se, max_call_seconds, ring_timeout_seconds, failover_timeout_ms,"
      " register_outbound, register_expires, register_user, version,"
      " sip_trace,"                                                 // 0010
      " tls_client_cert, tls_client_key, tls_ca_file, tls_verify,"  // 0012
      " media_latch"                                                // 0013
      " FROM trunks ORDER BY id");
  snap.trunks.reserve(rows.size());
  for (const auto& r : rows) {
    Trunk t;
    t.id = r[0].as<std::int64_t>();
    t.name = r[1].as<std::string>();
    t.kind = r[2].as<std::string>() == "carrier" ? TrunkKind::Carrier : TrunkKind::Pbx;
    t.realm = r[3].as<std::string>();
    t.enabled = r[4].as<bool>();
    t.auth = authOf(r[5].c_str());
    t.limits.max_calls = u32(r[6]);
    t.limits.max_inbound = u32(r[7]);
    t.limits.max_outbound = u32(r[8]);
    t.limits.cps = r[9].as<double>();
    t.limits.cps_burst = u32(r[10]);
    t.limits.reject_code = r[11].as<int>();
    t.limits.reject_reason = r[12].as<std::string>();
    t.headers.strip = textArray(r[13]);
    t.headers.allow_x = textArray(r[14]);
    t.headers.pai = r[15].as<std::string>() == "trusted" ? PaiTrust::Trusted : PaiTrust::Untrusted;
    if (!r[16].is_null()) t.headers.product = r[16].as<std::string>();
    t.numbers.country_code = r[17].as<std::string>();
    t.numbers.national_prefix = r[18].as<std::string>();
    t.numbers.international_prefix = r[19].as<std::string>();
    t.numbers.send_plus = r[20].as<bool>();
    t.pass_lnp_params = r[21].as<bool>();
    t.ported_out = r[22].as<std::string>() == "route_by_lnp" ? PortedOutAction::RouteByLnp
                                                             : PortedOutAction::Reject404;
    t.media = mediaOf(r[23].c_str());
    t.session_expires = u32(r[24]);
    t.min_se = u32(r[25]);
    t.max_call_seconds = u32(r[26]);
    t.ring_timeout_seconds = u32(r[27]);
    t.failover_timeout_ms = u32(r[28]);
    t.register_outbound = r[29].as<bool>();
    t.register_expires = u32(r[30]);
    t.register_user = r[31].as<std::string>();
    t.version = r[32].as<std::int64_t>();
    t.sip_trace = r[33].as<bool>();
    t.tls.certificate_file = r[34].as<std::string>();
    t.tls.private_key_file = r[35].as<std::string>();
    t.tls.ca_file = r[36].as<std::string>();
    t.tls.verify = r[37].as<bool>();
    t.media_latch = std::string_view(r[38].c_str()) == "window_any" ? MediaLatch::WindowAny
                                                                    : MediaLatch::Strict;
    snap.trunks.push_back(std::move(t));
  }
}

void loadTrunkParts(pqxx::transaction_base& tx, const crypto::SecretKey& key, Snapshot& snap,
                    LoadStats& st) {
  std::unordered_map<TrunkId, Trunk*> by_id;
  for (auto& t : snap.trunks) by_id[t.id] = &t;

  for (const auto& r : tx.exec(
           "SELECT trunk_id, id, host, port, transport, priority, weight, enabled, options_ping,"
           " tls_server_name FROM trunk_gateways ORDER BY trunk_id, priority, id")) {
    auto it = by_id.find(r[0].as<std::int64_t>());
    if (it == by_id.end()) continue;
    Gateway g;
    g.id = r[1].as<std::int64_t>();
    g.host = r[2].as<std::string>();
    g.port = static_cast<std::uint16_t>(r[3].as<int>());
    g.transport = transportOf(r[4].c_str());
    g.priority = r[5].as<int>();
    g.weight = r[6].as<int>();
    g.enabled = r[7].as<bool>();
    g.options_ping = r[8].as<bool>();
    g.tls_server_name = r[9].as<std::string>();
    it->second->gateways.push_back(std::move(g));
    ++st.gateways;
  }

  for (const auto& r :
       tx.exec("SELECT trunk_id, cidr::text FROM trunk_acl ORDER BY trunk_id, id")) {
    auto it = by_id.find(r[0].as<std::int64_t>());
    if (it == by_id.end()) continue;
    auto cidr = Cidr::parse(r[1].c_str());
    if (!cidr) {
      // The cidr column type makes this unreachable; do not trust it blindly.
      spdlog::error("config: trunk {}: unusable ACL entry '{}' skipped", it->second->name,
                    r[1].c_str());
      ++st.bad_rows;
      continue;
    }
    it->second->acl.push_back(*cidr);
    ++st.acl_entries;
  }

  for (const auto& r :
       tx.exec("SELECT trunk_id, direction, username, secret, realm FROM trunk_credentials"
               " ORDER BY trunk_id, direction")) {
    auto it = by_id.find(r[0].as<std::int64_t>());
    if (it == by_id.end()) continue;
    const bool inbound = std::string_view(r[1].c_str()) == "inbound";
    Credentials& c = inbound ? it->second->inbound : it->second->outbound;
    pqxx::binarystring secret(r[3]);
    auto plain =
        crypto::decryptSecret(key, std::span<const std::uint8_t>(secret.data(), secret.size()));
    if (!plain) {
      spdlog::error(
          "config: trunk {}: the {} credential's secret does not decrypt with this node's key "
          "(wrong key file, or written without encryption); credential left empty",
          it->second->name, inbound ? "inbound" : "outbound");
      ++st.credential_errors;
      c = Credentials{};
      continue;
    }
    c.username = r[2].as<std::string>();
    c.password = std::move(*plain);
    c.realm = r[4].as<std::string>();
    ++st.credentials;
  }
}

void loadDids(pqxx::transaction_base& tx, Snapshot& snap) {
  auto rows = tx.exec("SELECT number, trunk_id, status FROM dids");
  snap.dids.reserve(rows.size());
  for (const auto& r : rows) {
    Did d;
    d.number = std::string(stripPlus(r[0].c_str()));
    d.trunk = r[1].is_null() ? 0 : r[1].as<std::int64_t>();
    d.status = didStatusOf(r[2].c_str());
    std::string key = d.number;
    snap.dids.emplace(std::move(key), std::move(d));
  }
}

void loadRoutes(pqxx::transaction_base& tx, Snapshot& snap) {
  auto rows = tx.exec(
      "SELECT prefix, trunk_id, priority, weight FROM routes WHERE enabled"
      " ORDER BY prefix, priority, id");
  snap.routes.reserve(rows.size());
  for (const auto& r : rows) {
    Route rt;
    rt.prefix = r[0].as<std::string>();
    rt.trunk = r[1].as<std::int64_t>();
    rt.priority = r[2].as<int>();
    rt.weight = r[3].as<int>();
    snap.routes.push_back(std::move(rt));
  }
}

// COPY out, parsed in place: a million rows in well under a second, 16 bytes
// each in memory.
void loadPorted(pqxx::transaction_base& tx, Snapshot& snap, LoadStats& st) {
  const auto count = tx.exec1("SELECT count(*) FROM ported_numbers")[0].as<std::size_t>();
  snap.ported.reserve(count);
  pqxx::stream_from stream(tx, "ported_numbers",
                           std::vector<std::string>{"number", "routing_number"});
  std::string line;
  while (stream.get_raw_line(line)) {
    std::string_view v(line);
    // libpqxx 6 hands the line over with its newline.
    while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) v.remove_suffix(1);
    auto tab = v.find('\t');
    if (tab == std::string_view::npos) {
      ++st.bad_rows;
      continue;
    }
    auto number = packE164(v.substr(0, tab));
    auto routing = packE164(v.substr(tab + 1));
    if (!number || !routing) {
      ++st.bad_rows;
      continue;
    }
    snap.ported.push_back(PortedEntry{*number, *routing});
  }
  stream.complete();
  // count(*) ran in the same snapshot, so this only trims skipped rows.
  if (snap.ported.capacity() > snap.ported.size() + snap.ported.size() / 16 + 16)
    snap.ported.shrink_to_fit();
}

}  // namespace

SnapshotPtr loadSnapshot(pqxx::connection& conn, const crypto::SecretKey& key,
                         std::uint64_t generation, const LoadOptions& options, LoadStats* stats) {
  const auto t0 = Clock::now();
  LoadStats st;
  auto snap = std::make_shared<Snapshot>();
  snap->generation = generation;
  {
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(conn, "config-load");
    loadTrunks(tx, *snap);
    loadTrunkParts(tx, key, *snap, st);
    loadDids(tx, *snap);
    loadRoutes(tx, *snap);
    const auto p0 = Clock::now();
    if (options.reuse_ported) {
      snap->ported = *options.reuse_ported;
      st.ported_reused = true;
    } else {
      loadPorted(tx, *snap, st);
    }
    st.ported_duration = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - p0);
    tx.commit();
  }
  snap->index();
  snap->loaded_at = std::chrono::system_clock::now();
  st.trunks = snap->trunks.size();
  st.dids = snap->dids.size();
  st.routes = snap->routes.size();
  st.ported = snap->ported.size();
  st.duration = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0);
  if (st.bad_rows > 0) spdlog::warn("config: {} unusable rows skipped", st.bad_rows);
  if (stats) *stats = st;
  return snap;
}

}  // namespace sbc::cfg

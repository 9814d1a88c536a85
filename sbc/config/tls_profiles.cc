#include "sbc/config/tls_profiles.h"

#include <array>

#include <arpa/inet.h>

namespace sbc::cfg {

namespace {

bool isIpLiteral(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host.empty() || host.size() > 45) return false;
  std::array<char, 64> buf{};
  host.copy(buf.data(), host.size());
  std::array<unsigned char, 16> out{};
  return inet_pton(AF_INET, buf.data(), out.data()) == 1 ||
         inet_pton(AF_INET6, buf.data(), out.data()) == 1;
}

}  // namespace

TlsClientProfile tlsProfileOf(const Trunk& trunk, const Gateway& gateway) {
  TlsClientProfile p;
  p.certificate_file = trunk.tls.certificate_file;
  p.private_key_file = trunk.tls.private_key_file;
  p.ca_file = trunk.tls.ca_file;
  p.verify = trunk.tls.verify;
  if (!gateway.tls_server_name.empty())
    p.server_name = gateway.tls_server_name;
  else if (!isIpLiteral(gateway.host))
    p.server_name = gateway.host;
  return p;
}

TlsProfileRegistry& TlsProfileRegistry::instance() {
  static TlsProfileRegistry registry;
  return registry;
}

std::string TlsProfileRegistry::keyOf(const TlsClientProfile& profile) {
  // NUL never occurs in a path or a host name, so it separates unambiguously.
  std::string key;
  key.reserve(profile.certificate_file.size() + profile.private_key_file.size() +
              profile.ca_file.size() + profile.server_name.size() + 6);
  key.append(profile.certificate_file).push_back('\0');
  key.append(profile.private_key_file).push_back('\0');
  key.append(profile.ca_file).push_back('\0');
  key.append(profile.server_name).push_back('\0');
  key.push_back(profile.verify ? '1' : '0');
  return key;
}

std::uint32_t TlsProfileRegistry::intern(const TlsClientProfile& profile) {
  std::string key = keyOf(profile);
  const std::scoped_lock lock(mutex_);
  if (auto it = ids_.find(key); it != ids_.end()) return it->second;
  profiles_.push_back(profile);
  const auto id = static_cast<std::uint32_t>(profiles_.size());
  ids_.emplace(std::move(key), id);
  return id;
}

std::optional<TlsClientProfile> TlsProfileRegistry::get(std::uint32_t id) const {
  const std::scoped_lock lock(mutex_);
  if (id == 0 || id > profiles_.size()) return std::nullopt;
  return profiles_[id - 1];
}

std::size_t TlsProfileRegistry::size() const {
  const std::scoped_lock lock(mutex_);
  return profiles_.size();
}

}  // namespace sbc::cfg

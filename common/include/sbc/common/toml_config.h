#pragma once
// What every process's TOML loader needs (sbc, media-relay, sbc-admin):
// typed reads with defaults and ranges, sections, unknown-key checks and
// relative paths, all failing with std::runtime_error("<origin>: <what>")
// that names the key. Configuration is read once at start, so exceptions are
// the right tool here (never on a packet or SIP path).
//
// Header-only; users link tomlplusplus::tomlplusplus themselves.
#include <toml++/toml.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace sbc::tomlcfg {

[[noreturn]] inline void fail(const std::string& origin, const std::string& what) {
  throw std::runtime_error(origin + ": " + what);
}

// A configuration text as a table; a syntax error throws std::runtime_error
// with toml++'s description (origin, line and column).
inline toml::table parseText(const std::string& text, const std::string& origin) {
  try {
    return toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    std::ostringstream os;
    os << e;
    throw std::runtime_error(os.str());
  }
}

// A configuration file's text, and the folder its relative paths are
// resolved against (the file's own, absolute where it can be made so).
struct ConfigFile {
  std::string text;
  std::string base_dir;
};

inline ConfigFile readConfigFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(path, ec);
  std::string base =
      ec ? std::filesystem::path(path).parent_path().string() : abs.parent_path().string();
  if (base.empty()) base = ".";
  return {ss.str(), std::move(base)};
}

// `where` is the dotted path of the table holding `key` (for messages).
template <typename T>
T get(const toml::table& t, std::string_view key, T fallback, const std::string& origin,
      const std::string& where) {
  const toml::node* n = t.get(key);
  if (!n) return fallback;
  if (auto v = n->value<T>()) return *v;
  fail(origin, where + "." + std::string(key) + " has the wrong type");
}

// An integer within [lo, hi]; `unit` (e.g. "seconds") only for the message.
inline std::int64_t getInt(const toml::table& t, std::string_view key, std::int64_t fallback,
                           std::int64_t lo, std::int64_t hi, const std::string& origin,
                           const std::string& where, std::string_view unit = {}) {
  const auto v = get<std::int64_t>(t, key, fallback, origin, where);
  if (v < lo || v > hi) {
    fail(origin, where + "." + std::string(key) + " must be " + std::to_string(lo) + ".." +
                     std::to_string(hi) + (unit.empty() ? "" : " ") + std::string(unit));
  }
  return v;
}

// A table if present; a key of another type is an error rather than ignored.
inline const toml::table* section(const toml::table& root, std::string_view key,
                                  const std::string& origin) {
  const toml::node* n = root.get(key);
  if (!n) return nullptr;
  if (auto* t = n->as_table()) return t;
  fail(origin, std::string(key) + " must be a table ([" + std::string(key) + "])");
}

// Unknown keys are errors: a misspelt key must not silently keep a default.
inline void onlyKeys(const toml::table& t, std::initializer_list<std::string_view> keys,
                     const std::string& origin, const std::string& where) {
  for (const auto& [k, v] : t) {
    bool known = false;
    for (auto allowed : keys) known = known || k.str() == allowed;
    if (!known) {
      fail(origin, "unknown key " + where + (where.empty() ? "" : ".") + std::string(k.str()));
    }
  }
}

// `path` relative to `base_dir` (the configuration file's folder); absolute
// paths and empty values are left as written.
inline std::string resolvePath(const std::string& path, const std::string& base_dir) {
  if (path.empty() || base_dir.empty()) return path;
  std::filesystem::path p(path);
  if (p.is_absolute()) return path;
  return (std::filesystem::path(base_dir) / p).lexically_normal().string();
}

// The files of a TLS server endpoint (the sbc's TLS listeners, the console's
// HTTPS): `certificate` and `private_key` (PEM, resolved against `base_dir`),
// and with `client_auth` also `ca` and `verify_client`. Checks what holds for
// every user: certificate and key go together, verify_client needs ca. Whether
// TLS is required at all is the caller's rule.
struct TlsServerFiles {
  std::string certificate;
  std::string private_key;
  std::string ca;
  bool verify_client = false;
  bool present() const { return !certificate.empty(); }
};

inline TlsServerFiles getTlsServerFiles(const toml::table& t, const std::string& origin,
                                        const std::string& where, const std::string& base_dir,
                                        bool client_auth) {
  TlsServerFiles f;
  f.certificate = resolvePath(get<std::string>(t, "certificate", "", origin, where), base_dir);
  f.private_key = resolvePath(get<std::string>(t, "private_key", "", origin, where), base_dir);
  if (f.certificate.empty() != f.private_key.empty())
    fail(origin, where + ".certificate and " + where + ".private_key go together");
  if (client_auth) {
    f.ca = resolvePath(get<std::string>(t, "ca", "", origin, where), base_dir);
    f.verify_client = get<bool>(t, "verify_client", false, origin, where);
    if (f.verify_client && f.ca.empty()) fail(origin, where + ": verify_client needs ca");
  }
  return f;
}

}  // namespace sbc::tomlcfg

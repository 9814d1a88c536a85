#include "common/db/dsn.h"

#include <algorithm>
#include <cctype>

namespace sbc::db {
namespace {

bool isUri(std::string_view dsn) {
  return dsn.starts_with("postgresql://") || dsn.starts_with("postgres://");
}

// Quotes a value for the key=value form when it needs it.
std::string quoteValue(std::string_view v) {
  bool plain = !v.empty();
  for (char c : v)
    if (std::isspace(static_cast<unsigned char>(c)) || c == '\'' || c == '\\') plain = false;
  if (plain) return std::string(v);
  std::string out = "'";
  for (char c : v) {
    if (c == '\'' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

std::string percentEncode(std::string_view v) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : v) {
    auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace

bool dsnHasParam(std::string_view dsn, std::string_view key) {
  if (isUri(dsn)) {
    auto q = dsn.find('?');
    if (q == std::string_view::npos) return false;
    std::string_view query = dsn.substr(q + 1);
    while (!query.empty()) {
      auto amp = query.find('&');
      std::string_view part = query.substr(0, amp);
      if (part.substr(0, part.find('=')) == key) return true;
      if (amp == std::string_view::npos) break;
      query.remove_prefix(amp + 1);
    }
    return false;
  }
  // key=value pairs separated by spaces; values may be quoted.
  std::size_t i = 0;
  while (i < dsn.size()) {
    while (i < dsn.size() && std::isspace(static_cast<unsigned char>(dsn[i]))) ++i;
    std::size_t k = i;
    while (i < dsn.size() && dsn[i] != '=' && !std::isspace(static_cast<unsigned char>(dsn[i])))
      ++i;
    std::string_view name = dsn.substr(k, i - k);
    while (i < dsn.size() && std::isspace(static_cast<unsigned char>(dsn[i]))) ++i;
    if (i < dsn.size() && dsn[i] == '=') ++i;
    while (i < dsn.size() && std::isspace(static_cast<unsigned char>(dsn[i]))) ++i;
    if (i < dsn.size() && dsn[i] == '\'') {
      for (++i; i < dsn.size() && dsn[i] != '\''; ++i)
        if (dsn[i] == '\\') ++i;
      ++i;
    } else {
      while (i < dsn.size() && !std::isspace(static_cast<unsigned char>(dsn[i]))) ++i;
    }
    if (name == key) return true;
  }
  return false;
}

std::string dsnWithParam(std::string_view dsn, std::string_view key, std::string_view value) {
  std::string out(dsn);
  if (isUri(dsn)) {
    // libpq takes the last occurrence of a query parameter.
    out += dsn.find('?') == std::string_view::npos ? '?' : '&';
    out += key;
    out += '=';
    out += percentEncode(value);
    return out;
  }
  // In the key=value form a later keyword overrides an earlier one.
  if (!out.empty()) out += ' ';
  out += key;
  out += '=';
  out += quoteValue(value);
  return out;
}

std::string dsnWithDefaults(std::string_view dsn, int connect_timeout_s,
                            std::string_view application_name) {
  std::string out(dsn);
  auto add = [&](std::string_view key, std::string_view value) {
    if (!dsnHasParam(out, key)) out = dsnWithParam(out, key, value);
  };
  add("connect_timeout", std::to_string(connect_timeout_s));
  add("keepalives", "1");
  add("keepalives_idle", "10");
  add("keepalives_interval", "5");
  add("keepalives_count", "3");
  if (!application_name.empty()) add("application_name", application_name);
  return out;
}

std::string redactDsn(std::string_view dsn) {
  std::string out(dsn);
  if (isUri(dsn)) {
    // postgresql://user:secret@host -> postgresql://user:***@host
    auto scheme_end = out.find("://") + 3;
    auto at = out.find('@', scheme_end);
    if (at != std::string::npos) {
      auto colon = out.find(':', scheme_end);
      if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
    }
    auto pw = out.find("password=");
    if (pw != std::string::npos) {
      auto end = out.find('&', pw);
      out.replace(pw + 9, end == std::string::npos ? std::string::npos : end - pw - 9, "***");
    }
    return out;
  }
  auto pw = out.find("password");
  while (pw != std::string::npos) {
    std::size_t i = pw + 8;
    while (i < out.size() && std::isspace(static_cast<unsigned char>(out[i]))) ++i;
    if (i < out.size() && out[i] == '=') {
      ++i;
      while (i < out.size() && std::isspace(static_cast<unsigned char>(out[i]))) ++i;
      std::size_t end = i;
      if (end < out.size() && out[end] == '\'') {
        for (++end; end < out.size() && out[end] != '\''; ++end)
          if (out[end] == '\\') ++end;
        end = std::min(end + 1, out.size());
      } else {
        while (end < out.size() && !std::isspace(static_cast<unsigned char>(out[end]))) ++end;
      }
      out.replace(i, end - i, "***");
    }
    pw = out.find("password", pw + 8);
  }
  return out;
}

}  // namespace sbc::db

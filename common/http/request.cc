#include "common/http/request.h"

#include <array>

namespace sbc::http {

namespace {

constexpr std::array<std::string_view, kMethodCount> kMethodNames = {
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "OTHER"};

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

}  // namespace

std::string_view methodName(Method method) {
  return kMethodNames[static_cast<std::size_t>(method)];
}

Method methodFromName(std::string_view name) {
  for (std::size_t i = 0; i + 1 < kMethodNames.size(); ++i) {
    if (kMethodNames[i] == name) return static_cast<Method>(i);
  }
  return Method::kOther;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::optional<std::string_view> Headers::get(std::string_view name) const {
  for (const Field& f : fields_) {
    if (equalsIgnoreCase(f.first, name)) return f.second;
  }
  return std::nullopt;
}

std::optional<std::string> percentDecode(std::string_view in, bool plus_as_space) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return std::nullopt;
      int hi = hexValue(in[i + 1]);
      int lo = hexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_as_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::optional<std::string_view> Request::queryParam(std::string_view name) const {
  for (const auto& [key, value] : query) {
    if (key == name) return std::string_view(value);
  }
  return std::nullopt;
}

std::string_view Request::param(std::string_view name) const {
  for (const auto& [key, value] : params) {
    if (key == name) return value;
  }
  return {};
}

bool Request::setTarget(std::string_view raw_target) {
  if (raw_target.empty() || raw_target.front() != '/') return false;
  target = raw_target;
  std::size_t qmark = raw_target.find('?');
  std::string_view raw_path = raw_target.substr(0, qmark);
  // A fragment never belongs in a request-target; drop it rather than fail.
  std::string_view raw_query =
      qmark == std::string_view::npos ? std::string_view() : raw_target.substr(qmark + 1);
  raw_query = raw_query.substr(0, raw_query.find('#'));

  auto decoded = percentDecode(raw_path);
  if (!decoded || decoded->find('\0') != std::string::npos) return false;
  path = std::move(*decoded);

  query.clear();
  while (!raw_query.empty()) {
    std::size_t amp = raw_query.find('&');
    std::string_view pair = raw_query.substr(0, amp);
    raw_query = amp == std::string_view::npos ? std::string_view() : raw_query.substr(amp + 1);
    if (pair.empty()) continue;
    std::size_t eq = pair.find('=');
    auto key = percentDecode(pair.substr(0, eq), true);
    auto value = percentDecode(
        eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1), true);
    // A malformed parameter is dropped, not fatal: handlers validate what they need.
    if (key && value) query.emplace_back(std::move(*key), std::move(*value));
  }
  return true;
}

}  // namespace sbc::http

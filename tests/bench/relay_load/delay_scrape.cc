#include "tests/bench/relay_load/delay_scrape.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <limits>
#include <string>

namespace bench::relay_load {
namespace {

constexpr std::string_view kName = "relay_forward_delay_seconds";

std::optional<double> number(std::string_view s) {
  if (s == "+Inf") return std::numeric_limits<double>::infinity();
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// The value after the last space of a sample line.
std::optional<double> sampleValue(std::string_view line) {
  auto sp = line.rfind(' ');
  if (sp == std::string_view::npos) return std::nullopt;
  return number(line.substr(sp + 1));
}

}  // namespace

std::optional<DelayHistogram> parseDelayHistogram(std::string_view text) {
  DelayHistogram h;
  bool haveCount = false;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (!line.starts_with(kName)) continue;
    std::string_view rest = line.substr(kName.size());
    auto value = sampleValue(line);
    if (!value) continue;
    if (rest.starts_with("_bucket{")) {
      auto le = rest.find("le=\"");
      if (le == std::string_view::npos) continue;
      auto start = le + 4;
      auto end = rest.find('"', start);
      if (end == std::string_view::npos) continue;
      auto bound = number(rest.substr(start, end - start));
      if (!bound) continue;
      h.buckets.push_back({*bound, *value});
    } else if (rest.starts_with("_count ")) {
      h.count = *value;
      haveCount = true;
    } else if (rest.starts_with("_sum ")) {
      h.sum = *value;
    }
  }
  if (!haveCount || h.buckets.empty()) return std::nullopt;
  std::sort(h.buckets.begin(), h.buckets.end(),
            [](const auto& a, const auto& b) { return a.le < b.le; });
  return h;
}

std::optional<DelayHistogram> scrapeDelayHistogram(const sockaddr_in& addr) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;
  timeval tv{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  std::string body;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) {
    const std::string_view request = "GET /metrics HTTP/1.0\r\nHost: relay\r\n\r\n";
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
        static_cast<ssize_t>(request.size())) {
      char buf[16384];
      for (;;) {
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        body.append(buf, static_cast<std::size_t>(n));
      }
    }
  }
  ::close(fd);
  // HTTP/1.0: the body is not chunked, so every sample line arrives whole.
  return parseDelayHistogram(body);
}

std::optional<DelayHistogram> delta(const DelayHistogram& before, const DelayHistogram& after) {
  if (before.buckets.size() != after.buckets.size()) return std::nullopt;
  DelayHistogram d;
  d.count = after.count - before.count;
  d.sum = after.sum - before.sum;
  for (std::size_t i = 0; i < after.buckets.size(); ++i) {
    if (before.buckets[i].le != after.buckets[i].le) return std::nullopt;
    d.buckets.push_back(
        {after.buckets[i].le, after.buckets[i].cumulative - before.buckets[i].cumulative});
  }
  return d;
}

double quantileUs(const DelayHistogram& h, double q) {
  if (h.buckets.empty() || h.buckets.back().cumulative <= 0) return -1;
  const double target = q * h.buckets.back().cumulative;
  double lower = 0;
  double below = 0;
  for (const auto& b : h.buckets) {
    if (b.cumulative >= target && b.cumulative > below) {
      if (std::isinf(b.le)) return lower * 1e6;  // above the last bound: report it
      const double fraction = (target - below) / (b.cumulative - below);
      return (lower + (b.le - lower) * fraction) * 1e6;
    }
    lower = b.le;
    below = b.cumulative;
  }
  return lower * 1e6;
}

}  // namespace bench::relay_load

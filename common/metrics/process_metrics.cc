#include "common/metrics/process_metrics.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string_view>

namespace sbc::metrics {

namespace {

// Reads a small /proc file into `buf` without iostreams; returns the bytes read.
std::string_view readSmallFile(const char* path, std::span<char> buf) {
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  std::size_t total = 0;
  while (total < buf.size()) {
    ssize_t n = ::read(fd, buf.data() + total, buf.size() - total);
    if (n <= 0) break;
    total += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return {buf.data(), total};
}

std::optional<double> parseNumber(std::string_view text) {
  double value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc()) return std::nullopt;
  return value;
}

// Seconds since the epoch at which the machine booted (/proc/stat "btime").
std::optional<double> bootTime() {
  std::array<char, 16384> buf;
  std::string_view text = readSmallFile("/proc/stat", buf);
  std::size_t pos = text.find("\nbtime ");
  if (pos == std::string_view::npos) return std::nullopt;
  text.remove_prefix(pos + 7);
  return parseNumber(text.substr(0, text.find('\n')));
}

double countOpenFds() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  double count = 0;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  ::closedir(dir);
  return count - 1;  // the descriptor opendir itself holds
}

prometheus::MetricFamily family(const char* name, const char* help, prometheus::MetricType type,
                                double value) {
  prometheus::MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = type;
  prometheus::ClientMetric m;
  if (type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  f.metric.push_back(std::move(m));
  return f;
}

}  // namespace

std::optional<ProcessStats> readProcessStats() {
  std::array<char, 4096> buf;
  std::string_view stat = readSmallFile("/proc/self/stat", buf);
  // The command name (field 2) is in parentheses and may hold spaces or
  // parentheses itself: fields are counted from the last ')'.
  std::size_t close = stat.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  std::string_view rest = stat.substr(close + 1);
  // rest starts at field 3 (state); collect fields 3..24.
  std::array<std::string_view, 25> fields{};
  int index = 3;
  while (!rest.empty() && index < static_cast<int>(fields.size())) {
    rest.remove_prefix(std::min(rest.find_first_not_of(' '), rest.size()));
    std::size_t end = std::min(rest.find(' '), rest.size());
    fields[static_cast<std::size_t>(index++)] = rest.substr(0, end);
    rest.remove_prefix(end);
  }
  if (index < 25) return std::nullopt;

  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  ProcessStats s;
  auto utime = parseNumber(fields[14]);
  auto stime = parseNumber(fields[15]);
  auto threads = parseNumber(fields[20]);
  auto start = parseNumber(fields[22]);
  auto vsize = parseNumber(fields[23]);
  auto rss = parseNumber(fields[24]);
  if (!utime || !stime || !start || !vsize || !rss || !threads) return std::nullopt;
  s.cpu_seconds = (*utime + *stime) / ticks;
  s.threads = *threads;
  s.virtual_bytes = *vsize;
  s.resident_bytes = *rss * page;
  static const std::optional<double> boot = bootTime();
  if (boot) s.start_time_seconds = *boot + *start / ticks;
  s.open_fds = countOpenFds();
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) s.max_fds = static_cast<double>(limit.rlim_cur);
  return s;
}

std::vector<prometheus::MetricFamily> ProcessCollector::Collect() const {
  std::vector<prometheus::MetricFamily> out;
  auto s = readProcessStats();
  if (!s) return out;
  using prometheus::MetricType;
  out.push_back(family("process_cpu_seconds_total",
                       "Total user and system CPU time spent in seconds.", MetricType::Counter,
                       s->cpu_seconds));
  out.push_back(family("process_resident_memory_bytes", "Resident memory size in bytes.",
                       MetricType::Gauge, s->resident_bytes));
  out.push_back(family("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                       MetricType::Gauge, s->virtual_bytes));
  out.push_back(family("process_open_fds", "Number of open file descriptors.", MetricType::Gauge,
                       s->open_fds));
  out.push_back(family("process_max_fds", "Maximum number of open file descriptors.",
                       MetricType::Gauge, s->max_fds));
  out.push_back(family("process_start_time_seconds",
                       "Start time of the process since unix epoch in seconds.", MetricType::Gauge,
                       s->start_time_seconds));
  out.push_back(family("process_threads", "Number of OS threads in the process.", MetricType::Gauge,
                       s->threads));
  return out;
}

}  // namespace sbc::metrics

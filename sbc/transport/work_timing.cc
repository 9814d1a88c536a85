#include "sbc/transport/work_timing.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <time.h>
#include <boost/asio/io_context.hpp>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace sbc::transport {
namespace {

std::int64_t nowUs(clockid_t clock) {
  timespec ts{};
  ::clock_gettime(clock, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000 + ts.tv_nsec / 1000;
}

struct Log2Histogram {
  static constexpr std::size_t kBuckets = 24;  // up to 2^23 us (8 s)
  std::array<std::uint64_t, kBuckets> counts{};
  std::uint64_t total = 0;
  std::int64_t max = 0;

  void add(std::int64_t us) {
    std::size_t bucket = 0;
    while (bucket + 1 < kBuckets && (std::int64_t{1} << bucket) < us) ++bucket;
    ++counts[bucket];
    ++total;
    if (us > max) max = us;
  }
  // The bucket's upper bound holding the p-quantile.
  std::int64_t percentile(double p) const {
    std::uint64_t acc = 0;
    for (std::size_t b = 0; b < kBuckets; ++b) {
      acc += counts[b];
      if (static_cast<double>(acc) >= p * static_cast<double>(total)) return std::int64_t{1} << b;
    }
    return std::int64_t{1} << (kBuckets - 1);
  }
  std::uint64_t atLeast(std::int64_t us) const {
    std::uint64_t n = 0;
    for (std::size_t b = 0; b < kBuckets; ++b) {
      if ((std::int64_t{1} << b) > us) n += counts[b];
    }
    return n;
  }
  std::string summary() const {
    char text[160];
    std::snprintf(text, sizeof(text), "p50<=%lld p99<=%lld p99.9<=%lld max=%lld",
                  static_cast<long long>(percentile(0.5)), static_cast<long long>(percentile(0.99)),
                  static_cast<long long>(percentile(0.999)), static_cast<long long>(max));
    return text;
  }
};

// What the thread has used so far; deltas between two samples measure one
// handler (and the wait for it).
struct Sample {
  std::int64_t cpu_us = 0;
  std::int64_t runq_us = 0;
  long minflt = 0;
  long nivcsw = 0;
};

class Recorder {
 public:
  Recorder() {
    // Read before each handler: opened once, re-read with pread.
    schedstat_fd_ = ::open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
    // NOLINTNEXTLINE(concurrency-mt-unsafe): start of the loop, one thread
    if (const char* slow = std::getenv("SBC_WORK_SLOW_US"); slow != nullptr) {
      const long long v = std::strtoll(slow, nullptr, 10);
      if (v > 0) slow_us_ = v;
    }
  }
  ~Recorder() {
    if (schedstat_fd_ >= 0) ::close(schedstat_fd_);
  }
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  Sample sample() const {
    Sample s;
    s.cpu_us = nowUs(CLOCK_THREAD_CPUTIME_ID);
    if (schedstat_fd_ >= 0) {
      // "<on-cpu ns> <run-queue wait ns> <timeslices>"
      std::array<char, 96> text{};
      const ssize_t n = ::pread(schedstat_fd_, text.data(), text.size() - 1, 0);
      if (n > 0) {
        char* rest = nullptr;
        (void)std::strtoull(text.data(), &rest, 10);
        s.runq_us = static_cast<std::int64_t>(std::strtoull(rest, nullptr, 10) / 1000);
      }
    }
    rusage usage{};
    if (::getrusage(RUSAGE_THREAD, &usage) == 0) {
      s.minflt = usage.ru_minflt;
      s.nivcsw = usage.ru_nivcsw;
    }
    return s;
  }

  void beginHandler() {
    label_ = nullptr;
    items_ = 0;
    mark_us_ = 0;
  }

  void mark(const char* what, std::size_t items) {
    if (label_ == nullptr) {
      label_ = what;
      mark_us_ = nowUs(CLOCK_MONOTONIC);
    }
    items_ += items;
  }

  void endHandler(const Sample& before, const Sample& after,
                  const std::function<std::string()>* context) {
    const std::int64_t cpu = after.cpu_us - before.cpu_us;
    const std::int64_t runq = after.runq_us - before.runq_us;
    const std::int64_t wall = label_ != nullptr ? nowUs(CLOCK_MONOTONIC) - mark_us_ : -1;
    const char* what = label_ != nullptr ? label_ : "unlabelled";
    Entry& e = entry(what);
    e.cpu.add(cpu);
    e.runq.add(runq);
    if (wall >= 0) e.wall.add(wall);
    e.items += items_;
    total_cpu_ += cpu;
    total_runq_ += runq;
    if (wall >= slow_us_ || cpu + runq >= slow_us_) {
      const std::string state = context != nullptr && *context ? (*context)() : std::string();
      std::fprintf(stderr,
                   "sip work slow: %s items=%zu wall=%lld cpu=%lld runq=%lld us minflt=%ld "
                   "nivcsw=%ld %s\n",
                   what, items_, static_cast<long long>(wall), static_cast<long long>(cpu),
                   static_cast<long long>(runq), after.minflt - before.minflt,
                   after.nivcsw - before.nivcsw, state.c_str());
    }
  }

  void print() const {
    std::fprintf(stderr, "sip work timing: cpu %lld us, run-queue wait %lld us in all handlers\n",
                 static_cast<long long>(total_cpu_), static_cast<long long>(total_runq_));
    for (std::size_t i = 0; i < used_; ++i) {
      const Entry& e = entries_[i];
      std::fprintf(stderr,
                   "sip work timing %s: n=%llu items=%llu; cpu %s (>=2ms: %llu); runq %s; wall %s "
                   "(>=2ms: %llu) us\n",
                   e.what, static_cast<unsigned long long>(e.cpu.total),
                   static_cast<unsigned long long>(e.items), e.cpu.summary().c_str(),
                   static_cast<unsigned long long>(e.cpu.atLeast(2048)), e.runq.summary().c_str(),
                   e.wall.total != 0 ? e.wall.summary().c_str() : "-",
                   static_cast<unsigned long long>(e.wall.atLeast(2048)));
    }
  }

 private:
  struct Entry {
    const char* what = nullptr;
    std::uint64_t items = 0;
    Log2Histogram cpu, runq, wall;
  };

  Entry& entry(const char* what) {
    // Labels are literals: compared by address, a handful in all.
    for (std::size_t i = 0; i < used_; ++i) {
      if (entries_[i].what == what) return entries_[i];
    }
    if (used_ == entries_.size()) return entries_[used_ - 1];
    entries_[used_].what = what;
    return entries_[used_++];
  }

  int schedstat_fd_ = -1;
  std::int64_t slow_us_ = 2000;
  const char* label_ = nullptr;
  std::size_t items_ = 0;
  std::int64_t mark_us_ = 0;
  std::int64_t total_cpu_ = 0;
  std::int64_t total_runq_ = 0;
  std::array<Entry, 16> entries_{};
  std::size_t used_ = 0;
};

thread_local Recorder* t_recorder = nullptr;

}  // namespace

bool WorkTiming::enabled() {
  // NOLINTNEXTLINE(concurrency-mt-unsafe): read once, before threads change it
  static const bool on = std::getenv("SBC_UDP_TIMING") != nullptr;
  return on;
}

void WorkTiming::mark(const char* what, std::size_t items) {
  if (t_recorder != nullptr) t_recorder->mark(what, items);
}

std::size_t WorkTiming::run(boost::asio::io_context& io,
                            const std::function<std::string()>& context) {
  Recorder recorder;
  struct Scope {
    explicit Scope(Recorder* r) { t_recorder = r; }
    ~Scope() { t_recorder = nullptr; }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;
  } scope(&recorder);
  std::size_t handlers = 0;
  Sample before = recorder.sample();
  for (;;) {
    recorder.beginHandler();
    if (io.run_one() == 0) break;
    ++handlers;
    const Sample after = recorder.sample();
    recorder.endHandler(before, after, &context);
    before = after;
  }
  recorder.print();
  return handlers;
}

}  // namespace sbc::transport

#include "tests/bench/relay_load/traffic.h"

#include "tests/bench/relay_load/delay_scrape.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace bench::relay_load {

namespace {

constexpr std::uint32_t kMagic = 0x524c4731;  // "RLG1"
constexpr std::size_t kMarkerBytes = 24;      // magic, call, direction, seq, send time
constexpr std::size_t kMaxPacket = 256;
constexpr std::int64_t kStreamPeriodNs = 1'000'000'000 / kPacketsPerSecond;  // 20 ms
constexpr std::int64_t kLateNs = 2'000'000;
constexpr std::size_t kHistogramUs = 200'000;  // 1 us buckets up to 200 ms, then overflow
constexpr int kRecvBatch = 32;
constexpr std::int64_t kRecvPollNs = 200'000;

std::int64_t nowNs(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

void sleepUntil(clockid_t clock, std::int64_t ns) {
  timespec ts{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
  while (clock_nanosleep(clock, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
}

double selfCpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

template <typename T>
void put(std::uint8_t* p, T v) {
  std::memcpy(p, &v, sizeof v);
}
template <typename T>
T get(const std::uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

struct SendStream {
  std::uint16_t seq = 0;
  std::uint32_t timestamp = 0;
  std::uint32_t ssrc = 0;
  std::uint32_t counter = 0;
  std::uint64_t sentInWindow = 0;
};

struct RecvStream {
  std::uint32_t highest = 0;
  bool any = false;
  std::uint64_t receivedInWindow = 0;
};

}  // namespace

double processCpuSeconds(pid_t pid, double* userSeconds) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // The command name may hold spaces and parentheses: fields count from the last ')'.
  auto close = text.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  unsigned long long utime = 0;
  unsigned long long stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  const auto hz = static_cast<double>(sysconf(_SC_CLK_TCK));
  if (userSeconds != nullptr) *userSeconds = static_cast<double>(utime) / hz;
  return static_cast<double>(utime + stime) / hz;
}

struct Traffic::Impl {
  std::size_t calls;
  TrafficConfig config;
  std::vector<int> fds;                      // [call * 2 + leg]
  std::vector<sockaddr_in> dest;             // [call * 2 + leg]: the relay's port for that leg
  std::vector<relay::srtp::ContextPtr> txB;  // SRTP: protects what leg B sends
  std::vector<relay::srtp::ContextPtr> rxB;  // SRTP: unprotects what leg B receives
  std::vector<SendStream> sendStreams;       // [call * 2 + direction], 0 = A->B
  std::vector<RecvStream> recvStreams;
  std::vector<std::uint32_t> histogram = std::vector<std::uint32_t>(kHistogramUs + 1);

  std::int64_t windowStart = 0;  // CLOCK_REALTIME ns (kernel receive stamps use it)
  std::int64_t windowEnd = 0;
  std::atomic<bool> stop{false};

  std::uint64_t lateTicks = 0;
  std::uint64_t ticks = 0;
  bool senderFifo = false;
  std::uint64_t sendErrors = 0;
  TrafficReport rx;  // receive-side counters

  void sender(std::int64_t startMono, std::int64_t endMono);
  void receiver();
  void onPacket(std::size_t index, std::uint8_t* data, std::size_t length, std::int64_t arrival);
};

Traffic::Traffic(std::size_t calls, const TrafficConfig& config) : impl_(std::make_unique<Impl>()) {
  impl_->calls = calls;
  impl_->config = config;
}

Traffic::~Traffic() {
  for (int fd : impl_->fds) ::close(fd);
}

bool Traffic::open(in_addr a, in_addr b, std::string& error) {
  auto& im = *impl_;
  im.fds.reserve(im.calls * 2);
  for (std::size_t i = 0; i < im.calls * 2; ++i) {
    int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      error = std::string("socket: ") + std::strerror(errno) + " (raise ulimit -n?)";
      return false;
    }
    im.fds.push_back(fd);
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr = (i % 2 == 0) ? a : b;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
      error = std::string("bind: ") + std::strerror(errno);
      return false;
    }
  }
  return true;
}

sockaddr_in Traffic::local(std::size_t call, int leg) const {
  sockaddr_in sa{};
  socklen_t len = sizeof sa;
  getsockname(impl_->fds[call * 2 + static_cast<std::size_t>(leg)],
              reinterpret_cast<sockaddr*>(&sa), &len);
  return sa;
}

bool Traffic::configure(std::span<const CallPlan> plans, std::span<const CallSetup> setups,
                        std::string& error) {
  auto& im = *impl_;
  im.dest.resize(im.calls * 2);
  im.sendStreams.resize(im.calls * 2);
  im.recvStreams.resize(im.calls * 2);
  std::uint32_t ssrcBase = static_cast<std::uint32_t>(nowNs(CLOCK_REALTIME));
  for (std::size_t c = 0; c < im.calls; ++c) {
    im.dest[c * 2] = setups[c].relay[0];
    im.dest[c * 2 + 1] = setups[c].relay[1];
    // Each leg talks to one relay port both ways (symmetric RTP), so its
    // socket is connected to it: send() takes the route cached in the socket
    // instead of a lookup per packet, which was a fifth of the sender's
    // kernel time at 1,000 calls, and the relay's packets find the socket by
    // its full 4-tuple.
    for (std::size_t leg = 0; leg < 2; ++leg) {
      const sockaddr_in& to = im.dest[c * 2 + leg];
      if (::connect(im.fds[c * 2 + leg], reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0) {
        error = std::string("connect: ") + std::strerror(errno);
        return false;
      }
    }
    for (std::size_t d = 0; d < 2; ++d) {
      auto& s = im.sendStreams[c * 2 + d];
      s.ssrc = ssrcBase + static_cast<std::uint32_t>(c * 2 + d) * 7919U;
      s.seq = static_cast<std::uint16_t>(s.ssrc >> 3);
      s.timestamp = s.ssrc * 3U;
    }
  }
  if (im.config.mode == Mode::kSrtp) {
    for (std::size_t c = 0; c < im.calls; ++c) {
      if (!setups[c].relayKeyB) {
        error = "SRTP mode without the relay's key";
        return false;
      }
      relay::srtp::Status st{};
      im.txB.push_back(relay::srtp::Context::create(*im.config.suite, plans[c].keyB.view(),
                                                    relay::srtp::Direction::kOutbound, {}, &st));
      im.rxB.push_back(relay::srtp::Context::create(*im.config.suite, setups[c].relayKeyB->view(),
                                                    relay::srtp::Direction::kInbound, {}, &st));
      if (!im.txB.back() || !im.rxB.back()) {
        error = "SRTP context: " + std::string(relay::srtp::describe(st));
        return false;
      }
    }
  }
  return true;
}

void Traffic::Impl::sender(std::int64_t startMono, std::int64_t endMono) {
  const std::int64_t monoToReal = nowNs(CLOCK_REALTIME) - nowNs(CLOCK_MONOTONIC);
  std::uint8_t packet[kMaxPacket];
  std::uint8_t templ[kRtpHeaderBytes + kPayloadBytes];
  std::memset(templ, 0xff, sizeof templ);  // PCMU silence
  templ[0] = 0x80;                         // V=2
  templ[1] = 0;                            // PT 0 (PCMU)
  const bool srtp = config.mode == Mode::kSrtp;
  const std::int64_t tickNs = config.tickNs;
  const auto subTicks = static_cast<std::size_t>(kStreamPeriodNs / tickNs);
  if (config.senderFifo) {
    // One step above the process (run.sh's BENCH_RT=1 runs it all at FIFO 1).
    sched_param p{};
    int policy = 0;
    pthread_getschedparam(pthread_self(), &policy, &p);
    p.sched_priority = policy == SCHED_FIFO ? p.sched_priority + 1 : 1;
    senderFifo = pthread_setschedparam(pthread_self(), SCHED_FIFO, &p) == 0;
  }
  for (std::int64_t tick = 0;; ++tick) {
    const std::int64_t due = startMono + tick * tickNs;
    if (due >= endMono) break;
    sleepUntil(CLOCK_MONOTONIC, due);
    const std::int64_t now = nowNs(CLOCK_MONOTONIC);
    // A generator short of CPU catches up in bursts but stops on time: what it
    // managed to send in the window is reported as the offered rate.
    if (now >= endMono) break;
    if (now - due > kLateNs) ++lateTicks;
    ++ticks;
    for (std::size_t c = static_cast<std::size_t>(tick) % subTicks; c < calls; c += subTicks) {
      for (std::size_t d = 0; d < 2; ++d) {
        SendStream& s = sendStreams[c * 2 + d];
        std::memcpy(packet, templ, sizeof templ);
        put(packet + 2, htons(s.seq));
        put(packet + 4, htonl(s.timestamp));
        put(packet + 8, htonl(s.ssrc));
        std::uint8_t* m = packet + kRtpHeaderBytes;
        put(m, kMagic);
        put(m + 4, static_cast<std::uint32_t>(c));
        m[8] = static_cast<std::uint8_t>(d);
        put(m + 12, s.counter);
        const std::int64_t sentAt = nowNs(CLOCK_MONOTONIC) + monoToReal;
        put(m + 16, sentAt);
        std::size_t length = sizeof templ;
        if (srtp && d == 1 &&
            txB[c]->protectRtp(std::span(packet, sizeof packet), length) !=
                relay::srtp::Status::kOk) {
          ++sendErrors;
          continue;
        }
        ssize_t n = ::send(fds[c * 2 + d], packet, length, 0);
        ++s.seq;
        s.timestamp += kPayloadBytes;
        ++s.counter;
        if (n < 0) {
          ++sendErrors;
          continue;
        }
        if (sentAt >= windowStart && sentAt < windowEnd) ++s.sentInWindow;
      }
    }
  }
}

void Traffic::Impl::onPacket(std::size_t index, std::uint8_t* data, std::size_t length,
                             std::int64_t arrival) {
  const std::size_t call = index / 2;
  const std::size_t leg = index % 2;
  ++rx.receivedTotal;
  if (config.mode == Mode::kSrtp && leg == 1) {
    if (rxB[call]->unprotectRtp(std::span(data, kMaxPacket), length) != relay::srtp::Status::kOk) {
      ++rx.srtpFailures;
      return;
    }
  }
  if (length < kRtpHeaderBytes + kMarkerBytes || (data[0] & 0xc0) != 0x80) {
    ++rx.malformed;
    return;
  }
  const std::uint8_t* m = data + kRtpHeaderBytes;
  if (get<std::uint32_t>(m) != kMagic) {
    ++rx.malformed;
    return;
  }
  const auto pcall = get<std::uint32_t>(m + 4);
  const std::size_t dir = m[8];
  // A->B (direction 0) arrives on leg B's socket and B->A on leg A's.
  if (pcall != call || dir != 1 - leg) {
    ++rx.misrouted;
    return;
  }
  RecvStream& s = recvStreams[call * 2 + dir];
  const auto seq = get<std::uint32_t>(m + 12);
  if (s.any && seq <= s.highest) {
    ++rx.outOfOrder;
  } else {
    s.highest = seq;
    s.any = true;
  }
  // The relay's CPU in the window pays for what it delivered in the window,
  // which under overload includes packets sent before it.
  if (arrival >= windowStart && arrival < windowEnd) ++rx.arrived;
  const auto sentAt = get<std::int64_t>(m + 16);
  if (sentAt < windowStart || sentAt >= windowEnd) return;
  ++s.receivedInWindow;
  const std::int64_t us = std::max<std::int64_t>(0, (arrival - sentAt) / 1000);
  ++histogram[std::min<std::size_t>(static_cast<std::size_t>(us), kHistogramUs)];
}

void Traffic::Impl::receiver() {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  for (std::size_t i = 0; i < fds.size(); ++i) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
  }
  std::vector<std::array<std::uint8_t, kMaxPacket>> bufs(kRecvBatch);
  std::vector<std::array<char, CMSG_SPACE(sizeof(timespec))>> controls(kRecvBatch);
  std::vector<iovec> iovs(kRecvBatch);
  std::vector<mmsghdr> msgs(kRecvBatch);
  std::vector<epoll_event> events(512);
  // The receiver polls every kRecvPollNs instead of sleeping in epoll_wait:
  // on loopback the relay's sendto() runs this socket's receive path, and
  // waking a thread blocked on it (try_to_wake_up, an IPI) would be charged
  // to the relay's CPU per packet, which a real far end never costs it.
  // Latency is unaffected: it is taken from the kernel's receive stamps.
  std::int64_t next = nowNs(CLOCK_MONOTONIC);
  while (!stop.load(std::memory_order_relaxed)) {
    // Behind (a busy machine): poll again at once rather than catch up.
    next = std::max(next + kRecvPollNs, nowNs(CLOCK_MONOTONIC));
    sleepUntil(CLOCK_MONOTONIC, next);
    int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 0);
    for (int e = 0; e < n; ++e) {
      const std::size_t index = events[e].data.u64;
      for (int i = 0; i < kRecvBatch; ++i) {
        iovs[i] = {bufs[i].data(), bufs[i].size()};
        msgs[i] = {};
        msgs[i].msg_hdr.msg_iov = &iovs[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_control = controls[i].data();
        msgs[i].msg_hdr.msg_controllen = controls[i].size();
      }
      int got = recvmmsg(fds[index], msgs.data(), kRecvBatch, MSG_DONTWAIT, nullptr);
      if (got <= 0) continue;
      std::int64_t fallback = 0;
      for (int i = 0; i < got; ++i) {
        std::int64_t arrival = 0;
        for (cmsghdr* c = CMSG_FIRSTHDR(&msgs[i].msg_hdr); c != nullptr;
             c = CMSG_NXTHDR(&msgs[i].msg_hdr, c)) {
          if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
            timespec ts{};
            std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
            arrival = std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
          }
        }
        if (arrival == 0) {
          if (fallback == 0) fallback = nowNs(CLOCK_REALTIME);
          arrival = fallback;
        }
        onPacket(index, bufs[i].data(), msgs[i].msg_len, arrival);
      }
    }
  }
  ::close(ep);
}

TrafficReport Traffic::run() {
  auto& im = *impl_;
  const auto ns = [](double s) { return static_cast<std::int64_t>(s * 1e9); };
  const std::int64_t startMono = nowNs(CLOCK_MONOTONIC) + 20'000'000;
  const std::int64_t startReal = startMono + (nowNs(CLOCK_REALTIME) - nowNs(CLOCK_MONOTONIC));
  im.windowStart = startReal + ns(im.config.warmupSeconds);
  im.windowEnd = im.windowStart + ns(im.config.seconds);
  const std::int64_t endMono = startMono + ns(im.config.warmupSeconds + im.config.seconds);

  std::thread receiver([&im] { im.receiver(); });
  std::thread sender([&im, startMono, endMono] { im.sender(startMono, endMono); });

  sleepUntil(CLOCK_REALTIME, im.windowStart);
  // Scraped outside the CPU readings: the scrape's work is not the packets'.
  std::optional<DelayHistogram> delay0;
  if (im.config.relayMetrics) delay0 = scrapeDelayHistogram(*im.config.relayMetrics);
  double user0 = 0;
  double user1 = 0;
  const double relay0 = im.config.relayPid > 0 ? processCpuSeconds(im.config.relayPid, &user0) : -1;
  const double self0 = selfCpuSeconds();
  sleepUntil(CLOCK_REALTIME, im.windowEnd);
  const double relay1 = im.config.relayPid > 0 ? processCpuSeconds(im.config.relayPid, &user1) : -1;
  const double self1 = selfCpuSeconds();
  std::optional<DelayHistogram> delay1;
  if (delay0) delay1 = scrapeDelayHistogram(*im.config.relayMetrics);
  sender.join();
  sleepUntil(CLOCK_MONOTONIC, nowNs(CLOCK_MONOTONIC) + ns(im.config.drainSeconds));
  im.stop = true;
  receiver.join();

  TrafficReport r = im.rx;
  r.windowSeconds = im.config.seconds;
  for (const auto& s : im.sendStreams) r.sent += s.sentInWindow;
  for (const auto& s : im.recvStreams) r.received += s.receivedInWindow;
  r.lateTicks = im.lateTicks;
  r.ticks = im.ticks;
  r.senderFifo = im.senderFifo;
  if (delay0 && delay1) {
    if (auto d = delta(*delay0, *delay1)) {
      r.relayDelayCount = d->count;
      r.relayP50Us = quantileUs(*d, 0.5);
      r.relayP99Us = quantileUs(*d, 0.99);
      r.relayP999Us = quantileUs(*d, 0.999);
    }
  }
  r.offeredPps = static_cast<double>(r.sent) / r.windowSeconds;
  r.forwardedPps = static_cast<double>(r.arrived) / r.windowSeconds;
  r.lossPercent = r.sent == 0 ? 100.0
                              : 100.0 * static_cast<double>(r.sent - std::min(r.sent, r.received)) /
                                    static_cast<double>(r.sent);
  const auto percentile = [&](double q) {
    if (r.received == 0) return 0.0;
    const auto target = static_cast<std::uint64_t>(q * static_cast<double>(r.received));
    std::uint64_t seen = 0;
    for (std::size_t us = 0; us < im.histogram.size(); ++us) {
      seen += im.histogram[us];
      if (seen > target) return static_cast<double>(us);
    }
    return static_cast<double>(kHistogramUs);
  };
  r.p50Us = percentile(0.5);
  r.p99Us = percentile(0.99);
  r.p999Us = percentile(0.999);
  r.maxUs = percentile(1.0 - 1e-12);
  if (relay0 >= 0 && relay1 >= 0) {
    r.relayCpuSeconds = relay1 - relay0;
    if (r.arrived > 0) {
      r.relayCpuUsPerPacket = r.relayCpuSeconds * 1e6 / static_cast<double>(r.arrived);
      r.relayUserUsPerPacket = (user1 - user0) * 1e6 / static_cast<double>(r.arrived);
    }
  }
  r.generatorCpuPercent = 100.0 * (self1 - self0) / r.windowSeconds;
  if (im.sendErrors > 0) {
    std::fprintf(stderr, "relay-loadgen: %llu send errors\n",
                 static_cast<unsigned long long>(im.sendErrors));
  }
  return r;
}

}  // namespace bench::relay_load

// relay-loadgen: sets up N two-leg calls on a media relay (ours or rtpengine),
// sends G.711-sized RTP both ways at 50 packets/s per direction, and reports
// forwarded packets/s, loss, one-way latency and the relay's CPU per packet.
// One "RESULT key=value ..." line on stdout is for scripts (run.sh).
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "media-relay/srtp/context.h"
#include "media-relay/srtp/sdes.h"
#include "tests/bench/relay_load/control.h"
#include "tests/bench/relay_load/traffic.h"

namespace {

using namespace bench::relay_load;

void raiseFileLimit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Media relay load generator (RTP / SRTP, ours or rtpengine)"};
  std::string relayKind = "ours";
  std::string control;
  std::size_t calls = 100;
  double seconds = 10;
  double warmup = 1;
  std::string modeName = "rtp";
  std::string suiteName = "AES_CM_128_HMAC_SHA1_80";
  int relayPid = 0;
  std::string addrA = "127.0.0.2";
  std::string addrB = "127.0.0.3";
  std::string label;
  int tickUs = 200;
  std::string metricsAddr;
  bool senderFifo = true;
  app.add_option("--relay", relayKind, "ours | rtpengine")
      ->check(CLI::IsMember({"ours", "rtpengine"}));
  app.add_option("--control", control, "control address IP:PORT (ours: TCP; rtpengine: ng UDP)")
      ->required();
  app.add_option("--calls", calls, "concurrent calls (two legs each)")->check(CLI::Range(1, 20000));
  app.add_option("--seconds", seconds, "measured window")->check(CLI::Range(0.5, 3600.0));
  app.add_option("--warmup", warmup, "unmeasured traffic first")->check(CLI::Range(0.0, 60.0));
  app.add_option("--mode", modeName, "rtp (RTP<->RTP) | srtp (RTP<->SRTP, leg B SRTP)")
      ->check(CLI::IsMember({"rtp", "srtp"}));
  app.add_option("--suite", suiteName, "SRTP suite of leg B");
  app.add_option("--relay-pid", relayPid, "relay process for CPU per packet (/proc/PID/stat)");
  app.add_option("--a-addr", addrA, "local address of the A legs");
  app.add_option("--b-addr", addrB, "local address of the B legs");
  app.add_option("--label", label, "copied into the RESULT line");
  app.add_option("--tick-us", tickUs,
                 "sub-tick: the streams are spread over 20 ms in sub-ticks of this length, "
                 "each a burst of calls/(20 ms/tick) x 2 packets")
      ->check(CLI::IsMember({50, 100, 200, 250, 400, 500, 1000, 2000, 2500, 5000}));
  app.add_option("--relay-metrics", metricsAddr,
                 "ours: the relay's /metrics IP:PORT, for its own forward delay "
                 "(relay_forward_delay_seconds) over the window");
  app.add_flag("--sender-fifo,!--no-sender-fifo", senderFifo,
               "run the sending thread at SCHED_FIFO when allowed (default), so its ticks "
               "start on time on a busy core");
  CLI11_PARSE(app, argc, argv);

  const auto controlAddr = parseHostPort(control);
  const auto a = parseIpv4(addrA);
  const auto b = parseIpv4(addrB);
  const auto* suite = relay::srtp::findSuite(suiteName);
  const auto metrics =
      metricsAddr.empty() ? std::optional<sockaddr_in>() : parseHostPort(metricsAddr);
  if (!controlAddr || !a || !b || suite == nullptr || (!metricsAddr.empty() && !metrics)) {
    std::fprintf(stderr,
                 "relay-loadgen: bad --control, --a-addr, --b-addr, --suite or --relay-metrics\n");
    return 1;
  }
  const Mode mode = modeName == "srtp" ? Mode::kSrtp : Mode::kRtp;
  if (mode == Mode::kSrtp && !relay::srtp::initLibrary()) {
    std::fprintf(stderr, "relay-loadgen: libsrtp init failed\n");
    return 1;
  }
  raiseFileLimit();

  TrafficConfig config;
  config.mode = mode;
  config.suite = suite;
  config.seconds = seconds;
  config.warmupSeconds = warmup;
  config.relayPid = relayPid;
  config.tickNs = std::int64_t{tickUs} * 1000;
  config.relayMetrics = metrics;
  config.senderFifo = senderFifo;
  Traffic traffic(calls, config);
  std::string error;
  if (!traffic.open(*a, *b, error)) {
    std::fprintf(stderr, "relay-loadgen: %s\n", error.c_str());
    return 1;
  }

  std::vector<CallPlan> plans(calls);
  const std::string prefix = "lg-" + std::to_string(getpid()) + "-";
  for (std::size_t i = 0; i < calls; ++i) {
    plans[i].callId = prefix + std::to_string(i);
    plans[i].local[0] = traffic.local(i, 0);
    plans[i].local[1] = traffic.local(i, 1);
    if (mode == Mode::kSrtp) {
      auto key = relay::srtp::generateMasterKey(*suite);
      if (!key) {
        std::fprintf(stderr, "relay-loadgen: RNG failure\n");
        return 1;
      }
      plans[i].keyB = *key;
    }
  }

  ControllerPtr controller = relayKind == "ours" ? connectOurRelay(*controlAddr, error)
                                                 : connectRtpengine(*controlAddr, error);
  if (!controller) {
    std::fprintf(stderr, "relay-loadgen: %s\n", error.c_str());
    return 1;
  }
  std::vector<CallSetup> setups(calls);
  const auto setupStart = std::chrono::steady_clock::now();
  const bool created = controller->createCalls(plans, mode, *suite, setups, error);
  std::fprintf(
      stderr, "relay-loadgen: set-up of %zu calls on %s: %.0f ms\n", calls, relayKind.c_str(),
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - setupStart)
          .count());
  if (!created || !traffic.configure(plans, setups, error)) {
    std::fprintf(stderr, "relay-loadgen: %s\n", error.c_str());
    controller->destroyCalls(plans);
    return 1;
  }

  const TrafficReport r = traffic.run();
  const auto relayForwarded = controller->destroyCalls(plans);
  // The relay's own forward delay (kernel receive stamp to send), from its
  // histogram; rtpengine exports nothing of the kind.
  const auto us = [](double v) {
    return v < 0 ? std::string("na") : std::to_string(std::llround(v));
  };
  const std::string relayP50 = us(r.relayP50Us);
  const std::string relayP99 = us(r.relayP99Us);
  const std::string relayP999 = us(r.relayP999Us);
  if (r.relayDelayCount >= 0) {
    std::fprintf(stderr,
                 "relay-loadgen: the relay's own forward delay over the window (%.0f packets, "
                 "relay_forward_delay_seconds): p50 %s us p99 %s us p99.9 %s us\n",
                 r.relayDelayCount, relayP50.c_str(), relayP99.c_str(), relayP999.c_str());
  } else if (relayKind == "rtpengine") {
    std::fprintf(stderr,
                 "relay-loadgen: rtpengine has no forward-delay metric: relay-internal "
                 "p50/p99 not available (na)\n");
  } else if (!metricsAddr.empty()) {
    std::fprintf(stderr, "relay-loadgen: no relay_forward_delay_seconds at %s\n",
                 metricsAddr.c_str());
  }

  std::fprintf(
      stderr,
      "relay-loadgen: %s %s, %zu calls, %.1f s: sent %llu (%.0f/s), %llu of them received; "
      "delivered %.0f/s, "
      "loss %.4f%%, latency p50 %.0f us p99 %.0f us p99.9 %.0f us max %.0f us, "
      "relay CPU %.3f s = %.2f us/packet, generator CPU %.0f%%, late ticks %llu, "
      "misrouted %llu, malformed %llu, srtp failures %llu, out of order %llu\n",
      relayKind.c_str(), modeName.c_str(), calls, r.windowSeconds,
      static_cast<unsigned long long>(r.sent), r.offeredPps,
      static_cast<unsigned long long>(r.received), r.forwardedPps, r.lossPercent, r.p50Us, r.p99Us,
      r.p999Us, r.maxUs, r.relayCpuSeconds, r.relayCpuUsPerPacket, r.generatorCpuPercent,
      static_cast<unsigned long long>(r.lateTicks), static_cast<unsigned long long>(r.misrouted),
      static_cast<unsigned long long>(r.malformed), static_cast<unsigned long long>(r.srtpFailures),
      static_cast<unsigned long long>(r.outOfOrder));
  std::printf(
      "RESULT label=%s relay=%s mode=%s calls=%zu seconds=%.1f sent=%llu received=%llu "
      "arrived=%llu "
      "offered_pps=%.0f pps=%.0f "
      "loss_pct=%.4f p50_us=%.0f p99_us=%.0f p999_us=%.0f max_us=%.0f relay_cpu_s=%.3f "
      "relay_us_per_pkt=%.2f gen_cpu_pct=%.0f late_ticks=%llu misrouted=%llu malformed=%llu "
      "srtp_failures=%llu relay_counted_out=%lld tick_us=%d ticks=%llu sender_fifo=%d "
      "relay_p50_us=%s relay_p99_us=%s relay_p999_us=%s relay_delay_n=%.0f "
      "relay_user_us_per_pkt=%.2f\n",
      label.empty() ? "-" : label.c_str(), relayKind.c_str(), modeName.c_str(), calls,
      r.windowSeconds, static_cast<unsigned long long>(r.sent),
      static_cast<unsigned long long>(r.received), static_cast<unsigned long long>(r.arrived),
      r.offeredPps, r.forwardedPps, r.lossPercent, r.p50Us, r.p99Us, r.p999Us, r.maxUs,
      r.relayCpuSeconds, r.relayCpuUsPerPacket, r.generatorCpuPercent,
      static_cast<unsigned long long>(r.lateTicks), static_cast<unsigned long long>(r.misrouted),
      static_cast<unsigned long long>(r.malformed), static_cast<unsigned long long>(r.srtpFailures),
      relayForwarded ? static_cast<long long>(*relayForwarded) : -1LL, tickUs,
      static_cast<unsigned long long>(r.ticks), r.senderFifo ? 1 : 0, relayP50.c_str(),
      relayP99.c_str(), relayP999.c_str(), r.relayDelayCount, r.relayUserUsPerPacket);
  std::fflush(stdout);
  const double nominal = static_cast<double>(calls) * 2 * kPacketsPerSecond;
  if (r.offeredPps < 0.98 * nominal) {
    std::fprintf(stderr,
                 "relay-loadgen: the generator sent %.0f of the nominal %.0f packets/s (short of "
                 "CPU: %llu late ticks)\n",
                 r.offeredPps, nominal, static_cast<unsigned long long>(r.lateTicks));
  }
  if (r.received == 0) {
    std::fprintf(stderr, "relay-loadgen: no packet arrived through the relay\n");
    return 2;
  }
  return 0;
}

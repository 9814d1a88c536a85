// relay-path-bench: the CPU cost of forwarding one RTP packet between two
// oRTP sockets on loopback, three ways:
//   raw    recvmmsg (batch 16) on oRTP's fd + sendto per packet (the relay's path)
//   single recvfrom + sendto per packet (the relay's cost with one packet per wake-up)
//   ortp   rtp_session_recvm_with_ts + rtp_session_sendm_with_ts (oRTP's own path,
//          which also rewrites sequence numbers and timestamps)
// Only the forwarding step is timed (thread CPU time); generating and draining
// the packets is not. Not a test: run it on a quiet machine, Release build.
#include <ortp/ortp.h>
#include <sys/socket.h>
#include <time.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <string>

#include "media-relay/relay/sock_addr.h"

namespace {

double threadCpuNs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

int udpSocket(std::uint16_t* port) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  auto a = *relay::SockAddr::fromString("127.0.0.1", 0);
  if (bind(fd, a.sa(), a.length) != 0) return -1;
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  *port = relay::SockAddr::fromSockaddr(reinterpret_cast<sockaddr*>(&ss), len).port();
  int big = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
  return fd;
}

RtpSession* session(std::uint16_t port) {
  RtpSession* s = rtp_session_new(RTP_SESSION_SENDRECV);
  rtp_session_set_scheduling_mode(s, 0);
  rtp_session_set_blocking_mode(s, 0);
  rtp_session_enable_jitter_buffer(s, FALSE);
  rtp_session_enable_adaptive_jitter_compensation(s, FALSE);
  rtp_session_set_reuseaddr(s, FALSE);
  rtp_session_set_payload_type(s, 0);
  if (rtp_session_set_local_addr(s, "127.0.0.1", port, port + 1) < 0) return nullptr;
  int big = 4 << 20;
  setsockopt(rtp_session_get_rtp_socket(s), SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  int total = argc > 1 ? std::atoi(argv[1]) : 200000;
  std::uint16_t base = argc > 2 ? static_cast<std::uint16_t>(std::atoi(argv[2])) : 47000;
  ortp_init();
  ortp_set_log_level_mask(ORTP_LOG_DOMAIN, ORTP_ERROR | ORTP_FATAL);
  RtpSession* in = session(base);
  RtpSession* out = session(static_cast<std::uint16_t>(base + 2));
  if (!in || !out) {
    std::fprintf(stderr, "cannot bind %u..%u\n", base, base + 3);
    return 1;
  }
  std::uint16_t srcPort = 0;
  std::uint16_t sinkPort = 0;
  int src = udpSocket(&srcPort);
  int sink = udpSocket(&sinkPort);
  if (src < 0 || sink < 0) return 1;
  rtp_session_set_remote_addr(out, "127.0.0.1", sinkPort);
  auto inAddr = *relay::SockAddr::fromString("127.0.0.1", base);
  auto sinkAddr = *relay::SockAddr::fromString("127.0.0.1", sinkPort);
  int inFd = rtp_session_get_rtp_socket(in);
  int outFd = rtp_session_get_rtp_socket(out);

  constexpr int kBurst = 16;
  std::array<std::uint8_t, 172> pkt{};
  pkt[0] = 0x80;
  std::array<std::array<std::uint8_t, 2048>, kBurst> bufs{};
  std::array<mmsghdr, kBurst> msgs{};
  std::array<iovec, kBurst> iov{};
  std::array<sockaddr_storage, kBurst> names{};
  std::array<std::uint8_t, 2048> drain{};

  for (const char* mode : {"raw", "single", "ortp"}) {
    double ns = 0;
    int forwarded = 0;
    std::uint32_t ts = 0;
    std::uint16_t seq = 0;
    for (int done = 0; done < total; done += kBurst) {
      for (int i = 0; i < kBurst; ++i, ++seq, ts += 160) {
        pkt[2] = static_cast<std::uint8_t>(seq >> 8);
        pkt[3] = static_cast<std::uint8_t>(seq);
        pkt[4] = static_cast<std::uint8_t>(ts >> 24);
        pkt[5] = static_cast<std::uint8_t>(ts >> 16);
        pkt[6] = static_cast<std::uint8_t>(ts >> 8);
        pkt[7] = static_cast<std::uint8_t>(ts);
        sendto(src, pkt.data(), pkt.size(), 0, inAddr.sa(), inAddr.length);
      }
      double t0 = threadCpuNs();
      if (std::strcmp(mode, "raw") == 0) {
        for (int i = 0; i < kBurst; ++i) {
          iov[i] = {bufs[i].data(), bufs[i].size()};
          msgs[i].msg_hdr = {};
          msgs[i].msg_hdr.msg_iov = &iov[i];
          msgs[i].msg_hdr.msg_iovlen = 1;
          msgs[i].msg_hdr.msg_name = &names[i];
          msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
        }
        int n = recvmmsg(inFd, msgs.data(), kBurst, MSG_DONTWAIT, nullptr);
        for (int i = 0; i < n; ++i) {
          if (sendto(outFd, bufs[i].data(), msgs[i].msg_len, MSG_DONTWAIT, sinkAddr.sa(),
                     sinkAddr.length) > 0) {
            ++forwarded;
          }
        }
      } else if (std::strcmp(mode, "single") == 0) {
        for (int i = 0; i < kBurst; ++i) {
          sockaddr_storage from{};
          socklen_t fl = sizeof(from);
          ssize_t n = recvfrom(inFd, bufs[0].data(), bufs[0].size(), MSG_DONTWAIT,
                               reinterpret_cast<sockaddr*>(&from), &fl);
          if (n <= 0) break;
          if (sendto(outFd, bufs[0].data(), static_cast<std::size_t>(n), MSG_DONTWAIT,
                     sinkAddr.sa(), sinkAddr.length) > 0) {
            ++forwarded;
          }
        }
      } else {
        for (int i = 0; i < kBurst; ++i) {
          mblk_t* m = rtp_session_recvm_with_ts(in, ts - 160 * (kBurst - 1 - i));
          if (!m) continue;
          rtp_session_sendm_with_ts(out, m, ts - 160 * (kBurst - 1 - i));
          ++forwarded;
        }
      }
      ns += threadCpuNs() - t0;
      while (recv(sink, drain.data(), drain.size(), MSG_DONTWAIT) > 0) {
      }
      while (recv(inFd, drain.data(), drain.size(), MSG_DONTWAIT) > 0) {
      }
    }
    std::printf("%-6s forwarded %7d of %7d  %.2f us CPU per forwarded packet\n", mode, forwarded,
                total, forwarded ? ns / forwarded / 1000.0 : 0.0);
  }
  rtp_session_destroy(in);
  rtp_session_destroy(out);
  ortp_exit();
  return 0;
}

#include "tests/bench/relay_load/control.h"

#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/relayctl/base64.h"
#include "common/relayctl/codec.h"
#include "common/relayctl/line_framer.h"
#include "tests/bench/relay_load/bencode.h"

namespace bench::relay_load {

namespace rc = sbc::relayctl;

std::optional<in_addr> parseIpv4(std::string_view text) {
  std::string s(text);
  in_addr a{};
  if (inet_pton(AF_INET, s.c_str(), &a) != 1) return std::nullopt;
  return a;
}

std::optional<sockaddr_in> parseHostPort(std::string_view text) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  auto ip = parseIpv4(text.substr(0, colon));
  unsigned port = 0;
  auto digits = text.substr(colon + 1);
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (!ip || ec != std::errc{} || p != digits.data() + digits.size() || port == 0 || port > 65535) {
    return std::nullopt;
  }
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr = *ip;
  sa.sin_port = htons(static_cast<std::uint16_t>(port));
  return sa;
}

std::string formatIp(const sockaddr_in& address) {
  char buf[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &address.sin_addr, buf, sizeof buf);
  return buf;
}

namespace {

std::optional<sockaddr_in> endpoint(std::string_view ip, std::uint16_t port,
                                    const sockaddr_in& fallback) {
  auto a = parseIpv4(ip);
  if (!a || port == 0) return std::nullopt;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  // A relay bound to the wildcard may report it: send where we control it.
  sa.sin_addr = a->s_addr == INADDR_ANY ? fallback.sin_addr : *a;
  sa.sin_port = htons(port);
  return sa;
}

void setTimeout(int fd, int seconds) {
  timeval tv{seconds, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

// ---------------------------------------------------------------------------
// Our relay: requests pipelined a window at a time, so that set-up of 1,000
// calls takes milliseconds without either side's socket buffer filling.
class OurRelay final : public Controller {
 public:
  OurRelay(int fd, const sockaddr_in& control) : fd_(fd), control_(control) {}
  ~OurRelay() override { ::close(fd_); }
  OurRelay(const OurRelay&) = delete;
  OurRelay& operator=(const OurRelay&) = delete;

  bool createCalls(std::span<const CallPlan> plans, Mode mode, const relay::srtp::Suite& suite,
                   std::span<CallSetup> setups, std::string& error) override {
    std::vector<rc::Request> requests;
    requests.reserve(plans.size());
    for (const auto& plan : plans) {
      rc::CreateRequest create;
      create.callId = plan.callId;
      for (int leg = 0; leg < 2; ++leg) {
        rc::LegSpec& spec = create.legs[leg];
        spec.realm = leg == 0 ? rc::Realm::kInside : rc::Realm::kOutside;
        spec.rtp = rc::Endpoint{formatIp(plan.local[leg]), ntohs(plan.local[leg].sin_port)};
        spec.rtcpMux = true;
        spec.payloadTypes = {rc::PayloadType{0, "PCMU", 8000}};
        if (mode == Mode::kSrtp && leg == 1) {
          spec.crypto =
              rc::Crypto{std::string(suite.sdesName), rc::base64Encode(plan.keyB.view()), false};
        }
      }
      requests.push_back(rc::Request{nextId(), rc::kProtocolVersion, std::move(create)});
    }
    std::vector<std::optional<rc::Response>> responses;
    if (!exchange(requests, responses, error)) return false;
    for (std::size_t i = 0; i < plans.size(); ++i) {
      const auto& body = responses[i]->body;
      if (const auto* e = std::get_if<rc::Error>(&body)) {
        error = "create " + plans[i].callId + ": " + std::string(rc::toString(e->code)) + " " +
                e->field + " " + e->message;
        return false;
      }
      const auto* created = std::get_if<rc::CreateResponse>(&body);
      if (created == nullptr) {
        error = "create: unexpected response kind";
        return false;
      }
      for (int leg = 0; leg < 2; ++leg) {
        const auto& alloc = created->legs[leg];
        auto ep = endpoint(alloc.localAddress, alloc.rtpPort, control_);
        if (!ep) {
          error = "create: bad local address " + alloc.localAddress;
          return false;
        }
        setups[i].relay[leg] = *ep;
      }
      if (mode == Mode::kSrtp) {
        // The relay protects towards leg B with the key it answers; a relay
        // that answers none uses the one it was given.
        relay::srtp::MasterKey key = plans[i].keyB;
        if (const auto& c = created->legs[1].crypto; c && !c->key.empty()) {
          auto n = rc::base64Decode(c->key, key.bytes);
          if (!n || *n != suite.masterLength()) {
            error = "create: relay key has the wrong length";
            return false;
          }
          key.length = static_cast<std::uint8_t>(*n);
        }
        setups[i].relayKeyB = key;
      }
    }
    return true;
  }

  std::optional<std::uint64_t> destroyCalls(std::span<const CallPlan> plans) override {
    std::vector<rc::Request> requests;
    for (const auto& plan : plans) {
      requests.push_back(
          rc::Request{nextId(), rc::kProtocolVersion, rc::DestroyRequest{plan.callId}});
    }
    std::vector<std::optional<rc::Response>> responses;
    std::string error;
    if (!exchange(requests, responses, error)) return std::nullopt;
    std::uint64_t forwarded = 0;
    for (const auto& r : responses) {
      if (const auto* d = std::get_if<rc::DestroyResponse>(&r->body)) {
        forwarded += d->legs[0].packetsOut + d->legs[1].packetsOut;
      }
    }
    return forwarded;
  }

 private:
  static constexpr std::size_t kWindow = 32;

  std::string nextId() { return "lg" + std::to_string(nextId_++); }

  bool sendAll(std::string_view data, std::string& error) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        error = std::string("control send: ") + std::strerror(errno);
        return false;
      }
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // Sends every request and collects its response (matched by id; event
  // lines and unknown ids are skipped).
  bool exchange(const std::vector<rc::Request>& requests,
                std::vector<std::optional<rc::Response>>& responses, std::string& error) {
    responses.assign(requests.size(), std::nullopt);
    std::unordered_map<std::string, std::size_t> pending;
    std::size_t next = 0;
    std::size_t done = 0;
    char buf[65536];
    while (done < requests.size()) {
      std::string batch;
      while (next < requests.size() && pending.size() < kWindow) {
        batch += rc::encode(requests[next]);
        batch += '\n';
        pending.emplace(requests[next].id, next);
        ++next;
      }
      if (!batch.empty() && !sendAll(batch, error)) return false;
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        if (n < 0 && errno == EINTR) continue;
        error = n == 0 ? "control connection closed by the relay"
                       : std::string("control recv: ") + std::strerror(errno);
        return false;
      }
      framer_.feed(std::string_view(buf, static_cast<std::size_t>(n)),
                   [&](rc::FrameEvent ev, std::string_view line) {
                     if (ev != rc::FrameEvent::kLine) return;
                     auto r = rc::decodeResponse(line);
                     if (!r) return;
                     auto it = pending.find(r->id);
                     if (it == pending.end()) return;
                     responses[it->second] = std::move(r).value();
                     pending.erase(it);
                     ++done;
                   });
    }
    return true;
  }

  int fd_;
  sockaddr_in control_;
  rc::LineFramer framer_;
  std::uint64_t nextId_ = 1;
};

// ---------------------------------------------------------------------------
// rtpengine ng: "<cookie> <bencoded dict>" over UDP, one command at a time
// with retransmission (rtpengine answers a repeated cookie from its cache).
struct SdpMedia {
  sockaddr_in address{};
  std::vector<std::string> cryptoLines;  // "<tag> <suite> <key-params>"
};

std::optional<SdpMedia> parseSdp(std::string_view sdp, const sockaddr_in& fallback) {
  SdpMedia out;
  std::string_view ip;
  std::uint16_t port = 0;
  while (!sdp.empty()) {
    auto eol = sdp.find('\n');
    std::string_view line = sdp.substr(0, eol);
    sdp = eol == std::string_view::npos ? std::string_view{} : sdp.substr(eol + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.starts_with("c=IN IP4 ")) {
      ip = line.substr(9);
    } else if (line.starts_with("m=audio ")) {
      auto rest = line.substr(8);
      auto [p, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), port);
      if (ec != std::errc{}) return std::nullopt;
    } else if (line.starts_with("a=crypto:")) {
      out.cryptoLines.emplace_back(line.substr(9));
    }
  }
  auto ep = endpoint(ip, port, fallback);
  if (!ep) return std::nullopt;
  out.address = *ep;
  return out;
}

std::string makeSdp(const sockaddr_in& local, std::string_view proto, std::string_view crypto) {
  std::string ip = formatIp(local);
  std::string sdp = "v=0\r\no=- 1 1 IN IP4 " + ip + "\r\ns=relay-loadgen\r\nc=IN IP4 " + ip +
                    "\r\nt=0 0\r\nm=audio " + std::to_string(ntohs(local.sin_port)) + " " +
                    std::string(proto) + " 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\n";
  if (!crypto.empty()) sdp += "a=crypto:" + std::string(crypto) + "\r\n";
  sdp += "a=sendrecv\r\n";
  return sdp;
}

class Rtpengine final : public Controller {
 public:
  Rtpengine(int fd, const sockaddr_in& control) : fd_(fd), control_(control) {}
  ~Rtpengine() override { ::close(fd_); }
  Rtpengine(const Rtpengine&) = delete;
  Rtpengine& operator=(const Rtpengine&) = delete;

  bool createCalls(std::span<const CallPlan> plans, Mode mode, const relay::srtp::Suite& suite,
                   std::span<CallSetup> setups, std::string& error) override {
    std::vector<BValue> offers;
    for (const auto& plan : plans) {
      auto offer = commonFlags();
      offer.emplace_back("command", BValue::str("offer"));
      offer.emplace_back("call-id", BValue::str(plan.callId));
      offer.emplace_back("from-tag", BValue::str("a"));
      offer.emplace_back("sdp", BValue::str(makeSdp(plan.local[0], "RTP/AVP", {})));
      if (mode == Mode::kSrtp) offer.emplace_back("transport-protocol", BValue::str("RTP/SAVP"));
      offers.push_back(BValue::dictOf(std::move(offer)));
    }
    std::vector<std::optional<BValue>> replies;
    if (!batch(offers, replies, true, error)) return false;

    std::vector<BValue> answers;
    for (std::size_t i = 0; i < plans.size(); ++i) {
      auto toB = parseSdp(replies[i]->stringAt("sdp"), control_);
      if (!toB) {
        error = "offer: no usable SDP in rtpengine's reply";
        return false;
      }
      setups[i].relay[1] = toB->address;
      std::string answerCrypto;
      if (mode == Mode::kSrtp) {
        answerCrypto = pickCrypto(toB->cryptoLines, suite, plans[i].keyB, setups[i]);
        if (answerCrypto.empty()) {
          error = "offer: rtpengine offered no " + std::string(suite.sdesName) + " key";
          return false;
        }
      }
      auto answer = commonFlags();
      answer.emplace_back("command", BValue::str("answer"));
      answer.emplace_back("call-id", BValue::str(plans[i].callId));
      answer.emplace_back("from-tag", BValue::str("a"));
      answer.emplace_back("to-tag", BValue::str("b"));
      answer.emplace_back(
          "sdp", BValue::str(makeSdp(plans[i].local[1],
                                     mode == Mode::kSrtp ? "RTP/SAVP" : "RTP/AVP", answerCrypto)));
      answers.push_back(BValue::dictOf(std::move(answer)));
    }
    if (!batch(answers, replies, true, error)) return false;
    for (std::size_t i = 0; i < plans.size(); ++i) {
      auto toA = parseSdp(replies[i]->stringAt("sdp"), control_);
      if (!toA) {
        error = "answer: no usable SDP in rtpengine's reply";
        return false;
      }
      setups[i].relay[0] = toA->address;
    }
    return true;
  }

  std::optional<std::uint64_t> destroyCalls(std::span<const CallPlan> plans) override {
    std::vector<BValue> deletes;
    for (const auto& plan : plans) {
      deletes.push_back(BValue::dictOf({{"command", BValue::str("delete")},
                                        {"call-id", BValue::str(plan.callId)},
                                        {"from-tag", BValue::str("a")}}));
    }
    std::vector<std::optional<BValue>> replies;
    std::string error;
    batch(deletes, replies, false, error);
    return std::nullopt;
  }

 private:
  static constexpr std::size_t kWindow = 64;
  static constexpr std::int64_t kRetransmitMs = 2000;
  static constexpr int kAttempts = 3;

  static std::vector<std::pair<std::string, BValue>> commonFlags() {
    return {{"flags", BValue::listOf({BValue::str("trust-address")})},
            {"replace", BValue::listOf({BValue::str("origin"), BValue::str("session-connection")})},
            {"ICE", BValue::str("remove")}};
  }

  // Takes rtpengine's key for `suite` from its offer and returns our answer's
  // a=crypto value (same tag, our key); empty when it offered no such suite.
  static std::string pickCrypto(const std::vector<std::string>& lines,
                                const relay::srtp::Suite& suite, const relay::srtp::MasterKey& ours,
                                CallSetup& setup) {
    for (const auto& line : lines) {
      auto sp1 = line.find(' ');
      if (sp1 == std::string::npos) continue;
      auto sp2 = line.find(' ', sp1 + 1);
      if (sp2 == std::string::npos) continue;
      std::string_view name = std::string_view(line).substr(sp1 + 1, sp2 - sp1 - 1);
      if (name != suite.sdesName) continue;
      std::string_view params = std::string_view(line).substr(sp2 + 1);
      params = params.substr(0, params.find(' '));
      auto parsed = relay::srtp::parseKeyParams(suite, params);
      if (!parsed.ok()) continue;
      setup.relayKeyB = parsed.params.key;
      return line.substr(0, sp1) + " " + std::string(suite.sdesName) + " " +
             relay::srtp::formatKeyParams(ours);
    }
    return {};
  }

  static std::int64_t nowMs() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1'000'000;
  }

  // Sends every command, kWindow in flight at a time (each under its own
  // cookie, retransmitted after kRetransmitMs: rtpengine answers a repeated
  // cookie from its cache), and collects the replies in order. With
  // `strict`, the first failed command fails the batch.
  bool batch(const std::vector<BValue>& commands, std::vector<std::optional<BValue>>& replies,
             bool strict, std::string& error) {
    const std::size_t n = commands.size();
    replies.assign(n, std::nullopt);
    std::vector<std::string> packets(n);
    std::vector<int> attempts(n, 0);
    std::vector<std::int64_t> sentAt(n, 0);
    std::unordered_map<std::string, std::size_t> pending;
    const std::string prefix = std::to_string(::getpid()) + "_";
    std::size_t next = 0;
    std::size_t done = 0;
    char buf[65536];
    const auto transmit = [&](std::size_t i) {
      ++attempts[i];
      sentAt[i] = nowMs();
      // ECONNREFUSED reports an earlier datagram's ICMP (rtpengine not up
      // yet): the retransmission timer covers it.
      return ::send(fd_, packets[i].data(), packets[i].size(), 0) >= 0 || errno == ECONNREFUSED;
    };
    while (done < n) {
      while (next < n && pending.size() < kWindow) {
        std::string cookie = prefix + std::to_string(nextCookie_++);
        packets[next] = cookie + " " + bencode(commands[next]);
        pending.emplace(std::move(cookie), next);
        if (!transmit(next)) {
          error = std::string("ng send: ") + std::strerror(errno);
          return false;
        }
        ++next;
      }
      pollfd pfd{fd_, POLLIN, 0};
      if (::poll(&pfd, 1, 100) > 0) {
        for (;;) {
          ssize_t got = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
          if (got <= 0) break;
          std::string_view reply(buf, static_cast<std::size_t>(got));
          auto space = reply.find(' ');
          if (space == std::string_view::npos) continue;
          auto it = pending.find(std::string(reply.substr(0, space)));
          if (it == pending.end()) continue;  // a late reply to a retransmission
          const std::size_t i = it->second;
          pending.erase(it);
          ++done;
          auto v = bdecode(reply.substr(space + 1));
          if (!v || v->kind != BValue::Kind::kDict || v->stringAt("result") != "ok") {
            if (!strict) continue;
            error = "ng " + std::string(commands[i].stringAt("command")) + ": " +
                    (v ? std::string(v->stringAt("result")) + " " +
                             std::string(v->stringAt("error-reason"))
                       : std::string("malformed reply"));
            return false;
          }
          replies[i] = std::move(v);
        }
      }
      const std::int64_t now = nowMs();
      for (auto it = pending.begin(); it != pending.end();) {
        const std::size_t i = it->second;
        if (now - sentAt[i] < kRetransmitMs) {
          ++it;
        } else if (attempts[i] < kAttempts) {
          transmit(i);
          ++it;
        } else if (strict) {
          error = "ng: no reply from rtpengine";
          return false;
        } else {
          it = pending.erase(it);
          ++done;
        }
      }
    }
    return true;
  }

  int fd_;
  sockaddr_in control_;
  std::uint64_t nextCookie_ = 1;
};

}  // namespace

ControllerPtr connectOurRelay(const sockaddr_in& control, std::string& error) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::connect(fd, reinterpret_cast<const sockaddr*>(&control), sizeof control) != 0) {
    error = std::string("connect to relay control: ") + std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return nullptr;
  }
  setTimeout(fd, 10);
  return std::make_unique<OurRelay>(fd, control);
}

ControllerPtr connectRtpengine(const sockaddr_in& control, std::string& error) {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::connect(fd, reinterpret_cast<const sockaddr*>(&control), sizeof control) != 0) {
    error = std::string("ng socket: ") + std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return nullptr;
  }
  setTimeout(fd, 2);
  return std::make_unique<Rtpengine>(fd, control);
}

}  // namespace bench::relay_load

#include "media-relay/relay/rtp_packet.h"

#include <cmath>
#include <cstdlib>

namespace relay {
namespace {

std::uint16_t be16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
std::uint32_t be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         p[3];
}

}  // namespace

std::optional<RtpHeader> parseRtpHeader(std::span<const std::uint8_t> p) {
  if (p.size() < 12 || (p[0] >> 6) != 2) return std::nullopt;
  RtpHeader h;
  h.payloadType = p[1] & 0x7f;
  h.sequence = be16(&p[2]);
  h.timestamp = be32(&p[4]);
  h.ssrc = be32(&p[8]);
  return h;
}

RtcpSummary parseRtcp(std::span<const std::uint8_t> p) {
  RtcpSummary s;
  std::size_t at = 0;
  bool first = true;
  while (at < p.size()) {
    if (p.size() - at < 4) return RtcpSummary{};
    const std::uint8_t* h = &p[at];
    if ((h[0] >> 6) != 2) return RtcpSummary{};
    std::uint8_t count = h[0] & 0x1f;
    std::uint8_t type = h[1];
    std::size_t bytes = (std::size_t{be16(&h[2])} + 1) * 4;
    if (bytes > p.size() - at) return RtcpSummary{};
    if (first && type != 200 && type != 201 && type != 205 && type != 206) return RtcpSummary{};
    first = false;
    if (type == 200 || type == 201) {
      std::size_t fixed = type == 200 ? 28 : 8;  // header + sender SSRC (+ sender info)
      if (bytes < fixed + std::size_t{count} * 24) return RtcpSummary{};
      if (type == 200) s.hasSenderReport = true;
      s.senderSsrc = be32(&h[4]);
      for (std::size_t i = 0; i < count && s.blockCount < s.blocks.size(); ++i) {
        const std::uint8_t* b = h + fixed + i * 24;
        ReportBlock& rb = s.blocks[s.blockCount++];
        rb.ssrc = be32(b);
        rb.fractionLost = b[4];
        std::uint32_t cum = (std::uint32_t{b[5]} << 16) | (std::uint32_t{b[6]} << 8) | b[7];
        // 24-bit two's complement: duplicates can make it negative.
        rb.cumulativeLost = (cum & 0x800000) ? static_cast<std::int32_t>(cum) - 0x1000000
                                             : static_cast<std::int32_t>(cum);
        rb.highestSequence = be32(b + 8);
        rb.jitter = be32(b + 12);
      }
    }
    at += bytes;
  }
  s.valid = !first;
  return s;
}

void ReceptionStats::onPacket(const RtpHeader& h, std::int64_t arrivalUs, std::uint32_t clockRate) {
  constexpr std::uint16_t kMaxDropout = 3000;
  constexpr std::uint16_t kMaxMisorder = 100;
  if (!started_ || h.ssrc != ssrc_) {
    if (started_) lostBefore_ += lost();
    started_ = true;
    ssrc_ = h.ssrc;
    maxSeq_ = h.sequence;
    baseSeq_ = h.sequence;
    cycles_ = 0;
    received_ = 1;
    haveTransit_ = false;
  } else {
    std::uint16_t delta = static_cast<std::uint16_t>(h.sequence - maxSeq_);
    if (delta < kMaxDropout) {
      if (h.sequence < maxSeq_) cycles_ += 65536;
      maxSeq_ = h.sequence;
    } else if (delta <= 65535 - kMaxMisorder) {
      // A big jump: the sender restarted its sequence; count from here.
      lostBefore_ += lost();
      baseSeq_ = h.sequence;
      maxSeq_ = h.sequence;
      cycles_ = 0;
      received_ = 0;
    }
    ++received_;
  }
  if (clockRate == 0) return;
  // Transit in microseconds; the RTP timestamp converted with the clock rate.
  std::int64_t tsUs = static_cast<std::int64_t>(h.timestamp) * 1000000 / clockRate;
  std::int64_t transit = arrivalUs - tsUs;
  if (haveTransit_) {
    std::int64_t d = transit - lastTransitUs_;
    // A timestamp wrap shows as a huge jump: skip that one sample.
    if (std::llabs(d) < 10'000'000) {
      jitter_ += (std::fabs(static_cast<double>(d)) - jitter_) / 16.0;
      jitterUs_ = static_cast<std::uint32_t>(jitter_);
    }
  }
  lastTransitUs_ = transit;
  haveTransit_ = true;
}

std::uint64_t ReceptionStats::lost() const {
  if (!started_) return lostBefore_;
  std::uint64_t expected = std::uint64_t{cycles_} + maxSeq_ - baseSeq_ + 1;
  std::uint64_t here = expected > received_ ? expected - received_ : 0;
  return lostBefore_ + here;
}

}  // namespace relay

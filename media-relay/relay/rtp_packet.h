// Just enough of RTP (RFC 3550) and RTCP for a relay that passes packets on
// unchanged: the rtcp-mux demultiplexing rule, header fields for statistics,
// and RTCP SR/RR report blocks. Every function bounds-checks and never throws.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace relay {

// RFC 5761 section 4: on a muxed port, a second byte (M bit + PT) of 192..223
// (RTP payload types 64..95) is RTCP (SR 200, RR 201, SDES, BYE, APP, RTPFB,
// PSFB, XR); RTP must not use those payload types when muxing.
inline bool isRtcp(std::span<const std::uint8_t> p) {
  return p.size() >= 2 && p[1] >= 192 && p[1] <= 223;
}

struct RtpHeader {
  std::uint8_t payloadType = 0;
  std::uint16_t sequence = 0;
  std::uint32_t timestamp = 0;
  std::uint32_t ssrc = 0;
};

// Version 2 and at least the fixed 12-byte header; nullopt otherwise.
std::optional<RtpHeader> parseRtpHeader(std::span<const std::uint8_t> p);

struct ReportBlock {
  std::uint32_t ssrc = 0;
  std::uint8_t fractionLost = 0;  // /256
  std::int32_t cumulativeLost = 0;
  std::uint32_t highestSequence = 0;
  std::uint32_t jitter = 0;  // timestamp units
};

struct RtcpSummary {
  bool valid = false;  // RFC 3550 A.2 check passed for the whole compound
  bool hasSenderReport = false;
  std::uint32_t senderSsrc = 0;
  std::array<ReportBlock, 4> blocks{};
  std::size_t blockCount = 0;  // first few report blocks (SR and RR), at most 4 kept
};

// Walks a (plaintext) compound RTCP packet: every packet version 2, lengths
// adding up exactly, the first one SR or RR (or, tolerated for reduced-size
// RTCP, RTPFB/PSFB). Collects SR/RR report blocks.
RtcpSummary parseRtcp(std::span<const std::uint8_t> p);

// Receive-side statistics of one RTP stream per RFC 3550 A.1/A.3/A.8:
// extended highest sequence, expected vs received for loss, interarrival
// jitter. An SSRC change starts a new stream; the loss of the old one is kept.
class ReceptionStats {
 public:
  // arrivalUs: arrival time in microseconds (any epoch); clockRate of the
  // packet's payload type (0: unknown, jitter not updated).
  void onPacket(const RtpHeader& h, std::int64_t arrivalUs, std::uint32_t clockRate);

  std::uint64_t lost() const;
  std::uint32_t jitterUs() const { return jitterUs_; }

 private:
  bool started_ = false;
  std::uint32_t ssrc_ = 0;
  std::uint16_t maxSeq_ = 0;
  std::uint32_t cycles_ = 0;
  std::uint32_t baseSeq_ = 0;
  std::uint64_t received_ = 0;
  std::uint64_t lostBefore_ = 0;  // from earlier SSRCs
  std::int64_t lastTransitUs_ = 0;
  bool haveTransit_ = false;
  double jitter_ = 0;  // microseconds, RFC 3550 smoothing
  std::uint32_t jitterUs_ = 0;
};

}  // namespace relay

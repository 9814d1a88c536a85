// libFuzzer target for the SDP module. For each input, in strict and lenient mode:
// parse; read every typed accessor; check serialize() re-parses equal; apply a
// hash-chosen set of rewrites (a refused rewrite must leave the SDP unchanged);
// serialize again and check that it re-parses, equal.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "sbc/sdp/sdp.h"

namespace {

using namespace sbc::sdp;  // NOLINT(google-build-using-namespace)

// Feeds every view to a sink so that the reads really happen (and ASan sees them).
struct Sink {
  std::size_t n = 0;
  void operator()(std::string_view v) {
    for (char c : v) n += static_cast<unsigned char>(c);
  }
  template <typename T>
  void num(T v) {
    n += static_cast<std::size_t>(v);
  }
};

volatile std::size_t gSink = 0;  // keeps the walks from being optimised away

void check(bool ok) {
  if (!ok) std::abort();
}

void walkSection(const Section& s, Sink& sink) {
  for (const LineView l : s.lines()) {
    sink(l.value);
    sink(l.attributeName());
    sink(l.attributeValue());
  }
  if (auto c = s.connection()) {
    sink(c->netType);
    sink(c->address);
    sink.num(c->ttl.value_or(0));
  }
  for (const Bandwidth& b : s.bandwidths()) sink(b.type);
  if (auto d = s.direction()) sink(toString(*d));
  if (auto v = s.information()) sink(*v);
  if (auto v = s.iceUfrag()) sink(*v);
  if (auto v = s.icePwd()) sink(*v);
  if (auto f = s.fingerprint()) sink(f->value);
  if (auto v = s.setup()) sink(toString(*v));
  sink.num(s.iceLite() + s.endOfCandidates());
}

void walk(const SessionDescription& sdp, Sink& sink) {
  walkSection(sdp, sink);
  const Origin o = sdp.origin();
  sink(o.username);
  sink(o.address);
  sink.num(o.sessionVersionNumber().value_or(0));
  if (auto v = sdp.sessionName()) sink(*v);
  if (auto t = sdp.timing()) sink.num(t->start);
  for (std::string_view e : sdp.emails()) sink(e);
  sink.num(sdp.isHold());
  for (const MediaDescription& m : sdp.media()) {
    walkSection(m, sink);
    sink(m.mediaType());
    sink(m.proto());
    sink.num(m.port() + m.portCount().value_or(0) + m.isRtp() + m.isSrtp());
    for (std::string_view f : m.formats()) sink(f);
    for (const RtpMap& r : m.rtpmaps()) sink(r.encoding);
    for (const Fmtp& f : m.fmtps()) sink(f.params);
    for (const Crypto& c : m.cryptos()) {
      for (const CryptoKey& k : c.keys) sink(k.keySalt);
      sink(c.sessionParams);
    }
    for (const Candidate& c : m.candidates()) sink(c.extensions);
    for (const Ssrc& s : m.ssrcs()) sink(s.value);
    if (auto r = m.rtcp()) sink(r->address);
    if (auto v = m.mid()) sink(*v);
    sink.num(m.ptime().value_or(0) + m.maxptime().value_or(0) + m.rtcpMux());
    sink.num(sdp.isHold(m) + static_cast<int>(sdp.effectiveDirection(m)));
  }
}

// A mutation either succeeds or leaves the document exactly as it was.
template <typename F>
void attempt(SessionDescription& sdp, F&& mutate) {
  const SessionDescription before =
      sdp;  // NOLINT(performance-unnecessary-copy-initialization): the snapshot
  if (!mutate()) check(sdp == before);
}

void mutate(SessionDescription& sdp, std::uint32_t mask) {
  if (mask & 0x1) check(sdp.setConnectionAddressEverywhere("203.0.113.5"));
  if (mask & 0x2) attempt(sdp, [&] { return sdp.bumpSessionVersion(); });
  // Fails only when a lenient parse let a non-numeric id through.
  if (mask & 0x4) attempt(sdp, [&] { return sdp.setOriginUsername("sbc"); });
  if (mask & 0x40000000U) {
    check(sdp.setOrigin(Origin{.username = "sbc",
                               .sessionId = "42",
                               .sessionVersion = "7",
                               .netType = "IN",
                               .addrType = "IP4",
                               .address = "203.0.113.5"}));
  }
  if (mask & 0x8) sdp.ensureMandatoryLines();
  if (mask & 0x10) sdp.removeIce();
  if (mask & 0x20) sdp.setDirection(Direction::kSendOnly);
  if (mask & 0x40) {
    // A value read from the document itself, written back into it.
    if (auto v = sdp.media().empty() ? std::nullopt : sdp.media()[0].attribute("rtpmap")) {
      attempt(sdp, [&] { return sdp.setAttribute("x-copy", *v); });
    }
  }
  Crypto crypto;
  crypto.tag = 1;
  crypto.suite = "AES_CM_128_HMAC_SHA1_80";
  crypto.keys.push_back(
      {.keySalt = "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz", .lifetime = "2^31"});
  std::uint32_t bits = mask >> 7;
  for (MediaDescription& m : sdp.media()) {
    if (bits & 0x1) attempt(sdp, [&] { return m.setPort(40000); });
    if (bits & 0x2) m.removeIce();
    if (bits & 0x4) m.removeDtls();
    if (bits & 0x8) attempt(sdp, [&] { return m.setProto("RTP/SAVP"); });
    if (bits & 0x10) check(m.addCrypto(crypto));
    if (bits & 0x20) check(m.setCryptos(std::span(&crypto, 1)));
    if (bits & 0x40) check(m.setRtcp(Rtcp{.port = 40001, .address = "203.0.113.5"}));
    if (bits & 0x80) m.clearRtcp();
    if (bits & 0x100) m.setRtcpMux((bits & 0x200) != 0);
    if (bits & 0x400) {
      const auto f = m.formats().begin();
      if (f != m.formats().end()) attempt(sdp, [&] { return m.removeFormat(*f); });
    }
    if (bits & 0x800) m.setDirection(Direction::kInactive);
    if (bits & 0x1000) check(m.setBandwidth("AS", 64));
    if (bits & 0x2000) check(m.setConnectionAddress("2001:db8::5"));
    if (bits & 0x4000) m.removeBandwidths();
    bits = (bits >> 3) | (bits << 12);  // a different selection for the next m=
  }
  if (mask & 0x80000000U) sdp.shrinkToFit();
}

std::uint32_t hash(const std::uint8_t* data, std::size_t size) {
  std::uint32_t h = 2166136261U;
  for (std::size_t i = 0; i < size; ++i) h = (h ^ data[i]) * 16777619U;
  return h;
}

void run(std::string_view text, bool lenient, std::uint32_t mask) {
  ParseOptions options;
  options.lenient = lenient;
  auto parsed = parse(text, options);
  if (!parsed.ok()) {
    check(parsed.error().code != ErrorCode::kNone);
    return;
  }
  SessionDescription& sdp = *parsed;
  Sink sink;
  walk(sdp, sink);

  // Our output may be larger than the input (LF -> CRLF, added lines).
  ParseOptions again = options;
  again.maxBytes = 4 * options.maxBytes;
  again.maxLines = options.maxLines + 64;

  const std::string first = sdp.serialize();
  check(first.size() == sdp.serializedSize());
  auto reparsed = parse(first, again);
  check(reparsed.ok() && *reparsed == sdp);

  mutate(sdp, mask);
  walk(sdp, sink);
  const std::string second = sdp.serialize();
  auto after = parse(second, again);
  check(after.ok() && *after == sdp);
  check(after->serialize() == second);
  gSink = sink.n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::uint32_t mask = hash(data, size);
  run(text, false, mask);
  run(text, true, mask);
  return 0;
}

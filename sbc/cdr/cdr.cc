#include "sbc/cdr/cdr.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <ctime>

#include "common/crypto/secret_box.h"

namespace sbc::cdr {
namespace {

constexpr std::array<std::string_view, 42> kColumns = {
    "uuid",
    "start_time",
    "node",
    "direction",
    "a_call_id",
    "b_call_id",
    "in_trunk_id",
    "in_trunk",
    "out_trunk_id",
    "out_trunk",
    "caller_in",
    "callee_in",
    "caller_out",
    "callee_out",
    "routing_number",
    "ringing_time",
    "answer_time",
    "end_time",
    "duration_ms",
    "sip_code",
    "sip_reason",
    "q850_cause",
    "ended_by",
    "end_reason",
    "failover_attempts",
    "tried_gateways",
    "a_packets",
    "a_bytes",
    "a_packets_lost",
    "a_jitter_ms",
    "b_packets",
    "b_bytes",
    "b_packets_lost",
    "b_jitter_ms",
    // migrations/0008
    "a_packets_out",
    "a_bytes_out",
    "a_srtp_failures",
    "b_packets_out",
    "b_bytes_out",
    "b_srtp_failures",
    "media_relay",
    "media_stats",
};

std::optional<std::string> timeOrNull(const std::optional<Cdr::Time>& t) {
  if (!t) return std::nullopt;
  return formatTimestamp(*t);
}

std::optional<std::string> idOrNull(std::int64_t id) {
  if (id == 0) return std::nullopt;
  return std::to_string(id);
}

// Values from the network go into text columns: PostgreSQL refuses NUL bytes
// and invalid UTF-8, and one such row would fail its whole batch.
constexpr std::size_t kMaxText = 1024;

std::string clean(std::string_view in) {
  if (in.size() > kMaxText) in = in.substr(0, kMaxText);
  // Nearly every value is printable ASCII: one pass to prove it, one copy.
  if (std::all_of(in.begin(), in.end(), [](char ch) {
        const auto u = static_cast<unsigned char>(ch);
        return u != 0 && u < 0x80;
      }))
    return std::string(in);
  std::string out;
  out.reserve(in.size());
  std::size_t i = 0;
  while (i < in.size()) {
    auto c = static_cast<unsigned char>(in[i]);
    std::size_t len = c < 0x80           ? 1
                      : (c >> 5) == 0x6  ? 2
                      : (c >> 4) == 0xe  ? 3
                      : (c >> 3) == 0x1e ? 4
                                         : 0;
    bool ok = len != 0 && i + len <= in.size();
    for (std::size_t k = 1; ok && k < len; ++k)
      ok = (static_cast<unsigned char>(in[i + k]) & 0xc0) == 0x80;
    if (ok && len == 2) ok = c >= 0xc2;  // overlong
    if (ok && len == 3) {
      auto c1 = static_cast<unsigned char>(in[i + 1]);
      ok = !(c == 0xe0 && c1 < 0xa0) && !(c == 0xed && c1 >= 0xa0);  // overlong, surrogates
    }
    if (ok && len == 4) {
      auto c1 = static_cast<unsigned char>(in[i + 1]);
      ok = c <= 0xf4 && !(c == 0xf0 && c1 < 0x90) && !(c == 0xf4 && c1 >= 0x90);
    }
    if (!ok || c == 0) {
      out.push_back('?');
      ++i;
      continue;
    }
    out.append(in.substr(i, len));
    i += len;
  }
  return out;
}

std::string formatDouble(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

}  // namespace

namespace {

// xoshiro256**: one CSPRNG seed per thread, then a few arithmetic operations
// per UUID. The UUID is a unique key, not a secret; OpenSSL's RNG per record
// cost ~3.5 us of the SIP thread per call (tests/bench/sip_load).
class UuidSource {
 public:
  UuidSource() {
    std::array<std::uint8_t, sizeof(state_)> seed{};
    if (!crypto::randomBytes(seed)) {
      // OpenSSL's RNG does not fail on a working Linux; if it ever does, a
      // time-and-address based seed still keeps the keys unique enough.
      const auto now = static_cast<std::uint64_t>(
          std::chrono::high_resolution_clock::now().time_since_epoch().count());
      const auto addr = reinterpret_cast<std::uintptr_t>(this);
      for (std::size_t i = 0; i < 8; ++i) {
        seed[i] = static_cast<std::uint8_t>(now >> (8 * i));
        seed[8 + i] = static_cast<std::uint8_t>(addr >> (8 * i));
      }
    }
    for (std::size_t i = 0; i < state_.size(); ++i) {
      std::uint64_t v = 0;
      for (std::size_t b = 0; b < 8; ++b) v |= std::uint64_t{seed[i * 8 + b]} << (8 * b);
      state_[i] = v;
    }
    if (state_[0] == 0 && state_[1] == 0 && state_[2] == 0 && state_[3] == 0) state_[0] = 1;
  }

  std::uint64_t next() {
    const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const std::uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::array<std::uint64_t, 4> state_{};
};

}  // namespace

std::string newUuid() {
  thread_local UuidSource source;
  std::array<std::uint8_t, 16> b{};
  for (std::size_t half = 0; half < 2; ++half) {
    const std::uint64_t v = source.next();
    for (std::size_t i = 0; i < 8; ++i) b[half * 8 + i] = static_cast<std::uint8_t>(v >> (8 * i));
  }
  b[6] = static_cast<std::uint8_t>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<std::uint8_t>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  static constexpr std::string_view kHex = "0123456789abcdef";
  std::string out(36, '-');
  std::size_t pos = 0;
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) ++pos;  // the dashes
    out[pos++] = kHex[b[i] >> 4];
    out[pos++] = kHex[b[i] & 0x0f];
  }
  return out;
}

std::int64_t Cdr::durationMs() const {
  if (!answer_time || !end_time || *end_time < *answer_time) return 0;
  return std::chrono::duration_cast<std::chrono::milliseconds>(*end_time - *answer_time).count();
}

std::span<const std::string_view> columns() {
  return kColumns;
}

std::string formatTimestamp(Cdr::Time t) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  std::int64_t secs = us / 1'000'000;
  std::int64_t frac = us % 1'000'000;
  if (frac < 0) {
    frac += 1'000'000;
    --secs;
  }
  std::time_t tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  const int year = tm.tm_year + 1900;
  if (year < 0 || year > 9999) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d.%06lld+00", year, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(frac));
    return buf;
  }
  // "YYYY-MM-DD HH:MM:SS.uuuuuu+00" by hand: snprintf was most of a CDR row.
  std::string out = "0000-00-00 00:00:00.000000+00";
  auto put = [&out](std::size_t pos, std::size_t width, std::int64_t v) {
    for (std::size_t i = 0; i < width; ++i) {
      out[pos + width - 1 - i] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
  };
  put(0, 4, year);
  put(5, 2, tm.tm_mon + 1);
  put(8, 2, tm.tm_mday);
  put(11, 2, tm.tm_hour);
  put(14, 2, tm.tm_min);
  put(17, 2, tm.tm_sec);
  put(20, 6, frac);
  return out;
}

std::string formatTextArray(std::span<const std::string> items) {
  std::string out = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (char c : clean(items[i])) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

std::string_view toString(Direction d) {
  switch (d) {
    case Direction::Inbound:
      return "inbound";
    case Direction::Outbound:
      return "outbound";
    case Direction::Internal:
      return "internal";
  }
  return "outbound";
}

std::string_view toString(EndedBy e) {
  switch (e) {
    case EndedBy::Caller:
      return "caller";
    case EndedBy::Callee:
      return "callee";
    case EndedBy::Sbc:
      return "sbc";
  }
  return "sbc";
}

Row toRow(const Cdr& c) {
  Row r;
  r.reserve(kColumns.size());
  r.emplace_back(c.uuid);
  r.emplace_back(formatTimestamp(c.start_time));
  r.emplace_back(clean(c.node));
  r.emplace_back(std::string(toString(c.direction)));
  r.emplace_back(clean(c.a_call_id));
  r.emplace_back(clean(c.b_call_id));
  r.push_back(idOrNull(c.in_trunk_id));
  r.emplace_back(clean(c.in_trunk));
  r.push_back(idOrNull(c.out_trunk_id));
  r.emplace_back(clean(c.out_trunk));
  r.emplace_back(clean(c.caller_in));
  r.emplace_back(clean(c.callee_in));
  r.emplace_back(clean(c.caller_out));
  r.emplace_back(clean(c.callee_out));
  r.emplace_back(clean(c.routing_number));
  r.push_back(timeOrNull(c.ringing_time));
  r.push_back(timeOrNull(c.answer_time));
  r.push_back(timeOrNull(c.end_time));
  r.emplace_back(std::to_string(c.durationMs()));
  r.emplace_back(std::to_string(c.sip_code));
  r.emplace_back(clean(c.sip_reason));
  r.push_back(c.q850_cause ? std::optional<std::string>(std::to_string(*c.q850_cause))
                           : std::nullopt);
  r.emplace_back(std::string(toString(c.ended_by)));
  r.emplace_back(clean(c.end_reason));
  r.emplace_back(std::to_string(c.failover_attempts));
  r.emplace_back(formatTextArray(c.tried_gateways));
  r.emplace_back(std::to_string(c.a_media.packets));
  r.emplace_back(std::to_string(c.a_media.bytes));
  r.emplace_back(std::to_string(c.a_media.packets_lost));
  r.emplace_back(formatDouble(c.a_media.jitter_ms));
  r.emplace_back(std::to_string(c.b_media.packets));
  r.emplace_back(std::to_string(c.b_media.bytes));
  r.emplace_back(std::to_string(c.b_media.packets_lost));
  r.emplace_back(formatDouble(c.b_media.jitter_ms));
  r.emplace_back(std::to_string(c.a_media.packets_out));
  r.emplace_back(std::to_string(c.a_media.bytes_out));
  r.emplace_back(std::to_string(c.a_media.srtp_failures));
  r.emplace_back(std::to_string(c.b_media.packets_out));
  r.emplace_back(std::to_string(c.b_media.bytes_out));
  r.emplace_back(std::to_string(c.b_media.srtp_failures));
  r.emplace_back(clean(c.media_relay));
  r.emplace_back(c.media_stats ? "true" : "false");
  return r;
}

}  // namespace sbc::cdr

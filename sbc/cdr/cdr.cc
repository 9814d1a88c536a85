#include "sbc/cdr/cdr.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <cstring>
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

// "%.3f" (to_chars is exact like printf, without its locale and format parsing).
std::string_view formatDoubleTo(double v, std::array<char, 64>& buf) {
  const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v, std::chars_format::fixed, 3);
  if (r.ec != std::errc()) {
    const int n = std::snprintf(buf.data(), buf.size(), "%.3f", v);
    return {buf.data(), static_cast<std::size_t>(std::max(n, 0))};
  }
  return {buf.data(), static_cast<std::size_t>(r.ptr - buf.data())};
}

std::string formatDouble(double v) {
  std::array<char, 64> buf{};
  return std::string(formatDoubleTo(v, buf));
}

constexpr std::size_t kTimestampSize = 29;  // "YYYY-MM-DD HH:MM:SS.uuuuuu+00"

// The civil date of a day count since 1970-01-01 (proleptic Gregorian, in
// 400-year eras of 146,097 days): gmtime_r took a lock-free but long path
// through the time zone code for each of a record's four times.
void civilFromDays(std::int64_t days, std::int64_t& year, unsigned& month, unsigned& day) {
  const std::int64_t z = days + 719468;  // days since 0000-03-01
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);                    // [0, 146096]
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);  // [0, 365], from March
  const unsigned mp = (5 * doy + 2) / 153;                       // [0, 11], March = 0
  day = doy - (153 * mp + 2) / 5 + 1;
  month = mp < 10 ? mp + 3 : mp - 9;
  year = static_cast<std::int64_t>(yoe) + era * 400 + (month <= 2 ? 1 : 0);
}

// Writes the timestamp into out[0..29); false (nothing written) outside the
// years 0000-9999, which formatTimestamp spells with snprintf.
bool formatTimestampTo(Cdr::Time t, char* out) {
  const auto us =
      std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  std::int64_t secs = us / 1'000'000;
  std::int64_t frac = us % 1'000'000;
  if (frac < 0) {
    frac += 1'000'000;
    --secs;
  }
  std::int64_t days = secs / 86'400;
  std::int64_t sod = secs % 86'400;
  if (sod < 0) {
    sod += 86'400;
    --days;
  }
  std::int64_t year = 0;
  unsigned month = 0;
  unsigned day = 0;
  civilFromDays(days, year, month, day);
  if (year < 0 || year > 9999) return false;
  std::memcpy(out, "0000-00-00 00:00:00.000000+00", kTimestampSize);
  auto put = [out](std::size_t pos, std::size_t width, std::int64_t v) {
    for (std::size_t i = 0; i < width; ++i) {
      out[pos + width - 1 - i] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
  };
  put(0, 4, year);
  put(5, 2, month);
  put(8, 2, day);
  put(11, 2, sod / 3600);
  put(14, 2, (sod / 60) % 60);
  put(17, 2, sod % 60);
  put(20, 6, frac);
  return true;
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
  std::string out(kTimestampSize, '0');
  if (formatTimestampTo(t, out.data())) return out;
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
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d.%06lld+00", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(frac));
  return buf;
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

void appendCopyText(std::string& out, std::string_view value) {
  std::size_t start = 0;
  for (std::size_t i = 0; i < value.size(); ++i) {
    std::string_view esc;
    switch (value[i]) {
      case '\\':
        esc = "\\\\";
        break;
      case '\t':
        esc = "\\t";
        break;
      case '\n':
        esc = "\\n";
        break;
      case '\r':
        esc = "\\r";
        break;
      case '\0':
        esc = "?";
        break;
      default:
        continue;
    }
    out.append(value.data() + start, i - start);
    out.append(esc);
    start = i + 1;
  }
  out.append(value.data() + start, value.size() - start);
}

namespace {

// Printable ASCII but the backslash: nothing for clean() or the COPY escapes
// to change, which is every value of nearly every record. One table load per
// byte instead of a switch and a push_back.
constexpr std::array<bool, 256> kPlain = [] {
  std::array<bool, 256> t{};
  for (int c = 0x20; c < 0x80; ++c) t[static_cast<std::size_t>(c)] = c != '\\';
  return t;
}();

bool isPlain(std::string_view v) {
  return std::all_of(v.begin(), v.end(),
                     [](char c) { return kPlain[static_cast<unsigned char>(c)]; });
}

// Appends the columns of toRow() one by one, each exactly as toRow() and
// appendCopyText() would spell it.
class CopyRowWriter {
 public:
  explicit CopyRowWriter(std::string& out) : out_(out) {}

  void text(std::string_view v) {  // a value from the network: clean(), then escaped
    sep();
    if (v.size() <= kMaxText && isPlain(v)) {
      out_.append(v);
    } else {
      appendCopyText(out_, clean(v));
    }
  }
  void raw(std::string_view v) {  // ours: escaped only
    sep();
    if (isPlain(v)) {
      out_.append(v);
    } else {
      appendCopyText(out_, v);
    }
  }
  void null() {
    sep();
    out_.append("\\N");
  }
  template <typename T>
  void number(T v) {
    sep();
    std::array<char, 24> buf{};
    const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v);
    out_.append(buf.data(), static_cast<std::size_t>(r.ptr - buf.data()));
  }
  void id(std::int64_t v) {
    if (v == 0) {
      null();
    } else {
      number(v);
    }
  }
  void time(Cdr::Time t) {
    std::array<char, kTimestampSize> buf{};
    if (formatTimestampTo(t, buf.data())) {
      sep();
      out_.append(buf.data(), buf.size());
    } else {
      raw(formatTimestamp(t));
    }
  }
  void time(const std::optional<Cdr::Time>& t) {
    if (t) {
      time(*t);
    } else {
      null();
    }
  }
  void decimal(double v) {
    std::array<char, 64> buf{};
    raw(formatDoubleTo(v, buf));
  }

 private:
  void sep() {
    if (!first_) out_.push_back('\t');
    first_ = false;
  }
  std::string& out_;
  bool first_ = true;
};

}  // namespace

void appendCopyRow(std::string& out, const Cdr& c) {
  CopyRowWriter w(out);
  w.raw(c.uuid);
  w.time(c.start_time);
  w.text(c.node);
  w.raw(toString(c.direction));
  w.text(c.a_call_id);
  w.text(c.b_call_id);
  w.id(c.in_trunk_id);
  w.text(c.in_trunk);
  w.id(c.out_trunk_id);
  w.text(c.out_trunk);
  w.text(c.caller_in);
  w.text(c.callee_in);
  w.text(c.caller_out);
  w.text(c.callee_out);
  w.text(c.routing_number);
  w.time(c.ringing_time);
  w.time(c.answer_time);
  w.time(c.end_time);
  w.number(c.durationMs());
  w.number(c.sip_code);
  w.text(c.sip_reason);
  if (c.q850_cause) {
    w.number(*c.q850_cause);
  } else {
    w.null();
  }
  w.raw(toString(c.ended_by));
  w.text(c.end_reason);
  w.number(c.failover_attempts);
  if (c.tried_gateways.empty()) {
    w.raw("{}");
  } else {
    w.raw(formatTextArray(c.tried_gateways));
  }
  for (const LegMedia* m : {&c.a_media, &c.b_media}) {
    w.number(m->packets);
    w.number(m->bytes);
    w.number(m->packets_lost);
    w.decimal(m->jitter_ms);
  }
  for (const LegMedia* m : {&c.a_media, &c.b_media}) {
    w.number(m->packets_out);
    w.number(m->bytes_out);
    w.number(m->srtp_failures);
  }
  w.text(c.media_relay);
  w.raw(c.media_stats ? "true" : "false");
}

}  // namespace sbc::cdr

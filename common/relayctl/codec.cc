#include "common/relayctl/codec.h"

#include <arpa/inet.h>

#include <boost/json.hpp>
#include <initializer_list>

#include "common/relayctl/base64.h"

namespace sbc::relayctl {
namespace json = boost::json;

namespace {

struct SuiteLength {
  std::string_view name;
  std::size_t masterLength;
};
// Mirrors relay::srtp's suite table (a relay_srtp test checks they agree):
// common/ may not depend on media-relay/.
constexpr std::array<SuiteLength, 4> kSuites{{
    {"AES_CM_128_HMAC_SHA1_80", 30},
    {"AES_CM_128_HMAC_SHA1_32", 30},
    {"AEAD_AES_128_GCM", 28},
    {"AEAD_AES_256_GCM", 44},
}};

constexpr std::array<std::string_view, 8> kErrorNames{
    "bad_json", "unknown_verb",        "bad_field", "unknown_session",
    "no_ports", "version_unsupported", "too_large", "internal"};

constexpr std::array<std::string_view, 2> kEventNames{"media_timeout", "session_expired"};

constexpr std::array<std::string_view, 4> kDirections{"sendrecv", "sendonly", "recvonly",
                                                      "inactive"};
constexpr std::array<std::string_view, 2> kRealms{"inside", "outside"};
constexpr std::array<std::string_view, 2> kLatchModes{"strict", "window_any"};

// ---------------------------------------------------------------- decoding

// Reads fields off JSON objects, remembering the first failure; later reads
// after a failure are no-ops, so the decoders below read straight through.
class Reader {
 public:
  bool failed() const { return error_.has_value(); }
  Error take() { return std::move(*error_); }

  void fail(ErrorCode code, std::string field, std::string message) {
    if (!error_) error_ = Error{code, std::move(field), std::move(message)};
  }
  void badField(const std::string& path, std::string_view key, std::string message) {
    fail(ErrorCode::kBadField, join(path, key), std::move(message));
  }
  static std::string join(const std::string& path, std::string_view key) {
    if (path.empty()) return std::string(key);
    std::string out = path;
    if (!key.empty() && key.front() != '[') out += '.';
    out += key;
    return out;
  }

  // Every key must be known: a misspelt field is an error, not a silent default.
  void onlyKeys(const json::object& o, const std::string& path,
                std::initializer_list<std::string_view> allowed) {
    if (failed()) return;
    for (const auto& kv : o) {
      bool known = false;
      for (auto a : allowed) known = known || kv.key() == a;
      if (!known) {
        badField(path, kv.key(), "unknown field");
        return;
      }
    }
  }

  // The value under `key`; nullptr when absent (a failure if required) or
  // when an earlier field already failed.
  const json::value* find(const json::object& o, std::string_view key, const std::string& path,
                          bool required) {
    if (failed()) return nullptr;
    const json::value* v = o.if_contains(key);
    if (!v && required) badField(path, key, "missing");
    return v;
  }

  const json::object* object(const json::object& o, std::string_view key, const std::string& path,
                             bool required) {
    const json::value* v = find(o, key, path, required);
    if (!v) return nullptr;
    if (!v->is_object()) {
      badField(path, key, "must be an object");
      return nullptr;
    }
    return &v->get_object();
  }

  const json::array* array(const json::object& o, std::string_view key, const std::string& path,
                           bool required) {
    const json::value* v = find(o, key, path, required);
    if (!v) return nullptr;
    if (!v->is_array()) {
      badField(path, key, "must be an array");
      return nullptr;
    }
    return &v->get_array();
  }

  // Printable ASCII only (no NUL, no control characters), 1..maxLength bytes.
  std::optional<std::string_view> token(const json::object& o, std::string_view key,
                                        const std::string& path, std::size_t maxLength,
                                        bool required) {
    const json::value* v = find(o, key, path, required);
    if (!v) return std::nullopt;
    if (!v->is_string()) {
      badField(path, key, "must be a string");
      return std::nullopt;
    }
    std::string_view s = v->get_string();
    if (s.empty() || s.size() > maxLength) {
      badField(path, key, "length must be 1.." + std::to_string(maxLength));
      return std::nullopt;
    }
    for (char c : s) {
      if (c < 0x21 || c > 0x7e) {
        badField(path, key, "must be printable ASCII without spaces");
        return std::nullopt;
      }
    }
    return s;
  }

  std::optional<std::uint64_t> integer(const json::object& o, std::string_view key,
                                       const std::string& path, std::uint64_t min,
                                       std::uint64_t max, bool required) {
    const json::value* v = find(o, key, path, required);
    if (!v) return std::nullopt;
    std::uint64_t n = 0;
    if (v->is_uint64()) {
      n = v->get_uint64();
    } else if (v->is_int64() && v->get_int64() >= 0) {
      n = static_cast<std::uint64_t>(v->get_int64());
    } else {
      badField(path, key, "must be an integer " + std::to_string(min) + ".." + std::to_string(max));
      return std::nullopt;
    }
    if (n < min || n > max) {
      badField(path, key, "out of range " + std::to_string(min) + ".." + std::to_string(max));
      return std::nullopt;
    }
    return n;
  }

  std::optional<bool> boolean(const json::object& o, std::string_view key,
                              const std::string& path) {
    const json::value* v = find(o, key, path, false);
    if (!v) return std::nullopt;
    if (!v->is_bool()) {
      badField(path, key, "must be true or false");
      return std::nullopt;
    }
    return v->get_bool();
  }

  template <std::size_t N>
  std::optional<std::size_t> oneOf(const json::object& o, std::string_view key,
                                   const std::string& path,
                                   const std::array<std::string_view, N>& names, bool required) {
    auto s = token(o, key, path, 32, required);
    if (!s) return std::nullopt;
    for (std::size_t i = 0; i < N; ++i) {
      if (names[i] == *s) return i;
    }
    std::string message = "must be one of";
    for (auto n : names) (message += ' ') += n;
    badField(path, key, std::move(message));
    return std::nullopt;
  }

 private:
  std::optional<Error> error_;
};

bool isIpLiteral(std::string_view s) {
  char buf[64];
  if (s.empty() || s.size() >= sizeof(buf)) return false;
  s.copy(buf, s.size());
  buf[s.size()] = '\0';
  unsigned char out[16];
  return inet_pton(AF_INET, buf, out) == 1 || inet_pton(AF_INET6, buf, out) == 1;
}

std::optional<Endpoint> readEndpoint(Reader& r, const json::object& o, std::string_view key,
                                     const std::string& path) {
  const json::object* e = r.object(o, key, path, false);
  if (!e) return std::nullopt;
  std::string p = Reader::join(path, key);
  r.onlyKeys(*e, p, {"address", "port"});
  auto address = r.token(*e, "address", p, 45, true);
  if (address && !isIpLiteral(*address)) r.badField(p, "address", "must be an IP literal");
  auto port = r.integer(*e, "port", p, 1, 65535, true);
  if (r.failed()) return std::nullopt;
  return Endpoint{std::string(*address), static_cast<std::uint16_t>(*port)};
}

std::optional<std::vector<PayloadType>> readPayloadTypes(Reader& r, const json::object& o,
                                                         const std::string& path) {
  const json::array* a = r.array(o, "payload_types", path, false);
  if (!a) return std::nullopt;
  std::string p = Reader::join(path, "payload_types");
  if (a->size() > kMaxPayloadTypes) {
    r.badField(path, "payload_types", "at most " + std::to_string(kMaxPayloadTypes) + " entries");
    return std::nullopt;
  }
  std::vector<PayloadType> out;
  out.reserve(a->size());
  for (std::size_t i = 0; i < a->size() && !r.failed(); ++i) {
    std::string ip = p + "[" + std::to_string(i) + "]";
    if (!(*a)[i].is_object()) {
      r.fail(ErrorCode::kBadField, ip, "must be an object");
      break;
    }
    const json::object& e = (*a)[i].get_object();
    r.onlyKeys(e, ip, {"pt", "encoding", "clock_rate"});
    auto pt = r.integer(e, "pt", ip, 0, 127, true);
    auto enc = r.token(e, "encoding", ip, kMaxEncodingLength, true);
    auto rate = r.integer(e, "clock_rate", ip, 1, 1000000, true);
    if (r.failed()) break;
    for (const auto& prev : out) {
      if (prev.pt == *pt) r.badField(ip, "pt", "duplicate payload type");
    }
    out.push_back(
        {static_cast<std::uint8_t>(*pt), std::string(*enc), static_cast<std::uint32_t>(*rate)});
  }
  if (r.failed()) return std::nullopt;
  return out;
}

std::optional<Crypto> readCrypto(Reader& r, const json::object& o, const std::string& path,
                                 bool allowGenerate) {
  const json::object* c = r.object(o, "crypto", path, false);
  if (!c) return std::nullopt;
  std::string p = Reader::join(path, "crypto");
  if (allowGenerate) {
    r.onlyKeys(*c, p, {"suite", "key", "generate"});
  } else {
    r.onlyKeys(*c, p, {"suite", "key"});
  }
  Crypto crypto;
  auto suite = r.token(*c, "suite", p, 32, true);
  std::optional<std::size_t> length;
  if (suite) {
    length = suiteMasterLength(*suite);
    if (!length) r.badField(p, "suite", "unsupported crypto suite");
  }
  auto generate = allowGenerate ? r.boolean(*c, "generate", p) : std::nullopt;
  crypto.generate = generate.value_or(false);
  auto key = r.token(*c, "key", p, 64, !crypto.generate);
  if (r.failed()) return std::nullopt;
  if (crypto.generate && key) {
    r.badField(p, "key", "must be absent when generate is true");
    return std::nullopt;
  }
  if (key) {
    if (base64DecodedLength(*key) != *length) {
      r.badField(p, "key",
                 "must be base64 of exactly " + std::to_string(*length) + " bytes for the suite");
      return std::nullopt;
    }
    crypto.key = std::string(*key);
  }
  crypto.suite = std::string(*suite);
  return crypto;
}

std::optional<std::uint8_t> readTelephoneEvent(Reader& r, const json::object& o,
                                               const std::string& path) {
  auto te = r.integer(o, "telephone_event_pt", path, 0, 127, false);
  if (!te) return std::nullopt;
  return static_cast<std::uint8_t>(*te);
}

LegSpec readLegSpec(Reader& r, const json::object& o, const std::string& path) {
  LegSpec leg;
  r.onlyKeys(o, path,
             {"realm", "rtp", "rtcp", "rtcp_mux", "payload_types", "telephone_event_pt", "crypto",
              "direction", "media_timeout", "latch"});
  if (auto realm = r.oneOf(o, "realm", path, kRealms, true)) leg.realm = static_cast<Realm>(*realm);
  leg.rtp = readEndpoint(r, o, "rtp", path);
  leg.rtcp = readEndpoint(r, o, "rtcp", path);
  leg.rtcpMux = r.boolean(o, "rtcp_mux", path).value_or(false);
  leg.payloadTypes = readPayloadTypes(r, o, path).value_or(std::vector<PayloadType>{});
  leg.telephoneEventPt = readTelephoneEvent(r, o, path);
  leg.crypto = readCrypto(r, o, path, true);
  if (auto d = r.oneOf(o, "direction", path, kDirections, false)) {
    leg.direction = static_cast<Direction>(*d);
  }
  leg.mediaTimeoutSeconds = static_cast<std::uint32_t>(
      r.integer(o, "media_timeout", path, 0, kMaxMediaTimeoutSeconds, false).value_or(0));
  if (auto l = r.oneOf(o, "latch", path, kLatchModes, false))
    leg.latch = static_cast<LatchMode>(*l);
  return leg;
}

LegUpdate readLegUpdate(Reader& r, const json::object& o, const std::string& path) {
  LegUpdate leg;
  r.onlyKeys(o, path,
             {"rtp", "rtcp", "rtcp_mux", "payload_types", "telephone_event_pt", "crypto", "plain",
              "direction", "media_timeout"});
  leg.rtp = readEndpoint(r, o, "rtp", path);
  leg.rtcp = readEndpoint(r, o, "rtcp", path);
  leg.rtcpMux = r.boolean(o, "rtcp_mux", path);
  leg.payloadTypes = readPayloadTypes(r, o, path);
  leg.telephoneEventPt = readTelephoneEvent(r, o, path);
  leg.crypto = readCrypto(r, o, path, true);
  leg.plain = r.boolean(o, "plain", path).value_or(false);
  if (leg.plain && leg.crypto) r.badField(path, "plain", "cannot go with crypto");
  if (auto d = r.oneOf(o, "direction", path, kDirections, false)) {
    leg.direction = static_cast<Direction>(*d);
  }
  if (auto t = r.integer(o, "media_timeout", path, 0, kMaxMediaTimeoutSeconds, false)) {
    leg.mediaTimeoutSeconds = static_cast<std::uint32_t>(*t);
  }
  return leg;
}

// Exactly two legs; `read` decodes one of them.
template <typename Leg, typename Read>
void readLegs(Reader& r, const json::object& o, const std::string& path, std::array<Leg, 2>& legs,
              Read read) {
  const json::array* a = r.array(o, "legs", path, true);
  if (!a) return;
  if (a->size() != 2) {
    r.badField(path, "legs", "must have exactly 2 entries");
    return;
  }
  for (std::size_t i = 0; i < 2 && !r.failed(); ++i) {
    std::string p = "legs[" + std::to_string(i) + "]";
    if (!(*a)[i].is_object()) {
      r.fail(ErrorCode::kBadField, p, "must be an object");
      return;
    }
    legs[i] = read(r, (*a)[i].get_object(), p);
  }
}

// Parses a line into a JSON object with bounded depth; never throws.
Result<json::object> parseObject(std::string_view line, json::monotonic_resource& mr) {
  if (line.size() > kMaxLineBytes) {
    return Error{ErrorCode::kTooLarge, {}, "line exceeds " + std::to_string(kMaxLineBytes)};
  }
  json::parse_options opt;
  opt.max_depth = kMaxJsonDepth;
  boost::system::error_code ec;
  json::value v = json::parse(json::string_view(line.data(), line.size()), ec, &mr, opt);
  if (ec) return Error{ErrorCode::kBadJson, {}, ec.message()};
  if (!v.is_object()) return Error{ErrorCode::kBadJson, {}, "not a JSON object"};
  return std::move(v.get_object());
}

// Every line's version, read first so that a future version's shape is never
// misread.
bool readVersion(Reader& r, const json::object& o, int& version) {
  auto v = r.integer(o, "version", "", 1, 1000000, true);
  if (r.failed()) return false;
  if (*v != static_cast<std::uint64_t>(kProtocolVersion)) {
    r.fail(ErrorCode::kVersionUnsupported, "version",
           "supported version is " + std::to_string(kProtocolVersion));
    return false;
  }
  version = static_cast<int>(*v);
  return true;
}

// Common envelope of requests and responses: version, then id.
bool readEnvelope(Reader& r, const json::object& o, std::string& id, int& version,
                  bool idMayBeNull) {
  if (!readVersion(r, o, version)) return false;
  const json::value* idv = o.if_contains("id");
  if (idMayBeNull && idv && idv->is_null()) return true;
  if (auto s = r.token(o, "id", "", kMaxIdLength, true)) id = std::string(*s);
  return !r.failed();
}

std::string readCallId(Reader& r, const json::object& o) {
  auto s = r.token(o, "call_id", "", kMaxCallIdLength, true);
  return s ? std::string(*s) : std::string();
}

// ---------------------------------------------------------------- encoding

json::object endpoint(const Endpoint& e) {
  return {{"address", e.address}, {"port", e.port}};
}

json::object crypto(const Crypto& c) {
  json::object o{{"suite", c.suite}};
  if (!c.key.empty()) o["key"] = c.key;
  if (c.generate) o["generate"] = true;
  return o;
}

json::array payloadTypes(const std::vector<PayloadType>& pts) {
  json::array a;
  for (const auto& pt : pts) {
    a.push_back(
        json::object{{"pt", pt.pt}, {"encoding", pt.encoding}, {"clock_rate", pt.clockRate}});
  }
  return a;
}

json::object leg(const LegSpec& l) {
  json::object o{{"realm", kRealms[static_cast<std::size_t>(l.realm)]}};
  if (l.rtp) o["rtp"] = endpoint(*l.rtp);
  if (l.rtcp) o["rtcp"] = endpoint(*l.rtcp);
  o["rtcp_mux"] = l.rtcpMux;
  o["payload_types"] = payloadTypes(l.payloadTypes);
  if (l.telephoneEventPt) o["telephone_event_pt"] = *l.telephoneEventPt;
  if (l.crypto) o["crypto"] = crypto(*l.crypto);
  o["direction"] = kDirections[static_cast<std::size_t>(l.direction)];
  o["media_timeout"] = l.mediaTimeoutSeconds;
  // Left out when strict, so that a relay older than the field still
  // accepts every create that does not need it.
  if (l.latch != LatchMode::kStrict) o["latch"] = kLatchModes[static_cast<std::size_t>(l.latch)];
  return o;
}

json::object leg(const LegUpdate& l) {
  json::object o;
  if (l.rtp) o["rtp"] = endpoint(*l.rtp);
  if (l.rtcp) o["rtcp"] = endpoint(*l.rtcp);
  if (l.rtcpMux) o["rtcp_mux"] = *l.rtcpMux;
  if (l.payloadTypes) o["payload_types"] = payloadTypes(*l.payloadTypes);
  if (l.telephoneEventPt) o["telephone_event_pt"] = *l.telephoneEventPt;
  if (l.crypto) o["crypto"] = crypto(*l.crypto);
  if (l.plain) o["plain"] = true;
  if (l.direction) o["direction"] = kDirections[static_cast<std::size_t>(*l.direction)];
  if (l.mediaTimeoutSeconds) o["media_timeout"] = *l.mediaTimeoutSeconds;
  return o;
}

json::object allocation(const LegAllocation& a) {
  json::object o{
      {"local_address", a.localAddress}, {"rtp_port", a.rtpPort}, {"rtcp_port", a.rtcpPort}};
  if (a.crypto) o["crypto"] = crypto(*a.crypto);
  return o;
}

json::object stats(const LegStats& s) {
  return {{"packets_in", s.packetsIn},
          {"bytes_in", s.bytesIn},
          {"packets_out", s.packetsOut},
          {"bytes_out", s.bytesOut},
          {"lost", s.lost},
          {"jitter_us", s.jitterUs},
          {"srtp_auth_failures", s.srtpAuthFailures},
          {"rtp_timeouts", s.rtpTimeouts}};
}

template <typename T, typename F>
json::array pair(const std::array<T, 2>& legs, F f) {
  return json::array{f(legs[0]), f(legs[1])};
}

std::string_view verbOf(const RequestBody& b) {
  constexpr std::array<std::string_view, 5> kVerbs{"create", "update", "destroy", "query", "ping"};
  return kVerbs[b.index()];
}

constexpr std::array<std::string_view, 5> kResponseVerbs{"create", "update", "destroy", "query",
                                                         "ping"};

// Response legs: allocations or stats.
std::optional<LegAllocation> readAllocation(Reader& r, const json::object& o,
                                            const std::string& p) {
  r.onlyKeys(o, p, {"local_address", "rtp_port", "rtcp_port", "crypto"});
  LegAllocation a;
  auto addr = r.token(o, "local_address", p, 45, true);
  if (addr && !isIpLiteral(*addr)) r.badField(p, "local_address", "must be an IP literal");
  auto rtp = r.integer(o, "rtp_port", p, 1, 65535, true);
  auto rtcp = r.integer(o, "rtcp_port", p, 1, 65535, true);
  a.crypto = readCrypto(r, o, p, false);
  if (r.failed()) return std::nullopt;
  a.localAddress = std::string(*addr);
  a.rtpPort = static_cast<std::uint16_t>(*rtp);
  a.rtcpPort = static_cast<std::uint16_t>(*rtcp);
  return a;
}

LegStats readStats(Reader& r, const json::object& o, const std::string& p) {
  r.onlyKeys(o, p,
             {"packets_in", "bytes_in", "packets_out", "bytes_out", "lost", "jitter_us",
              "srtp_auth_failures", "rtp_timeouts"});
  constexpr std::uint64_t kMax = UINT64_MAX;
  LegStats s;
  s.packetsIn = r.integer(o, "packets_in", p, 0, kMax, true).value_or(0);
  s.bytesIn = r.integer(o, "bytes_in", p, 0, kMax, true).value_or(0);
  s.packetsOut = r.integer(o, "packets_out", p, 0, kMax, true).value_or(0);
  s.bytesOut = r.integer(o, "bytes_out", p, 0, kMax, true).value_or(0);
  s.lost = r.integer(o, "lost", p, 0, kMax, true).value_or(0);
  s.jitterUs =
      static_cast<std::uint32_t>(r.integer(o, "jitter_us", p, 0, UINT32_MAX, true).value_or(0));
  s.srtpAuthFailures = r.integer(o, "srtp_auth_failures", p, 0, kMax, true).value_or(0);
  s.rtpTimeouts = r.integer(o, "rtp_timeouts", p, 0, kMax, true).value_or(0);
  return s;
}

}  // namespace

std::string_view toString(ErrorCode code) {
  return kErrorNames[static_cast<std::size_t>(code)];
}

std::string_view toString(EventKind kind) {
  return kEventNames[static_cast<std::size_t>(kind)];
}

std::optional<ErrorCode> errorCodeFromString(std::string_view name) {
  for (std::size_t i = 0; i < kErrorNames.size(); ++i) {
    if (kErrorNames[i] == name) return static_cast<ErrorCode>(i);
  }
  return std::nullopt;
}

std::optional<std::size_t> suiteMasterLength(std::string_view suite) {
  for (const auto& s : kSuites) {
    if (s.name == suite) return s.masterLength;
  }
  return std::nullopt;
}

std::string encode(const Request& request) {
  json::object o{{"version", request.version}, {"id", request.id}, {"verb", verbOf(request.body)}};
  std::visit(
      [&o](const auto& b) {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, CreateRequest>) {
          o["call_id"] = b.callId;
          o["legs"] = pair(b.legs, [](const LegSpec& l) { return leg(l); });
        } else if constexpr (std::is_same_v<T, UpdateRequest>) {
          o["call_id"] = b.callId;
          o["legs"] = pair(b.legs, [](const LegUpdate& l) { return leg(l); });
        } else if constexpr (std::is_same_v<T, DestroyRequest> || std::is_same_v<T, QueryRequest>) {
          o["call_id"] = b.callId;
        }
      },
      request.body);
  return json::serialize(o);
}

std::string encode(const Response& response) {
  json::object o{{"version", response.version}};
  if (response.id.empty()) {
    o["id"] = nullptr;
  } else {
    o["id"] = response.id;
  }
  std::visit(
      [&o, &response](const auto& b) {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, Error>) {
          json::object e{{"code", toString(b.code)}, {"message", b.message}};
          if (!b.field.empty()) e["field"] = b.field;
          o["error"] = std::move(e);
        } else {
          o["verb"] = kResponseVerbs[response.body.index()];
          if constexpr (std::is_same_v<T, CreateResponse> || std::is_same_v<T, UpdateResponse>) {
            o["result"] = json::object{
                {"legs", pair(b.legs, [](const LegAllocation& a) { return allocation(a); })}};
          } else if constexpr (std::is_same_v<T, DestroyResponse> ||
                               std::is_same_v<T, QueryResponse>) {
            o["result"] =
                json::object{{"legs", pair(b.legs, [](const LegStats& s) { return stats(s); })}};
          } else {
            o["result"] = json::object{{"sessions", b.sessions}, {"ports_free", b.portsFree}};
          }
        }
      },
      response.body);
  return json::serialize(o);
}

std::string encode(const Event& event) {
  json::object o{{"version", event.version},
                 {"event", toString(event.kind)},
                 {"call_id", event.callId},
                 {"leg", event.leg},
                 {"stats", stats(event.stats)}};
  return json::serialize(o);
}

Result<Request> decodeRequest(std::string_view line) {
  unsigned char buffer[4096];
  json::monotonic_resource mr(buffer, sizeof(buffer));
  auto parsed = parseObject(line, mr);
  if (!parsed) return parsed.error();
  const json::object& o = parsed.value();

  Reader r;
  Request req;
  if (!readEnvelope(r, o, req.id, req.version, false)) return r.take();
  auto verb = r.token(o, "verb", "", 16, true);
  if (r.failed()) return r.take();
  if (*verb == "create") {
    r.onlyKeys(o, "", {"version", "id", "verb", "call_id", "legs"});
    CreateRequest c;
    c.callId = readCallId(r, o);
    readLegs(r, o, "", c.legs, readLegSpec);
    req.body = std::move(c);
  } else if (*verb == "update") {
    r.onlyKeys(o, "", {"version", "id", "verb", "call_id", "legs"});
    UpdateRequest u;
    u.callId = readCallId(r, o);
    readLegs(r, o, "", u.legs, readLegUpdate);
    req.body = std::move(u);
  } else if (*verb == "destroy") {
    r.onlyKeys(o, "", {"version", "id", "verb", "call_id"});
    req.body = DestroyRequest{readCallId(r, o)};
  } else if (*verb == "query") {
    r.onlyKeys(o, "", {"version", "id", "verb", "call_id"});
    req.body = QueryRequest{readCallId(r, o)};
  } else if (*verb == "ping") {
    r.onlyKeys(o, "", {"version", "id", "verb"});
    req.body = PingRequest{};
  } else {
    r.fail(ErrorCode::kUnknownVerb, "verb", "unknown verb");
  }
  if (r.failed()) return r.take();
  return req;
}

Result<Response> decodeResponse(std::string_view line) {
  unsigned char buffer[4096];
  json::monotonic_resource mr(buffer, sizeof(buffer));
  auto parsed = parseObject(line, mr);
  if (!parsed) return parsed.error();
  const json::object& o = parsed.value();

  Reader r;
  Response resp;
  if (!readEnvelope(r, o, resp.id, resp.version, true)) return r.take();
  if (const json::object* e = r.object(o, "error", "", false)) {
    r.onlyKeys(o, "", {"version", "id", "error"});
    r.onlyKeys(*e, "error", {"code", "field", "message"});
    Error err;
    if (auto code = r.token(*e, "code", "error", 32, true)) {
      if (auto c = errorCodeFromString(*code)) {
        err.code = *c;
      } else {
        r.badField("error", "code", "unknown error code");
      }
    }
    if (auto f = r.token(*e, "field", "error", kMaxLineBytes, false)) err.field = std::string(*f);
    const json::value* m = e->if_contains("message");
    if (m && m->is_string() && m->get_string().size() <= kMaxLineBytes) {
      err.message = std::string(m->get_string());
    } else if (!r.failed()) {
      r.badField("error", "message", "must be a string");
    }
    if (r.failed()) return r.take();
    resp.body = std::move(err);
    return resp;
  }
  if (r.failed()) return r.take();
  if (resp.id.empty()) {
    r.badField("", "id", "must be a string on a result");
    return r.take();
  }
  r.onlyKeys(o, "", {"version", "id", "verb", "result"});
  auto verb = r.oneOf(o, "verb", "", kResponseVerbs, true);
  const json::object* result = r.object(o, "result", "", true);
  if (r.failed()) return r.take();
  switch (*verb) {
    case 0:
    case 1: {
      std::array<LegAllocation, 2> legs;
      readLegs(r, *result, "result", legs,
               [](Reader& rr, const json::object& lo, const std::string& p) {
                 return readAllocation(rr, lo, "result." + p).value_or(LegAllocation{});
               });
      r.onlyKeys(*result, "result", {"legs"});
      if (*verb == 0) {
        resp.body = CreateResponse{std::move(legs)};
      } else {
        resp.body = UpdateResponse{std::move(legs)};
      }
      break;
    }
    case 2:
    case 3: {
      std::array<LegStats, 2> legs;
      readLegs(r, *result, "result", legs,
               [](Reader& rr, const json::object& lo, const std::string& p) {
                 return readStats(rr, lo, "result." + p);
               });
      r.onlyKeys(*result, "result", {"legs"});
      if (*verb == 2) {
        resp.body = DestroyResponse{legs};
      } else {
        resp.body = QueryResponse{legs};
      }
      break;
    }
    default: {
      r.onlyKeys(*result, "result", {"sessions", "ports_free"});
      PongResponse p;
      p.sessions = static_cast<std::uint32_t>(
          r.integer(*result, "sessions", "result", 0, UINT32_MAX, true).value_or(0));
      p.portsFree = static_cast<std::uint32_t>(
          r.integer(*result, "ports_free", "result", 0, UINT32_MAX, true).value_or(0));
      resp.body = p;
      break;
    }
  }
  if (r.failed()) return r.take();
  return resp;
}

Result<Event> decodeEvent(std::string_view line) {
  unsigned char buffer[2048];
  json::monotonic_resource mr(buffer, sizeof(buffer));
  auto parsed = parseObject(line, mr);
  if (!parsed) return parsed.error();
  const json::object& o = parsed.value();

  Reader r;
  Event ev;
  if (!readVersion(r, o, ev.version)) return r.take();
  r.onlyKeys(o, "", {"version", "event", "call_id", "leg", "stats"});
  if (auto k = r.oneOf(o, "event", "", kEventNames, true)) ev.kind = static_cast<EventKind>(*k);
  ev.callId = readCallId(r, o);
  ev.leg = static_cast<std::uint8_t>(r.integer(o, "leg", "", 0, 1, true).value_or(0));
  if (const json::object* s = r.object(o, "stats", "", true)) ev.stats = readStats(r, *s, "stats");
  if (r.failed()) return r.take();
  return ev;
}

bool isEventLine(std::string_view line) {
  constexpr std::string_view kKey = "\"event\"";
  for (auto at = line.find(kKey); at != std::string_view::npos; at = line.find(kKey, at + 1)) {
    auto rest = line.substr(at + kKey.size());
    auto colon = rest.find_first_not_of(" \t\r\n");
    if (colon != std::string_view::npos && rest[colon] == ':') return true;
  }
  return false;
}

Response errorResponse(std::string_view line, const Error& error) {
  Response resp;
  resp.body = error;
  if (line.size() > kMaxLineBytes) return resp;
  unsigned char buffer[1024];
  json::monotonic_resource mr(buffer, sizeof(buffer));
  auto parsed = parseObject(line, mr);
  if (!parsed) return resp;
  Reader r;
  if (auto id = r.token(parsed.value(), "id", "", kMaxIdLength, true)) resp.id = std::string(*id);
  return resp;
}

}  // namespace sbc::relayctl

#include <gtest/gtest.h>

#include <string>

#include "common/relayctl/codec.h"

namespace sbc::relayctl {
namespace {

constexpr std::string_view kKey30 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd";

CreateRequest sampleCreate() {
  CreateRequest c;
  c.callId = "a84b4c76e66710@pc33.example.com";
  LegSpec& a = c.legs[0];
  a.realm = Realm::kInside;
  a.rtp = Endpoint{"10.0.0.5", 40000};
  a.rtcp = Endpoint{"10.0.0.5", 40001};
  a.payloadTypes = {{0, "PCMU", 8000}, {8, "PCMA", 8000}, {101, "telephone-event", 8000}};
  a.telephoneEventPt = 101;
  a.mediaTimeoutSeconds = 30;
  LegSpec& b = c.legs[1];
  b.realm = Realm::kOutside;
  b.rtp = Endpoint{"2001:db8::7", 5004};
  b.rtcpMux = true;
  b.payloadTypes = {{0, "PCMU", 8000}};
  b.crypto = Crypto{"AES_CM_128_HMAC_SHA1_80", std::string(kKey30), false};
  b.direction = Direction::kSendOnly;
  return c;
}

Request req(RequestBody body) {
  return Request{"r-1", kProtocolVersion, std::move(body)};
}

void expectRoundTrip(const Request& r) {
  std::string line = encode(r);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  auto back = decodeRequest(line);
  ASSERT_TRUE(back.ok()) << line << " -> " << back.error().field << ": " << back.error().message;
  EXPECT_EQ(back.value(), r) << line;
}

void expectRoundTrip(const Response& r) {
  std::string line = encode(r);
  auto back = decodeResponse(line);
  ASSERT_TRUE(back.ok()) << line << " -> " << back.error().field << ": " << back.error().message;
  EXPECT_EQ(back.value(), r) << line;
}

TEST(CodecRoundTrip, EveryRequest) {
  expectRoundTrip(req(sampleCreate()));
  CreateRequest gen = sampleCreate();
  gen.legs[0].crypto = Crypto{"AEAD_AES_256_GCM", "", true};
  expectRoundTrip(req(gen));
  UpdateRequest u;
  u.callId = "c1";
  u.legs[0].rtp = Endpoint{"192.0.2.1", 6000};
  u.legs[0].direction = Direction::kInactive;
  u.legs[0].payloadTypes = std::vector<PayloadType>{{9, "G722", 8000}};
  u.legs[1].crypto = Crypto{"AEAD_AES_128_GCM", "", true};
  u.legs[1].rtcpMux = false;
  u.legs[1].mediaTimeoutSeconds = 0;
  u.legs[1].telephoneEventPt = 96;
  expectRoundTrip(req(u));
  expectRoundTrip(req(UpdateRequest{"c2", {}}));  // no change on either leg
  UpdateRequest plain;
  plain.callId = "c3";
  plain.legs[0].plain = true;  // SAVP -> AVP on re-INVITE
  expectRoundTrip(req(plain));
  EXPECT_NE(encode(req(plain)).find(R"("legs":[{"plain":true},{}])"), std::string::npos);
  expectRoundTrip(req(DestroyRequest{"c1"}));
  expectRoundTrip(req(QueryRequest{"c1"}));
  expectRoundTrip(req(PingRequest{}));
}

TEST(CodecRoundTrip, EveryResponse) {
  LegAllocation a{"203.0.113.9", 30000, 30001, std::nullopt};
  LegAllocation b{"::1", 30002, 30002,
                  Crypto{"AES_CM_128_HMAC_SHA1_32", std::string(kKey30), false}};
  expectRoundTrip(Response{"r-1", 1, CreateResponse{{a, b}}});
  expectRoundTrip(Response{"r-2", 1, UpdateResponse{{b, a}}});
  LegStats s{1000, 172000, 999, 171828, 3, 2500, 1, 0};
  LegStats big{UINT64_MAX, UINT64_MAX, 0, 0, 0, UINT32_MAX, 0, 2};
  expectRoundTrip(Response{"r-3", 1, DestroyResponse{{s, big}}});
  expectRoundTrip(Response{"r-4", 1, QueryResponse{{big, s}}});
  expectRoundTrip(Response{"r-5", 1, PongResponse{12, 40000}});
  expectRoundTrip(Response{"r-6", 1, Error{ErrorCode::kBadField, "legs[0].rtp.port", "range"}});
  expectRoundTrip(Response{"", 1, Error{ErrorCode::kBadJson, "", "syntax error"}});
  for (int c = 0; c <= static_cast<int>(ErrorCode::kInternal); ++c) {
    auto code = static_cast<ErrorCode>(c);
    EXPECT_EQ(errorCodeFromString(toString(code)), code);
  }
}

TEST(CodecWire, ErrorShapeIsStable) {
  EXPECT_EQ(
      encode(Response{"r9", 1, Error{ErrorCode::kUnknownSession, "", "no such call"}}),
      R"({"version":1,"id":"r9","error":{"code":"unknown_session","message":"no such call"}})");
  EXPECT_EQ(encode(Request{"p1", 1, PingRequest{}}), R"({"version":1,"id":"p1","verb":"ping"})");
}

// Replaces the first occurrence of `from` in the encoded sample create.
std::string mutated(std::string_view from, std::string_view to) {
  std::string line = encode(req(sampleCreate()));
  auto at = line.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) line.replace(at, from.size(), to);
  return line;
}

TEST(CodecValidation, EveryFieldFailureNamesTheField) {
  struct Case {
    std::string line;
    ErrorCode code;
    std::string field;
  } cases[] = {
      {mutated(R"("version":1)", R"("version":2)"), ErrorCode::kVersionUnsupported, "version"},
      {mutated(R"("version":1)", R"("version":"1")"), ErrorCode::kBadField, "version"},
      {mutated(R"("version":1,)", ""), ErrorCode::kBadField, "version"},
      {mutated(R"("id":"r-1")", R"("id":"")"), ErrorCode::kBadField, "id"},
      {mutated(R"("id":"r-1")", R"("id":7)"), ErrorCode::kBadField, "id"},
      {mutated(R"("id":"r-1")", "\"id\":\"" + std::string(65, 'i') + "\""), ErrorCode::kBadField,
       "id"},
      {mutated(R"("verb":"create")", R"("verb":"explode")"), ErrorCode::kUnknownVerb, "verb"},
      {mutated(R"("call_id":"a84b)", "\"call_id\":\"" + std::string(129, 'c')),
       ErrorCode::kBadField, "call_id"},
      {mutated(R"("call_id":"a84b)", R"("call_id":"a b)"), ErrorCode::kBadField, "call_id"},
      {mutated(R"("call_id":"a84b)", R"("call_id":"a\u0000b)"), ErrorCode::kBadField, "call_id"},
      {mutated(R"("realm":"inside")", R"("realm":"dmz")"), ErrorCode::kBadField, "legs[0].realm"},
      {mutated(R"("port":40000)", R"("port":0)"), ErrorCode::kBadField, "legs[0].rtp.port"},
      {mutated(R"("port":40000)", R"("port":65536)"), ErrorCode::kBadField, "legs[0].rtp.port"},
      {mutated(R"("port":40000)", R"("port":-1)"), ErrorCode::kBadField, "legs[0].rtp.port"},
      {mutated(R"("port":40000)", R"("port":4e4)"), ErrorCode::kBadField, "legs[0].rtp.port"},
      {mutated(R"("port":40001)", R"("port":true)"), ErrorCode::kBadField, "legs[0].rtcp.port"},
      {mutated(R"("address":"10.0.0.5")", R"("address":"pbx.example.com")"), ErrorCode::kBadField,
       "legs[0].rtp.address"},
      {mutated(R"("address":"2001:db8::7")", R"("address":"2001:db8::zz")"), ErrorCode::kBadField,
       "legs[1].rtp.address"},
      {mutated(R"("address":"10.0.0.5")", R"("address":"10.0.0.256")"), ErrorCode::kBadField,
       "legs[0].rtp.address"},
      {mutated(R"("rtcp_mux":false)", R"("rtcp_mux":0)"), ErrorCode::kBadField, "legs[0].rtcp_mux"},
      {mutated(R"({"pt":0,)", R"({"pt":128,)"), ErrorCode::kBadField,
       "legs[0].payload_types[0].pt"},
      {mutated(R"({"pt":8,)", R"({"pt":0,)"), ErrorCode::kBadField, "legs[0].payload_types[1].pt"},
      {mutated(R"("encoding":"PCMA")", R"("encoding":"")"), ErrorCode::kBadField,
       "legs[0].payload_types[1].encoding"},
      {mutated(R"("clock_rate":8000)", R"("clock_rate":0)"), ErrorCode::kBadField,
       "legs[0].payload_types[0].clock_rate"},
      {mutated(R"("telephone_event_pt":101)", R"("telephone_event_pt":300)"), ErrorCode::kBadField,
       "legs[0].telephone_event_pt"},
      {mutated(R"("direction":"sendrecv")", R"("direction":"both")"), ErrorCode::kBadField,
       "legs[0].direction"},
      {mutated(R"("media_timeout":30)", R"("media_timeout":86401)"), ErrorCode::kBadField,
       "legs[0].media_timeout"},
      {mutated(R"("suite":"AES_CM_128_HMAC_SHA1_80")", R"("suite":"NULL_HMAC_SHA1_80")"),
       ErrorCode::kBadField, "legs[1].crypto.suite"},
      {mutated(R"("suite":"AES_CM_128_HMAC_SHA1_80")", R"("suite":"AEAD_AES_128_GCM")"),
       ErrorCode::kBadField, "legs[1].crypto.key"},  // 30-byte key, suite needs 28
      {mutated(std::string(kKey30), std::string(kKey30.substr(0, 36)) + "!!!!"),
       ErrorCode::kBadField, "legs[1].crypto.key"},
      {mutated("\"key\":\"" + std::string(kKey30) + "\"", R"("generate":false)"),
       ErrorCode::kBadField, "legs[1].crypto.key"},
      {mutated(R"("key":)", R"("generate":true,"key":)"), ErrorCode::kBadField,
       "legs[1].crypto.key"},
      {mutated(R"("rtcp_mux":true)", R"("rtcp_mux":true,"rtcpmux":true)"), ErrorCode::kBadField,
       "legs[1].rtcpmux"},
      {mutated(R"("call_id")", R"("callid")"), ErrorCode::kBadField, "callid"},
      {R"({"version":1,"id":"x","verb":"create","call_id":"c","legs":[{"realm":"inside"}]})",
       ErrorCode::kBadField, "legs"},
      {R"({"version":1,"id":"x","verb":"create","call_id":"c","legs":[{"realm":"inside"},7]})",
       ErrorCode::kBadField, "legs[1]"},
      {R"({"version":1,"id":"x","verb":"create","call_id":"c","legs":[{"realm":"inside"},{}]})",
       ErrorCode::kBadField, "legs[1].realm"},
      {R"({"version":1,"id":"x","verb":"destroy"})", ErrorCode::kBadField, "call_id"},
      {R"({"version":1,"id":"x","verb":"update","call_id":"c","legs":[{"realm":"inside"},{}]})",
       ErrorCode::kBadField, "legs[0].realm"},  // a leg's realm never changes
  };
  for (const auto& c : cases) {
    auto r = decodeRequest(c.line);
    ASSERT_FALSE(r.ok()) << c.line;
    EXPECT_EQ(r.error().code, c.code) << c.line << " -> " << r.error().message;
    EXPECT_EQ(r.error().field, c.field) << c.line << " -> " << r.error().message;
  }
}

TEST(CodecValidation, PlainCannotGoWithCrypto) {
  const std::string line =
      R"({"version":1,"id":"u","verb":"update","call_id":"c","legs":[{"plain":true,)"
      R"("crypto":{"suite":"AES_CM_128_HMAC_SHA1_80","generate":true}},{}]})";
  auto r = decodeRequest(line);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kBadField);
  EXPECT_EQ(r.error().field, "legs[0].plain");
  auto s = decodeRequest(
      R"({"version":1,"id":"u","verb":"update","call_id":"c","legs":[{"plain":"yes"},{}]})");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().field, "legs[0].plain");
  // Not in create: a new leg is plain unless it has crypto.
  auto c = decodeRequest(
      R"({"version":1,"id":"u","verb":"create","call_id":"c","legs":[{"realm":"inside","plain":true},{"realm":"outside"}]})");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().field, "legs[0].plain");
}

TEST(CodecValidation, LatchModeOnlyInCreateAndOmittedWhenStrict) {
  CreateRequest c = sampleCreate();
  // strict is the default and stays off the wire: an older relay, which
  // refuses unknown fields, still takes every create that does not need it.
  EXPECT_EQ(encode(req(c)).find("latch"), std::string::npos);
  c.legs[0].latch = LatchMode::kWindowAny;
  EXPECT_NE(encode(req(c)).find(R"("latch":"window_any")"), std::string::npos);
  expectRoundTrip(req(c));
  auto bad = decodeRequest(
      R"({"version":1,"id":"u","verb":"create","call_id":"c","legs":[{"realm":"inside","latch":"any"},{"realm":"outside"}]})");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kBadField);
  EXPECT_EQ(bad.error().field, "legs[0].latch");
  auto upd = decodeRequest(
      R"({"version":1,"id":"u","verb":"update","call_id":"c","legs":[{},{"latch":"strict"}]})");
  ASSERT_FALSE(upd.ok());
  EXPECT_EQ(upd.error().field, "legs[1].latch");
}

TEST(CodecValidation, TooManyPayloadTypes) {
  CreateRequest c = sampleCreate();
  for (int i = 0; i < 33; ++i)
    c.legs[1].payloadTypes.push_back({static_cast<std::uint8_t>(i + 90), "X", 8000});
  auto r = decodeRequest(encode(req(c)));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().field, "legs[1].payload_types");
}

TEST(CodecHostile, NeverThrowsNeverAcceptsGarbage) {
  std::string deep(5000, '[');
  std::string deepObj;
  for (int i = 0; i < 100; ++i) deepObj += R"({"a":)";
  struct Case {
    std::string line;
    ErrorCode code;
  } cases[] = {
      {"", ErrorCode::kBadJson},
      {"{", ErrorCode::kBadJson},
      {mutated("}]}", ""), ErrorCode::kBadJson},  // truncated
      {"[]", ErrorCode::kBadJson},
      {"null", ErrorCode::kBadJson},
      {"\"create\"", ErrorCode::kBadJson},
      {deep, ErrorCode::kBadJson},
      {deepObj, ErrorCode::kBadJson},
      {std::string("{\"version\":1,\0\"id\":\"x\"}", 23), ErrorCode::kBadJson},
      {R"({"version":1,"id":"x","verb":"ping"} trailing)", ErrorCode::kBadJson},
      {R"({"version":1e400,"id":"x","verb":"ping"})", ErrorCode::kBadField},  // parsed as inf
      {R"({"version":99999999999999999999999999,"id":"x","verb":"ping"})", ErrorCode::kBadField},
      {R"({"version":1,"id":"x","verb":"ping","x":1})", ErrorCode::kBadField},
      {R"({"version":1,"id":"x","verb":["ping"]})", ErrorCode::kBadField},
      {R"({"version":-1,"id":"x","verb":"ping"})", ErrorCode::kBadField},
      {R"({"version":1.0,"id":"x","verb":"ping"})", ErrorCode::kBadField},
      {"\xff\xfe{}", ErrorCode::kBadJson},
      {R"({"version":1,"id":"\ud800","verb":"ping"})", ErrorCode::kBadJson},  // lone surrogate
      {std::string(1 << 20, ' '), ErrorCode::kTooLarge},
      {"{\"version\":1,\"id\":\"" + std::string(kMaxLineBytes, 'x') + "\"}", ErrorCode::kTooLarge},
  };
  for (const auto& c : cases) {
    Result<Request> r = Error{};
    EXPECT_NO_THROW(r = decodeRequest(c.line));
    ASSERT_FALSE(r.ok()) << c.line.substr(0, 80);
    EXPECT_EQ(r.error().code, c.code) << c.line.substr(0, 80) << " -> " << r.error().message;
    Result<Response> rr = Error{};
    EXPECT_NO_THROW(rr = decodeResponse(c.line));
    EXPECT_FALSE(rr.ok());
  }
}

TEST(CodecHostile, EveryPrefixOfAValidLineIsRejectedCleanly) {
  std::string line = encode(req(sampleCreate()));
  for (std::size_t n = 0; n < line.size(); ++n) {
    EXPECT_FALSE(decodeRequest(std::string_view(line).substr(0, n)).ok()) << n;
  }
}

TEST(CodecErrorResponse, EchoesTheIdWhenReadable) {
  std::string line = mutated(R"("port":40000)", R"("port":0)");
  auto r = decodeRequest(line);
  ASSERT_FALSE(r.ok());
  Response resp = errorResponse(line, r.error());
  EXPECT_EQ(resp.id, "r-1");
  EXPECT_EQ(
      encode(resp),
      R"({"version":1,"id":"r-1","error":{"code":"bad_field","message":"out of range 1..65535","field":"legs[0].rtp.port"}})");
  EXPECT_EQ(errorResponse("{garbage", Error{ErrorCode::kBadJson, "", "x"}).id, "");
}

TEST(CodecResponse, RejectsMalformedResults) {
  EXPECT_FALSE(
      decodeResponse(
          R"({"version":1,"id":"r","verb":"ping","result":{"sessions":-1,"ports_free":1}})")
          .ok());
  EXPECT_FALSE(
      decodeResponse(
          R"({"version":1,"id":null,"verb":"ping","result":{"sessions":1,"ports_free":1}})")
          .ok());
  EXPECT_FALSE(
      decodeResponse(R"({"version":1,"id":"r","error":{"code":"weird","message":""}})").ok());
  EXPECT_FALSE(
      decodeResponse(R"({"version":1,"id":"r","verb":"create","result":{"legs":[]}})").ok());
  auto bad = decodeResponse(
      R"({"version":1,"id":"r","verb":"create","result":{"legs":[{"local_address":"x","rtp_port":1,"rtcp_port":2},{"local_address":"::1","rtp_port":1,"rtcp_port":2}]}})");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().field, "result.legs[0].local_address");
}

TEST(CodecEvent, RoundTripAndWireShape) {
  Event ev{EventKind::kMediaTimeout, "abc@pbx", 1, LegStats{10, 1720, 9, 1548, 1, 250, 0, 1}};
  std::string line = encode(ev);
  EXPECT_EQ(
      line,
      R"({"version":1,"event":"media_timeout","call_id":"abc@pbx","leg":1,"stats":{"packets_in":10,"bytes_in":1720,"packets_out":9,"bytes_out":1548,"lost":1,"jitter_us":250,"srtp_auth_failures":0,"rtp_timeouts":1}})");
  auto back = decodeEvent(line);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back.value(), ev);
  Event expired{EventKind::kSessionExpired, "x", 0, {}};
  auto back2 = decodeEvent(encode(expired));
  ASSERT_TRUE(back2.ok());
  EXPECT_EQ(back2.value(), expired);
}

TEST(CodecEvent, TellsEventsFromResponses) {
  EXPECT_TRUE(isEventLine(encode(Event{EventKind::kMediaTimeout, "c", 0, {}})));
  EXPECT_TRUE(isEventLine(R"({ "version":1, "event" : "session_expired"})"));
  EXPECT_FALSE(isEventLine(encode(Response{"r-5", 1, PongResponse{1, 2}})));
  EXPECT_FALSE(isEventLine(
      encode(Response{"r", 1, Error{ErrorCode::kUnknownSession, "", R"(no "event": here)"}})));
  EXPECT_FALSE(isEventLine(R"({"version":1,"id":"event","verb":"ping"})"));
  EXPECT_FALSE(isEventLine(""));
  // A response is never decoded as an event, nor an event as a response.
  EXPECT_FALSE(decodeEvent(encode(Response{"r-5", 1, PongResponse{1, 2}})).ok());
  EXPECT_FALSE(decodeResponse(encode(Event{EventKind::kMediaTimeout, "c", 0, {}})).ok());
}

TEST(CodecEvent, StrictDecoding) {
  const std::string stats =
      R"("stats":{"packets_in":0,"bytes_in":0,"packets_out":0,"bytes_out":0,"lost":0,"jitter_us":0,"srtp_auth_failures":0,"rtp_timeouts":0})";
  struct Case {
    std::string line;
    ErrorCode code;
    std::string field;
  } cases[] = {
      {R"({"version":1,"event":"nope","call_id":"c","leg":0,)" + stats + "}", ErrorCode::kBadField,
       "event"},
      {R"({"version":1,"event":"media_timeout","call_id":"c","leg":2,)" + stats + "}",
       ErrorCode::kBadField, "leg"},
      {R"({"version":1,"event":"media_timeout","leg":0,)" + stats + "}", ErrorCode::kBadField,
       "call_id"},
      {R"({"version":1,"event":"media_timeout","call_id":"c","leg":0})", ErrorCode::kBadField,
       "stats"},
      {R"({"version":1,"event":"media_timeout","call_id":"c","leg":0,"id":"x",)" + stats + "}",
       ErrorCode::kBadField, "id"},
      {R"({"version":1,"event":"media_timeout","call_id":"c","leg":0,"stats":{"lost":1}})",
       ErrorCode::kBadField, "stats.packets_in"},
      {R"({"version":2,"event":"media_timeout","call_id":"c","leg":0,)" + stats + "}",
       ErrorCode::kVersionUnsupported, "version"},
      {"{\"event\"", ErrorCode::kBadJson, ""},
  };
  for (const auto& c : cases) {
    auto r = decodeEvent(c.line);
    ASSERT_FALSE(r.ok()) << c.line;
    EXPECT_EQ(r.error().code, c.code) << c.line;
    EXPECT_EQ(r.error().field, c.field) << c.line;
  }
}

}  // namespace
}  // namespace sbc::relayctl

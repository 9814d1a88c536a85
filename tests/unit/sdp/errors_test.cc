// Malformed input: every case is an Error naming the line, never a crash; and the
// lenient mode accepting what broken devices send.
#include <gtest/gtest.h>

#include <string>

#include "sbc/sdp/sdp.h"
#include "tests/unit/sdp/samples.h"

namespace sbc::sdp {
namespace {

using samples::crlf;

constexpr std::string_view kHead =
    "v=0\n"
    "o=- 1 1 IN IP4 192.0.2.1\n"
    "s=-\n"
    "c=IN IP4 192.0.2.1\n"
    "t=0 0\n";

std::string withMedia(std::string_view mediaLines) {
  return crlf(std::string(kHead) + "m=audio 4000 RTP/AVP 0\n" + std::string(mediaLines));
}

struct BadCase {
  const char* name;
  std::string text;
  ErrorCode code;
  std::uint32_t line;
  bool lenientAccepts;
};

class SdpMalformed : public ::testing::TestWithParam<BadCase> {};

TEST_P(SdpMalformed, YieldsErrorWithLine) {
  const BadCase& c = GetParam();
  const auto strict = parse(c.text);
  ASSERT_FALSE(strict.ok()) << c.name;
  EXPECT_EQ(strict.error().code, c.code) << c.name << ": " << strict.error().toString();
  EXPECT_EQ(strict.error().line, c.line) << c.name;
  EXPECT_FALSE(strict.error().message().empty());

  const auto lenient = parse(c.text, kLenient);
  EXPECT_EQ(lenient.ok(), c.lenientAccepts) << c.name << ": " << lenient.error().toString();
  if (lenient.ok()) {
    // Whatever lenient mode lets in must serialize to something it accepts again.
    const auto again = parse(lenient->serialize(), kLenient);
    ASSERT_TRUE(again.ok()) << c.name;
    EXPECT_EQ(*again, *lenient) << c.name;
  }
}

std::string replaceOnce(std::string s, std::string_view from, std::string_view to) {
  s.replace(s.find(from), from.size(), to);
  return s;
}

const std::string kGood = withMedia("a=rtpmap:0 PCMU/8000\n");

INSTANTIATE_TEST_SUITE_P(
    Cases, SdpMalformed,
    ::testing::Values(
        BadCase{"empty", "", ErrorCode::kEmpty, 0, false},
        BadCase{"only blank lines", "\r\n\r\n", ErrorCode::kEmpty, 1, false},
        BadCase{"first line not v", crlf("o=- 1 1 IN IP4 192.0.2.1\nv=0\n"),
                ErrorCode::kMissingVersion, 1, false},
        BadCase{"media before v", crlf("m=audio 1 RTP/AVP 0\n"), ErrorCode::kMissingVersion, 1,
                false},
        BadCase{"version 1", replaceOnce(kGood, "v=0", "v=1"), ErrorCode::kBadVersion, 1, false},
        BadCase{"no origin", crlf("v=0\ns=-\n"), ErrorCode::kMissingOrigin, 2, false},
        BadCase{"origin alone", crlf("v=0\n"), ErrorCode::kMissingOrigin, 1, false},
        BadCase{"origin five fields", replaceOnce(kGood, "o=- 1 1", "o=- 1"), ErrorCode::kBadOrigin,
                2, false},
        BadCase{"origin double space", replaceOnce(kGood, "o=- 1 1", "o=-  1 1"),
                ErrorCode::kBadOrigin, 2, false},
        BadCase{"origin bad address",
                replaceOnce(kGood, "IN IP4 192.0.2.1\r\ns", "IN IP4 1.2.3\r\ns"),
                ErrorCode::kBadOrigin, 2, false},
        BadCase{"origin non-numeric version", replaceOnce(kGood, "o=- 1 1", "o=- 1 v1"),
                ErrorCode::kBadOrigin, 2, true},
        BadCase{"no session name", replaceOnce(kGood, "s=-\r\n", ""),
                ErrorCode::kMissingSessionName, 3, true},
        BadCase{"empty session name", replaceOnce(kGood, "s=-", "s="), ErrorCode::kEmptyValue, 3,
                true},
        BadCase{"no timing", replaceOnce(kGood, "t=0 0\r\n", ""), ErrorCode::kMissingTiming, 5,
                true},
        BadCase{"bad timing", replaceOnce(kGood, "t=0 0", "t=0"), ErrorCode::kBadTiming, 5, true},
        BadCase{"repeat without timing",
                replaceOnce(kGood, "c=IN IP4 192.0.2.1\r\n", "c=IN IP4 192.0.2.1\r\nr=1d 1h 0\r\n"),
                ErrorCode::kMisplacedLine, 5, true},
        BadCase{"bad repeat", replaceOnce(kGood, "t=0 0", "t=0 0\r\nr=1d"), ErrorCode::kBadRepeat,
                6, true},
        BadCase{"bad time zone", replaceOnce(kGood, "t=0 0", "t=0 0\r\nz=123"),
                ErrorCode::kBadTimeZone, 6, true},
        BadCase{"not a line", replaceOnce(kGood, "s=-", "hello"), ErrorCode::kBadLine, 3, false},
        BadCase{"upper-case type", replaceOnce(kGood, "s=-", "S=-"), ErrorCode::kBadLine, 3, false},
        BadCase{"space before =", replaceOnce(kGood, "s=-", "s =-"), ErrorCode::kBadLine, 3, false},
        BadCase{"NUL byte", replaceOnce(kGood, "s=-", std::string("s=a\0b", 5)),
                ErrorCode::kBadCharacter, 3, false},
        BadCase{"stray CR", replaceOnce(kGood, "s=-", "s=a\rb"), ErrorCode::kBadCharacter, 3,
                false},
        BadCase{"blank line inside", replaceOnce(kGood, "t=0 0\r\n", "t=0 0\r\n\r\n"),
                ErrorCode::kEmptyLine, 6, true},
        BadCase{"connection without address", replaceOnce(kGood, "c=IN IP4 192.0.2.1", "c=IN IP4"),
                ErrorCode::kBadConnection, 4, false},
        BadCase{"connection bad IPv4",
                replaceOnce(kGood, "c=IN IP4 192.0.2.1", "c=IN IP4 300.0.0.1"),
                ErrorCode::kBadConnection, 4, false},
        BadCase{"connection IPv6 with ttl",
                replaceOnce(kGood, "c=IN IP4 192.0.2.1", "c=IN IP6 ff15::1/3/2"),
                ErrorCode::kBadConnection, 4, false},
        BadCase{"connection with junk", replaceOnce(kGood, "c=IN IP4 192.0.2.1", "c=IN IP4 a;b"),
                ErrorCode::kBadConnection, 4, false},
        BadCase{"no connection anywhere", replaceOnce(kGood, "c=IN IP4 192.0.2.1\r\n", ""),
                ErrorCode::kMissingConnection, 5, true},
        BadCase{
            "duplicate session connection",
            replaceOnce(kGood, "c=IN IP4 192.0.2.1", "c=IN IP4 192.0.2.1\r\nc=IN IP4 192.0.2.2"),
            ErrorCode::kDuplicateLine, 5, true},
        BadCase{"duplicate session name", replaceOnce(kGood, "s=-", "s=-\r\ns=again"),
                ErrorCode::kDuplicateLine, 4, true},
        BadCase{"attribute before connection",
                replaceOnce(kGood, "c=IN IP4 192.0.2.1", "a=tool:x\r\nc=IN IP4 192.0.2.1"),
                ErrorCode::kMisplacedLine, 5, true},
        BadCase{"timing inside media", withMedia("t=0 0\n"), ErrorCode::kMisplacedLine, 7, true},
        BadCase{"media c= after a=", withMedia("a=rtpmap:0 PCMU/8000\nc=IN IP4 192.0.2.3\n"),
                ErrorCode::kMisplacedLine, 8, true},
        BadCase{"bad bandwidth", withMedia("b=AS:lots\n"), ErrorCode::kBadBandwidth, 7, true},
        BadCase{"media port too big", replaceOnce(kGood, "audio 4000", "audio 70000"),
                ErrorCode::kBadMedia, 6, false},
        BadCase{"media without port", replaceOnce(kGood, "audio 4000 ", "audio "),
                ErrorCode::kBadMedia, 6, false},
        BadCase{"media without formats", replaceOnce(kGood, "RTP/AVP 0", "RTP/AVP"),
                ErrorCode::kBadMedia, 6, true},
        BadCase{"RTP payload type 128", replaceOnce(kGood, "RTP/AVP 0", "RTP/AVP 128"),
                ErrorCode::kBadMedia, 6, true},
        BadCase{"media zero port count", replaceOnce(kGood, "audio 4000", "audio 4000/0"),
                ErrorCode::kBadMedia, 6, false},
        BadCase{"rtpmap without clock", withMedia("a=rtpmap:0 PCMU\n"), ErrorCode::kBadRtpmap, 7,
                true},
        BadCase{"rtpmap pt 200", withMedia("a=rtpmap:200 X/8000\n"), ErrorCode::kBadRtpmap, 7,
                true},
        BadCase{"rtpmap without value", withMedia("a=rtpmap\n"), ErrorCode::kBadRtpmap, 7, true},
        BadCase{"fmtp without params", withMedia("a=fmtp:101\n"), ErrorCode::kBadFmtp, 7, true},
        BadCase{"ptime not a number", withMedia("a=ptime:fast\n"), ErrorCode::kBadPtime, 7, true},
        BadCase{"crypto empty key", withMedia("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:\n"),
                ErrorCode::kBadCrypto, 7, true},
        BadCase{"crypto bad tag", withMedia("a=crypto:x AES_CM_128_HMAC_SHA1_80 inline:QUJD\n"),
                ErrorCode::kBadCrypto, 7, true},
        BadCase{"crypto MKI before lifetime",
                withMedia("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:QUJD|1:4|2^20\n"),
                ErrorCode::kBadCrypto, 7, true},
        BadCase{"crypto no key params", withMedia("a=crypto:1 AES_CM_128_HMAC_SHA1_80\n"),
                ErrorCode::kBadCrypto, 7, true},
        BadCase{"rtcp bad port", withMedia("a=rtcp:abc\n"), ErrorCode::kBadRtcp, 7, true},
        BadCase{"rtcp partial address", withMedia("a=rtcp:4001 IN IP4\n"), ErrorCode::kBadRtcp, 7,
                true},
        BadCase{"flag with value", withMedia("a=sendrecv:yes\n"), ErrorCode::kBadAttribute, 7,
                true},
        BadCase{"rtcp-mux with value", withMedia("a=rtcp-mux:1\n"), ErrorCode::kBadAttribute, 7,
                true},
        BadCase{"attribute name with space", withMedia("a=foo bar\n"), ErrorCode::kBadAttribute, 7,
                true},
        BadCase{"attribute empty value", withMedia("a=mid:\n"), ErrorCode::kBadAttribute, 7, true},
        BadCase{"trailing space on flag", withMedia("a=sendrecv \n"), ErrorCode::kBadAttribute, 7,
                true},
        BadCase{"bad ice-ufrag", withMedia("a=ice-ufrag:no_underscores\n"), ErrorCode::kBadIce, 7,
                true},
        BadCase{"bad candidate", withMedia("a=candidate:1 1 udp 1 192.0.2.1 9 host\n"),
                ErrorCode::kBadCandidate, 7, true},
        BadCase{"bad fingerprint", withMedia("a=fingerprint:sha-256 AB:C\n"),
                ErrorCode::kBadFingerprint, 7, true},
        BadCase{"bad setup", withMedia("a=setup:sometimes\n"), ErrorCode::kBadSetup, 7, true},
        BadCase{"bad mid", withMedia("a=mid:a b\n"), ErrorCode::kBadMid, 7, true},
        BadCase{"bad ssrc", withMedia("a=ssrc:abc cname:x\n"), ErrorCode::kBadSsrc, 7, true},
        BadCase{"unknown type empty", withMedia("x=\n"), ErrorCode::kEmptyValue, 7, true}),
    [](const ::testing::TestParamInfo<BadCase>& info) {
      std::string name = info.param.name;
      for (char& c : name) {
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
      }
      return name;
    });

TEST(SdpLimits, BoundedWork) {
  const std::string good = withMedia("a=rtpmap:0 PCMU/8000\n");
  ParseOptions o;
  o.maxBytes = good.size() - 1;
  EXPECT_EQ(parse(good, o).error().code, ErrorCode::kTooLarge);

  o = {};
  o.maxLines = 6;
  EXPECT_EQ(parse(good, o).error(), (Error{ErrorCode::kTooManyLines, 7}));

  o = {};
  o.maxLineLength = 20;
  EXPECT_EQ(parse(good, o).error(), (Error{ErrorCode::kLineTooLong, 2}));

  std::string many(kHead);
  for (int i = 0; i < 5; ++i) many += "m=audio 4000 RTP/AVP 0\n";
  o = {};
  o.maxMedia = 4;
  EXPECT_EQ(parse(crlf(many), o).error(), (Error{ErrorCode::kTooManyMedia, 10}));
  EXPECT_TRUE(parse(crlf(many)).ok());

  // The defaults stop a megabyte of attributes before any work is done.
  std::string huge(kHead);
  while (huge.size() < (1 << 20)) huge += "m=audio 4000 RTP/AVP 0\na=x-filler\n";
  EXPECT_EQ(parse(huge).error().code, ErrorCode::kTooLarge);
}

TEST(SdpErrors, ToStringNamesLine) {
  const auto r = parse(withMedia("a=rtpmap:0 PCMU\n"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().toString(), "line 7: malformed a=rtpmap");
}

TEST(SdpLenient, BrokenPbxWithoutSessionNameAndTiming) {
  // Seen from old gateways: no s=, no t=, trailing spaces, a malformed rtpmap.
  const std::string text = crlf(
      "v=0\n"
      "o=gw 1 1 IN IP4 192.0.2.7\n"
      "c=IN IP4 192.0.2.7 \n"
      "m=audio 6000 RTP/AVP 0 18\n"
      "a=rtpmap:0 PCMU/8000\n"
      "a=rtpmap:18 G729\n"
      "a=sendonly  \n");
  EXPECT_EQ(parse(text).error().code, ErrorCode::kMissingSessionName);

  auto r = parse(text, kLenient);
  ASSERT_TRUE(r.ok()) << r.error().toString();
  SessionDescription& sdp = *r;
  EXPECT_FALSE(sdp.sessionName());
  EXPECT_FALSE(sdp.timing());
  EXPECT_EQ(sdp.connection()->address, "192.0.2.7");  // trailing space trimmed
  const MediaDescription& audio = sdp.media()[0];
  EXPECT_EQ(audio.rtpmaps().size(), 1U);  // the malformed one is kept but not typed
  EXPECT_FALSE(audio.rtpmap(18));
  EXPECT_EQ(audio.attribute("rtpmap").value(), "0 PCMU/8000");
  EXPECT_EQ(audio.direction(), Direction::kSendOnly);
  EXPECT_TRUE(sdp.isHold());

  // What we forward is repaired to RFC 8866: s= and t= added where they belong.
  sdp.ensureMandatoryLines();
  EXPECT_EQ(sdp.serialize(), crlf("v=0\n"
                                  "o=gw 1 1 IN IP4 192.0.2.7\n"
                                  "s=-\n"
                                  "c=IN IP4 192.0.2.7\n"
                                  "t=0 0\n"
                                  "m=audio 6000 RTP/AVP 0 18\n"
                                  "a=rtpmap:0 PCMU/8000\n"
                                  "a=rtpmap:18 G729\n"
                                  "a=sendonly\n"));
  // Still not strict (the rtpmap is broken), but lenient re-parse gives the same.
  EXPECT_EQ(parse(sdp.serialize()).error().code, ErrorCode::kBadRtpmap);
  EXPECT_EQ(*parse(sdp.serialize(), kLenient), sdp);
}

TEST(SdpLenient, OutOfOrderLinesKeptInPlace) {
  const std::string text = crlf(
      "v=0\n"
      "o=- 1 1 IN IP4 192.0.2.1\n"
      "s=-\n"
      "a=tool:x\n"
      "t=0 0\n"
      "c=IN IP4 192.0.2.1\n"
      "m=audio 4000 RTP/AVP 0\n"
      "a=ptime:20\n"
      "c=IN IP4 192.0.2.2\n");
  EXPECT_EQ(parse(text).error(), (Error{ErrorCode::kMisplacedLine, 5}));
  const auto r = parse(text, kLenient);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->serialize(), text);
  EXPECT_EQ(r->media()[0].connection()->address, "192.0.2.2");
}

}  // namespace
}  // namespace sbc::sdp

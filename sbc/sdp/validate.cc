#include "sbc/sdp/validate.h"

#include <array>

#include "sbc/sdp/fields.h"
#include "sbc/sdp/lex.h"

namespace sbc::sdp::detail {

namespace {

enum class AttrKind : std::uint8_t {
  kOther,
  kFlag,
  kRtpmap,
  kFmtp,
  kPtime,
  kCrypto,
  kRtcp,
  kIceCredential,
  kCandidate,
  kFingerprint,
  kSetup,
  kMid,
  kSsrc,
};

struct KnownAttribute {
  std::string_view name;
  AttrKind kind;
  ErrorCode error;
};

constexpr std::array kKnownAttributes = {
    KnownAttribute{"rtpmap", AttrKind::kRtpmap, ErrorCode::kBadRtpmap},
    KnownAttribute{"fmtp", AttrKind::kFmtp, ErrorCode::kBadFmtp},
    KnownAttribute{"ptime", AttrKind::kPtime, ErrorCode::kBadPtime},
    KnownAttribute{"maxptime", AttrKind::kPtime, ErrorCode::kBadPtime},
    KnownAttribute{"sendrecv", AttrKind::kFlag, ErrorCode::kBadAttribute},
    KnownAttribute{"sendonly", AttrKind::kFlag, ErrorCode::kBadAttribute},
    KnownAttribute{"recvonly", AttrKind::kFlag, ErrorCode::kBadAttribute},
    KnownAttribute{"inactive", AttrKind::kFlag, ErrorCode::kBadAttribute},
    KnownAttribute{"crypto", AttrKind::kCrypto, ErrorCode::kBadCrypto},
    KnownAttribute{"rtcp", AttrKind::kRtcp, ErrorCode::kBadRtcp},
    KnownAttribute{"rtcp-mux", AttrKind::kFlag, ErrorCode::kBadAttribute},
    KnownAttribute{"ice-ufrag", AttrKind::kIceCredential, ErrorCode::kBadIce},
    KnownAttribute{"ice-pwd", AttrKind::kIceCredential, ErrorCode::kBadIce},
    KnownAttribute{"ice-lite", AttrKind::kFlag, ErrorCode::kBadAttribute},
    KnownAttribute{"candidate", AttrKind::kCandidate, ErrorCode::kBadCandidate},
    KnownAttribute{"end-of-candidates", AttrKind::kFlag, ErrorCode::kBadAttribute},
    KnownAttribute{"fingerprint", AttrKind::kFingerprint, ErrorCode::kBadFingerprint},
    KnownAttribute{"setup", AttrKind::kSetup, ErrorCode::kBadSetup},
    KnownAttribute{"mid", AttrKind::kMid, ErrorCode::kBadMid},
    KnownAttribute{"ssrc", AttrKind::kSsrc, ErrorCode::kBadSsrc},
};

const KnownAttribute* findKnown(std::string_view name) {
  if (name.size() < 3) return nullptr;
  // Every a= line comes through here: compare only names with the same first letter.
  const char first = toLower(name[0]);
  for (const KnownAttribute& k : kKnownAttributes) {
    if (k.name[0] == first && iequals(k.name, name)) return &k;
  }
  return nullptr;
}

bool isTypedTime(std::string_view s) {
  if (!s.empty() && (s.back() == 'd' || s.back() == 'h' || s.back() == 'm' || s.back() == 's')) {
    s.remove_suffix(1);
  }
  return isDigits(s) && s.size() <= 20;
}

}  // namespace

AttributeParts splitAttribute(std::string_view text) {
  const std::size_t colon = indexOf(text, ':');
  if (colon == std::string_view::npos) return {text, {}, false};
  return {text.substr(0, colon), text.substr(colon + 1), true};
}

int rankOf(Level level, char type) {
  if (level == Level::kSession) {
    switch (type) {
      case 'v':
        return 0;
      case 'o':
        return 1;
      case 's':
        return 2;
      case 'i':
        return 3;
      case 'u':
        return 4;
      case 'e':
        return 5;
      case 'p':
        return 6;
      case 'c':
        return 7;
      case 'b':
        return 8;
      case 't':
      case 'r':
        return 9;
      case 'z':
        return 10;
      case 'k':
        return 11;
      case 'a':
        return 12;
      default:
        return -1;
    }
  }
  switch (type) {
    case 'm':
      return 0;
    case 'i':
      return 1;
    case 'c':
      return 2;
    case 'b':
      return 3;
    case 'k':
      return 4;
    case 'a':
      return 5;
    default:
      return -1;
  }
}

bool isValidRepeat(std::string_view value) {
  FieldReader r(value);
  std::string_view f;
  int n = 0;
  while (r.next(f)) {
    if (!isTypedTime(f)) return false;
    ++n;
  }
  return n >= 3;
}

bool isValidTimeZones(std::string_view value) {
  FieldReader r(value);
  std::string_view adjustment, offset;
  int pairs = 0;
  while (r.next(adjustment)) {
    if (!isDigits(adjustment) || adjustment.size() > 20 || !r.next(offset)) return false;
    if (!offset.empty() && offset.front() == '-') offset.remove_prefix(1);
    if (!isTypedTime(offset)) return false;
    ++pairs;
  }
  return pairs >= 1;
}

ErrorCode checkAttribute(std::string_view text) {
  const AttributeParts a = splitAttribute(text);
  if (!isToken(a.name) || (a.hasValue && a.value.empty())) return ErrorCode::kBadAttribute;
  const KnownAttribute* known = findKnown(a.name);
  if (known == nullptr) return ErrorCode::kNone;
  if (known->kind == AttrKind::kFlag) return a.hasValue ? known->error : ErrorCode::kNone;
  if (!a.hasValue) return known->error;
  bool ok = false;
  switch (known->kind) {
    case AttrKind::kRtpmap:
      ok = parseRtpMap(a.value).has_value();
      break;
    case AttrKind::kFmtp:
      ok = parseFmtp(a.value).has_value();
      break;
    case AttrKind::kPtime:
      ok = parsePtime(a.value).has_value();
      break;
    case AttrKind::kCrypto:
      ok = isValidCrypto(a.value);
      break;
    case AttrKind::kRtcp:
      ok = parseRtcp(a.value).has_value();
      break;
    case AttrKind::kIceCredential:
      ok = isValidIceCredential(a.value);
      break;
    case AttrKind::kCandidate:
      ok = parseCandidate(a.value).has_value();
      break;
    case AttrKind::kFingerprint:
      ok = parseFingerprint(a.value).has_value();
      break;
    case AttrKind::kSetup:
      ok = parseSetup(a.value).has_value();
      break;
    case AttrKind::kMid:
      ok = isToken(a.value);
      break;
    case AttrKind::kSsrc:
      ok = parseSsrc(a.value).has_value();
      break;
    case AttrKind::kFlag:
    case AttrKind::kOther:
      ok = true;
      break;
  }
  return ok ? ErrorCode::kNone : known->error;
}

ErrorCode checkLineValue(char type, std::string_view value) {
  if (value.empty()) return type == 'v' ? ErrorCode::kBadVersion : ErrorCode::kEmptyValue;
  switch (type) {
    case 'v':
      return value == "0" ? ErrorCode::kNone : ErrorCode::kBadVersion;
    case 'o': {
      const auto o = parseOrigin(value);
      return (o && isDigits(o->sessionId) && isDigits(o->sessionVersion)) ? ErrorCode::kNone
                                                                          : ErrorCode::kBadOrigin;
    }
    case 'c':
      return parseConnection(value) ? ErrorCode::kNone : ErrorCode::kBadConnection;
    case 'b':
      return parseBandwidth(value) ? ErrorCode::kNone : ErrorCode::kBadBandwidth;
    case 't':
      return parseTiming(value) ? ErrorCode::kNone : ErrorCode::kBadTiming;
    case 'r':
      return isValidRepeat(value) ? ErrorCode::kNone : ErrorCode::kBadRepeat;
    case 'z':
      return isValidTimeZones(value) ? ErrorCode::kNone : ErrorCode::kBadTimeZone;
    case 'm':
      return parseMediaLine(value, true) ? ErrorCode::kNone : ErrorCode::kBadMedia;
    case 'a':
      return checkAttribute(value);
    default:
      return ErrorCode::kNone;  // s i u e p k and unknown letters: any non-empty text
  }
}

}  // namespace sbc::sdp::detail

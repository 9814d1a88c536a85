#include "sbc/sdp/result.h"

namespace sbc::sdp {

std::string_view describe(ErrorCode code) {
  switch (code) {
    case ErrorCode::kNone:
      return "no error";
    case ErrorCode::kTooLarge:
      return "SDP larger than the configured limit";
    case ErrorCode::kTooManyLines:
      return "too many lines";
    case ErrorCode::kLineTooLong:
      return "line longer than the configured limit";
    case ErrorCode::kTooManyMedia:
      return "too many m= lines";
    case ErrorCode::kEmpty:
      return "empty SDP";
    case ErrorCode::kBadLine:
      return "line is not <letter>=<value>";
    case ErrorCode::kBadCharacter:
      return "NUL or stray CR in line";
    case ErrorCode::kEmptyLine:
      return "blank line inside the SDP";
    case ErrorCode::kEmptyValue:
      return "line has an empty value";
    case ErrorCode::kMissingVersion:
      return "first line is not v=";
    case ErrorCode::kBadVersion:
      return "v= is not 0";
    case ErrorCode::kMissingOrigin:
      return "second line is not o=";
    case ErrorCode::kBadOrigin:
      return "malformed o= line";
    case ErrorCode::kMissingSessionName:
      return "third line is not s=";
    case ErrorCode::kMissingTiming:
      return "no t= line";
    case ErrorCode::kBadTiming:
      return "malformed t= line";
    case ErrorCode::kBadRepeat:
      return "malformed r= line";
    case ErrorCode::kBadTimeZone:
      return "malformed z= line";
    case ErrorCode::kMisplacedLine:
      return "line out of order or not allowed here";
    case ErrorCode::kDuplicateLine:
      return "line may appear only once here";
    case ErrorCode::kBadConnection:
      return "malformed c= line";
    case ErrorCode::kMissingConnection:
      return "media has no c= and there is no session c=";
    case ErrorCode::kBadBandwidth:
      return "malformed b= line";
    case ErrorCode::kBadMedia:
      return "malformed m= line";
    case ErrorCode::kBadAttribute:
      return "malformed a= line";
    case ErrorCode::kBadRtpmap:
      return "malformed a=rtpmap";
    case ErrorCode::kBadFmtp:
      return "malformed a=fmtp";
    case ErrorCode::kBadPtime:
      return "malformed a=ptime or a=maxptime";
    case ErrorCode::kBadCrypto:
      return "malformed a=crypto";
    case ErrorCode::kBadRtcp:
      return "malformed a=rtcp";
    case ErrorCode::kBadIce:
      return "malformed a=ice-ufrag or a=ice-pwd";
    case ErrorCode::kBadCandidate:
      return "malformed a=candidate";
    case ErrorCode::kBadFingerprint:
      return "malformed a=fingerprint";
    case ErrorCode::kBadSetup:
      return "malformed a=setup";
    case ErrorCode::kBadMid:
      return "malformed a=mid";
    case ErrorCode::kBadSsrc:
      return "malformed a=ssrc";
  }
  return "unknown error";
}

std::string Error::toString() const {
  std::string out;
  if (line != 0) out.append("line ").append(std::to_string(line)).append(": ");
  out.append(describe(code));
  return out;
}

}  // namespace sbc::sdp

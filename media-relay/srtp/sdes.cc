#include "media-relay/srtp/sdes.h"

#include <openssl/rand.h>

#include <charconv>

#include "common/relayctl/base64.h"

namespace relay::srtp {
namespace {

constexpr std::uint64_t kMaxLifetime = std::uint64_t{1} << 48;

std::optional<std::uint64_t> parseLifetime(std::string_view text) {
  std::uint64_t value = 0;
  if (text.starts_with("2^")) {
    std::string_view exp = text.substr(2);
    unsigned n = 0;
    auto [p, ec] = std::from_chars(exp.data(), exp.data() + exp.size(), n);
    if (ec != std::errc{} || p != exp.data() + exp.size() || exp.empty() || n > 48) {
      return std::nullopt;
    }
    value = std::uint64_t{1} << n;
  } else {
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || p != text.data() + text.size() || text.empty()) return std::nullopt;
  }
  if (value == 0 || value > kMaxLifetime) return std::nullopt;
  return value;
}

}  // namespace

std::string_view describe(SdesError error) {
  switch (error) {
    case SdesError::kNone:
      return "ok";
    case SdesError::kBadMethod:
      return "key method is not inline:";
    case SdesError::kBadBase64:
      return "key material is not valid base64";
    case SdesError::kBadKeyLength:
      return "key material length does not match the suite";
    case SdesError::kBadLifetime:
      return "bad key lifetime";
    case SdesError::kMkiUnsupported:
      return "MKI is not supported";
    case SdesError::kTooManyFields:
      return "unexpected field after lifetime/MKI";
  }
  return "unknown";
}

SdesResult parseKeyParams(const Suite& suite, std::string_view keyParams) {
  SdesResult r;
  constexpr std::string_view kInline = "inline:";
  if (!keyParams.starts_with(kInline)) {
    r.error = SdesError::kBadMethod;
    return r;
  }
  std::string_view rest = keyParams.substr(kInline.size());
  auto bar = rest.find('|');
  std::string_view b64 = rest.substr(0, bar);
  auto decoded = sbc::relayctl::base64Decode(b64, r.params.key.bytes);
  if (!decoded) {
    // Distinguish "right alphabet, wrong size" from garbage: the size check is
    // the common interop failure (a suite mismatch) and deserves its own code.
    r.error =
        sbc::relayctl::base64DecodedLength(b64) ? SdesError::kBadKeyLength : SdesError::kBadBase64;
    return r;
  }
  if (*decoded != suite.masterLength()) {
    r.error = SdesError::kBadKeyLength;
    return r;
  }
  r.params.key.length = static_cast<std::uint8_t>(*decoded);
  int fields = 0;
  while (bar != std::string_view::npos) {
    rest = rest.substr(bar + 1);
    bar = rest.find('|');
    std::string_view field = rest.substr(0, bar);
    if (field.find(':') != std::string_view::npos) {
      r.error = SdesError::kMkiUnsupported;
      return r;
    }
    if (++fields > 1 || r.params.lifetime) {
      r.error = SdesError::kTooManyFields;
      return r;
    }
    r.params.lifetime = parseLifetime(field);
    if (!r.params.lifetime) {
      r.error = SdesError::kBadLifetime;
      return r;
    }
  }
  return r;
}

std::string formatKeyParams(const MasterKey& key) {
  return "inline:" + sbc::relayctl::base64Encode(key.view());
}

std::optional<MasterKey> generateMasterKey(const Suite& suite) {
  MasterKey key;
  key.length = static_cast<std::uint8_t>(suite.masterLength());
  if (RAND_bytes(key.bytes.data(), key.length) != 1) return std::nullopt;
  return key;
}

}  // namespace relay::srtp

#include "media-relay/srtp/context.h"

#include <srtp2/srtp.h>

#include <array>
#include <climits>
#include <mutex>
#include <new>

#include "media-relay/srtp/openssl_backend.h"

namespace relay::srtp {
namespace {

using PolicySetter = void (*)(srtp_crypto_policy_t*);

// libsrtp policy per suite (the *_sha1_80 setter is a macro for the defaults), indexed by SuiteId
// (same order as the suite table).
struct Policies {
  PolicySetter rtp;
  PolicySetter rtcp;
};
constexpr std::array<Policies, 4> kPolicies{{
    {srtp_crypto_policy_set_rtp_default, srtp_crypto_policy_set_rtcp_default},
    {srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32, srtp_crypto_policy_set_rtcp_default},
    {srtp_crypto_policy_set_aes_gcm_128_16_auth, srtp_crypto_policy_set_aes_gcm_128_16_auth},
    {srtp_crypto_policy_set_aes_gcm_256_16_auth, srtp_crypto_policy_set_aes_gcm_256_16_auth},
}};

constexpr std::size_t kRtpHeader = 12;
constexpr std::size_t kRtcpHeader = 8;
constexpr std::size_t kSrtcpIndex = 4;

Status fromLibsrtp(srtp_err_status_t s) {
  switch (s) {
    case srtp_err_status_ok:
      return Status::kOk;
    case srtp_err_status_auth_fail:
      return Status::kAuthFailure;
    case srtp_err_status_replay_fail:
    case srtp_err_status_replay_old:
      return Status::kReplay;
    case srtp_err_status_bad_param:
    case srtp_err_status_parse_err:
      return Status::kBadPacket;
    default:
      return Status::kError;
  }
}

// libsrtp trusts the CSRC count and extension length it reads; check that the
// header they describe fits before handing it a hostile packet.
Status checkRtp(std::span<const std::uint8_t> p, std::size_t trailer) {
  if (p.size() < kRtpHeader + trailer) return Status::kBadLength;
  if ((p[0] >> 6) != 2) return Status::kBadPacket;
  std::size_t header = kRtpHeader + 4 * std::size_t{p[0] & 0x0fu};
  if (p[0] & 0x10u) {
    if (p.size() < header + 4) return Status::kBadPacket;
    header += 4 + 4 * ((std::size_t{p[header + 2]} << 8) | p[header + 3]);
  }
  if (header + trailer > p.size()) return Status::kBadPacket;
  return Status::kOk;
}

Status checkRtcp(std::span<const std::uint8_t> p, std::size_t trailer) {
  if (p.size() < kRtcpHeader + trailer) return Status::kBadLength;
  if ((p[0] >> 6) != 2) return Status::kBadPacket;
  return Status::kOk;
}

}  // namespace

bool initLibrary() {
  static std::once_flag once;
  static bool ok = false;
  std::call_once(once, [] {
    ok = srtp_init() == srtp_err_status_ok;
    // Best effort: if OpenSSL's primitives fail libsrtp's self test, the
    // built-in ones stay and cryptoBackend() says so.
    if (ok) installOpenSslCrypto();
  });
  return ok;
}

std::string_view describe(Status status) {
  switch (status) {
    case Status::kOk:
      return "ok";
    case Status::kAuthFailure:
      return "authentication failure";
    case Status::kReplay:
      return "replayed packet";
    case Status::kBadLength:
      return "bad length";
    case Status::kBadPacket:
      return "malformed packet";
    case Status::kError:
      return "srtp error";
  }
  return "unknown";
}

ContextPtr Context::create(const Suite& suite, std::span<const std::uint8_t> masterKeySalt,
                           Direction direction, const ContextOptions& options, Status* status) {
  auto fail = [status](Status s) {
    if (status) *status = s;
    return ContextPtr{};
  };
  if (masterKeySalt.size() != suite.masterLength()) return fail(Status::kBadLength);
  if (options.replayWindow < 64 || options.replayWindow > 0x7fff) return fail(Status::kError);
  if (!initLibrary()) return fail(Status::kError);

  srtp_policy_t policy{};
  const Policies& setters = kPolicies[static_cast<std::size_t>(suite.id)];
  setters.rtp(&policy.rtp);
  setters.rtcp(&policy.rtcp);
  policy.ssrc.type = direction == Direction::kOutbound ? ssrc_any_outbound : ssrc_any_inbound;
  // libsrtp copies the key during srtp_create; the const_cast is for its C API.
  policy.key = const_cast<unsigned char*>(masterKeySalt.data());
  policy.window_size = options.replayWindow;
  policy.allow_repeat_tx = options.allowRepeatTx ? 1 : 0;
  policy.next = nullptr;

  srtp_t session = nullptr;
  if (srtp_create(&session, &policy) != srtp_err_status_ok) return fail(Status::kError);
  // Not make_unique: the constructor is private.
  ContextPtr context(new (std::nothrow) Context(suite, direction, session));
  if (!context) {
    srtp_dealloc(session);
    return fail(Status::kError);
  }
  if (status) *status = Status::kOk;
  return context;
}

Context::Context(const Suite& suite, Direction direction, srtp_ctx_t_* srtp)
    : suite_(&suite), srtp_(srtp), direction_(direction) {}

Context::~Context() {
  if (srtp_ != nullptr) srtp_dealloc(srtp_);
}

Status Context::protectRtp(std::span<std::uint8_t> buffer, std::size_t& length) {
  if (direction_ != Direction::kOutbound) return Status::kError;
  if (length > buffer.size() || buffer.size() - length < suite_->rtpExpansion() ||
      length > INT_MAX / 2) {
    return Status::kBadLength;
  }
  if (Status s = checkRtp(buffer.first(length), 0); s != Status::kOk) return s;
  int len = static_cast<int>(length);
  Status s = fromLibsrtp(srtp_protect(srtp_, buffer.data(), &len));
  if (s == Status::kOk) length = static_cast<std::size_t>(len);
  return s;
}

Status Context::unprotectRtp(std::span<std::uint8_t> buffer, std::size_t& length) {
  if (direction_ != Direction::kInbound) return Status::kError;
  if (length > buffer.size() || length > INT_MAX / 2) return Status::kBadLength;
  if (Status s = checkRtp(buffer.first(length), suite_->rtpTagLength); s != Status::kOk) return s;
  int len = static_cast<int>(length);
  Status s = fromLibsrtp(srtp_unprotect(srtp_, buffer.data(), &len));
  if (s == Status::kOk) length = static_cast<std::size_t>(len);
  return s;
}

Status Context::protectRtcp(std::span<std::uint8_t> buffer, std::size_t& length) {
  if (direction_ != Direction::kOutbound) return Status::kError;
  if (length > buffer.size() || buffer.size() - length < suite_->rtcpExpansion() ||
      length > INT_MAX / 2) {
    return Status::kBadLength;
  }
  if (Status s = checkRtcp(buffer.first(length), 0); s != Status::kOk) return s;
  int len = static_cast<int>(length);
  Status s = fromLibsrtp(srtp_protect_rtcp(srtp_, buffer.data(), &len));
  if (s == Status::kOk) length = static_cast<std::size_t>(len);
  return s;
}

Status Context::unprotectRtcp(std::span<std::uint8_t> buffer, std::size_t& length) {
  if (direction_ != Direction::kInbound) return Status::kError;
  if (length > buffer.size() || length > INT_MAX / 2) return Status::kBadLength;
  if (Status s = checkRtcp(buffer.first(length), suite_->rtcpTagLength + kSrtcpIndex);
      s != Status::kOk) {
    return s;
  }
  int len = static_cast<int>(length);
  Status s = fromLibsrtp(srtp_unprotect_rtcp(srtp_, buffer.data(), &len));
  if (s == Status::kOk) length = static_cast<std::size_t>(len);
  return s;
}

}  // namespace relay::srtp

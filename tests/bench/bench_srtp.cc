// protect + unprotect of one 172-byte G.711 RTP packet (12 header + 160
// payload), per suite: the relay's SRTP cost per forwarded packet.
//
// Second argument: how many other calls' contexts are alive in the process
// (an SRTP<->RTP call holds one inbound and one outbound context), because
// with Debian's libsrtp2 built-in (NSS) crypto the cost per packet grows
// with them. BENCH_SRTP_BUILTIN=1 puts libsrtp's built-in AES-CM, AES-GCM
// and HMAC-SHA1 back in place of the relay's OpenSSL ones (media-relay/srtp/
// openssl_backend.h), to compare the two in one build.
#include <benchmark/benchmark.h>
#include <srtp2/auth.h>
#include <srtp2/cipher.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "media-relay/srtp/context.h"
#include "media-relay/srtp/openssl_backend.h"
#include "media-relay/srtp/sdes.h"

// libsrtp's built-in types: exported by libsrtp2.so, not declared in its
// installed headers.
extern "C" {
extern const srtp_cipher_type_t srtp_aes_icm_128;
extern const srtp_cipher_type_t srtp_aes_icm_256;
extern const srtp_cipher_type_t srtp_aes_gcm_128;
extern const srtp_cipher_type_t srtp_aes_gcm_256;
extern const srtp_auth_type_t srtp_hmac;
}

namespace {

using relay::srtp::Context;
using relay::srtp::Direction;

bool useBuiltin() {
  static const bool builtin = [] {
    const char* env = std::getenv("BENCH_SRTP_BUILTIN");
    if (env == nullptr || std::string(env) != "1") return false;
    relay::srtp::initLibrary();
    return srtp_replace_cipher_type(&srtp_aes_icm_128, SRTP_AES_ICM_128) == srtp_err_status_ok &&
           srtp_replace_cipher_type(&srtp_aes_icm_256, SRTP_AES_ICM_256) == srtp_err_status_ok &&
           srtp_replace_cipher_type(&srtp_aes_gcm_128, SRTP_AES_GCM_128) == srtp_err_status_ok &&
           srtp_replace_cipher_type(&srtp_aes_gcm_256, SRTP_AES_GCM_256) == srtp_err_status_ok &&
           srtp_replace_auth_type(&srtp_hmac, SRTP_HMAC_SHA1) == srtp_err_status_ok;
  }();
  return builtin;
}

void protectUnprotect(benchmark::State& state) {
  const bool builtin = useBuiltin();
  relay::srtp::initLibrary();
  const auto& suite = relay::srtp::allSuites()[static_cast<std::size_t>(state.range(0))];
  const auto others = static_cast<std::size_t>(state.range(1));
  state.SetLabel(std::string(suite.sdesName) + " " +
                 std::string(builtin ? "libsrtp-builtin" : relay::srtp::cryptoBackend()));
  std::vector<relay::srtp::ContextPtr> alive;
  alive.reserve(2 * others);
  for (std::size_t i = 0; i < others; ++i) {
    auto k = relay::srtp::generateMasterKey(suite);
    alive.push_back(Context::create(suite, k->view(), Direction::kOutbound));
    alive.push_back(Context::create(suite, k->view(), Direction::kInbound));
  }
  auto key = relay::srtp::generateMasterKey(suite);
  auto tx = Context::create(suite, key->view(), Direction::kOutbound);
  auto rx = Context::create(suite, key->view(), Direction::kInbound);
  std::vector<std::uint8_t> buf(172 + suite.rtpExpansion());
  std::uint16_t seq = 0;
  for (auto _ : state) {
    buf[0] = 0x80;
    buf[1] = 0;
    buf[2] = static_cast<std::uint8_t>(seq >> 8);
    buf[3] = static_cast<std::uint8_t>(seq);
    buf[8] = 0x12;
    ++seq;
    std::size_t len = 172;
    if (tx->protectRtp(buf, len) != relay::srtp::Status::kOk ||
        rx->unprotectRtp(buf, len) != relay::srtp::Status::kOk) {
      state.SkipWithError("srtp failed");
      break;
    }
    benchmark::DoNotOptimize(buf.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(protectUnprotect)->ArgsProduct({{0, 1, 2, 3}, {0, 1000}});

}  // namespace

BENCHMARK_MAIN();

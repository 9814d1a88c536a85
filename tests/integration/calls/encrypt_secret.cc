// sbc-test-encrypt KEYFILE PLAINTEXT: prints the secret_box encryption of
// PLAINTEXT under the key in KEYFILE as hex, for the integration tests to
// INSERT into trunk_credentials.secret ('\x<hex>'::bytea). The tests use
// Python's stdlib only, which has no AES-GCM; this keeps one implementation of
// the format (common/crypto) instead of a second one in the tests.
#include <cstdio>
#include <span>
#include <string>

#include "common/crypto/secret_box.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s KEYFILE PLAINTEXT\n", argv[0]);
    return 2;
  }
  auto key = sbc::crypto::loadSecretKeyFile(argv[1]);
  if (!key.key) {
    std::fprintf(stderr, "sbc-test-encrypt: %s\n", key.error.c_str());
    return 1;
  }
  auto sealed = sbc::crypto::encryptSecret(*key.key, argv[2]);
  if (sealed.empty()) {
    std::fprintf(stderr, "sbc-test-encrypt: encryption failed\n");
    return 1;
  }
  std::printf("%s\n", sbc::crypto::toHex(std::span<const std::uint8_t>(sealed)).c_str());
  return 0;
}

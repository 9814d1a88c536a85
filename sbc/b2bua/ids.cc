#include "sbc/b2bua/ids.h"

#include <openssl/rand.h>

#include <array>
#include <cstring>
#include <random>

#include "sbc/txn/builders.h"

namespace sbc::b2bua {
namespace {

constexpr char kHex[] = "0123456789abcdef";

// RAND_bytes costs a lock and a DRBG call; drawing 256 bytes at once keeps the
// per-id cost at a memcpy. Per thread, so no locking on the SIP path.
class RandomPool {
 public:
  void fill(unsigned char* out, std::size_t n) {
    while (n > 0) {
      if (pos_ == buf_.size()) refill();
      const std::size_t take = std::min(n, buf_.size() - pos_);
      std::memcpy(out, buf_.data() + pos_, take);
      pos_ += take;
      out += take;
      n -= take;
    }
  }

 private:
  void refill() {
    if (RAND_bytes(buf_.data(), static_cast<int>(buf_.size())) != 1) {
      // The OpenSSL DRBG failing is not expected after start-up; falling back
      // to a seeded Mersenne Twister keeps ids unique even then.
      thread_local std::mt19937_64 fallback{std::random_device{}()};
      for (auto& b : buf_) b = static_cast<unsigned char>(fallback());
    }
    pos_ = 0;
  }
  std::array<unsigned char, 256> buf_{};
  std::size_t pos_ = 256;
};

RandomPool& pool() {
  thread_local RandomPool p;
  return p;
}

std::string makeId(Shard shard, std::size_t random_hex_digits) {
  // Sized once and written in place: a push_back per digit was most of the cost.
  std::string id(2 + random_hex_digits, '0');
  char* out = id.data();
  out[0] = kHex[shard >> 4];
  out[1] = kHex[shard & 15];
  std::array<unsigned char, 32> bytes{};
  const std::size_t nbytes = (random_hex_digits + 1) / 2;
  pool().fill(bytes.data(), nbytes);
  for (std::size_t i = 0; i < random_hex_digits; ++i) {
    const unsigned char b = bytes[i / 2];
    out[2 + i] = kHex[(i % 2 == 0) ? (b >> 4) : (b & 15)];
  }
  return id;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

std::string makeCallId(Shard shard) {
  return makeId(shard, 30);
}
std::string makeTag(Shard shard) {
  return makeId(shard, 13);
}

std::string makeBranch(Shard shard) {
  char tag[2] = {kHex[shard >> 4], kHex[shard & 15]};
  return txn::makeBranch(std::string_view(tag, 2));
}

std::optional<Shard> shardOf(std::string_view id) {
  if (id.starts_with("z9hG4bK")) id.remove_prefix(7);
  if (id.size() < 15) return std::nullopt;
  for (char c : id) {
    if (hexValue(c) < 0) return std::nullopt;
  }
  return static_cast<Shard>(hexValue(id[0]) * 16 + hexValue(id[1]));
}

std::uint64_t randomU64() {
  std::uint64_t v = 0;
  pool().fill(reinterpret_cast<unsigned char*>(&v), sizeof v);
  return v;
}

}  // namespace sbc::b2bua

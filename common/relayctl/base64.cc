#include "common/relayctl/base64.h"

#include <array>

namespace sbc::relayctl {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<std::int8_t, 256> makeReverse() {
  std::array<std::int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (std::size_t i = 0; i < kAlphabet.size(); ++i) {
    t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::int8_t>(i);
  }
  return t;
}
constexpr auto kReverse = makeReverse();

// Strips padding; nullopt when the padding or the length is impossible.
std::optional<std::string_view> body(std::string_view text) {
  std::size_t pad = 0;
  while (!text.empty() && text.back() == '=' && pad < 2) {
    text.remove_suffix(1);
    ++pad;
  }
  if (pad > 0 && (text.size() + pad) % 4 != 0) return std::nullopt;
  if (text.size() % 4 == 1) return std::nullopt;
  return text;
}

}  // namespace

std::string base64Encode(std::span<const std::uint8_t> bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    std::uint32_t v =
        (std::uint32_t{bytes[i]} << 16) | (std::uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  std::size_t left = bytes.size() - i;
  if (left == 1) {
    std::uint32_t v = std::uint32_t{bytes[i]} << 16;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (left == 2) {
    std::uint32_t v = (std::uint32_t{bytes[i]} << 16) | (std::uint32_t{bytes[i + 1]} << 8);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::optional<std::size_t> base64DecodedLength(std::string_view text) {
  auto b = body(text);
  if (!b) return std::nullopt;
  for (char c : *b) {
    if (kReverse[static_cast<unsigned char>(c)] < 0) return std::nullopt;
  }
  std::size_t rem = b->size() % 4;
  // Non-canonical trailing bits would let two strings decode to one key.
  if (rem == 2 && (kReverse[static_cast<unsigned char>(b->back())] & 0x0f) != 0) {
    return std::nullopt;
  }
  if (rem == 3 && (kReverse[static_cast<unsigned char>(b->back())] & 0x03) != 0) {
    return std::nullopt;
  }
  return b->size() / 4 * 3 + (rem == 0 ? 0 : rem - 1);
}

std::optional<std::size_t> base64Decode(std::string_view text, std::span<std::uint8_t> out) {
  auto length = base64DecodedLength(text);
  if (!length || *length > out.size()) return std::nullopt;
  std::string_view b = *body(text);
  std::size_t o = 0;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : b) {
    acc = (acc << 6) | static_cast<std::uint32_t>(kReverse[static_cast<unsigned char>(c)]);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = static_cast<std::uint8_t>(acc >> bits);
      acc &= (1u << bits) - 1;
    }
  }
  return o;
}

}  // namespace sbc::relayctl

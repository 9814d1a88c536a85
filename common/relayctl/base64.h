// Strict base64 (RFC 4648 alphabet) for key material: no whitespace, no
// line breaks, canonical trailing bits; padding optional because SDES peers
// differ on it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace sbc::relayctl {

std::string base64Encode(std::span<const std::uint8_t> bytes);
// Length `text` decodes to, or nullopt when it is not valid base64.
std::optional<std::size_t> base64DecodedLength(std::string_view text);
// Decodes into `out`; nullopt when invalid or when `out` is too small.
std::optional<std::size_t> base64Decode(std::string_view text, std::span<std::uint8_t> out);

}  // namespace sbc::relayctl

// Minimal bencode (BitTorrent encoding) for rtpengine's ng control protocol:
// byte strings, integers, lists and dictionaries. Decoding bounds depth and
// never reads past the input; a malformed reply is an error, not a crash.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bench::relay_load {

struct BValue {
  enum class Kind : std::uint8_t { kString, kInteger, kList, kDict };
  Kind kind = Kind::kString;
  std::string string;
  std::int64_t integer = 0;
  std::vector<BValue> list;
  std::vector<std::string> keys;  // a dictionary's keys, in wire order
  std::vector<BValue> values;  // ... and their values (a pair<> of BValue would need it complete)

  static BValue str(std::string_view s);
  static BValue integerValue(std::int64_t v);
  static BValue listOf(std::vector<BValue> items);
  static BValue dictOf(std::vector<std::pair<std::string, BValue>> items);

  // The value under `key` of a dictionary; null when absent or not a dict.
  const BValue* find(std::string_view key) const;
  // The string under `key`, or empty when absent or not a string.
  std::string_view stringAt(std::string_view key) const;
};

void bencodeAppend(const BValue& value, std::string& out);
std::string bencode(const BValue& value);

// Decodes exactly one value spanning all of `text`; nullopt if malformed.
std::optional<BValue> bdecode(std::string_view text);

}  // namespace bench::relay_load

#include "tests/bench/relay_load/bencode.h"

#include <charconv>

namespace bench::relay_load {

BValue BValue::str(std::string_view s) {
  BValue v;
  v.kind = Kind::kString;
  v.string = s;
  return v;
}
BValue BValue::integerValue(std::int64_t i) {
  BValue v;
  v.kind = Kind::kInteger;
  v.integer = i;
  return v;
}
BValue BValue::listOf(std::vector<BValue> items) {
  BValue v;
  v.kind = Kind::kList;
  v.list = std::move(items);
  return v;
}
BValue BValue::dictOf(std::vector<std::pair<std::string, BValue>> items) {
  BValue v;
  v.kind = Kind::kDict;
  for (auto& [k, item] : items) {
    v.keys.push_back(std::move(k));
    v.values.push_back(std::move(item));
  }
  return v;
}

const BValue* BValue::find(std::string_view key) const {
  if (kind != Kind::kDict) return nullptr;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (keys[i] == key) return &values[i];
  }
  return nullptr;
}

std::string_view BValue::stringAt(std::string_view key) const {
  const BValue* v = find(key);
  if (v == nullptr || v->kind != Kind::kString) return {};
  return v->string;
}

void bencodeAppend(const BValue& value, std::string& out) {
  switch (value.kind) {
    case BValue::Kind::kString:
      out += std::to_string(value.string.size());
      out += ':';
      out += value.string;
      break;
    case BValue::Kind::kInteger:
      out += 'i';
      out += std::to_string(value.integer);
      out += 'e';
      break;
    case BValue::Kind::kList:
      out += 'l';
      for (const auto& item : value.list) bencodeAppend(item, out);
      out += 'e';
      break;
    case BValue::Kind::kDict:
      out += 'd';
      for (std::size_t i = 0; i < value.keys.size(); ++i) {
        bencodeAppend(BValue::str(value.keys[i]), out);
        bencodeAppend(value.values[i], out);
      }
      out += 'e';
      break;
  }
}

std::string bencode(const BValue& value) {
  std::string out;
  bencodeAppend(value, out);
  return out;
}

namespace {

constexpr int kMaxDepth = 16;

class Decoder {
 public:
  explicit Decoder(std::string_view text) : text_(text) {}

  bool value(BValue& out, int depth) {
    if (depth > kMaxDepth || pos_ >= text_.size()) return false;
    char c = text_[pos_];
    if (c == 'i') {
      ++pos_;
      auto end = text_.find('e', pos_);
      if (end == std::string_view::npos) return false;
      std::int64_t v = 0;
      auto [p, ec] = std::from_chars(text_.data() + pos_, text_.data() + end, v);
      if (ec != std::errc{} || p != text_.data() + end) return false;
      out = BValue::integerValue(v);
      pos_ = end + 1;
      return true;
    }
    if (c == 'l') {
      ++pos_;
      out = BValue::listOf({});
      while (pos_ < text_.size() && text_[pos_] != 'e') {
        BValue item;
        if (!value(item, depth + 1)) return false;
        out.list.push_back(std::move(item));
      }
      if (pos_ >= text_.size()) return false;
      ++pos_;
      return true;
    }
    if (c == 'd') {
      ++pos_;
      out = BValue::dictOf({});
      while (pos_ < text_.size() && text_[pos_] != 'e') {
        std::string key;
        if (!string(key)) return false;
        BValue item;
        if (!value(item, depth + 1)) return false;
        out.keys.push_back(std::move(key));
        out.values.push_back(std::move(item));
      }
      if (pos_ >= text_.size()) return false;
      ++pos_;
      return true;
    }
    std::string s;
    if (!string(s)) return false;
    out = BValue::str(s);
    return true;
  }

  bool string(std::string& out) {
    auto colon = text_.find(':', pos_);
    if (colon == std::string_view::npos || colon == pos_) return false;
    std::size_t length = 0;
    auto [p, ec] = std::from_chars(text_.data() + pos_, text_.data() + colon, length);
    if (ec != std::errc{} || p != text_.data() + colon) return false;
    if (length > text_.size() - colon - 1) return false;
    out.assign(text_.substr(colon + 1, length));
    pos_ = colon + 1 + length;
    return true;
  }

  bool atEnd() const { return pos_ == text_.size(); }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
};

}  // namespace

std::optional<BValue> bdecode(std::string_view text) {
  Decoder d(text);
  BValue v;
  if (!d.value(v, 0) || !d.atEnd()) return std::nullopt;
  return v;
}

}  // namespace bench::relay_load

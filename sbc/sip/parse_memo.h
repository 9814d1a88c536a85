// Internal to sbc/sip: the per-thread memo of header parses (see below).
// Not for other modules.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "sbc/sip/headers.h"
#include "sbc/sip/result.h"
#include "sbc/sip/uri.h"

namespace sbc::sip {

// A call's messages repeat the same Via, From, To, Contact and Route values
// many times: in every response of a transaction, in the messages the B2BUA
// builds from a leg's stored values, and again when a built message is read
// back (its cache starts empty). Parsing is a pure function of the text, so
// each SIP thread keeps the last successful parse per hash bucket and answers
// a repeat with a copy whose views are moved onto the new text.
namespace detail {

// Moves every view that points into [from, from + n) to the same offset in
// `to`; views elsewhere (static strings, default-constructed) stay.
class Rebase {
 public:
  Rebase(const char* from, std::size_t n, const char* to)
      : from_(reinterpret_cast<std::uintptr_t>(from)), n_(n), to_(to) {}

  // One unsigned compare covers "before from" (wraps to huge) and "past the
  // end"; a null view (default-constructed) also wraps. A memo hit moves
  // ~15 views, so the per-view cost is most of a hit.
  void operator()(std::string_view& v) const {
    const std::uintptr_t off = reinterpret_cast<std::uintptr_t>(v.data()) - from_;
    if (off < n_ && v.size() <= n_ - off) v = std::string_view(to_ + off, v.size());
  }
  void operator()(Params& p) const {
    std::string_view t = p.text();
    const std::uintptr_t off = reinterpret_cast<std::uintptr_t>(t.data()) - from_;
    if (off < n_ && t.size() <= n_ - off)
      p = Params(std::string_view(to_ + off, t.size()), p.separator());
  }
  void operator()(Uri& u) const {
    (*this)(u.text);
    (*this)(u.scheme_text);
    (*this)(u.user);
    (*this)(u.user_number);
    (*this)(u.password);
    (*this)(u.host);
    (*this)(u.opaque);
    (*this)(u.user_params);
    (*this)(u.params);
    (*this)(u.headers);
  }
  void operator()(NameAddr& na) const {
    (*this)(na.text);
    (*this)(na.display_name);
    (*this)(na.tag);
    (*this)(na.uri);
    (*this)(na.params);
  }
  void operator()(Via& via) const {
    (*this)(via.text);
    (*this)(via.protocol_name);
    (*this)(via.protocol_version);
    (*this)(via.transport_text);
    (*this)(via.host);
    (*this)(via.branch);
    (*this)(via.received);
    (*this)(via.maddr);
    (*this)(via.params);
  }

 private:
  std::uintptr_t from_;
  std::size_t n_;
  const char* to_;
};

// A field added to these types must be rebased above.
static_assert(sizeof(Params) == 24 && sizeof(Uri) == 208 && sizeof(NameAddr) == 288 &&
                  sizeof(Via) == 176,
              "a view was added: teach Rebase about it");

constexpr std::size_t kMemoSlots = 1024;   // per type and thread, a power of two
constexpr std::size_t kMemoMaxText = 512;  // longer values are rare: parse them

// The text of a slot in a buffer that only grows (64-byte steps): a store
// is a memcpy, where std::string::assign went through _M_replace's general
// path (~150 instructions per store, ~10 stores per call).
template <class T>
struct MemoSlot {
  std::unique_ptr<char[]> buf;
  std::uint32_t cap = 0;
  std::uint32_t len = 0;
  T value;
  bool flag = false;
  bool used = false;

  std::string_view text() const { return {buf.get(), len}; }
  bool holds(std::string_view t, bool f) const {
    return used && flag == f && len == t.size() && std::memcmp(buf.get(), t.data(), len) == 0;
  }
  // Copies `t` (at most kMemoMaxText bytes) into the slot; returns the copy.
  const char* setText(std::string_view t) {
    if (cap < t.size()) {
      cap = static_cast<std::uint32_t>((t.size() + 63) & ~std::size_t{63});
      buf = std::make_unique_for_overwrite<char[]>(cap);
    }
    len = static_cast<std::uint32_t>(t.size());
    if (len != 0) std::memcpy(buf.get(), t.data(), len);
    return buf.get();
  }
};

// A bucket index, not a table key: 8 bytes per step with a multiply-xor
// mix (std::hash's byte-oriented loop cost more than the rest of a hit).
inline std::size_t memoHash(std::string_view text) {
  constexpr std::uint64_t kMul = 0x9E3779B97F4A7C15ULL;
  std::uint64_t h = text.size() * kMul;
  std::size_t i = 0;
  for (; i + 8 <= text.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, text.data() + i, sizeof w);
    h = (h ^ w) * kMul;
    h ^= h >> 29;
  }
  std::uint64_t tail = 0;
  if (i < text.size()) std::memcpy(&tail, text.data() + i, text.size() - i);
  h = (h ^ tail) * kMul;
  h ^= h >> 32;
  return static_cast<std::size_t>(h);
}

// One table per type and thread, shared by every caller of that type (the
// parsers and the builders that seed it).
template <class T>
std::array<MemoSlot<T>, kMemoSlots>& memoTable() {
  thread_local std::unique_ptr<std::array<MemoSlot<T>, kMemoSlots>> table;
  if (!table) table = std::make_unique<std::array<MemoSlot<T>, kMemoSlots>>();
  return *table;
}

// Records `value`, the successful parse of `text` (its views point into
// `text`), as if parse(text) had just been called.
template <class T>
void memoStore(std::string_view text, bool flag, const T& value) {
  if (text.size() > kMemoMaxText) return;
  MemoSlot<T>& slot = memoTable<T>()[(memoHash(text) + (flag ? 1 : 0)) & (kMemoSlots - 1)];
  const char* copy = slot.setText(text);
  slot.value = value;
  Rebase(text.data(), text.size(), copy)(slot.value);
  slot.flag = flag;
  slot.used = true;
}

template <class T, class Parse>
Result<T> memoized(std::string_view text, bool flag, Parse&& parse) {
  if (text.size() > kMemoMaxText) return parse(text);
  const std::size_t h = memoHash(text) + (flag ? 1 : 0);
  MemoSlot<T>& slot = memoTable<T>()[h & (kMemoSlots - 1)];
  if (slot.holds(text, flag)) {
    Result<T> hit(slot.value);
    Rebase(slot.buf.get(), slot.len, text.data())(*hit);
    return hit;
  }
  auto r = parse(text);
  if (r) {
    const char* copy = slot.setText(text);
    slot.value = *r;
    Rebase(text.data(), text.size(), copy)(slot.value);
    slot.flag = flag;
    slot.used = true;
  }
  return r;
}

}  // namespace detail

}  // namespace sbc::sip

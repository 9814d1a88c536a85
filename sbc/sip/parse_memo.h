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

  void operator()(std::string_view& v) const {
    const auto p = reinterpret_cast<std::uintptr_t>(v.data());
    if (v.data() != nullptr && p >= from_ && p - from_ + v.size() <= n_)
      v = std::string_view(to_ + (p - from_), v.size());
  }
  void operator()(Params& p) const {
    std::string_view t = p.text();
    (*this)(t);
    p = Params(t, p.separator());
  }
  void operator()(Uri& u) const {
    for (std::string_view* v :
         {&u.text, &u.scheme_text, &u.user, &u.user_number, &u.password, &u.host, &u.opaque})
      (*this)(*v);
    for (Params* p : {&u.user_params, &u.params, &u.headers}) (*this)(*p);
  }
  void operator()(NameAddr& na) const {
    for (std::string_view* v : {&na.text, &na.display_name, &na.tag}) (*this)(*v);
    (*this)(na.uri);
    (*this)(na.params);
  }
  void operator()(Via& via) const {
    for (std::string_view* v :
         {&via.text, &via.protocol_name, &via.protocol_version, &via.transport_text, &via.host,
          &via.branch, &via.received, &via.maddr})
      (*this)(*v);
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

template <class T>
struct MemoSlot {
  std::string text;
  T value;
  bool flag = false;
  bool used = false;
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

template <class T, class Parse>
Result<T> memoized(std::string_view text, bool flag, Parse&& parse) {
  thread_local std::unique_ptr<std::array<MemoSlot<T>, kMemoSlots>> table;
  if (text.size() > kMemoMaxText) return parse(text);
  if (!table) table = std::make_unique<std::array<MemoSlot<T>, kMemoSlots>>();
  const std::size_t h = memoHash(text) + (flag ? 1 : 0);
  MemoSlot<T>& slot = (*table)[h & (kMemoSlots - 1)];
  if (slot.used && slot.flag == flag && slot.text == text) {
    T value = slot.value;
    Rebase(slot.text.data(), slot.text.size(), text.data())(value);
    return value;
  }
  auto r = parse(text);
  if (r) {
    slot.text.assign(text);
    slot.value = *r;
    Rebase(text.data(), text.size(), slot.text.data())(slot.value);
    slot.flag = flag;
    slot.used = true;
  }
  return r;
}

}  // namespace detail

}  // namespace sbc::sip

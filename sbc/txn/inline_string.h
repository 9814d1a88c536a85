#pragma once
// A string that keeps up to N bytes inside the object and goes to the heap
// only when longer. For the strings a transaction holds for its whole life
// (matching key, Call-ID): with std::string (15 bytes inline) every one of
// them was a malloc/free pair, on every transaction. The object never moves
// its bytes while alive, so string_views of it can be map keys.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>
#include <utility>

namespace sbc::txn {

template <std::size_t N>
class InlineString {
 public:
  InlineString() = default;
  InlineString(const InlineString&) = delete;
  InlineString& operator=(const InlineString&) = delete;
  ~InlineString() = default;

  // `s` may be a view of this string itself.
  void assign(std::string_view s) {
    if (s.size() > N) {
      auto heap = std::make_unique_for_overwrite<char[]>(s.size());
      std::memcpy(heap.get(), s.data(), s.size());
      heap_ = std::move(heap);
    } else {
      if (!s.empty()) std::memmove(inline_, s.data(), s.size());
      heap_.reset();
    }
    size_ = static_cast<std::uint32_t>(s.size());
  }
  void clear() {
    heap_.reset();
    size_ = 0;
  }

  std::string_view view() const { return {heap_ ? heap_.get() : inline_, size_}; }
  bool empty() const { return size_ == 0; }
  std::size_t size() const { return size_; }
  // True when the bytes live on the heap (for tests).
  bool onHeap() const { return heap_ != nullptr; }

 private:
  std::unique_ptr<char[]> heap_;
  std::uint32_t size_ = 0;
  char inline_[N];
};

}  // namespace sbc::txn

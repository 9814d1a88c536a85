#pragma once
// Small containers that keep a call's long-lived state compact (internal to
// the engine). An established call lives for minutes and a node holds
// 100,000 of them, so what it keeps is paid per call: one heap block for a
// group of strings rather than one std::string each, and rarely used state
// behind a pointer rather than inline.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <string_view>
#include <utility>

namespace sbc::b2bua {

// N strings in one heap block. Reads are string_views (valid until the next
// set() on the same object); set() rebuilds the block, which is fine for
// values written a few times per call (dialog identity, CDR numbers).
template <std::size_t N>
class PackedStrings {
 public:
  PackedStrings() = default;
  PackedStrings(PackedStrings&&) noexcept = default;
  PackedStrings& operator=(PackedStrings&&) noexcept = default;
  PackedStrings(const PackedStrings& other) { *this = other; }
  PackedStrings& operator=(const PackedStrings& other) {
    if (this == &other) return *this;
    end_ = other.end_;
    buf_.reset();
    if (other.buf_) {
      buf_ = std::make_unique_for_overwrite<char[]>(end_[N - 1]);
      std::memcpy(buf_.get(), other.buf_.get(), end_[N - 1]);
    }
    return *this;
  }

  std::string_view get(std::size_t i) const {
    const std::uint32_t begin = i == 0 ? 0 : end_[i - 1];
    if (!buf_) return {};
    return {buf_.get() + begin, end_[i] - begin};
  }

  void set(std::size_t i, std::string_view value) {
    const std::uint32_t begin = i == 0 ? 0 : end_[i - 1];
    const std::uint32_t old_len = end_[i] - begin;
    // Each 18x and the 2xx set the same tag, target and routes again.
    if (get(i) == value) return;
    const std::uint32_t total = end_[N - 1];
    const auto len = static_cast<std::uint32_t>(value.size());
    const std::uint32_t new_total = total - old_len + len;
    // A new block even when the size is unchanged: `value` may point into
    // the old one.
    std::unique_ptr<char[]> fresh;
    if (new_total > 0) {
      fresh = std::make_unique_for_overwrite<char[]>(new_total);
      if (begin > 0) std::memcpy(fresh.get(), buf_.get(), begin);
      if (len > 0) std::memcpy(fresh.get() + begin, value.data(), len);
      if (total > end_[i])
        std::memcpy(fresh.get() + begin + len, buf_.get() + end_[i], total - end_[i]);
    }
    buf_ = std::move(fresh);
    for (std::size_t k = i; k < N; ++k) end_[k] = end_[k] - old_len + len;
  }

  // Several strings in one rebuild: one allocation instead of one per
  // set() (a leg's identity is known all at once when the leg is made).
  // Values may point into this block.
  void setMany(std::initializer_list<std::pair<std::size_t, std::string_view>> values) {
    std::array<std::string_view, N> src{};
    for (std::size_t k = 0; k < N; ++k) src[k] = get(k);
    bool changed = false;
    for (const auto& [i, v] : values) {
      if (i >= N || src[i] == v) continue;
      src[i] = v;
      changed = true;
    }
    if (!changed) return;
    std::size_t total = 0;
    for (std::string_view v : src) total += v.size();
    std::unique_ptr<char[]> fresh;
    if (total > 0) fresh = std::make_unique_for_overwrite<char[]>(total);
    std::uint32_t off = 0;
    for (std::size_t k = 0; k < N; ++k) {
      if (!src[k].empty()) std::memcpy(fresh.get() + off, src[k].data(), src[k].size());
      off += static_cast<std::uint32_t>(src[k].size());
      end_[k] = off;
    }
    buf_ = std::move(fresh);
  }

  void clear() {
    buf_.reset();
    end_ = {};
  }

 private:
  std::unique_ptr<char[]> buf_;
  std::array<std::uint32_t, N> end_{};  // end offset of each string
};

// std::optional's interface, with the value on the heap: 8 bytes inline for
// state most calls never have or drop early (a 2xx waiting for its ACK, a
// reliable 18x, the ACK kept for 2xx retransmissions).
template <typename T>
class Lazy {
 public:
  Lazy() = default;
  Lazy(Lazy&&) noexcept = default;
  Lazy& operator=(Lazy&&) noexcept = default;
  Lazy(const Lazy& other) : p_(other.p_ ? std::make_unique<T>(*other.p_) : nullptr) {}
  Lazy& operator=(const Lazy& other) {
    if (this != &other) p_ = other.p_ ? std::make_unique<T>(*other.p_) : nullptr;
    return *this;
  }
  Lazy& operator=(T value) {
    if (p_) {
      *p_ = std::move(value);
    } else {
      p_ = std::make_unique<T>(std::move(value));
    }
    return *this;
  }
  template <typename... Args>
  T& emplace(Args&&... args) {
    p_ = std::make_unique<T>(std::forward<Args>(args)...);
    return *p_;
  }

  bool has_value() const { return p_ != nullptr; }  // NOLINT(readability-identifier-naming)
  explicit operator bool() const { return p_ != nullptr; }
  void reset() { p_.reset(); }
  T& operator*() { return *p_; }
  const T& operator*() const { return *p_; }
  T* operator->() { return p_.get(); }
  const T* operator->() const { return p_.get(); }

 private:
  std::unique_ptr<T> p_;
};

}  // namespace sbc::b2bua

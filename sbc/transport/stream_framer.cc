#include "sbc/transport/stream_framer.h"

#include <algorithm>
#include <cstring>
#include <utility>

namespace sbc::transport {
namespace {

// An idle connection should not keep the buffer a large message needed.
constexpr std::size_t kShrinkAbove = std::size_t{16} * 1024;
// Keeps the Content-Length arithmetic far from overflow whatever is configured.
constexpr std::size_t kMaxMessageSizeCap = std::size_t{1} << 30;

bool isLinearSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool equalsLower(std::string_view text, std::string_view lower_literal) {
  if (text.size() != lower_literal.size()) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (lower(text[i]) != lower_literal[i]) return false;
  }
  return true;
}

}  // namespace

std::string_view toString(FramingError error) {
  switch (error) {
    case FramingError::kNone:
      return "none";
    case FramingError::kMessageTooLarge:
      return "message too large";
    case FramingError::kMissingContentLength:
      return "missing Content-Length";
    case FramingError::kInvalidContentLength:
      return "invalid Content-Length";
    case FramingError::kConflictingContentLength:
      return "conflicting Content-Length";
  }
  return "?";
}

StreamFramer::StreamFramer(std::size_t max_message_size)
    : max_message_size_(std::clamp<std::size_t>(max_message_size, 1, kMaxMessageSizeCap)) {}

StreamFramer::~StreamFramer() = default;
StreamFramer::StreamFramer(StreamFramer&&) noexcept = default;
StreamFramer& StreamFramer::operator=(StreamFramer&&) noexcept = default;

std::span<char> StreamFramer::prepare(std::size_t min_bytes) {
  min_bytes = std::max<std::size_t>(min_bytes, 1);
  if (state_ == State::kError) {
    // Nothing more will be framed; hand out space without growing so that a
    // careless caller cannot make the buffer grow (commit() discards).
    if (capacity_ - end_ < min_bytes) {
      auto bigger = std::make_unique<char[]>(end_ + min_bytes);
      if (end_ > 0) std::memcpy(bigger.get(), buffer_.get(), end_);
      buffer_ = std::move(bigger);
      capacity_ = end_ + min_bytes;
    }
    return {buffer_.get() + end_, capacity_ - end_};
  }
  if (start_ == end_) {
    start_ = end_ = 0;
    if (capacity_ > kShrinkAbove && min_bytes <= kShrinkAbove) {
      buffer_.reset();
      capacity_ = 0;
    }
  }
  if (capacity_ - end_ < min_bytes) {
    const std::size_t pending = end_ - start_;
    if (start_ > 0 && capacity_ - pending >= min_bytes) {
      // Each message is moved at most once: after this it starts at 0 and
      // stays there until consumed.
      std::memmove(buffer_.get(), buffer_.get() + start_, pending);
    } else {
      const std::size_t wanted = std::max({capacity_ * 2, pending + min_bytes, kDefaultReadSize});
      // new char[] without value-initialisation: the bytes are overwritten by
      // reads before anyone looks at them.
      std::unique_ptr<char[]> bigger(new char[wanted]);
      if (pending > 0) std::memcpy(bigger.get(), buffer_.get() + start_, pending);
      buffer_ = std::move(bigger);
      capacity_ = wanted;
    }
    start_ = 0;
    end_ = pending;
  }
  return {buffer_.get() + end_, capacity_ - end_};
}

void StreamFramer::commit(std::size_t n) {
  if (state_ == State::kError) return;
  end_ += std::min(n, capacity_ - end_);
}

void StreamFramer::feed(std::string_view bytes) {
  if (bytes.empty()) return;
  auto space = prepare(bytes.size());
  std::memcpy(space.data(), bytes.data(), bytes.size());
  commit(bytes.size());
}

std::string_view StreamFramer::errorHead() const {
  if (state_ != State::kError || error_head_size_ == 0) return {};
  return {buffer_.get() + start_, error_head_size_};
}

FrameEvent StreamFramer::fail(FramingError error) {
  state_ = State::kError;
  error_ = error;
  return {FrameKind::kError, {}, error};
}

FrameEvent StreamFramer::next() {
  switch (state_) {
    case State::kBetween:
      return scanBetween();
    case State::kHeaders:
      return scanHeaders();
    case State::kBody:
      return finishBody();
    case State::kError:
      return {FrameKind::kError, {}, error_};
  }
  return {};
}

FrameEvent StreamFramer::scanBetween() {
  for (;;) {
    const std::size_t available = end_ - start_;
    if (available == 0) return {};
    const char* p = buffer_.get() + start_;
    if (p[0] == '\n') {  // tolerate a bare LF between messages
      ++start_;
      continue;
    }
    if (p[0] != '\r') break;
    if (available < 2) return {};
    if (p[1] != '\n') break;  // not a CRLF: let the header scan have it
    if (available < 3) return {};
    if (p[2] != '\r') {  // a lone CRLF: skipped (RFC 3261 7.5, RFC 5626 pong)
      start_ += 2;
      continue;
    }
    if (available < 4) return {};
    if (p[3] == '\n') {
      start_ += 4;
      return {FrameKind::kPing, {}, FramingError::kNone};
    }
    start_ += 2;
  }
  state_ = State::kHeaders;
  scan_ = 0;
  line_start_ = 0;
  header_start_ = 0;
  in_start_line_ = true;
  have_length_ = false;
  content_length_ = 0;
  head_size_ = 0;
  error_ = FramingError::kNone;
  return scanHeaders();
}

FrameEvent StreamFramer::scanHeaders() {
  const char* base = buffer_.get() + start_;
  const std::size_t available = end_ - start_;
  while (scan_ < available) {
    const void* found = std::memchr(base + scan_, '\n', available - scan_);
    if (found == nullptr) {
      scan_ = available;
      break;
    }
    const std::size_t newline = static_cast<std::size_t>(static_cast<const char*>(found) - base);
    std::size_t line_end = newline;
    if (line_end > line_start_ && base[line_end - 1] == '\r') --line_end;
    const std::size_t next_line = newline + 1;

    if (line_end == line_start_) {
      // Blank line: the head is complete.
      if (!in_start_line_) examineHeader(header_start_, line_start_);
      head_size_ = next_line;
      if (head_size_ > max_message_size_) return fail(FramingError::kMessageTooLarge);
      error_head_size_ = head_size_;
      if (error_ != FramingError::kNone) return fail(error_);
      if (!have_length_) return fail(FramingError::kMissingContentLength);
      if (content_length_ > max_message_size_ - head_size_) {
        return fail(FramingError::kMessageTooLarge);
      }
      error_head_size_ = 0;
      state_ = State::kBody;
      return finishBody();
    }
    if (base[line_start_] != ' ' && base[line_start_] != '\t') {
      // A new logical header starts, so the previous one is complete
      // (folded continuation lines start with white space).
      if (in_start_line_) {
        in_start_line_ = false;
      } else {
        examineHeader(header_start_, line_start_);
      }
      header_start_ = line_start_;
    }
    line_start_ = next_line;
    scan_ = next_line;
  }
  if (scan_ >= max_message_size_) {
    error_head_size_ = 0;
    return fail(FramingError::kMessageTooLarge);
  }
  return {};
}

void StreamFramer::examineHeader(std::size_t begin, std::size_t end) {
  const std::string_view header(buffer_.get() + start_ + begin, end - begin);
  std::size_t i = 0;
  while (i < header.size() && header[i] != ':' && header[i] != ' ' && header[i] != '\t') ++i;
  const std::string_view name = header.substr(0, i);
  if (!equalsLower(name, "content-length") && !equalsLower(name, "l")) return;
  while (i < header.size() && (header[i] == ' ' || header[i] == '\t')) ++i;
  if (i == header.size() || header[i] != ':') return;  // not a header; the parser decides
  ++i;
  while (i < header.size() && isLinearSpace(header[i])) ++i;

  std::size_t value = 0;
  std::size_t digits = 0;
  while (i < header.size() && header[i] >= '0' && header[i] <= '9') {
    // Saturate: any value beyond the limit is "too large", not "invalid".
    if (value <= max_message_size_) value = value * 10 + static_cast<std::size_t>(header[i] - '0');
    ++digits;
    ++i;
  }
  while (i < header.size() && isLinearSpace(header[i])) ++i;

  FramingError error = FramingError::kNone;
  if (digits == 0 || i != header.size()) {
    error = FramingError::kInvalidContentLength;
  } else if (have_length_ && value != content_length_) {
    error = FramingError::kConflictingContentLength;
  }
  if (error != FramingError::kNone) {
    // Keep the first error; report it once the head is complete so that the
    // caller gets the headers it needs for a 400.
    if (error_ == FramingError::kNone) error_ = error;
    return;
  }
  have_length_ = true;
  content_length_ = value;
}

FrameEvent StreamFramer::finishBody() {
  const std::size_t total = head_size_ + content_length_;
  if (end_ - start_ < total) return {};
  const std::string_view message(buffer_.get() + start_, total);
  start_ += total;
  state_ = State::kBetween;
  return {FrameKind::kMessage, message, FramingError::kNone};
}

}  // namespace sbc::transport

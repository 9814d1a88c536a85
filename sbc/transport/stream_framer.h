#pragma once
// Splits a SIP byte stream (TCP/TLS) into messages: RFC 3261 section 18.3
// framing by Content-Length, plus RFC 5626 CRLF keepalives. Knows nothing else
// about SIP; the parser gets exactly the bytes of one message.
//
// Usage per connection:
//   auto space = framer.prepare();          // read straight into this
//   framer.commit(bytes_read);
//   for (;;) {
//     auto event = framer.next();
//     if (event.kind == FrameKind::kNeedMore) break;
//     ...  // kMessage: event.message; kPing: answer "\r\n"; kError: close
//   }
// Views handed out by next() stay valid until the next prepare()/feed().

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

namespace sbc::transport {

enum class FramingError : std::uint8_t {
  kNone,
  kMessageTooLarge,           // headers, or headers + Content-Length, exceed the limit
  kMissingContentLength,      // mandatory on streams
  kInvalidContentLength,      // not a decimal number (a sign, garbage, overflow)
  kConflictingContentLength,  // two Content-Length headers that disagree
};

std::string_view toString(FramingError error);

enum class FrameKind : std::uint8_t {
  kNeedMore,  // nothing complete buffered: read more
  kMessage,   // one complete message in FrameEvent::message
  kPing,      // CRLFCRLF between messages: answer with a single CRLF
  kError,     // stream is unusable: close the connection (sticky)
};

struct FrameEvent {
  FrameKind kind = FrameKind::kNeedMore;
  std::string_view message;  // kMessage only
  FramingError error = FramingError::kNone;
};

class StreamFramer {
 public:
  static constexpr std::size_t kDefaultMaxMessageSize = std::size_t{64} * 1024;
  static constexpr std::size_t kDefaultReadSize = 4096;

  explicit StreamFramer(std::size_t max_message_size = kDefaultMaxMessageSize);
  ~StreamFramer();
  StreamFramer(StreamFramer&&) noexcept;
  StreamFramer& operator=(StreamFramer&&) noexcept;
  StreamFramer(const StreamFramer&) = delete;
  StreamFramer& operator=(const StreamFramer&) = delete;

  // Writable space of at least min_bytes at the end of the buffer (maybe
  // more: all the free space there is). Buffered data never exceeds one
  // partial message when next() is drained before each prepare(), so the
  // buffer stays below max_message_size + read size.
  std::span<char> prepare(std::size_t min_bytes = kDefaultReadSize);
  // Marks n bytes of the span from prepare() as received.
  void commit(std::size_t n);
  // Copying convenience for callers that already hold the bytes.
  void feed(std::string_view bytes);

  // Next complete unit. Scanning is incremental: each byte is examined once
  // however the stream is chunked.
  FrameEvent next();

  FramingError error() const { return error_; }
  // After a Content-Length error: the offending message's start line and
  // headers, so that the caller can try to answer 400 before closing. Empty
  // if the headers never completed.
  std::string_view errorHead() const;

  // Bytes received but not yet returned as messages.
  std::size_t buffered() const { return end_ - start_; }
  std::size_t capacity() const { return capacity_; }
  std::size_t maxMessageSize() const { return max_message_size_; }

 private:
  enum class State : std::uint8_t { kBetween, kHeaders, kBody, kError };

  FrameEvent fail(FramingError error);
  FrameEvent scanBetween();
  FrameEvent scanHeaders();
  FrameEvent finishBody();
  // Looks at one complete logical header [begin, end) relative to start_ and
  // records its Content-Length, or the first Content-Length error in error_.
  void examineHeader(std::size_t begin, std::size_t end);

  std::unique_ptr<char[]> buffer_;
  std::size_t capacity_ = 0;
  std::size_t start_ = 0;  // first byte of the current message / unconsumed data
  std::size_t end_ = 0;    // one past the last received byte
  std::size_t max_message_size_;

  // Header scan state; offsets relative to start_ so that compaction needs
  // no fix-ups.
  State state_ = State::kBetween;
  std::size_t scan_ = 0;          // next byte to examine
  std::size_t line_start_ = 0;    // start of the physical line being scanned
  std::size_t header_start_ = 0;  // start of the logical (possibly folded) header
  bool in_start_line_ = true;
  bool have_length_ = false;
  std::size_t content_length_ = 0;
  std::size_t head_size_ = 0;  // start line + headers + blank line

  FramingError error_ = FramingError::kNone;
  std::size_t error_head_size_ = 0;
};

}  // namespace sbc::transport

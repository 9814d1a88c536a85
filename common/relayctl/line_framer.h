// Splits a TCP byte stream into protocol lines with a hard memory bound: only
// an unfinished line is ever buffered, and never more than maxLine bytes of it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/relayctl/protocol.h"

namespace sbc::relayctl {

enum class FrameEvent {
  kLine,      // a complete line (without "\n" or a trailing "\r")
  kTooLarge,  // a line longer than maxLine was dropped; the stream resyncs at its "\n"
};

class LineFramer {
 public:
  explicit LineFramer(std::size_t maxLine = kMaxLineBytes) : max_(maxLine) {}

  // Calls sink(FrameEvent, std::string_view line) for each line that `data`
  // completes, in order. Blank lines are skipped (harmless keep-alives). A line
  // view is valid only during the call: it points into `data` or into the
  // framer's buffer.
  template <typename Sink>
  void feed(std::string_view data, Sink&& sink) {
    while (!data.empty()) {
      auto nl = data.find('\n');
      if (discarding_) {
        if (nl == std::string_view::npos) return;
        data.remove_prefix(nl + 1);
        discarding_ = false;
        continue;
      }
      if (nl == std::string_view::npos) {
        if (partial_.size() + data.size() > max_) {
          partial_.clear();
          discarding_ = true;
          sink(FrameEvent::kTooLarge, std::string_view{});
          return;
        }
        partial_.append(data);
        return;
      }
      std::string_view chunk = data.substr(0, nl);
      data.remove_prefix(nl + 1);
      if (partial_.size() + chunk.size() > max_) {
        partial_.clear();
        sink(FrameEvent::kTooLarge, std::string_view{});
        continue;
      }
      std::string_view line = chunk;
      if (!partial_.empty()) {
        partial_.append(chunk);
        line = partial_;
      }
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (!line.empty()) sink(FrameEvent::kLine, line);
      partial_.clear();
    }
  }

  // Bytes of an unfinished line held between feeds.
  std::size_t buffered() const { return partial_.size(); }

 private:
  std::size_t max_;
  std::string partial_;
  bool discarding_ = false;
};

}  // namespace sbc::relayctl

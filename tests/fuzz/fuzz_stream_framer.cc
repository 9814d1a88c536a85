// libFuzzer target for sbc::transport::StreamFramer: arbitrary bytes in
// arbitrary chunkings must give exactly the same frames as the whole input
// at once, stay within the size limit and never read out of bounds.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "sbc/transport/stream_framer.h"

namespace {

using sbc::transport::FrameEvent;
using sbc::transport::FrameKind;
using sbc::transport::FramingError;
using sbc::transport::StreamFramer;

struct Frame {
  FrameKind kind;
  std::string message;
  FramingError error;
  bool operator==(const Frame&) const = default;
};

// Returns false once the framer reported an error.
bool drain(StreamFramer& framer, std::vector<Frame>& out, std::size_t limit) {
  for (;;) {
    const FrameEvent event = framer.next();
    if (event.kind == FrameKind::kNeedMore) return true;
    if (event.kind == FrameKind::kMessage && event.message.size() > limit) std::abort();
    out.push_back({event.kind, std::string(event.message), event.error});
    if (event.kind == FrameKind::kError) return false;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  // Small limits reach the size checks; large ones let real messages through.
  const std::size_t limit = 16 + (static_cast<std::size_t>(data[0]) << 6);
  std::uint32_t seed = static_cast<std::uint32_t>(data[1]) << 8 | data[2];
  const std::string_view stream(reinterpret_cast<const char*>(data) + 3, size - 3);

  std::vector<Frame> whole;
  {
    StreamFramer framer(limit);
    framer.feed(stream);
    drain(framer, whole, limit);
  }

  std::vector<Frame> chunked;
  StreamFramer framer(limit);
  std::size_t offset = 0;
  bool ok = true;
  while (ok && offset < stream.size()) {
    seed = seed * 1103515245u + 12345u;
    const std::size_t chunk = std::min<std::size_t>(1 + (seed >> 16) % 97, stream.size() - offset);
    if ((seed & 1) != 0) {
      auto space = framer.prepare(chunk);
      if (space.size() < chunk) std::abort();
      std::memcpy(space.data(), stream.data() + offset, chunk);
      framer.commit(chunk);
    } else {
      framer.feed(stream.substr(offset, chunk));
    }
    offset += chunk;
    ok = drain(framer, chunked, limit);
    // Never more than one partial message is buffered.
    if (ok && framer.buffered() > limit) std::abort();
  }
  if (whole != chunked) std::abort();
  if (!ok) (void)framer.errorHead();
  return 0;
}

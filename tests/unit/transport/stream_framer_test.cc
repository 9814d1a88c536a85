#include "sbc/transport/stream_framer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sbc::transport {
namespace {

const std::string kInvite =
    "INVITE sip:bob@example.com SIP/2.0\r\n"
    "Via: SIP/2.0/TCP pbx.example.com:5060;branch=z9hG4bK776asdhds\r\n"
    "Max-Forwards: 70\r\n"
    "To: <sip:bob@example.com>\r\n"
    "From: <sip:alice@example.com>;tag=1928301774\r\n"
    "Call-ID: a84b4c76e66710@pc33\r\n"
    "CSeq: 314159 INVITE\r\n"
    "Content-Type: application/sdp\r\n"
    "Content-Length: 29\r\n"
    "\r\n"
    "v=0\r\n"
    "o=- 1 1 IN IP4 1.2.3.4\r\n";  // 29 bytes

std::string withBody(std::string_view content_length_header, std::string_view body) {
  std::string message = "MESSAGE sip:a@b SIP/2.0\r\nCall-ID: x\r\n";
  message += content_length_header;
  message += "\r\n\r\n";
  message += body;
  return message;
}

// Everything the framer yields until it needs more input.
struct Drained {
  std::vector<std::string> messages;
  int pings = 0;
  FramingError error = FramingError::kNone;
};

Drained drain(StreamFramer& framer) {
  Drained out;
  for (;;) {
    const FrameEvent event = framer.next();
    if (event.kind == FrameKind::kNeedMore) return out;
    if (event.kind == FrameKind::kMessage) out.messages.emplace_back(event.message);
    if (event.kind == FrameKind::kPing) ++out.pings;
    if (event.kind == FrameKind::kError) {
      out.error = event.error;
      return out;
    }
  }
}

TEST(StreamFramer, WholeMessageWithBody) {
  ASSERT_EQ(kInvite.size() - kInvite.find("\r\n\r\n") - 4, 29u);
  StreamFramer framer;
  framer.feed(kInvite);
  const auto out = drain(framer);
  ASSERT_EQ(out.messages.size(), 1u);
  EXPECT_EQ(out.messages[0], kInvite);
  EXPECT_EQ(out.error, FramingError::kNone);
  EXPECT_EQ(framer.buffered(), 0u);
}

TEST(StreamFramer, SplitAtEveryBytePosition) {
  for (std::size_t split = 0; split <= kInvite.size(); ++split) {
    StreamFramer framer;
    framer.feed(kInvite.substr(0, split));
    auto first = drain(framer);
    if (split < kInvite.size()) {
      EXPECT_TRUE(first.messages.empty()) << "split " << split;
    }
    framer.feed(kInvite.substr(split));
    auto second = drain(framer);
    first.messages.insert(first.messages.end(), second.messages.begin(), second.messages.end());
    ASSERT_EQ(first.messages.size(), 1u) << "split " << split;
    EXPECT_EQ(first.messages[0], kInvite) << "split " << split;
    EXPECT_EQ(second.error, FramingError::kNone);
  }
}

TEST(StreamFramer, OneByteAtATime) {
  StreamFramer framer;
  std::vector<std::string> messages;
  const std::string stream = kInvite + kInvite;
  for (const char c : stream) {
    framer.feed(std::string_view(&c, 1));
    auto out = drain(framer);
    ASSERT_EQ(out.error, FramingError::kNone);
    messages.insert(messages.end(), out.messages.begin(), out.messages.end());
  }
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0], kInvite);
  EXPECT_EQ(messages[1], kInvite);
}

TEST(StreamFramer, TwoMessagesCoalesced) {
  const std::string second = withBody("Content-Length: 3", "abc");
  StreamFramer framer;
  framer.feed(kInvite + second);
  const auto out = drain(framer);
  ASSERT_EQ(out.messages.size(), 2u);
  EXPECT_EQ(out.messages[0], kInvite);
  EXPECT_EQ(out.messages[1], second);
}

TEST(StreamFramer, MessageAndPartOfTheNext) {
  StreamFramer framer;
  framer.feed(kInvite + kInvite.substr(0, 40));
  auto out = drain(framer);
  ASSERT_EQ(out.messages.size(), 1u);
  EXPECT_EQ(framer.buffered(), 40u);
  framer.feed(kInvite.substr(40));
  out = drain(framer);
  ASSERT_EQ(out.messages.size(), 1u);
  EXPECT_EQ(out.messages[0], kInvite);
}

TEST(StreamFramer, ZeroLengthBody) {
  const std::string options = withBody("Content-Length: 0", "");
  StreamFramer framer;
  framer.feed(options + options);
  EXPECT_EQ(drain(framer).messages.size(), 2u);
}

TEST(StreamFramer, DoubleCrlfIsAPing) {
  StreamFramer framer;
  framer.feed("\r\n\r\n");
  const auto out = drain(framer);
  EXPECT_EQ(out.pings, 1);
  EXPECT_TRUE(out.messages.empty());
  EXPECT_EQ(framer.buffered(), 0u);
}

TEST(StreamFramer, PingSplitAcrossReads) {
  StreamFramer framer;
  framer.feed("\r\n\r");
  EXPECT_EQ(drain(framer).pings, 0);
  framer.feed("\n");
  EXPECT_EQ(drain(framer).pings, 1);
}

TEST(StreamFramer, PingsBetweenMessages) {
  StreamFramer framer;
  framer.feed("\r\n\r\n" + kInvite + "\r\n\r\n\r\n\r\n" + kInvite);
  const auto out = drain(framer);
  EXPECT_EQ(out.pings, 3);
  ASSERT_EQ(out.messages.size(), 2u);
  EXPECT_EQ(out.messages[1], kInvite);
}

TEST(StreamFramer, LoneCrlfIsSkippedNotAPing) {
  StreamFramer framer;
  framer.feed("\r\n" + kInvite + "\r\n");
  auto out = drain(framer);
  EXPECT_EQ(out.pings, 0);
  ASSERT_EQ(out.messages.size(), 1u);
  EXPECT_EQ(out.messages[0], kInvite);  // the leading CRLF is not part of it
  framer.feed(kInvite);
  out = drain(framer);
  EXPECT_EQ(out.pings, 0);
  ASSERT_EQ(out.messages.size(), 1u);
  EXPECT_EQ(out.messages[0], kInvite);
}

TEST(StreamFramer, CompactAndCaseInsensitiveContentLength) {
  for (const char* header :
       {"l: 3", "L:3", "content-length: 3", "CONTENT-LENGTH   :   3  ", "Content-Length: 003"}) {
    const std::string message = withBody(header, "xyz");
    StreamFramer framer;
    framer.feed(message + message);
    const auto out = drain(framer);
    ASSERT_EQ(out.messages.size(), 2u) << header;
    EXPECT_EQ(out.messages[0], message) << header;
  }
}

TEST(StreamFramer, FoldedContentLength) {
  const std::string message = withBody("Content-Length:\r\n   4", "abcd");
  StreamFramer framer;
  framer.feed(message);
  const auto out = drain(framer);
  ASSERT_EQ(out.messages.size(), 1u);
  EXPECT_EQ(out.messages[0], message);
}

TEST(StreamFramer, SimilarHeaderNamesAreNotContentLength) {
  const std::string message =
      "OPTIONS sip:a@b SIP/2.0\r\nX-Content-Length: 99\r\nContent-Lengthy: 7\r\nLl: 5\r\n"
      "Content-Length: 2\r\n\r\nok";
  StreamFramer framer;
  framer.feed(message);
  const auto out = drain(framer);
  ASSERT_EQ(out.messages.size(), 1u);
  EXPECT_EQ(out.messages[0], message);
}

TEST(StreamFramer, ContentLengthInsideTheBodyIsIgnored) {
  const std::string body = "Content-Length: 999\r\n\r\n";
  const std::string message = withBody("l: " + std::to_string(body.size()), body);
  StreamFramer framer;
  framer.feed(message);
  const auto out = drain(framer);
  ASSERT_EQ(out.messages.size(), 1u);
  EXPECT_EQ(out.messages[0], message);
}

TEST(StreamFramer, MissingContentLengthIsAnErrorWithTheHead) {
  const std::string head = "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n\r\n";
  StreamFramer framer;
  framer.feed(head);
  const auto out = drain(framer);
  EXPECT_TRUE(out.messages.empty());
  EXPECT_EQ(out.error, FramingError::kMissingContentLength);
  EXPECT_EQ(framer.errorHead(), head);
}

TEST(StreamFramer, InvalidContentLengths) {
  for (const char* header : {"Content-Length: -1", "Content-Length: abc", "Content-Length: 5 5",
                             "Content-Length:", "Content-Length: 5, 5", "l: +5", "l: 0x10"}) {
    StreamFramer framer;
    framer.feed(withBody(header, "12345"));
    EXPECT_EQ(drain(framer).error, FramingError::kInvalidContentLength) << header;
    EXPECT_FALSE(framer.errorHead().empty()) << header;
  }
}

TEST(StreamFramer, DuplicateContentLength) {
  {
    StreamFramer framer;
    framer.feed(withBody("Content-Length: 2\r\nl: 2", "ab"));
    EXPECT_EQ(drain(framer).messages.size(), 1u);
  }
  {
    StreamFramer framer;
    framer.feed(withBody("Content-Length: 2\r\nl: 3", "abc"));
    EXPECT_EQ(drain(framer).error, FramingError::kConflictingContentLength);
  }
}

TEST(StreamFramer, ErrorIsSticky) {
  StreamFramer framer;
  framer.feed(withBody("Content-Length: x", ""));
  EXPECT_EQ(drain(framer).error, FramingError::kInvalidContentLength);
  framer.feed(kInvite);
  const auto out = drain(framer);
  EXPECT_TRUE(out.messages.empty());
  EXPECT_EQ(out.error, FramingError::kInvalidContentLength);
}

TEST(StreamFramer, OversizedHeadersFailWithoutBufferingThemAll) {
  constexpr std::size_t kMax = 1024;
  StreamFramer framer(kMax);
  framer.feed("INVITE sip:a@b SIP/2.0\r\n");
  const std::string line = "X-Filler: 0123456789012345678901234567890123456789\r\n";
  FramingError error = FramingError::kNone;
  std::size_t fed = 0;
  while (error == FramingError::kNone && fed < 100 * kMax) {
    framer.feed(line);
    fed += line.size();
    error = drain(framer).error;
  }
  EXPECT_EQ(error, FramingError::kMessageTooLarge);
  EXPECT_LE(framer.buffered(), kMax + line.size());
}

TEST(StreamFramer, OversizedContentLengthFailsAtEndOfHeaders) {
  StreamFramer framer(1024);
  framer.feed(withBody("Content-Length: 2000", ""));  // no body bytes sent yet
  EXPECT_EQ(drain(framer).error, FramingError::kMessageTooLarge);
}

TEST(StreamFramer, HugeContentLengthIsTooLargeNotOverflow) {
  StreamFramer framer;
  framer.feed(withBody("Content-Length: 99999999999999999999999999999999", ""));
  EXPECT_EQ(drain(framer).error, FramingError::kMessageTooLarge);
}

TEST(StreamFramer, MessageExactlyAtTheLimitPasses) {
  const std::string message = withBody("Content-Length: 10", "0123456789");
  StreamFramer exact(message.size());
  exact.feed(message);
  EXPECT_EQ(drain(exact).messages.size(), 1u);
  StreamFramer smaller(message.size() - 1);
  smaller.feed(message);
  EXPECT_EQ(drain(smaller).error, FramingError::kMessageTooLarge);
}

TEST(StreamFramer, ReadsDirectlyIntoPreparedSpace) {
  StreamFramer framer;
  std::size_t offset = 0;
  std::vector<std::string> messages;
  const std::string stream = kInvite + kInvite + kInvite;
  while (offset < stream.size()) {
    auto space = framer.prepare(16);
    ASSERT_GE(space.size(), 16u);
    const std::size_t n = std::min<std::size_t>(7, stream.size() - offset);
    std::copy_n(stream.data() + offset, n, space.data());
    framer.commit(n);
    offset += n;
    for (const auto& m : drain(framer).messages) messages.push_back(m);
  }
  EXPECT_EQ(messages.size(), 3u);
}

TEST(StreamFramer, IdleFramerGivesBackALargeBuffer) {
  const std::string body(40000, 'x');
  StreamFramer framer;
  framer.feed(withBody("Content-Length: 40000", body));
  ASSERT_EQ(drain(framer).messages.size(), 1u);
  EXPECT_GE(framer.capacity(), 40000u);
  framer.prepare();
  EXPECT_LE(framer.capacity(), 16u * 1024);
}

}  // namespace
}  // namespace sbc::transport

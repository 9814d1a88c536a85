#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/relayctl/idempotency_cache.h"
#include "common/relayctl/line_framer.h"

namespace sbc::relayctl {
namespace {

std::vector<std::string> feedAll(LineFramer& f, std::string_view data) {
  std::vector<std::string> out;
  f.feed(data, [&](FrameEvent e, std::string_view line) {
    out.push_back(e == FrameEvent::kLine ? std::string(line) : std::string("<too_large>"));
  });
  return out;
}

TEST(LineFramer, CoalescedLinesInOneRead) {
  LineFramer f;
  EXPECT_EQ(feedAll(f, "a\nbb\r\n\nccc\n"), (std::vector<std::string>{"a", "bb", "ccc"}));
  EXPECT_EQ(f.buffered(), 0u);
}

TEST(LineFramer, LineSplitAcrossReadsByteByByte) {
  LineFramer f;
  std::vector<std::string> got;
  for (char c : std::string("{\"x\":1}\n{\"y\":2}\n")) {
    auto part = feedAll(f, std::string_view(&c, 1));
    got.insert(got.end(), part.begin(), part.end());
  }
  EXPECT_EQ(got, (std::vector<std::string>{"{\"x\":1}", "{\"y\":2}"}));
}

TEST(LineFramer, OverlongLineIsReportedOnceThenStreamResyncs) {
  LineFramer f(16);
  EXPECT_EQ(feedAll(f, std::string(10, 'x')), std::vector<std::string>{});
  EXPECT_EQ(feedAll(f, std::string(10, 'y')), std::vector<std::string>{"<too_large>"});
  EXPECT_EQ(f.buffered(), 0u);  // nothing of the long line is kept
  EXPECT_EQ(feedAll(f, std::string(1000, 'z')), std::vector<std::string>{});
  EXPECT_EQ(feedAll(f, "zz\nok\n"), std::vector<std::string>{"ok"});
  // A complete overlong line inside one read.
  EXPECT_EQ(feedAll(f, std::string(17, 'q') + "\nfine\n"),
            (std::vector<std::string>{"<too_large>", "fine"}));
}

TEST(LineFramer, OneMegabyteLineNeverBuffersMoreThanTheLimit) {
  LineFramer f;  // 64 KiB
  std::string chunk(8192, 'a');
  int tooLarge = 0;
  for (int i = 0; i < 128; ++i) {
    f.feed(chunk, [&](FrameEvent e, std::string_view) { tooLarge += e == FrameEvent::kTooLarge; });
    EXPECT_LE(f.buffered(), kMaxLineBytes);
  }
  EXPECT_EQ(tooLarge, 1);
  EXPECT_EQ(feedAll(f, "\nnext\n"), std::vector<std::string>{"next"});
}

TEST(IdempotencyCache, HitReturnsStoredResponse) {
  IdempotencyCache c(4);
  EXPECT_EQ(c.find("r1"), nullptr);
  c.insert("r1", "resp1");
  ASSERT_NE(c.find("r1"), nullptr);
  EXPECT_EQ(*c.find("r1"), "resp1");
  c.insert("r1", "resp1b");  // replace, no growth
  EXPECT_EQ(*c.find("r1"), "resp1b");
  EXPECT_EQ(c.size(), 1u);
}

TEST(IdempotencyCache, EvictsLeastRecentlyUsed) {
  IdempotencyCache c(3);
  c.insert("a", "A");
  c.insert("b", "B");
  c.insert("c", "C");
  ASSERT_NE(c.find("a"), nullptr);  // a is now the most recent; b the oldest
  c.insert("d", "D");
  EXPECT_EQ(c.size(), 3u);
  EXPECT_EQ(c.find("b"), nullptr);
  EXPECT_NE(c.find("a"), nullptr);
  EXPECT_NE(c.find("c"), nullptr);
  EXPECT_NE(c.find("d"), nullptr);
  for (int i = 0; i < 1000; ++i) c.insert("k" + std::to_string(i), "v");
  EXPECT_EQ(c.size(), 3u);
  EXPECT_EQ(*c.find("k999"), "v");
  EXPECT_EQ(c.find("k996"), nullptr);
}

}  // namespace
}  // namespace sbc::relayctl

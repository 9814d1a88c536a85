// The [media] and [[relay]] keys of the sbc's TOML (sbc/app/config.h).
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "sbc/app/config.h"

namespace sbc::app {
namespace {

const std::string kBase = R"(
[database]
dsn = "dbname=x"

[[listen]]
realm = "inside"
address = "127.0.0.1"
)";

TEST(MediaConfig, NoRelayMeansNoAnchoring) {
  Config c = parseConfig(kBase);
  EXPECT_TRUE(c.relays.empty());
  EXPECT_EQ(c.media.timeout_seconds, 30u);
}

TEST(MediaConfig, RelaysAndMediaKeys) {
  Config c = parseConfig(kBase + R"(
[media]
timeout = 3
request_timeout_ms = 400
ping_interval_ms = 500
relay_grace = 7

[[relay]]
address = "127.0.0.1"
port = 7722

[[relay]]
address = "::1"
port = 7724
)");
  ASSERT_EQ(c.relays.size(), 2u);
  EXPECT_EQ(c.relays[0].address, "127.0.0.1");
  EXPECT_EQ(c.relays[0].port, 7722);
  EXPECT_EQ(c.relays[1].address, "::1");
  EXPECT_EQ(c.media.timeout_seconds, 3u);
  EXPECT_EQ(c.media.request_timeout.count(), 400);
  EXPECT_EQ(c.media.ping_interval.count(), 500);
  EXPECT_EQ(c.media.relay_grace.count(), 7);
}

TEST(MediaConfig, BadRelayEntriesNameTheKey) {
  auto error = [](const std::string& extra, bool before = false) {
    try {
      parseConfig(before ? extra + kBase : kBase + extra);
    } catch (const std::runtime_error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(error("[[relay]]\naddress = \"relay.example\"\nport = 1\n").find("relay[0].address"),
            std::string::npos);
  EXPECT_NE(error("[[relay]]\naddress = \"0.0.0.0\"\nport = 1\n").find("relay[0].address"),
            std::string::npos);
  EXPECT_NE(error("[[relay]]\naddress = \"127.0.0.1\"\n").find("relay[0].port"), std::string::npos);
  EXPECT_NE(error("relay = 5\n", true).find("relay must be a list"), std::string::npos);
  EXPECT_NE(error("[media]\ntimeout = -1\n").find("media.timeout"), std::string::npos);
}

}  // namespace
}  // namespace sbc::app

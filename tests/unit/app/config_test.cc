#include "sbc/app/config.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace sbc::app {
namespace {

std::string errorOf(const std::string& text) {
  try {
    parseConfig(text, "test.toml");
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

TEST(Config, ParsesEveryKey) {
  Config c = parseConfig(R"(
[node]
name = "edge-1"
log_level = "debug"
product = "ACME SBC"
[sip]
max_message_size = 8192
idle_timeout = 60
domains = ["sbc.example.net", "10.0.0.1"]
[[listen]]
realm = "inside"
transport = "udp"
address = "127.0.0.2"
port = 5060
[[listen]]
realm = "outside"
transport = "tls"
address = "::1"
port = 5061
certificate = "/etc/sbc/cert.pem"
private_key = "/etc/sbc/key.pem"
ca = "/etc/sbc/ca.pem"
verify_client = true
)");
  EXPECT_EQ(c.node_name, "edge-1");
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_EQ(c.product, "ACME SBC");
  EXPECT_EQ(c.max_message_size, 8192u);
  EXPECT_EQ(c.idle_timeout, std::chrono::seconds(60));
  ASSERT_EQ(c.domains.size(), 2u);
  EXPECT_EQ(c.domains[0], "sbc.example.net");
  ASSERT_EQ(c.listen.size(), 2u);
  EXPECT_EQ(c.listen[0].realm, "inside");
  EXPECT_EQ(c.listen[0].protocol, ListenProtocol::Udp);
  EXPECT_EQ(c.listen[0].address, "127.0.0.2");
  EXPECT_EQ(c.listen[1].protocol, ListenProtocol::Tls);
  EXPECT_EQ(c.listen[1].address, "::1");
  EXPECT_EQ(c.listen[1].port, 5061);
  EXPECT_TRUE(c.listen[1].verify_client);
  EXPECT_EQ(c.listen[1].ca, "/etc/sbc/ca.pem");
}

TEST(Config, DefaultsApply) {
  Config c = parseConfig("[[listen]]\nrealm = \"inside\"\naddress = \"127.0.0.1\"\n");
  EXPECT_EQ(c.listen[0].protocol, ListenProtocol::Udp);
  EXPECT_EQ(c.listen[0].port, 5060);
  EXPECT_EQ(c.product, "edge-sbc");
  EXPECT_EQ(c.max_message_size, 65535u);
}

TEST(Config, ErrorsNameTheKey) {
  const std::string base = "[[listen]]\nrealm = \"inside\"\naddress = \"127.0.0.1\"\n";
  EXPECT_NE(errorOf("").find("[[listen]]"), std::string::npos);
  EXPECT_NE(
      errorOf("[[listen]]\nrealm = \"dmz\"\naddress = \"127.0.0.1\"\n").find("listen[0].realm"),
      std::string::npos);
  EXPECT_NE(errorOf("[[listen]]\nrealm = \"inside\"\naddress = \"sbc.local\"\n")
                .find("listen[0].address"),
            std::string::npos);
  EXPECT_NE(errorOf(base + "port = 70000\n").find("listen[0].port"), std::string::npos);
  EXPECT_NE(errorOf(base + "transport = \"sctp\"\n").find("transport"), std::string::npos);
  EXPECT_NE(errorOf(base + "transport = \"tls\"\n").find("certificate"), std::string::npos);
  EXPECT_NE(errorOf(base + "port = \"5060\"\n").find("wrong type"), std::string::npos);
  EXPECT_NE(errorOf("[sip]\nidle_timeout = 0\n" + base).find("sip.idle_timeout"),
            std::string::npos);
  // TOML syntax errors carry the position.
  EXPECT_NE(errorOf("[[listen]\n").find("test.toml"), std::string::npos);
}

TEST(Config, SampleConfigIsValid) {
  Config c = loadConfig(std::string(SBC_SOURCE_DIR) + "/deploy/sbc.sample.toml");
  EXPECT_GE(c.listen.size(), 2u);
}

}  // namespace
}  // namespace sbc::app

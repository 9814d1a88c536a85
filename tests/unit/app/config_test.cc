#include "sbc/app/config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include <unistd.h>

namespace sbc::app {
namespace {

const std::string kDb = "[database]\ndsn = \"host=127.0.0.1 dbname=sbc\"\n";
const std::string kListen = "[[listen]]\nrealm = \"inside\"\naddress = \"127.0.0.1\"\n";

std::string errorOf(const std::string& text) {
  try {
    parseConfig(text, "test.toml");
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

// The error for a config of the database section, the listener and `extra`.
std::string errorWith(const std::string& extra) {
  return errorOf(kDb + kListen + extra);
}

TEST(Config, ParsesEveryKey) {
  Config c = parseConfig(R"(
[node]
name = "edge-1"
log_level = "debug"
product = "ACME SBC"
shutdown_grace = 12
[sip]
max_message_size = 8192
idle_timeout = 60
presize_cps = 6000
domains = ["sbc.example.net", "10.0.0.1"]
[database]
dsn = "host=db.example.net port=5433 dbname=sbc user=sbc"
secret_key_file = "/etc/sbc/secret.key"
pool_threads = 4
migrate = true
[cdr]
spool_dir = "/var/spool/sbc/cdr"
[mgmt]
address = "::1"
port = 0
[[listen]]
realm = "inside"
transport = "udp"
address = "127.0.0.2"
port = 5060
[[listen]]
realm = "outside"
transport = "tls"
address = "0.0.0.0"
advertise = "203.0.113.5"
port = 5061
certificate = "/etc/sbc/cert.pem"
private_key = "/etc/sbc/key.pem"
ca = "/etc/sbc/ca.pem"
verify_client = true
)");
  EXPECT_EQ(c.node_name, "edge-1");
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_EQ(c.product, "ACME SBC");
  EXPECT_EQ(c.shutdown_grace, std::chrono::seconds(12));
  EXPECT_EQ(c.max_message_size, 8192u);
  EXPECT_EQ(c.idle_timeout, std::chrono::seconds(60));
  EXPECT_EQ(c.presize_cps, 6000u);
  ASSERT_EQ(c.domains.size(), 2u);
  EXPECT_EQ(c.domains[0], "sbc.example.net");
  EXPECT_EQ(c.database.dsn, "host=db.example.net port=5433 dbname=sbc user=sbc");
  EXPECT_EQ(c.database.secret_key_file, "/etc/sbc/secret.key");
  EXPECT_EQ(c.database.pool_threads, 4u);
  EXPECT_TRUE(c.database.migrate);
  EXPECT_EQ(c.cdr_spool_dir, "/var/spool/sbc/cdr");
  EXPECT_EQ(c.mgmt_address, "::1");
  EXPECT_EQ(c.mgmt_port, 0);
  ASSERT_EQ(c.listen.size(), 2u);
  EXPECT_EQ(c.listen[0].realm, "inside");
  EXPECT_EQ(c.listen[0].protocol, ListenProtocol::Udp);
  EXPECT_EQ(c.listen[0].address, "127.0.0.2");
  EXPECT_EQ(c.listen[0].advertisedHost(), "127.0.0.2");
  EXPECT_EQ(c.listen[1].protocol, ListenProtocol::Tls);
  EXPECT_EQ(c.listen[1].address, "0.0.0.0");
  EXPECT_EQ(c.listen[1].advertisedHost(), "203.0.113.5");
  EXPECT_EQ(c.listen[1].port, 5061);
  EXPECT_TRUE(c.listen[1].verify_client);
  EXPECT_EQ(c.listen[1].ca, "/etc/sbc/ca.pem");
}

TEST(Config, DefaultsApply) {
  Config c = parseConfig(kDb + kListen);
  EXPECT_EQ(c.listen[0].protocol, ListenProtocol::Udp);
  EXPECT_EQ(c.listen[0].port, 5060);
  EXPECT_EQ(c.listen[0].advertisedHost(), "127.0.0.1");
  EXPECT_EQ(c.product, "edge-sbc");
  EXPECT_EQ(c.max_message_size, 65535u);
  EXPECT_EQ(c.presize_cps, 1000u);
  EXPECT_EQ(c.shutdown_grace, std::chrono::seconds(5));
  EXPECT_EQ(c.database.pool_threads, 2u);
  EXPECT_FALSE(c.database.migrate);
  EXPECT_TRUE(c.database.secret_key_file.empty());
  EXPECT_EQ(c.cdr_spool_dir, "var/spool/cdr");
  EXPECT_EQ(c.mgmt_address, "127.0.0.1");
  EXPECT_EQ(c.mgmt_port, 8080);
}

TEST(Config, RelativePathsAreRelativeToTheConfigDirectory) {
  Config c = parseConfig(kDb + "secret_key_file = \"keys/secret.key\"\n" +
                             "[cdr]\nspool_dir = \"spool/cdr\"\n" +
                             "[[listen]]\nrealm = \"inside\"\ntransport = \"tls\"\n"
                             "address = \"127.0.0.1\"\ncertificate = \"tls/cert.pem\"\n"
                             "private_key = \"/abs/key.pem\"\n",
                         "test.toml", "/etc/sbc");
  EXPECT_EQ(c.database.secret_key_file, "/etc/sbc/keys/secret.key");
  EXPECT_EQ(c.cdr_spool_dir, "/etc/sbc/spool/cdr");
  EXPECT_EQ(c.listen[0].certificate, "/etc/sbc/tls/cert.pem");
  EXPECT_EQ(c.listen[0].private_key, "/abs/key.pem");
}

TEST(Config, LoadConfigResolvesAgainstTheFilesDirectory) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("sbc-config-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    std::ofstream f(dir / "sbc.toml");
    f << kDb << kListen;
  }
  Config c = loadConfig((dir / "sbc.toml").string());
  EXPECT_EQ(c.cdr_spool_dir, (dir / "var/spool/cdr").lexically_normal().string());
  std::filesystem::remove_all(dir);
}

TEST(Config, ErrorsNameTheKey) {
  EXPECT_NE(errorOf(kDb).find("[[listen]]"), std::string::npos);
  EXPECT_NE(errorOf(kDb + "[[listen]]\nrealm = \"dmz\"\naddress = \"127.0.0.1\"\n")
                .find("listen[0].realm"),
            std::string::npos);
  EXPECT_NE(errorOf(kDb + "[[listen]]\nrealm = \"inside\"\naddress = \"sbc.local\"\n")
                .find("listen[0].address"),
            std::string::npos);
  EXPECT_NE(errorWith("port = 70000\n").find("listen[0].port"), std::string::npos);
  EXPECT_NE(errorWith("transport = \"sctp\"\n").find("transport"), std::string::npos);
  EXPECT_NE(errorWith("transport = \"tls\"\n").find("certificate"), std::string::npos);
  EXPECT_NE(errorWith("port = \"5060\"\n").find("wrong type"), std::string::npos);
  EXPECT_NE(errorOf(kDb + "[sip]\nidle_timeout = 0\n" + kListen).find("sip.idle_timeout"),
            std::string::npos);
  EXPECT_NE(errorOf(kDb + "[sip]\npresize_cps = -1\n" + kListen).find("sip.presize_cps"),
            std::string::npos);
  // TOML syntax errors carry the position.
  EXPECT_NE(errorOf("[[listen]\n").find("test.toml"), std::string::npos);
}

TEST(Config, DatabaseDsnIsRequired) {
  EXPECT_NE(errorOf(kListen).find("[database]"), std::string::npos);
  EXPECT_NE(errorOf("[database]\npool_threads = 2\n" + kListen).find("database.dsn"),
            std::string::npos);
  EXPECT_NE(errorOf("[database]\ndsn = \"\"\n" + kListen).find("database.dsn"), std::string::npos);
  EXPECT_NE(errorOf("[database]\ndsn = 5\n" + kListen).find("database.dsn has the wrong type"),
            std::string::npos);
  EXPECT_NE(errorOf("database = \"x\"\n" + kListen).find("database must be a table"),
            std::string::npos);
}

TEST(Config, NewKeysAreValidated) {
  EXPECT_NE(errorOf(kDb + "pool_threads = 0\n" + kListen).find("database.pool_threads"),
            std::string::npos);
  EXPECT_NE(errorOf(kDb + "migrate = \"yes\"\n" + kListen).find("database.migrate"),
            std::string::npos);
  EXPECT_NE(errorOf("[node]\nshutdown_grace = -1\n" + kDb + kListen).find("node.shutdown_grace"),
            std::string::npos);
  EXPECT_NE(errorOf(kDb + "[cdr]\nspool_dir = \"\"\n" + kListen).find("cdr.spool_dir"),
            std::string::npos);
  EXPECT_NE(errorOf(kDb + "[mgmt]\naddress = \"localhost\"\n" + kListen).find("mgmt.address"),
            std::string::npos);
  EXPECT_NE(errorOf(kDb + "[mgmt]\nport = 65536\n" + kListen).find("mgmt.port"), std::string::npos);
}

TEST(Config, WildcardBindNeedsAdvertise) {
  EXPECT_NE(errorOf(kDb + "[[listen]]\nrealm = \"outside\"\naddress = \"0.0.0.0\"\n")
                .find("listen[0].advertise is required"),
            std::string::npos);
  EXPECT_NE(errorOf(kDb + "[[listen]]\nrealm = \"outside\"\naddress = \"::\"\n")
                .find("listen[0].advertise"),
            std::string::npos);
  EXPECT_NE(errorWith("advertise = \"sbc.example.net\"\n").find("listen[0].advertise"),
            std::string::npos);
  EXPECT_NE(errorWith("advertise = \"0.0.0.0\"\n").find("listen[0].advertise"), std::string::npos);
  Config c = parseConfig(kDb +
                         "[[listen]]\nrealm = \"outside\"\naddress = \"0.0.0.0\"\n"
                         "advertise = \"198.51.100.7\"\n");
  EXPECT_EQ(c.listen[0].advertisedHost(), "198.51.100.7");
}

TEST(Config, SampleConfigIsValid) {
  Config c = loadConfig(std::string(SBC_SOURCE_DIR) + "/deploy/sbc.sample.toml");
  EXPECT_GE(c.listen.size(), 2u);
  EXPECT_FALSE(c.database.dsn.empty());
  EXPECT_TRUE(std::filesystem::path(c.cdr_spool_dir).is_absolute());
}

}  // namespace
}  // namespace sbc::app

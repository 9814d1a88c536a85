#include "admin-ui/config.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace sbc::admin {
namespace {

constexpr const char* kDb = "[database]\ndsn = \"host=127.0.0.1 dbname=sbc\"\n";

AdminConfig parse(const std::string& text) {
  return parseAdminConfig(text, "admin.toml", "/etc/sbc");
}

std::string errorOf(const std::string& text) {
  try {
    parse(text);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

TEST(AdminConfig, MinimalUsesLoopbackHttpAndDefaults) {
  AdminConfig c = parse(kDb);
  EXPECT_EQ(c.address, "127.0.0.1");
  EXPECT_FALSE(c.tls());
  EXPECT_EQ(c.dsn, "host=127.0.0.1 dbname=sbc");
  EXPECT_EQ(c.session_idle, std::chrono::seconds(1800));
  EXPECT_EQ(c.session_absolute, std::chrono::seconds(43200));
  EXPECT_FALSE(c.migrate);
}

TEST(AdminConfig, ReadsEverySectionAndResolvesRelativePaths) {
  AdminConfig c = parse(std::string(kDb) +
                        "pool_threads = 4\nmigrate = true\nsecret_key_file = \"key\"\n"
                        "[http]\naddress = \"0.0.0.0\"\nport = 9443\ncertificate = \"c.pem\"\n"
                        "private_key = \"/abs/k.pem\"\nstatic_dir = \"ui\"\n"
                        "[auth]\nsession_idle = 60\nsession_absolute = 600\nmax_failed_logins = 3\n"
                        "lockout = 30\nlogin_rate_per_minute = 100\n");
  EXPECT_TRUE(c.tls());
  EXPECT_EQ(c.port, 9443);
  EXPECT_EQ(c.certificate, "/etc/sbc/c.pem");
  EXPECT_EQ(c.private_key, "/abs/k.pem");
  EXPECT_EQ(c.static_dir, "/etc/sbc/ui");
  EXPECT_EQ(c.secret_key_file, "/etc/sbc/key");
  EXPECT_EQ(c.pool_threads, 4u);
  EXPECT_TRUE(c.migrate);
  EXPECT_EQ(c.session_idle.count(), 60);
  EXPECT_EQ(c.max_failed_logins, 3);
  EXPECT_EQ(c.lockout.count(), 30);
}

TEST(AdminConfig, RefusesPlainHttpOffLoopback) {
  EXPECT_NE(errorOf(std::string(kDb) + "[http]\naddress = \"0.0.0.0\"\n").find("loopback"),
            std::string::npos);
  EXPECT_NE(errorOf(std::string(kDb) + "[http]\naddress = \"192.0.2.1\"\n").find("loopback"),
            std::string::npos);
  EXPECT_NO_THROW(parse(std::string(kDb) + "[http]\naddress = \"::1\"\n"));
}

TEST(AdminConfig, RefusesMistakes) {
  EXPECT_NE(errorOf("").find("[database]"), std::string::npos);
  EXPECT_NE(errorOf("[database]\ndsn = \"\"\n").find("dsn"), std::string::npos);
  EXPECT_NE(errorOf(std::string(kDb) + "[http]\ncertficate = \"x\"\n").find("http.certficate"),
            std::string::npos);
  EXPECT_NE(errorOf(std::string(kDb) + "[http]\ncertificate = \"x\"\n").find("go together"),
            std::string::npos);
  EXPECT_NE(errorOf(std::string(kDb) + "[http]\naddress = \"localhost\"\n").find("IP address"),
            std::string::npos);
  EXPECT_NE(errorOf(std::string(kDb) + "[http]\nport = 70000\n").find("http.port"),
            std::string::npos);
  EXPECT_NE(errorOf(std::string(kDb) + "[auth]\nsession_idle = 600\nsession_absolute = 60\n")
                .find("session_absolute"),
            std::string::npos);
  EXPECT_NE(errorOf("[database\n").find("admin.toml"), std::string::npos);
}

TEST(AdminConfig, SampleFileIsValid) {
  AdminConfig c = loadAdminConfig(std::string(SBC_SOURCE_DIR) + "/deploy/admin.sample.toml");
  EXPECT_EQ(c.address, "127.0.0.1");
  EXPECT_FALSE(c.static_dir.empty());
}

TEST(AdminConfig, LoopbackAddresses) {
  EXPECT_TRUE(isLoopbackAddress("127.0.0.1"));
  EXPECT_TRUE(isLoopbackAddress("127.1.2.3"));
  EXPECT_TRUE(isLoopbackAddress("::1"));
  EXPECT_FALSE(isLoopbackAddress("0.0.0.0"));
  EXPECT_FALSE(isLoopbackAddress("::"));
  EXPECT_FALSE(isLoopbackAddress("10.0.0.1"));
  EXPECT_FALSE(isLoopbackAddress("nonsense"));
}

}  // namespace
}  // namespace sbc::admin

#include <gtest/gtest.h>

#include "common/db/backoff.h"
#include "common/db/dsn.h"

namespace sbc::db {
namespace {

TEST(Dsn, AddsDefaultsOnlyWhereMissing) {
  auto d = dsnWithDefaults("host=db port=5432 connect_timeout=9", 5, "sbc");
  EXPECT_NE(d.find("connect_timeout=9"), std::string::npos);
  EXPECT_EQ(d.find("connect_timeout=5"), std::string::npos);
  EXPECT_NE(d.find("keepalives_idle=10"), std::string::npos);
  EXPECT_NE(d.find("application_name=sbc"), std::string::npos);
  EXPECT_TRUE(dsnHasParam(d, "keepalives"));
  EXPECT_FALSE(dsnHasParam("host=db password='a connect_timeout=1'", "connect_timeout"));
}

TEST(Dsn, UriForm) {
  auto d = dsnWithDefaults("postgresql://u@db/sbc", 4, "x");
  EXPECT_EQ(d.rfind("postgresql://u@db/sbc?connect_timeout=4&", 0), 0u) << d;
  auto e = dsnWithParam("postgres://db/sbc?sslmode=require", "dbname", "other db");
  EXPECT_EQ(e, "postgres://db/sbc?sslmode=require&dbname=other%20db");
  EXPECT_TRUE(dsnHasParam(e, "sslmode"));
  EXPECT_FALSE(dsnHasParam("postgres://db/sbc", "sslmode"));
}

TEST(Dsn, ParamOverridesAndQuotes) {
  EXPECT_EQ(dsnWithParam("host=a dbname=postgres", "dbname", "t1"),
            "host=a dbname=postgres dbname=t1");
  EXPECT_EQ(dsnWithParam("", "password", "it's"), "password='it\\'s'");
}

TEST(Dsn, RedactsPasswords) {
  EXPECT_EQ(redactDsn("host=a password=hunter2 user=b"), "host=a password=*** user=b");
  EXPECT_EQ(redactDsn("host=a password = 'x y' user=b"), "host=a password = *** user=b");
  EXPECT_EQ(redactDsn("postgresql://sbc:hunter2@db:5432/sbc"), "postgresql://sbc:***@db:5432/sbc");
  EXPECT_EQ(redactDsn("postgresql://db/sbc?password=hunter2&x=1"),
            "postgresql://db/sbc?password=***&x=1");
  EXPECT_EQ(redactDsn("host=a"), "host=a");
}

TEST(Backoff, GrowsToTheCapWithJitter) {
  Backoff b(BackoffPolicy{std::chrono::milliseconds(250), std::chrono::milliseconds(10'000)});
  std::vector<long> d;
  for (int i = 0; i < 12; ++i) d.push_back(b.next().count());
  EXPECT_GE(d[0], 200);
  EXPECT_LE(d[0], 250);
  EXPECT_GE(d[1], 400);
  EXPECT_LE(d[1], 500);
  EXPECT_GE(d[3], 1600);
  for (long v : d) EXPECT_LE(v, 10'000);
  EXPECT_GE(d.back(), 8'000);
  b.reset();
  EXPECT_LE(b.next().count(), 250);
}

}  // namespace
}  // namespace sbc::db

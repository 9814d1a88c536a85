// [cluster] of the sbc's TOML file (sbc/app/config.cc) and the leased
// channels in the mgmt API's /api/trunks/usage (sbc/app/mgmt_api.cc).
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "sbc/app/config.h"
#include "sbc/app/mgmt_api.h"

namespace sbc::app {
namespace {

const std::string kBase = R"(
[database]
dsn = "host=127.0.0.1"
[[listen]]
realm = "inside"
address = "127.0.0.1"
)";

TEST(ClusterConfig, OffByDefault) {
  Config c = parseConfig(kBase);
  EXPECT_FALSE(c.cluster.enabled);
}

TEST(ClusterConfig, ReadsEveryKey) {
  Config c = parseConfig(kBase + R"(
[cluster]
enabled = true
lease_block = 5
low_water = 1
expiry = 3
sync_interval_ms = 250
fence = false
)");
  EXPECT_TRUE(c.cluster.enabled);
  EXPECT_EQ(c.cluster.lease_block, 5u);
  EXPECT_EQ(c.cluster.low_water, 1u);
  EXPECT_EQ(c.cluster.expiry, std::chrono::seconds(3));
  EXPECT_EQ(c.cluster.sync_interval, std::chrono::milliseconds(250));
  EXPECT_FALSE(c.cluster.fence);
}

TEST(ClusterConfig, LowWaterDefaultsToAQuarterBlock) {
  Config c = parseConfig(kBase + "[cluster]\nenabled = true\nlease_block = 20\n");
  EXPECT_EQ(c.cluster.low_water, 5u);
}

TEST(ClusterConfig, RefusesAnExpiryShorterThanThreeSyncs) {
  EXPECT_THROW(parseConfig(kBase + "[cluster]\nexpiry = 2\nsync_interval_ms = 1000\n"),
               std::runtime_error);
  EXPECT_THROW(parseConfig(kBase + "[cluster]\nlease_block = 0\n"), std::runtime_error);
  EXPECT_THROW(parseConfig(kBase + "[cluster]\nenabled = \"yes\"\n"), std::runtime_error);
}

TEST(ClusterMgmt, TrunkUsageShowsLeasedChannelsInClusterModeOnly) {
  TrunkUsage t;
  t.id = 3;
  t.name = "carrier-a";
  t.kind = cfg::TrunkKind::Carrier;
  t.limits.max_calls = 10;
  EXPECT_TRUE(trunkUsageJson({t}).as_array()[0].at("leased").is_null());
  t.leased = b2bua::SharedChannelLimits::Lease{5, 0, 2};
  const auto json = trunkUsageJson({t});
  const auto& leased = json.as_array()[0].at("leased");
  EXPECT_EQ(leased.at("max_calls").as_uint64(), 5u);
  EXPECT_EQ(leased.at("max_inbound").as_uint64(), 0u);
  EXPECT_EQ(leased.at("max_outbound").as_uint64(), 2u);
}

}  // namespace
}  // namespace sbc::app

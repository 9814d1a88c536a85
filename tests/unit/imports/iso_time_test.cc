#include <gtest/gtest.h>

#include "admin-ui/imports/iso_time.h"

namespace sbc::admin::imports {
namespace {

using namespace std::chrono;

TEST(IsoTime, ParsesZonesAndFractions) {
  const auto t = parseIsoTime("2026-12-01T15:30:00Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->time_since_epoch(),
            duration_cast<microseconds>(sys_days{2026y / December / 1}.time_since_epoch() +
                                        hours{15} + minutes{30}));
  EXPECT_EQ(parseIsoTime("2026-12-01T16:30:00+01:00"), t);
  EXPECT_EQ(parseIsoTime("2026-12-01 10:30:00-05:00"), t);
  EXPECT_EQ(*parseIsoTime("2026-12-01T15:30:00.25Z") - *t, milliseconds{250});
  EXPECT_EQ(formatIsoTime(*t), "2026-12-01T15:30:00Z");
  EXPECT_EQ(formatIsoTime(*t + milliseconds{250}), "2026-12-01T15:30:00.250Z");
}

TEST(IsoTime, RefusesAmbiguousOrBrokenText) {
  for (const char* bad :
       {"", "2026-12-01", "2026-12-01T15:30:00", "2026-02-30T00:00:00Z", "2026-12-01T25:00:00Z",
        "2026-12-01T15:30:00Zjunk", "2026-12-01T15:30:00.Z", "2026-12-01T15:30:00+1:00"})
    EXPECT_FALSE(parseIsoTime(bad)) << bad;
}

}  // namespace
}  // namespace sbc::admin::imports

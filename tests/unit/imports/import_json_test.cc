#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "admin-ui/imports/import_json.h"

namespace sbc::admin::imports {
namespace {

namespace json = boost::json;

TEST(ImportJson, OptionsFromQuery) {
  auto r = importOptionsFromJson(
      json::parse(R"({"skip_errors":"true","mode":"replace","source":"feed-a"})").as_object());
  ASSERT_EQ(r.index(), 0u);
  const auto& o = std::get<0>(r);
  EXPECT_TRUE(o.skip_errors);
  EXPECT_EQ(o.mode, ImportMode::Replace);
  EXPECT_EQ(o.source, "feed-a");
  auto bad = importOptionsFromJson(json::parse(R"({"mode":"wipe","skipErrors":"1"})").as_object());
  ASSERT_EQ(bad.index(), 1u);
  const auto& errs = std::get<1>(bad);
  ASSERT_EQ(errs.size(), 2u);
  EXPECT_EQ(errs[0].field, "mode");
  EXPECT_EQ(errs[1].field, "skipErrors");
}

TEST(ImportJson, CdrFilterFromQuery) {
  auto r = cdrFilterFromJson(json::parse(R"({"from":"2026-11-01T00:00:00Z",
      "to":"2026-12-01T00:00:00Z","number":"+14155550100","trunk_id":"3",
      "result":"answered","sip_code":"200"})")
                                 .as_object());
  ASSERT_EQ(r.index(), 0u);
  const auto& f = std::get<0>(r);
  EXPECT_TRUE(f.from && f.to);
  EXPECT_EQ(f.trunk_id, 3);
  EXPECT_EQ(f.result, CdrResult::Answered);
  EXPECT_EQ(f.sip_code, 200);
  auto bad = cdrFilterFromJson(
      json::parse(R"({"from":"2026-12-01T00:00:00Z","to":"2026-11-01T00:00:00Z","trunk_id":"x"})")
          .as_object());
  ASSERT_EQ(bad.index(), 1u);
  EXPECT_EQ(std::get<1>(bad).size(), 2u);
}

TEST(ImportJson, ResultBodyCarriesLinesAndTruncation) {
  ImportResult r;
  r.status = ImportStatus::Refused;
  r.rows_read = 10;
  r.error_count = 3;
  r.errors.push_back(
      RowError{4, "number", "missing_plus", "an E.164 number starts with '+'", "1415"});
  const auto j = toJson(r);
  EXPECT_EQ(j.at("status").as_string(), "refused");
  EXPECT_TRUE(j.at("errors_truncated").as_bool());
  EXPECT_EQ(j.at("errors").as_array()[0].at("line").as_uint64(), 4u);
  EXPECT_EQ(httpStatus(r), 422);
}

}  // namespace
}  // namespace sbc::admin::imports

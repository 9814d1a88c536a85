#include "admin-ui/resource.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace sbc::admin {
namespace {

namespace json = boost::json;

std::vector<Field> fields() {
  return {
      {.name = "id", .type = FieldType::kInt, .writable = false},
      {.name = "name", .required = true, .pattern = "^[a-z]{1,8}$"},
      {.name = "kind", .choices = {"pbx", "carrier"}},
      {.name = "limit", .type = FieldType::kInt, .min = 0, .max = 10},
      {.name = "rate", .type = FieldType::kNumber, .min = 0, .max = 5},
      {.name = "on", .type = FieldType::kBool},
      {.name = "tags", .type = FieldType::kTextArray, .pattern = "^[A-Z]+$"},
      {.name = "owner", .type = FieldType::kInt, .nullable = true},
      {.name = "number", .create_only = true},
      {.name = "at", .type = FieldType::kTimestamp},
  };
}

// The field the error names, or "" when the object is valid.
std::string fieldAtFault(const char* text, bool create = true) {
  auto r = validateObject(json::parse(text).as_object(), fields(), create, {"children"});
  if (!r) return "";
  EXPECT_EQ(r->status, 422) << r->body;
  json::value v = json::parse(r->body);
  return std::string(v.at("error").at("field").as_string());
}

TEST(Validate, AcceptsAWellFormedObject) {
  EXPECT_EQ(fieldAtFault(R"({"name":"abc","kind":"pbx","limit":3,"rate":1.5,"on":true,)"
                         R"("tags":["X"],"owner":null,"number":"1","at":"2026-01-02T03:04:05Z",)"
                         R"("children":[1]})"),
            "");
  EXPECT_EQ(fieldAtFault(R"({"limit":10})", false), "") << "required only on create";
}

TEST(Validate, NamesTheFieldAtFault) {
  EXPECT_EQ(fieldAtFault(R"({"kind":"pbx"})"), "name");
  EXPECT_EQ(fieldAtFault(R"({"name":"ABC"})"), "name");
  EXPECT_EQ(fieldAtFault(R"({"name":"abc","kind":"sip"})"), "kind");
  EXPECT_EQ(fieldAtFault(R"({"name":"abc","limit":11})"), "limit");
  EXPECT_EQ(fieldAtFault(R"({"name":"abc","limit":"3"})"), "limit");
  EXPECT_EQ(fieldAtFault(R"({"name":"abc","limit":1.5})"), "limit");
  EXPECT_EQ(fieldAtFault(R"({"name":"abc","rate":7})"), "rate");
  EXPECT_EQ(fieldAtFault(R"({"name":"abc","on":1})"), "on");
  EXPECT_EQ(fieldAtFault(R"({"name":"abc","tags":["x"]})"), "tags");
  EXPECT_EQ(fieldAtFault(R"({"name":"abc","tags":"X"})"), "tags");
  EXPECT_EQ(fieldAtFault(R"({"name":"abc","kind":null})"), "kind");
  EXPECT_EQ(fieldAtFault(R"({"name":"abc","id":5})"), "id");
  EXPECT_EQ(fieldAtFault(R"({"name":"abc","colour":"red"})"), "colour");
  EXPECT_EQ(fieldAtFault(R"({"name":"abc","at":"yesterday"})"), "at");
  EXPECT_EQ(fieldAtFault(R"({"number":"2"})", false), "number");
}

TEST(Validate, PrefixesNestedNames) {
  auto r = validateObject(json::parse(R"({"kind":"x"})").as_object(), fields(), true, {},
                          "gateways[2].");
  ASSERT_TRUE(r);
  EXPECT_NE(r->body.find("gateways[2].kind"), std::string::npos) << r->body;
}

TEST(Versions, FromIfMatchOrBody) {
  http::Request r;
  EXPECT_FALSE(requestedVersion(r, nullptr));
  json::object body{{"version", 4}};
  EXPECT_EQ(requestedVersion(r, &body), 4);
  r.headers.add("If-Match", "\"7\"");
  EXPECT_EQ(requestedVersion(r, &body), 7) << "the header wins";
  http::Request weak;
  weak.headers.add("If-Match", "W/\"9\"");
  EXPECT_EQ(requestedVersion(weak, nullptr), 9);
  http::Request bad;
  bad.headers.add("If-Match", "\"x\"");
  EXPECT_FALSE(requestedVersion(bad, nullptr));
}

TEST(SqlErrors, MapToStatusAndField) {
  auto field = [](const http::Response& r) {
    return std::string(json::parse(r.body).at("error").as_object().contains("field")
                           ? json::parse(r.body).at("error").at("field").as_string()
                           : "");
  };
  auto r = sqlErrorResponse("23514",
                            "ERROR:  new row for relation \"trunks\" violates check constraint "
                            "\"trunks_name_check\"\nDETAIL: ...",
                            "trunks");
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(field(r), "name");
  EXPECT_EQ(r.body.find("DETAIL"), std::string::npos);
  r = sqlErrorResponse("23505",
                       "ERROR:  duplicate key value violates unique constraint \"trunks_name_key\"",
                       "trunks");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(field(r), "name");
  r = sqlErrorResponse("23502", "ERROR:  null value in column \"kind\" of relation \"trunks\"",
                       "trunks");
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(field(r), "kind");
  r = sqlErrorResponse("23503",
                       "ERROR:  insert or update on table \"dids\" violates foreign key "
                       "constraint \"dids_trunk_id_fkey\"",
                       "dids");
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(field(r), "trunk_id");
  r = sqlErrorResponse("42P01", "ERROR:  relation \"x\" does not exist", "");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body.find("relation"), std::string::npos) << "internal errors are not shown";
}

}  // namespace
}  // namespace sbc::admin

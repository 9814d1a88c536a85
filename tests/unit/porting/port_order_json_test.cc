#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "admin-ui/porting/port_order_json.h"

namespace sbc::admin::porting {
namespace {

namespace json = boost::json;

TEST(PortOrderJson, BodyToFieldsAllNumberForms) {
  auto r = orderFieldsFromJson(json::parse(R"({
      "direction": "port_out", "losing_carrier": "Us", "gaining_carrier": "Them",
      "requested_foc": "2026-12-01T15:00:00Z", "routing_number": "+14150000009",
      "numbers": ["+14155550100", {"number": "+14155550101", "routing_number": "+14150000001"}]})"));
  ASSERT_TRUE(r) << r.error().message;
  const auto& f = r.value();
  EXPECT_EQ(f.direction, Direction::PortOut);
  EXPECT_EQ(f.gaining_carrier, "Them");
  ASSERT_TRUE(f.requested_foc);
  EXPECT_EQ(imports::formatIsoTime(*f.requested_foc), "2026-12-01T15:00:00Z");
  ASSERT_EQ(f.numbers.size(), 2u);
  EXPECT_EQ(f.numbers[1].routing_number, "+14150000001");

  r = orderFieldsFromJson(json::parse(
      R"({"direction": "port_in", "target_trunk_id": 4, "numbers_text": "+1 415 555 0100\n+1 415 555 0101"})"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r.value().numbers.size(), 2u);
  EXPECT_EQ(r.value().target_trunk_id, 4);
}

TEST(PortOrderJson, BadBodiesNameTheField) {
  auto r = orderFieldsFromJson(json::parse(
      R"({"direction": "sideways", "target_trunk_id": "x", "requested_foc": "tomorrow",
          "numbers_text": "+14155550100\n+1415555010x", "colour": "red"})"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::Invalid);
  std::vector<std::string> fields;
  for (const auto& i : r.error().issues) fields.push_back(i.field);
  EXPECT_EQ(fields, (std::vector<std::string>{"direction", "target_trunk_id", "requested_foc",
                                              "numbers_text", "colour"}));
  const auto& pasted = r.error().issues[3];
  EXPECT_EQ(pasted.line, 2u);
  EXPECT_EQ(pasted.column, 12u);
  const auto body = toJson(r.error());
  EXPECT_EQ(body.at("error").as_string(), "invalid");
  EXPECT_EQ(body.at("issues").as_array()[3].at("line").as_uint64(), 2u);
  EXPECT_EQ(httpStatus(r.error().code), 422);
  EXPECT_FALSE(orderFieldsFromJson(json::parse("[1]")));
}

TEST(PortOrderJson, TransitionBody) {
  auto t = transitionFromJson(json::parse(
      R"({"to": "foc_confirmed", "version": 3, "confirmed_foc": "2026-12-01T15:00:00Z"})"));
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t.value().to, Status::FocConfirmed);
  EXPECT_EQ(t.value().expected_version, 3);
  EXPECT_TRUE(t.value().confirmed_foc);
  EXPECT_FALSE(transitionFromJson(json::parse(R"({"to": "done"})")));
}

TEST(PortOrderJson, OrderJsonHidesThePinWhenAsked) {
  PortOrder o;
  o.id = 7;
  o.status = Status::FocConfirmed;
  o.fields.account_pin = "1234";
  o.fields.numbers = {{"+14155550100", std::nullopt}};
  EXPECT_EQ(toJson(o).at("account_pin").as_string(), "1234");
  EXPECT_FALSE(toJson(o, false).contains("account_pin"));
  EXPECT_EQ(toJson(o).at("status").as_string(), "foc_confirmed");
  EXPECT_TRUE(toJson(o).at("open").as_bool());
  EXPECT_TRUE(toJson(o).at("numbers").as_array()[0].at("routing_number").is_null());
}

}  // namespace
}  // namespace sbc::admin::porting

// Porting domain rules without a database: lifecycle table, number parsing
// with line/column, field validation.
#include <gtest/gtest.h>

#include "admin-ui/porting/port_order.h"

namespace sbc::admin::porting {
namespace {

TEST(PortOrder, LifecycleTable) {
  EXPECT_TRUE(transitionAllowed(Status::Draft, Status::Submitted));
  EXPECT_TRUE(transitionAllowed(Status::Submitted, Status::FocConfirmed));
  EXPECT_TRUE(transitionAllowed(Status::FocConfirmed, Status::Completed));
  EXPECT_TRUE(transitionAllowed(Status::Submitted, Status::Rejected));
  EXPECT_TRUE(transitionAllowed(Status::FocConfirmed, Status::Rejected));
  EXPECT_TRUE(transitionAllowed(Status::Rejected, Status::Draft));
  for (Status s : {Status::Draft, Status::Submitted, Status::FocConfirmed, Status::Rejected})
    EXPECT_TRUE(transitionAllowed(s, Status::Cancelled)) << statusName(s);
  EXPECT_FALSE(transitionAllowed(Status::Draft, Status::Completed));
  EXPECT_FALSE(transitionAllowed(Status::Draft, Status::FocConfirmed));
  EXPECT_FALSE(transitionAllowed(Status::Submitted, Status::Completed));
  for (Status s : {Status::Draft, Status::Submitted, Status::FocConfirmed, Status::Completed,
                   Status::Rejected, Status::Cancelled}) {
    EXPECT_FALSE(transitionAllowed(Status::Completed, s));
    EXPECT_FALSE(transitionAllowed(Status::Cancelled, s));
    EXPECT_EQ(parseStatus(statusName(s)), s);
  }
  EXPECT_FALSE(parseStatus("done"));
}

TEST(PortOrder, PastedNumbersWithLineAndColumnOfTheBadOne) {
  const auto p = parseNumberText(
      "+1 (415) 555-0100, +14155550101\n"
      "\n"
      "+1 415 555 01O2;+14155550103\r\n"
      "+1-415-555-0100\t4155550104\n");
  ASSERT_EQ(p.numbers.size(), 3u);
  EXPECT_EQ(p.numbers[0].number, "+14155550100");
  EXPECT_EQ(p.numbers[1].number, "+14155550101");
  EXPECT_EQ(p.numbers[2].number, "+14155550103");
  ASSERT_EQ(p.issues.size(), 3u);
  EXPECT_EQ(p.issues[0].line, 3u);
  EXPECT_EQ(p.issues[0].column, 14u);  // the letter O
  EXPECT_EQ(p.issues[0].rule, "not_a_digit");
  EXPECT_EQ(p.issues[1].line, 4u);
  EXPECT_EQ(p.issues[1].rule, "duplicate");
  EXPECT_EQ(p.issues[1].value, "+14155550100");
  EXPECT_NE(p.issues[1].message.find("line 1"), std::string::npos);
  EXPECT_EQ(p.issues[2].line, 4u);
  EXPECT_EQ(p.issues[2].column, 17u);
  EXPECT_EQ(p.issues[2].rule, "missing_plus");
}

TEST(PortOrder, CsvNumbersWithRoutingNumbers) {
  auto p = parseNumberCsv("number,routing_number\n+14155550100,+14150000001\n+14155550101,\n");
  EXPECT_TRUE(p.issues.empty());
  ASSERT_EQ(p.numbers.size(), 2u);
  EXPECT_EQ(p.numbers[0].routing_number, "+14150000001");
  EXPECT_FALSE(p.numbers[1].routing_number);
  p = parseNumberCsv("number,routing_number\n+14155550100,14150000001\n");
  ASSERT_EQ(p.issues.size(), 1u);
  EXPECT_EQ(p.issues[0].field, "routing_number");
  EXPECT_EQ(p.issues[0].line, 2u);
  p = parseNumberCsv("phone\n+14155550100\n");
  ASSERT_EQ(p.issues.size(), 1u);
  EXPECT_EQ(p.issues[0].rule, "unknown_column");
  EXPECT_TRUE(p.numbers.empty());
}

OrderFields portOut() {
  OrderFields f;
  f.direction = Direction::PortOut;
  f.numbers = {{"+14155550100", std::nullopt}, {"+14155550101", "+14150000001"}};
  return f;
}

TEST(PortOrder, FieldValidation) {
  OrderFields f;
  auto issues = validateFields(f);
  ASSERT_EQ(issues.size(), 1u);
  EXPECT_EQ(issues[0].field, "numbers");
  EXPECT_EQ(issues[0].rule, "required");

  f.numbers = {{"+14155550100", std::nullopt},
               {"+1415555O101", std::nullopt},
               {"+14155550100", std::nullopt}};
  f.routing_number = "+14150000001";  // port-in: no routing numbers
  f.account_pin = std::string(65, '1');
  issues = validateFields(f);
  ASSERT_EQ(issues.size(), 4u);
  EXPECT_EQ(issues[0].field, "account_pin");
  EXPECT_EQ(issues[1].field, "routing_number");
  EXPECT_EQ(issues[1].rule, "port_out_only");
  EXPECT_EQ(issues[2].field, "numbers[1].number");
  EXPECT_EQ(issues[2].column, 9u);
  EXPECT_EQ(issues[3].field, "numbers[2].number");
  EXPECT_EQ(issues[3].rule, "duplicate");
}

TEST(PortOrder, SubmitNeedsTrunkOrRoutingNumbers) {
  OrderFields in;
  in.numbers = {{"+14155550100", std::nullopt}};
  auto issues = validateForSubmit(in);
  ASSERT_EQ(issues.size(), 1u);
  EXPECT_EQ(issues[0].field, "target_trunk_id");
  in.target_trunk_id = 3;
  EXPECT_TRUE(validateForSubmit(in).empty());

  auto out = portOut();
  issues = validateForSubmit(out);
  ASSERT_EQ(issues.size(), 1u);  // only the number without its own routing number
  EXPECT_EQ(issues[0].field, "numbers[0].routing_number");
  out.routing_number = "+14150000009";  // one for all
  EXPECT_TRUE(validateForSubmit(out).empty());
}

}  // namespace
}  // namespace sbc::admin::porting

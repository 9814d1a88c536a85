// Port orders against a real PostgreSQL: every step and refusal, the
// one-open-order rule, completion effects (dids, ported_numbers, audit,
// NOTIFY) and the FOC scheduler run by two callers at once.
#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include <algorithm>
#include <set>
#include <thread>

#include "admin-ui/porting/port_order_store.h"
#include "tests/pg/pg_test_support.h"

namespace sbc::admin::porting {
namespace {

using testpg::TestDatabase;
using namespace std::chrono;

struct Listener : pqxx::notification_receiver {
  explicit Listener(pqxx::connection_base& c) : pqxx::notification_receiver(c, "sbc_config") {}
  void operator()(const std::string& payload, int) override { payloads.insert(payload); }
  std::set<std::string> payloads;
};

TimePoint nowUs() {
  return time_point_cast<microseconds>(system_clock::now());
}

class PortOrderStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    conn_ = std::make_unique<pqxx::connection>(db_.dsn());
    pbx_ = db_.scalar<long long>(
        "INSERT INTO trunks (name, kind) VALUES ('acme-pbx', 'pbx') RETURNING id");
    carrier_ = db_.scalar<long long>(
        "INSERT INTO trunks (name, kind) VALUES ('big-carrier', 'carrier') RETURNING id");
  }

  OrderFields portIn(std::vector<std::string> numbers) {
    OrderFields f;
    f.direction = Direction::PortIn;
    f.losing_carrier = "Old Telco";
    f.gaining_carrier = "Us";
    f.target_trunk_id = pbx_;
    f.account_name = "Acme Corp";
    f.account_pin = "4321";
    f.requested_foc = nowUs() + hours{72};
    for (auto& n : numbers) f.numbers.push_back(OrderNumber{std::move(n), std::nullopt});
    return f;
  }

  PortOrder create(const OrderFields& f) {
    auto r = createOrder(*conn_, alice_, f);
    EXPECT_TRUE(r) << r.error().message;
    return r ? r.value() : PortOrder{};
  }

  Result<PortOrder> step(long long id, Status to, std::optional<TimePoint> foc = std::nullopt,
                         std::string reason = {}) {
    Transition t;
    t.to = to;
    t.confirmed_foc = foc;
    t.reason = std::move(reason);
    return transition(*conn_, alice_, id, t);
  }

  // Submitted and FOC-confirmed at `foc`.
  PortOrder confirmed(const OrderFields& f, TimePoint foc) {
    auto o = create(f);
    EXPECT_TRUE(step(o.id, Status::Submitted));
    auto r = step(o.id, Status::FocConfirmed, foc);
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    return r ? r.value() : o;
  }

  std::string did(const std::string& number) {
    auto r = db_.exec(
        "SELECT status || ':' || coalesce(trunk_id::text, '-') FROM dids"
        " WHERE number = '" +
        number + "'");
    return r.empty() ? "none" : r[0][0].c_str();
  }
  std::string events(long long id) {
    return db_.scalar<std::string>(
        "SELECT string_agg(to_status || '@' || by_user, ',' ORDER BY id) FROM port_order_events"
        " WHERE order_id = " +
        std::to_string(id));
  }
  std::string audits(long long id) {
    return db_.scalar<std::string>(
        "SELECT coalesce(string_agg(entity || ':' || action, ',' ORDER BY id), '') FROM audit_log"
        " WHERE entity_id = '" +
        std::to_string(id) + "'");
  }

  TestDatabase db_;
  std::unique_ptr<pqxx::connection> conn_;
  long long pbx_ = 0, carrier_ = 0;
  Actor alice_{"alice", "192.0.2.7"};
};

TEST_F(PortOrderStoreTest, CreateKeepsEverythingAndAuditsWithoutThePin) {
  auto f = portIn({"+14155550101", "+14155550100"});
  f.notes = "customer wants mornings";
  const auto o = create(f);
  EXPECT_GT(o.id, 0);
  EXPECT_EQ(o.status, Status::Draft);
  EXPECT_EQ(o.version, 1);
  EXPECT_EQ(o.created_by, "alice");
  EXPECT_EQ(o.fields.account_pin, "4321");
  EXPECT_EQ(o.fields.notes, "customer wants mornings");
  ASSERT_EQ(o.fields.numbers.size(), 2u);
  EXPECT_EQ(o.fields.numbers[0].number, "+14155550100");  // sorted
  EXPECT_EQ(duration_cast<seconds>(*o.fields.requested_foc - *f.requested_foc).count(), 0);
  ASSERT_EQ(o.events.size(), 1u);
  EXPECT_FALSE(o.events[0].from);
  EXPECT_EQ(o.events[0].by_user, "alice");

  const auto got = getOrder(*conn_, o.id);
  ASSERT_TRUE(got);
  EXPECT_EQ(got.value().fields.account_name, "Acme Corp");
  const auto a = db_.exec(
      "SELECT who, action, before IS NULL, after->>'account_name',"
      " after ? 'account_pin', host(client_ip) FROM audit_log");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_STREQ(a[0][0].c_str(), "alice");
  EXPECT_STREQ(a[0][1].c_str(), "create");
  EXPECT_TRUE(a[0][2].as<bool>());
  EXPECT_STREQ(a[0][3].c_str(), "Acme Corp");
  EXPECT_FALSE(a[0][4].as<bool>());
  EXPECT_STREQ(a[0][5].c_str(), "192.0.2.7");
  EXPECT_EQ(getOrder(*conn_, 999).error().code, ErrorCode::NotFound);
}

TEST_F(PortOrderStoreTest, PortInLifecycleActivatesTheNumbersAndTheSbcHears) {
  const auto o = create(portIn({"+14155550100", "+14155550101"}));
  auto r = step(o.id, Status::Submitted);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(did("+14155550100"), "porting_in:-");  // visible while porting

  r = step(o.id, Status::FocConfirmed, nowUs() + hours{1});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r.value().confirmed_foc);
  EXPECT_EQ(did("+14155550100"), "porting_in:-");

  pqxx::connection lc(db_.dsn());
  Listener listener(lc);
  r = step(o.id, Status::Completed);  // by hand, before the FOC time
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r.value().status, Status::Completed);
  EXPECT_EQ(did("+14155550100"), "active:" + std::to_string(pbx_));
  EXPECT_EQ(did("+14155550101"), "active:" + std::to_string(pbx_));
  EXPECT_EQ(events(o.id), "draft@alice,submitted@alice,foc_confirmed@alice,completed@alice");
  EXPECT_EQ(audits(o.id),
            "port_order:create,port_order:submit,port_order:confirm_foc,port_order:complete,"
            "dids:port_in");
  EXPECT_EQ(db_.scalar<std::string>("SELECT before->0->>'status' || '>' || (after->0->>'status')"
                                    " FROM audit_log WHERE entity = 'dids'"),
            "porting_in>active");
  EXPECT_TRUE(testpg::eventually([&] {
    lc.get_notifs();
    return listener.payloads.count("dids") > 0;
  }));
  EXPECT_FALSE(db_.scalar<bool>("SELECT bool_or(is_open) FROM port_order_numbers"));
}

TEST_F(PortOrderStoreTest, PortOutMarksNumbersAndAddsRoutingNumbers) {
  db_.exec("INSERT INTO dids (number, trunk_id) VALUES ('+14155550100', " + std::to_string(pbx_) +
           "), ('+14155550101', " + std::to_string(pbx_) + ")");
  OrderFields f;
  f.direction = Direction::PortOut;
  f.gaining_carrier = "Other Telco";
  f.routing_number = "+14150009999";                                               // for all ...
  f.numbers = {{"+14155550100", std::nullopt}, {"+14155550101", "+14150001111"}};  // ... but one
  pqxx::connection lc(db_.dsn());
  Listener listener(lc);
  const auto o = confirmed(f, nowUs());
  auto r = step(o.id, Status::Completed);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(did("+14155550100"), "ported_out:" + std::to_string(pbx_));
  EXPECT_EQ(did("+14155550101"), "ported_out:" + std::to_string(pbx_));
  EXPECT_EQ(db_.scalar<std::string>("SELECT string_agg(number || '>' || routing_number || '@' ||"
                                    " source, ',' ORDER BY number) FROM ported_numbers"),
            "+14155550100>+14150009999@port_order:" + std::to_string(o.id) +
                ",+14155550101>+14150001111@port_order:" + std::to_string(o.id));
  EXPECT_EQ(audits(o.id),
            "port_order:create,port_order:submit,port_order:confirm_foc,port_order:complete,"
            "dids:port_out,ported_numbers:port_out");
  EXPECT_TRUE(testpg::eventually([&] {
    lc.get_notifs();
    return listener.payloads.count("ported_numbers") > 0 && listener.payloads.count("dids") > 0;
  }));
}

TEST_F(PortOrderStoreTest, EveryRefusedStepSaysWhy) {
  auto f = portIn({"+14155550100"});
  f.target_trunk_id.reset();
  const auto o = create(f);  // a draft may lack its trunk ...
  auto r = step(o.id, Status::Completed);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::TransitionRefused);
  EXPECT_NE(r.error().message.find("draft: it cannot become completed (it can become: "
                                   "submitted, cancelled)"),
            std::string::npos)
      << r.error().message;
  r = step(o.id, Status::FocConfirmed, nowUs());
  EXPECT_EQ(r.error().code, ErrorCode::TransitionRefused);
  r = step(o.id, Status::Rejected, std::nullopt, "no");
  EXPECT_EQ(r.error().code,
            ErrorCode::TransitionRefused);  // only a carrier rejects, after submission

  r = step(o.id, Status::Submitted);  // ... but cannot be submitted without it
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::Invalid);
  EXPECT_EQ(r.error().issues.at(0).field, "target_trunk_id");

  auto g = getOrder(*conn_, o.id).value().fields;
  g.target_trunk_id = pbx_;
  ASSERT_TRUE(updateOrder(*conn_, alice_, o.id, 1, g));
  ASSERT_TRUE(step(o.id, Status::Submitted));
  r = step(o.id, Status::FocConfirmed);
  EXPECT_EQ(r.error().code, ErrorCode::Invalid);
  EXPECT_EQ(r.error().issues.at(0).field, "confirmed_foc");
  r = step(o.id, Status::Rejected, std::nullopt, "   ");
  EXPECT_EQ(r.error().code, ErrorCode::Invalid);
  EXPECT_EQ(r.error().issues.at(0).field, "reason");

  Transition stale;
  stale.to = Status::Cancelled;
  stale.expected_version = 1;
  r = transition(*conn_, alice_, o.id, stale);
  EXPECT_EQ(r.error().code, ErrorCode::StaleVersion);
  EXPECT_EQ(httpStatus(r.error().code), 409);

  ASSERT_TRUE(step(o.id, Status::Cancelled));
  for (Status s : {Status::Draft, Status::Submitted, Status::FocConfirmed, Status::Completed,
                   Status::Rejected}) {
    r = step(o.id, s, nowUs(), "x");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::TransitionRefused) << statusName(s);
    EXPECT_NE(r.error().message.find("(it is closed)"), std::string::npos);
  }
  EXPECT_EQ(step(424242, Status::Submitted).error().code, ErrorCode::NotFound);
  // Nothing refused left a trace in the history.
  EXPECT_EQ(events(o.id), "draft@alice,submitted@alice,cancelled@alice");
  EXPECT_EQ(did("+14155550100"), "none");  // the porting_in row went with the cancel
}

TEST_F(PortOrderStoreTest, RejectedOrderIsFixedAndResubmitted) {
  const auto o = create(portIn({"+14155550100"}));
  ASSERT_TRUE(step(o.id, Status::Submitted));
  auto r = step(o.id, Status::Rejected, std::nullopt, "account number does not match");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r.value().reject_reason, "account number does not match");
  EXPECT_EQ(r.value().events.back().note, "account number does not match");
  EXPECT_EQ(did("+14155550100"), "none");
  // While rejected the number is free...
  EXPECT_FALSE(db_.scalar<bool>("SELECT is_open FROM port_order_numbers"));
  r = step(o.id, Status::Draft);
  ASSERT_TRUE(r) << r.error().message;
  auto f = r.value().fields;
  f.account_number = "ACC-42";
  ASSERT_TRUE(updateOrder(*conn_, alice_, o.id, r.value().version, f));
  ASSERT_TRUE(step(o.id, Status::Submitted));
  EXPECT_EQ(events(o.id), "draft@alice,submitted@alice,rejected@alice,draft@alice,submitted@alice");
}

TEST_F(PortOrderStoreTest, ANumberIsInOnlyOneOpenOrder) {
  const auto a = create(portIn({"+14155550100", "+14155550101"}));
  auto r = createOrder(*conn_, alice_, portIn({"+14155550199", "+14155550101"}));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::NumberInOpenOrder);
  ASSERT_EQ(r.error().issues.size(), 1u);
  EXPECT_EQ(r.error().issues[0].value, "+14155550101");
  EXPECT_EQ(r.error().issues[0].other_order_id, a.id);
  EXPECT_NE(r.error().message.find("+14155550101"), std::string::npos);
  EXPECT_EQ(db_.scalar<long>("SELECT count(*) FROM port_orders"), 1);  // nothing half-made

  // The database holds the rule even for a writer that skips the check.
  const auto b = create(portIn({"+14155550199"}));
  try {
    db_.exec("INSERT INTO port_order_numbers (order_id, number) VALUES (" + std::to_string(b.id) +
             ", '+14155550100')");
    ADD_FAILURE() << "the database let a number into two open orders";
  } catch (const pqxx::unique_violation&) {
  }
  // Editing B to take A's number is refused the same way.
  auto f = portIn({"+14155550199", "+14155550100"});
  r = updateOrder(*conn_, alice_, b.id, b.version, f);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::NumberInOpenOrder);
  EXPECT_EQ(r.error().issues.at(0).value, "+14155550100");

  ASSERT_TRUE(step(a.id, Status::Cancelled));
  r = updateOrder(*conn_, alice_, b.id, b.version, f);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r.value().fields.numbers.size(), 2u);
}

TEST_F(PortOrderStoreTest, OnlyDraftsAreEditedAndVersionsAreChecked) {
  const auto o = create(portIn({"+14155550100", "+14155550101"}));
  auto f = portIn({"+14155550101", "+14155550102"});
  f.notes = "second thoughts";
  auto r = updateOrder(*conn_, alice_, o.id, o.version, f);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r.value().version, o.version + 1);
  ASSERT_EQ(r.value().fields.numbers.size(), 2u);
  EXPECT_EQ(r.value().fields.numbers[1].number, "+14155550102");
  EXPECT_EQ(r.value().fields.notes, "second thoughts");

  r = updateOrder(*conn_, alice_, o.id, o.version, f);  // the old form
  EXPECT_EQ(r.error().code, ErrorCode::StaleVersion);
  f.numbers.clear();
  r = updateOrder(*conn_, alice_, o.id, o.version + 1, f);
  EXPECT_EQ(r.error().code, ErrorCode::Invalid);

  ASSERT_TRUE(step(o.id, Status::Submitted));
  const auto cur = getOrder(*conn_, o.id).value();
  r = updateOrder(*conn_, alice_, o.id, cur.version, cur.fields);
  EXPECT_EQ(r.error().code, ErrorCode::NotEditable);
  EXPECT_EQ(db_.scalar<std::string>("SELECT string_agg(action, ',' ORDER BY id) FROM audit_log"),
            "create,update,submit");
  EXPECT_EQ(db_.scalar<std::string>("SELECT before->>'notes' || '>' || (after->>'notes') FROM"
                                    " audit_log WHERE action = 'update'"),
            ">second thoughts");
}

TEST_F(PortOrderStoreTest, SubmissionChecksTheNumbersAgainstTheDatabase) {
  db_.exec("INSERT INTO dids (number, trunk_id) VALUES ('+14155550100', " + std::to_string(pbx_) +
           ")");
  auto r = step(create(portIn({"+14155550100", "+14155550101"})).id, Status::Submitted);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().issues.at(0).rule, "already_active");
  EXPECT_EQ(r.error().issues.at(0).value, "+14155550100");

  OrderFields out;
  out.direction = Direction::PortOut;
  out.routing_number = "+14150009999";
  out.numbers = {{"+14155550100", std::nullopt}, {"+14155550177", std::nullopt}};
  auto created = createOrder(*conn_, alice_, out);
  ASSERT_FALSE(created);  // +14155550100 is in the open port-in above
  out.numbers = {{"+14155550177", std::nullopt}};
  r = step(create(out).id, Status::Submitted);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().issues.at(0).rule, "not_ours");

  auto f = portIn({"+14155550188"});
  f.target_trunk_id = carrier_;
  created = createOrder(*conn_, alice_, f);
  ASSERT_FALSE(created);
  EXPECT_EQ(created.error().issues.at(0).rule, "not_pbx");
}

TEST_F(PortOrderStoreTest, SchedulerCompletesDueOrdersExactlyOnceFromTwoCallers) {
  constexpr int kDue = 24;
  const auto now = nowUs();
  std::set<long long> due;
  for (int i = 0; i < kDue; ++i)
    due.insert(confirmed(portIn({"+1415555" + std::to_string(1000 + i)}), now - minutes{i}).id);
  const auto later = confirmed(portIn({"+14155559999"}), now + hours{1}).id;

  DueResult r1, r2;
  {
    pqxx::connection c1(db_.dsn()), c2(db_.dsn());
    std::thread t1([&] { r1 = completeDueOrders(c1, now); });
    std::thread t2([&] { r2 = completeDueOrders(c2, now); });
    t1.join();
    t2.join();
  }
  EXPECT_TRUE(r1.failed.empty());
  EXPECT_TRUE(r2.failed.empty());
  std::multiset<long long> all(r1.completed.begin(), r1.completed.end());
  all.insert(r2.completed.begin(), r2.completed.end());
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kDue));
  EXPECT_EQ(std::set<long long>(all.begin(), all.end()), due);
  std::printf("[ info ] scheduler callers completed %zu and %zu orders\n", r1.completed.size(),
              r2.completed.size());
  EXPECT_EQ(db_.scalar<long>("SELECT count(*) FROM port_order_events WHERE to_status = 'completed'"
                             " AND by_user = 'system'"),
            kDue);
  EXPECT_EQ(db_.scalar<long>("SELECT count(*) FROM dids WHERE status = 'active'"), kDue);
  EXPECT_EQ(getOrder(*conn_, later).value().status, Status::FocConfirmed);
  EXPECT_TRUE(completeDueOrders(*conn_, now).completed.empty());  // nothing left
  EXPECT_EQ(completeDueOrders(*conn_, now + hours{2}).completed, std::vector<long long>{later});
}

TEST_F(PortOrderStoreTest, SchedulerReportsAFailingOrderAndGoesOn) {
  const auto now = nowUs();
  const auto other = db_.scalar<long long>(
      "INSERT INTO trunks (name, kind) VALUES ('soon-carrier', 'pbx') RETURNING id");
  auto f = portIn({"+14155550100"});
  f.target_trunk_id = other;
  const auto bad = confirmed(f, now - minutes{2}).id;
  const auto good = confirmed(portIn({"+14155550101"}), now - minutes{1}).id;
  // The target stopped being a PBX trunk: its DIDs cannot be created.
  db_.exec("UPDATE trunks SET kind = 'carrier' WHERE id = " + std::to_string(other));
  const auto r = completeDueOrders(*conn_, now);
  EXPECT_EQ(r.completed, std::vector<long long>{good});
  ASSERT_EQ(r.failed.size(), 1u);
  EXPECT_EQ(r.failed[0].first, bad);
  EXPECT_EQ(getOrder(*conn_, bad).value().status, Status::FocConfirmed);
  EXPECT_EQ(did("+14155550100"), "porting_in:-");
}

TEST_F(PortOrderStoreTest, ListFiltersByStatusDirectionAndNumber) {
  const auto a = create(portIn({"+14155550100"}));
  const auto b = create(portIn({"+14155550101", "+14155550102"}));
  ASSERT_TRUE(step(b.id, Status::Submitted));
  db_.exec("INSERT INTO dids (number, trunk_id) VALUES ('+14155550177', " + std::to_string(pbx_) +
           ")");
  OrderFields out;
  out.direction = Direction::PortOut;
  out.numbers = {{"+14155550177", "+14150009999"}};
  const auto c = create(out);

  auto all = listOrders(*conn_, {});
  ASSERT_TRUE(all);
  ASSERT_EQ(all.value().size(), 3u);
  EXPECT_EQ(all.value()[0].id, c.id);  // newest first
  EXPECT_EQ(all.value()[1].number_count, 2u);
  ListFilter f;
  f.status = Status::Draft;
  auto drafts = listOrders(*conn_, f);
  ASSERT_EQ(drafts.value().size(), 2u);
  f.direction = Direction::PortIn;
  auto in_drafts = listOrders(*conn_, f);
  ASSERT_EQ(in_drafts.value().size(), 1u);
  EXPECT_EQ(in_drafts.value()[0].id, a.id);
  ListFilter byNumber;
  byNumber.number = "+14155550102";
  auto holding = listOrders(*conn_, byNumber);
  ASSERT_EQ(holding.value().size(), 1u);
  EXPECT_EQ(holding.value()[0].id, b.id);
  EXPECT_EQ(holding.value()[0].status, Status::Submitted);
  ListFilter page;
  page.limit = 1;
  page.offset = 1;
  EXPECT_EQ(listOrders(*conn_, page).value().at(0).id, b.id);
}

TEST_F(PortOrderStoreTest, RejectAndCancelFromEveryOpenStep) {
  // submitted -> cancelled, foc_confirmed -> cancelled, foc_confirmed ->
  // rejected -> cancelled; each leaves the numbers free and no porting_in DID.
  const auto a = create(portIn({"+14155550100"}));
  ASSERT_TRUE(step(a.id, Status::Submitted));
  ASSERT_TRUE(step(a.id, Status::Cancelled));
  const auto b = confirmed(portIn({"+14155550100"}), nowUs() + hours{1});
  ASSERT_TRUE(step(b.id, Status::Cancelled));
  const auto c = confirmed(portIn({"+14155550100"}), nowUs() + hours{1});
  auto r = step(c.id, Status::Rejected, std::nullopt, "FOC withdrawn by the losing carrier");
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_TRUE(step(c.id, Status::Cancelled));
  EXPECT_EQ(events(c.id),
            "draft@alice,submitted@alice,foc_confirmed@alice,rejected@alice,"
            "cancelled@alice");
  EXPECT_EQ(did("+14155550100"), "none");
  EXPECT_FALSE(db_.scalar<bool>("SELECT bool_or(is_open) FROM port_order_numbers"));
  EXPECT_TRUE(completeDueOrders(*conn_, nowUs() + hours{2}).completed.empty());
}

}  // namespace
}  // namespace sbc::admin::porting

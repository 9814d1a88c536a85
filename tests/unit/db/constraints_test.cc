// The schema refuses nonsense by itself, whoever writes (console or psql).
#include <gtest/gtest.h>

#include "tests/pg/pg_test_support.h"

namespace sbc::db {
namespace {

using testpg::TestDatabase;

class Constraints : public ::testing::Test {
 protected:
  void SetUp() override {
    pbx_ = db_.scalar<long>("INSERT INTO trunks (name, kind) VALUES ('pbx-1', 'pbx') RETURNING id");
    carrier_ = db_.scalar<long>(
        "INSERT INTO trunks (name, kind, realm) VALUES ('carrier-1', 'carrier', 'outside') "
        "RETURNING id");
  }

  // The statement fails with this SQLSTATE (23514 check, 23505 unique, ...).
  void refused(const std::string& sql, const std::string& sqlstate) {
    try {
      db_.exec(sql);
      ADD_FAILURE() << "accepted: " << sql;
    } catch (const pqxx::sql_error& e) {
      EXPECT_EQ(e.sqlstate(), sqlstate) << sql << "\n" << e.what();
    }
  }
  void accepted(const std::string& sql) {
    try {
      db_.exec(sql);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "refused: " << sql << "\n" << e.what();
    }
  }
  std::string p() const { return std::to_string(pbx_); }
  std::string c() const { return std::to_string(carrier_); }

  TestDatabase db_;
  long pbx_ = 0;
  long carrier_ = 0;
};

TEST_F(Constraints, DidNumbersAreE164WithPlus) {
  refused("INSERT INTO dids (number, trunk_id) VALUES ('14155550100', " + p() + ")", "23514");
  refused("INSERT INTO dids (number, trunk_id) VALUES ('+04155550100', " + p() + ")", "23514");
  refused("INSERT INTO dids (number, trunk_id) VALUES ('+1415555010012345', " + p() + ")", "23514");
  accepted("INSERT INTO dids (number, trunk_id) VALUES ('+14155550100', " + p() + ")");
  refused("INSERT INTO dids (number, trunk_id) VALUES ('+14155550100', " + p() + ")", "23505");
}

TEST_F(Constraints, DidsGoToPbxTrunksAndRoutesToCarriers) {
  refused("INSERT INTO dids (number, trunk_id) VALUES ('+14155550101', " + c() + ")", "23514");
  refused("INSERT INTO routes (prefix, trunk_id) VALUES ('1', " + p() + ")", "23514");
  accepted("INSERT INTO routes (prefix, trunk_id) VALUES ('1', " + c() + ")");
  accepted("INSERT INTO dids (number, trunk_id) VALUES ('+14155550101', " + p() + ")");
  // ...and a trunk cannot change kind under them.
  refused("UPDATE trunks SET kind = 'carrier' WHERE id = " + p(), "23514");
  refused("UPDATE trunks SET kind = 'pbx' WHERE id = " + c(), "23514");
  refused("UPDATE dids SET trunk_id = " + c(), "23514");
  // An active DID needs a trunk; a reserved one does not.
  refused("INSERT INTO dids (number) VALUES ('+14155550102')", "23514");
  accepted("INSERT INTO dids (number, status) VALUES ('+14155550102', 'reserved')");
  refused("INSERT INTO dids (number, status) VALUES ('+14155550103', 'gone')", "23514");
  // Deleting a trunk with DIDs is refused; its routes would cascade.
  refused("DELETE FROM trunks WHERE id = " + p(), "23503");
  accepted("DELETE FROM trunks WHERE id = " + c());
  EXPECT_EQ(db_.scalar<int>("SELECT count(*) FROM routes"), 0);
}

TEST_F(Constraints, TrunkFieldsStayInRange) {
  refused("UPDATE trunks SET max_calls = -1 WHERE id = " + p(), "23514");
  refused("UPDATE trunks SET max_inbound = -5 WHERE id = " + p(), "23514");
  refused("UPDATE trunks SET cps = -0.5 WHERE id = " + p(), "23514");
  refused("UPDATE trunks SET reject_code = 399 WHERE id = " + p(), "23514");
  refused("UPDATE trunks SET reject_code = 700 WHERE id = " + p(), "23514");
  refused("UPDATE trunks SET kind = 'sip' WHERE id = " + p(), "23514");
  refused("UPDATE trunks SET realm = 'dmz' WHERE id = " + p(), "23514");
  refused("UPDATE trunks SET auth_mode = 'none' WHERE id = " + p(), "23514");
  refused("UPDATE trunks SET media_policy = 'srtp' WHERE id = " + p(), "23514");
  refused("UPDATE trunks SET min_se = 30 WHERE id = " + p(), "23514");
  refused("UPDATE trunks SET session_expires = 60 WHERE id = " + p(), "23514");
  refused("UPDATE trunks SET register_outbound = true WHERE id = " + c(), "23514");
  refused("INSERT INTO trunks (name, kind) VALUES ('pbx-1', 'pbx')", "23505");
  refused("INSERT INTO trunks (name, kind) VALUES ('has space', 'pbx')", "23514");
  accepted("UPDATE trunks SET session_expires = 0, reject_code = 486, cps = 2.5 WHERE id = " + p());
}

TEST_F(Constraints, VersionAndUpdatedAtMoveOnEveryUpdate) {
  EXPECT_EQ(db_.scalar<long>("SELECT version FROM trunks WHERE id = " + p()), 1);
  db_.exec("UPDATE trunks SET max_calls = 10 WHERE id = " + p());
  db_.exec("UPDATE trunks SET max_calls = 11, version = 1 WHERE id = " + p());  // cannot rewind
  EXPECT_EQ(db_.scalar<long>("SELECT version FROM trunks WHERE id = " + p()), 3);
  EXPECT_TRUE(db_.scalar<bool>("SELECT updated_at > created_at FROM trunks WHERE id = " + p()));
}

TEST_F(Constraints, GatewaysAclAndCredentials) {
  refused("INSERT INTO trunk_gateways (trunk_id, host, port) VALUES (" + c() + ", 'gw', 0)",
          "23514");
  refused("INSERT INTO trunk_gateways (trunk_id, host, port) VALUES (" + c() + ", 'gw', 65536)",
          "23514");
  refused("INSERT INTO trunk_gateways (trunk_id, host, weight) VALUES (" + c() + ", 'gw', 0)",
          "23514");
  refused(
      "INSERT INTO trunk_gateways (trunk_id, host, transport) VALUES (" + c() + ", 'gw', 'sctp')",
      "23514");
  refused("INSERT INTO trunk_gateways (trunk_id, host) VALUES (" + c() + ", 'bad host')", "23514");
  accepted("INSERT INTO trunk_gateways (trunk_id, host, port, transport) VALUES (" + c() +
           ", '192.0.2.10', 5061, 'tls')");
  refused("INSERT INTO trunk_acl (trunk_id, cidr) VALUES (" + p() + ", '10.1.2.3/8')", "22P02");
  refused("INSERT INTO trunk_acl (trunk_id, cidr) VALUES (" + p() + ", 'not-an-ip')", "22P02");
  accepted("INSERT INTO trunk_acl (trunk_id, cidr) VALUES (" + p() + ", '10.0.0.0/8')");
  // Plaintext in the secret column is refused: it must be the encrypted format.
  refused("INSERT INTO trunk_credentials (trunk_id, direction, username, secret) VALUES (" + p() +
              ", 'inbound', 'u', 'hunter2'::bytea)",
          "23514");
  const std::string sealed = "'\\x01" + std::string(2 * 28, 'a') + "'::bytea";
  accepted("INSERT INTO trunk_credentials (trunk_id, direction, username, secret) VALUES (" + p() +
           ", 'inbound', 'u', " + sealed + ")");
  refused("INSERT INTO trunk_credentials (trunk_id, direction, username, secret) VALUES (" + p() +
              ", 'inbound', 'v', " + sealed + ")",
          "23505");
  refused("INSERT INTO trunk_credentials (trunk_id, direction, username, secret) VALUES (" + p() +
              ", 'sideways', 'v', " + sealed + ")",
          "23514");
}

TEST_F(Constraints, RoutesAndPortedNumbers) {
  refused("INSERT INTO routes (prefix, trunk_id) VALUES ('+1', " + c() + ")", "23514");
  refused("INSERT INTO routes (prefix, trunk_id) VALUES ('1234567890123456', " + c() + ")",
          "23514");
  refused("INSERT INTO routes (prefix, trunk_id, weight) VALUES ('1', " + c() + ", 0)", "23514");
  accepted("INSERT INTO routes (prefix, trunk_id) VALUES ('', " + c() + ")");
  accepted("INSERT INTO routes (prefix, trunk_id, priority) VALUES ('1', " + c() + ", 10)");
  refused("INSERT INTO routes (prefix, trunk_id, priority) VALUES ('1', " + c() + ", 10)", "23505");
  refused(
      "INSERT INTO ported_numbers (number, routing_number) VALUES ('+14155550100', '14155559999')",
      "23514");
  accepted(
      "INSERT INTO ported_numbers (number, routing_number) VALUES ('+14155550100', "
      "'+14155559999')");
}

TEST_F(Constraints, ANumberIsInOnlyOneOpenPortOrder) {
  const auto o1 =
      db_.scalar<long>("INSERT INTO port_orders (direction) VALUES ('port_in') RETURNING id");
  const auto o2 =
      db_.scalar<long>("INSERT INTO port_orders (direction) VALUES ('port_in') RETURNING id");
  const auto n = [](long o) { return std::to_string(o); };
  accepted("INSERT INTO port_order_numbers (order_id, number) VALUES (" + n(o1) +
           ", '+14155550100')");
  refused(
      "INSERT INTO port_order_numbers (order_id, number) VALUES (" + n(o2) + ", '+14155550100')",
      "23505");
  refused("INSERT INTO port_order_numbers (order_id, number) VALUES (" + n(o2) + ", '4155550100')",
          "23514");
  // Once the first order is closed, the number may go into another.
  accepted("UPDATE port_orders SET status = 'cancelled' WHERE id = " + n(o1));
  accepted("INSERT INTO port_order_numbers (order_id, number) VALUES (" + n(o2) +
           ", '+14155550100')");
}

TEST_F(Constraints, PortOrderLifecycle) {
  const auto o = std::to_string(
      db_.scalar<long>("INSERT INTO port_orders (direction, target_trunk_id) VALUES ('port_in', " +
                       p() + ") RETURNING id"));
  accepted("INSERT INTO port_order_numbers (order_id, number) VALUES (" + o + ", '+14155550177')");
  refused("UPDATE port_orders SET status = 'completed' WHERE id = " + o, "23514");  // skips steps
  accepted("UPDATE port_orders SET status = 'submitted' WHERE id = " + o);
  refused("UPDATE port_orders SET status = 'foc_confirmed' WHERE id = " + o,
          "23514");                                                                // no FOC date
  refused("UPDATE port_orders SET status = 'rejected' WHERE id = " + o, "23514");  // no reason
  accepted("UPDATE port_orders SET status = 'foc_confirmed', confirmed_foc = now() WHERE id = " +
           o);
  accepted("UPDATE port_orders SET status = 'completed' WHERE id = " + o);
  refused("UPDATE port_orders SET status = 'draft' WHERE id = " + o,
          "23514");  // completed is final
  // Completion activated the number on the target trunk and recorded history.
  EXPECT_EQ(db_.scalar<std::string>(
                "SELECT status || ':' || trunk_id FROM dids WHERE number = '+14155550177'"),
            "active:" + p());
  EXPECT_EQ(
      db_.scalar<std::string>("SELECT string_agg(to_status, ',' ORDER BY id) FROM port_order_events"
                              " WHERE order_id = " +
                              o),
      "draft,submitted,foc_confirmed,completed");
  EXPECT_FALSE(db_.scalar<bool>("SELECT is_open FROM port_order_numbers WHERE order_id = " + o));

  // Port out: the DID becomes ported_out.
  const auto out = std::to_string(
      db_.scalar<long>("INSERT INTO port_orders (direction) VALUES ('port_out') RETURNING id"));
  accepted("INSERT INTO port_order_numbers (order_id, number) VALUES (" + out +
           ", '+14155550177')");
  accepted("UPDATE port_orders SET status = 'submitted' WHERE id = " + out);
  accepted("UPDATE port_orders SET status = 'foc_confirmed', confirmed_foc = now() WHERE id = " +
           out);
  accepted("UPDATE port_orders SET status = 'completed' WHERE id = " + out);
  EXPECT_EQ(db_.scalar<std::string>("SELECT status FROM dids WHERE number = '+14155550177'"),
            "ported_out");
}

TEST_F(Constraints, ConsoleTables) {
  refused(
      "INSERT INTO users (username, role, password_hash) VALUES ('a', 'root', '$argon2id$v=19$x')",
      "23514");
  refused("INSERT INTO users (username, role, password_hash) VALUES ('a', 'admin', 'plaintext')",
          "23514");
  accepted(
      "INSERT INTO users (username, role, password_hash) VALUES ('Alice', 'admin', "
      "'$argon2id$v=19$x')");
  refused(
      "INSERT INTO users (username, role, password_hash) VALUES ('alice', 'viewer', "
      "'$argon2id$v=19$y')",
      "23505");
  refused("INSERT INTO api_tokens (name, token_hash, role) VALUES ('t', '\\x00'::bytea, 'admin')",
          "23514");
  refused(
      "INSERT INTO sip_traces (call_id, leg, direction, message) VALUES ('c', 'x', 'in', 'INVITE')",
      "23514");
}

TEST_F(Constraints, CdrsAreRangePartitionedByMonth) {
  refused(
      "INSERT INTO cdrs (uuid, start_time, direction, sip_code) VALUES (gen_random_uuid(), now(), "
      "'inbound', 42)",
      "23514");
  refused(
      "INSERT INTO cdrs (uuid, start_time, direction) VALUES (gen_random_uuid(), now(), "
      "'sideways')",
      "23514");
  // A month without a partition lands in the default one, and moves into its
  // own partition when that is created.
  db_.exec(
      "INSERT INTO cdrs (uuid, start_time, direction) VALUES "
      "('00000000-0000-4000-8000-000000000001', '2001-02-03 04:05:06+00', 'inbound')");
  EXPECT_EQ(db_.scalar<std::string>(
                "SELECT tableoid::regclass::text FROM cdrs WHERE start_time < '2002-01-01'"),
            "cdrs_default");
  EXPECT_EQ(db_.scalar<std::string>("SELECT create_cdr_partition('2001-02-15')"), "cdrs_y2001m02");
  EXPECT_EQ(db_.scalar<std::string>("SELECT create_cdr_partition('2001-02-15')"), "cdrs_y2001m02");
  EXPECT_EQ(db_.scalar<std::string>(
                "SELECT tableoid::regclass::text FROM cdrs WHERE start_time < '2002-01-01'"),
            "cdrs_y2001m02");
  // The idempotency key holds across the partitioned table.
  refused(
      "INSERT INTO cdrs (uuid, start_time, direction) VALUES "
      "('00000000-0000-4000-8000-000000000001', '2001-02-03 04:05:06+00', 'inbound')",
      "23505");
}

struct Counter : pqxx::notification_receiver {
  Counter(pqxx::connection_base& c, const std::string& channel)
      : pqxx::notification_receiver(c, channel) {}
  void operator()(const std::string& payload, int) override { payloads.push_back(payload); }
  std::vector<std::string> payloads;
};

TEST_F(Constraints, OneNotificationPerStatementNotPerRow) {
  pqxx::connection listener(db_.dsn());
  Counter counter(listener, "sbc_config");
  db_.exec(
      "INSERT INTO ported_numbers (number, routing_number) "
      "SELECT '+1415' || lpad(g::text, 7, '0'), '+19999999999' FROM generate_series(1, 5000) g");
  db_.exec("UPDATE ported_numbers SET source = 'feed'");
  // Collect for a while: anything more the server would send arrives by then.
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
  while (std::chrono::steady_clock::now() < until) {
    listener.get_notifs();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(counter.payloads, (std::vector<std::string>{"ported_numbers", "ported_numbers"}));
}

}  // namespace
}  // namespace sbc::db

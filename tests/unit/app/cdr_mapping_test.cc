#include "sbc/app/cdr_mapping.h"

#include <gtest/gtest.h>

namespace sbc::app {
namespace {

using namespace std::chrono_literals;

b2bua::CallRecord answeredCall() {
  b2bua::CallRecord r;
  r.a_call_id = "a-call@pbx";
  r.b_call_id = "00abcdef";
  r.inbound_trunk_id = 3;
  r.inbound_trunk = "pbx-1";
  r.outbound_trunk_id = 7;
  r.outbound_trunk = "carrier-a";
  r.direction = b2bua::Direction::Outbound;
  r.caller_in = "2001";
  r.callee_in = "014155550100";
  r.caller_out = "+14155550199";
  r.callee_out = "+14155550100";
  r.routing_number = "14155559999";
  r.start = std::chrono::system_clock::time_point(1'700'000'000s);
  r.ringing = r.start + 1s;
  r.answer = r.start + 3s;
  r.end = r.start + 63s;
  r.final_code = 200;
  r.final_reason = "OK";
  r.q850_cause = 16;
  r.ended_by = b2bua::EndedBy::Callee;
  r.ended_reason = "bye";
  r.failover_attempts = 1;
  r.gateways_tried = {"192.0.2.1:5060", "192.0.2.2:5060"};
  return r;
}

TEST(CdrMapping, CopiesEveryField) {
  b2bua::CallRecord r = answeredCall();
  const auto start = r.start;
  cdr::Cdr c = toCdr(std::move(r), "sbc-1");
  EXPECT_EQ(c.node, "sbc-1");
  EXPECT_EQ(c.direction, cdr::Direction::Outbound);
  EXPECT_EQ(c.a_call_id, "a-call@pbx");
  EXPECT_EQ(c.b_call_id, "00abcdef");
  EXPECT_EQ(c.in_trunk_id, 3);
  EXPECT_EQ(c.in_trunk, "pbx-1");
  EXPECT_EQ(c.out_trunk_id, 7);
  EXPECT_EQ(c.out_trunk, "carrier-a");
  EXPECT_EQ(c.caller_in, "2001");
  EXPECT_EQ(c.callee_in, "014155550100");
  EXPECT_EQ(c.caller_out, "+14155550199");
  EXPECT_EQ(c.callee_out, "+14155550100");
  EXPECT_EQ(c.routing_number, "14155559999");
  EXPECT_EQ(c.start_time, start);
  ASSERT_TRUE(c.ringing_time);
  EXPECT_EQ(*c.ringing_time, start + 1s);
  ASSERT_TRUE(c.answer_time);
  EXPECT_EQ(*c.answer_time, start + 3s);
  ASSERT_TRUE(c.end_time);
  EXPECT_EQ(*c.end_time, start + 63s);
  EXPECT_EQ(c.durationMs(), 60000);
  EXPECT_EQ(c.sip_code, 200);
  EXPECT_EQ(c.sip_reason, "OK");
  ASSERT_TRUE(c.q850_cause);
  EXPECT_EQ(*c.q850_cause, 16);
  EXPECT_EQ(c.ended_by, cdr::EndedBy::Callee);
  EXPECT_EQ(c.end_reason, "bye");
  EXPECT_EQ(c.failover_attempts, 1u);
  EXPECT_EQ(c.tried_gateways, (std::vector<std::string>{"192.0.2.1:5060", "192.0.2.2:5060"}));
  EXPECT_EQ(c.uuid.size(), 36u);
}

TEST(CdrMapping, UnsetTimesAndCauseBecomeNull) {
  b2bua::CallRecord r = answeredCall();
  r.ringing = {};
  r.answer = {};
  r.q850_cause = -1;
  r.final_code = 486;
  r.final_reason = "Busy Here";
  r.direction = b2bua::Direction::Inbound;
  r.ended_by = b2bua::EndedBy::Caller;
  cdr::Cdr c = toCdr(std::move(r), "n");
  EXPECT_FALSE(c.ringing_time);
  EXPECT_FALSE(c.answer_time);
  EXPECT_TRUE(c.end_time);
  EXPECT_FALSE(c.q850_cause);
  EXPECT_EQ(c.durationMs(), 0);
  EXPECT_EQ(c.sip_code, 486);
  EXPECT_EQ(c.direction, cdr::Direction::Inbound);
  EXPECT_EQ(c.ended_by, cdr::EndedBy::Caller);
}

TEST(CdrMapping, ValuesTheTableRefusesAreNeutralized) {
  // A code or cause outside the cdrs CHECKs would send the record to the
  // spool's rejected/ folder instead of the table.
  b2bua::CallRecord r = answeredCall();
  r.final_code = 0;
  r.q850_cause = 300;
  cdr::Cdr c = toCdr(std::move(r), "n");
  EXPECT_EQ(c.sip_code, 0);
  EXPECT_FALSE(c.q850_cause);
  b2bua::CallRecord r2 = answeredCall();
  r2.final_code = 1000;
  EXPECT_EQ(toCdr(std::move(r2), "n").sip_code, 0);
}

TEST(CdrMapping, NumbersLoseTheirLnpParameters) {
  // What the engine records for a ported number: the B-leg Request-URI user
  // part as sent, with RFC 4694 parameters.
  b2bua::CallRecord r = answeredCall();
  r.callee_in = "12125550142;rn=+13105550000;npdi";
  r.callee_out = "+12125550142;rn=+13105550000;npdi";
  r.routing_number = "13105550000";
  cdr::Cdr c = toCdr(std::move(r), "n");
  EXPECT_EQ(c.callee_in, "12125550142");
  EXPECT_EQ(c.callee_out, "+12125550142");
  EXPECT_EQ(c.routing_number, "13105550000");

  b2bua::CallRecord npdi_only = answeredCall();
  npdi_only.callee_out = "+12125550199;npdi";
  npdi_only.routing_number.clear();
  cdr::Cdr c2 = toCdr(std::move(npdi_only), "n");
  EXPECT_EQ(c2.callee_out, "+12125550199");
  EXPECT_EQ(c2.routing_number, "");
}

TEST(CdrMapping, RoutingNumberFallsBackToTheSentRn) {
  b2bua::CallRecord r = answeredCall();
  r.callee_out = "+12125550142;npdi;RN=+13105550000";
  r.routing_number.clear();
  cdr::Cdr c = toCdr(std::move(r), "n");
  EXPECT_EQ(c.callee_out, "+12125550142");
  EXPECT_EQ(c.routing_number, "+13105550000");
}

TEST(CdrMapping, CopiesTheRelaysPerLegMedia) {
  b2bua::CallRecord r = answeredCall();
  r.media_relay = "10.0.0.9:7722";
  r.media_stats = true;
  r.media[0] = {20, 3440, 19, 3268, 1, 0.5, 0};
  r.media[1] = {19, 3268, 20, 3440, 0, 0.25, 4};
  cdr::Cdr c = toCdr(std::move(r), "sbc-1");
  EXPECT_EQ(c.media_relay, "10.0.0.9:7722");
  EXPECT_TRUE(c.media_stats);
  EXPECT_EQ(c.a_media.packets, 20u);
  EXPECT_EQ(c.a_media.bytes, 3440u);
  EXPECT_EQ(c.a_media.packets_out, 19u);
  EXPECT_EQ(c.a_media.bytes_out, 3268u);
  EXPECT_EQ(c.a_media.packets_lost, 1u);
  EXPECT_DOUBLE_EQ(c.a_media.jitter_ms, 0.5);
  EXPECT_EQ(c.b_media.packets, 19u);
  EXPECT_EQ(c.b_media.packets_out, 20u);
  EXPECT_EQ(c.b_media.srtp_failures, 4u);
  cdr::Row row = cdr::toRow(c);
  auto at = [&](std::string_view name) {
    for (std::size_t i = 0; i < row.size(); ++i)
      if (cdr::columns()[i] == name) return row[i].value_or("<null>");
    return std::string("<no column>");
  };
  EXPECT_EQ(at("b_srtp_failures"), "4");
  EXPECT_EQ(at("a_packets_out"), "19");
  EXPECT_EQ(at("media_relay"), "10.0.0.9:7722");
  EXPECT_EQ(at("media_stats"), "true");
}

TEST(CdrMapping, UnanchoredCallHasNoMedia) {
  cdr::Cdr c = toCdr(answeredCall(), "sbc-1");
  EXPECT_TRUE(c.media_relay.empty());
  EXPECT_FALSE(c.media_stats);
  EXPECT_EQ(c.a_media.packets, 0u);
  EXPECT_EQ(c.b_media.packets_out, 0u);
}

TEST(CdrMapping, RowFitsTheCdrsColumns) {
  cdr::Cdr c = toCdr(answeredCall(), "sbc-1");
  cdr::Row row = cdr::toRow(c);
  ASSERT_EQ(row.size(), cdr::columns().size());
  for (std::size_t i = 0; i < row.size(); ++i) {
    if (cdr::columns()[i] == "tried_gateways") {
      ASSERT_TRUE(row[i]);
      EXPECT_EQ(*row[i], "{\"192.0.2.1:5060\",\"192.0.2.2:5060\"}");
    }
    if (cdr::columns()[i] == "duration_ms") {
      EXPECT_EQ(row[i].value_or(""), "60000");
    }
  }
}

}  // namespace
}  // namespace sbc::app

#include "sbc/app/cdr_mapping.h"

#include <utility>

namespace sbc::app {
namespace {

std::optional<cdr::Cdr::Time> timeOrNull(b2bua::CallRecord::Time t) {
  if (t == b2bua::CallRecord::Time{}) return std::nullopt;
  return t;
}

cdr::Direction toCdr(b2bua::Direction d) {
  return d == b2bua::Direction::Inbound ? cdr::Direction::Inbound : cdr::Direction::Outbound;
}

cdr::EndedBy toCdr(b2bua::EndedBy e) {
  switch (e) {
    case b2bua::EndedBy::Caller:
      return cdr::EndedBy::Caller;
    case b2bua::EndedBy::Callee:
      return cdr::EndedBy::Callee;
    case b2bua::EndedBy::Sbc:
      return cdr::EndedBy::Sbc;
  }
  return cdr::EndedBy::Sbc;
}

}  // namespace

cdr::Cdr toCdr(b2bua::CallRecord&& r, std::string_view node) {
  cdr::Cdr c;
  c.node = std::string(node);
  c.direction = toCdr(r.direction);
  c.a_call_id = std::move(r.a_call_id);
  c.b_call_id = std::move(r.b_call_id);
  c.in_trunk_id = r.inbound_trunk_id;
  c.in_trunk = std::move(r.inbound_trunk);
  c.out_trunk_id = r.outbound_trunk_id;
  c.out_trunk = std::move(r.outbound_trunk);
  c.caller_in = std::move(r.caller_in);
  c.callee_in = std::move(r.callee_in);
  c.caller_out = std::move(r.caller_out);
  c.callee_out = std::move(r.callee_out);
  c.routing_number = std::move(r.routing_number);
  c.start_time = r.start;
  c.ringing_time = timeOrNull(r.ringing);
  c.answer_time = timeOrNull(r.answer);
  c.end_time = timeOrNull(r.end);
  // The table allows 0 (none) or a real status; anything else would be
  // refused by its CHECK and end up in the spool's rejected/ folder.
  c.sip_code = (r.final_code >= 100 && r.final_code <= 699) ? r.final_code : 0;
  c.sip_reason = std::move(r.final_reason);
  if (r.q850_cause >= 0 && r.q850_cause <= 127) c.q850_cause = r.q850_cause;
  c.ended_by = toCdr(r.ended_by);
  c.end_reason = std::move(r.ended_reason);
  c.failover_attempts = r.failover_attempts;
  c.tried_gateways = std::move(r.gateways_tried);
  return c;
}

}  // namespace sbc::app

#include "sbc/app/cdr_mapping.h"

#include <string>
#include <string_view>
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

// A Request-URI user part carries RFC 4694 parameters after the number
// ("+12125550199;rn=+13105550000;npdi"); the CDR's number columns hold the
// number alone (searchable, indexed) and the rn has its own column.
std::string_view numberPart(std::string_view user) {
  return user.substr(0, user.find(';'));
}

// The rn parameter of such a user part, or empty.
std::string_view rnParam(std::string_view user) {
  std::size_t pos = user.find(';');
  while (pos != std::string_view::npos) {
    const std::string_view rest = user.substr(pos + 1);
    const std::size_t end = rest.find(';');
    const std::string_view param = rest.substr(0, end);
    if (param.size() > 3 && (param[0] == 'r' || param[0] == 'R') &&
        (param[1] == 'n' || param[1] == 'N') && param[2] == '=')
      return param.substr(3);
    pos = end == std::string_view::npos ? end : pos + 1 + end;
  }
  return {};
}

void keepNumberOnly(std::string& user) {
  user.resize(numberPart(user).size());
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
  // The routing decision's rn is authoritative; the rn sent on the B leg is
  // the fallback (the same number, formatted for the trunk).
  if (r.routing_number.empty()) r.routing_number = rnParam(r.callee_out);
  if (r.routing_number.empty()) r.routing_number = rnParam(r.callee_in);
  keepNumberOnly(r.caller_in);
  keepNumberOnly(r.callee_in);
  keepNumberOnly(r.caller_out);
  keepNumberOnly(r.callee_out);
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
  c.media_relay = std::move(r.media_relay);
  c.media_stats = r.media_stats;
  auto leg = [](const b2bua::LegMediaStats& m) {
    cdr::LegMedia l;
    l.packets = m.packets_in;
    l.bytes = m.bytes_in;
    l.packets_out = m.packets_out;
    l.bytes_out = m.bytes_out;
    l.packets_lost = m.packets_lost;
    l.jitter_ms = m.jitter_ms;
    l.srtp_failures = m.srtp_failures;
    return l;
  };
  c.a_media = leg(r.media[0]);
  c.b_media = leg(r.media[1]);
  return c;
}

}  // namespace sbc::app

#pragma once
// Boost.JSON bodies of the port-order API, so that a route handler is a few
// lines: parse the body, call the store, serialise the result or the error
// (with httpStatus(error.code)).
//
// Order body (create / update):
//   {"direction": "port_in", "losing_carrier": "...", "gaining_carrier": "...",
//    "target_trunk_id": 3, "account_name": "...", "account_number": "...",
//    "account_pin": "...", "billing_number": "...", "service_address": "...",
//    "authorized_by": "...", "requested_foc": "2026-12-01T15:00:00Z",
//    "notes": "...", "routing_number": "+1...",            (port_out, for all)
//    "numbers": ["+14155550100", {"number": "+1...", "routing_number": "+1..."}]
//      or "numbers_text": "pasted text"  or  "numbers_csv": "number,routing_number\n..."}
// Transition body: {"to": "foc_confirmed", "version": 4,
//    "confirmed_foc": "2026-12-01T15:00:00Z", "reason": "...", "note": "..."}
// Error body: {"error": "invalid", "message": "...", "issues": [{"field": ...,
//    "rule": ..., "message": ..., "line": 3, "column": 7, "value": ...}]}
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "admin-ui/porting/port_order.h"
#include "admin-ui/porting/port_order_store.h"

namespace sbc::admin::porting {

// include_secrets: the account PIN (API reads by operators); audit rows never
// carry it.
boost::json::object toJson(const PortOrder& o, bool include_secrets = true);
boost::json::object toJson(const OrderSummary& s);
boost::json::object toJson(const Error& e);
boost::json::object toJson(const DueResult& r);

// Unknown members are refused (a typo must not be silently ignored).
Result<OrderFields> orderFieldsFromJson(const boost::json::value& body);
Result<Transition> transitionFromJson(const boost::json::value& body);
// Query parameters as a JSON object of strings: status, direction, number,
// limit, offset.
Result<ListFilter> listFilterFromJson(const boost::json::object& query);

}  // namespace sbc::admin::porting

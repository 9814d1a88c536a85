#pragma once
// The B2BUA's CallRecord as a cdr::Cdr, field for field: the app does the
// mapping so that neither module depends on the other.
#include <string_view>

#include "sbc/b2bua/call_record.h"
#include "sbc/cdr/cdr.h"

namespace sbc::app {

// `node`: this node's name, stored with every record. Unset times (the
// epoch) become NULLs; a q850 cause of -1 too. Number columns hold the number
// alone: user-part parameters (RFC 4694 ";rn=...;npdi") are cut off, and the
// rn goes to routing_number (from the routing decision, else from the sent
// or received Request-URI).
cdr::Cdr toCdr(b2bua::CallRecord&& record, std::string_view node);

}  // namespace sbc::app

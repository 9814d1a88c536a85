// Umbrella header of the SDP module.
#pragma once

#include "sbc/sdp/fields.h"               // IWYU pragma: export
#include "sbc/sdp/parser.h"               // IWYU pragma: export
#include "sbc/sdp/result.h"               // IWYU pragma: export
#include "sbc/sdp/session_description.h"  // IWYU pragma: export

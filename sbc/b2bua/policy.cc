#include "sbc/b2bua/policy.h"

namespace sbc::b2bua {

std::string_view toString(RejectCause c) {
  switch (c) {
    case RejectCause::None:
      return "none";
    case RejectCause::UnknownSource:
      return "unknown_source";
    case RejectCause::Auth:
      return "auth";
    case RejectCause::ChannelLimit:
      return "limit";
    case RejectCause::CallRate:
      return "rate";
    case RejectCause::NoRoute:
      return "route";
    case RejectCause::NotOurNumber:
      return "not_our_number";
    case RejectCause::PortedOut:
      return "ported_out";
    case RejectCause::Forbidden:
      return "forbidden";
    case RejectCause::Flood:
      return "flood";
  }
  return "unknown";
}

}  // namespace sbc::b2bua

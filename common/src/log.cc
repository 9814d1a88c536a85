#include "sbc/common/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <string>

namespace sbc::common {

void initLogging(std::string_view process_name, std::string_view level) {
  auto logger = spdlog::stderr_color_mt(std::string(process_name));
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %n[%t] %v");
  spdlog::set_default_logger(logger);
  setLogLevel(level);
}

bool setLogLevel(std::string_view level) {
  auto lvl = spdlog::level::from_str(std::string(level));
  // from_str answers "off" for names it does not know.
  if (lvl == spdlog::level::off && level != "off") return false;
  spdlog::set_level(lvl);
  return true;
}

}  // namespace sbc::common

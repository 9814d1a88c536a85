#include "sbc/common/log.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace sbc::common {
namespace {

constexpr std::string_view kEventPrefix = "event=";

bool plain(unsigned char c) {
  return c > 0x20 && c < 0x7f && c != '"' && c != '=' && c != '\\';
}

void appendQuoted(std::string& out, std::string_view v) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (unsigned char c : v) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
}

// %* : the message as logfmt: event lines as they are, anything else as
// msg="..." (so a free-text message can never pose as keys).
class MessageFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const std::string_view text(msg.payload.data(), msg.payload.size());
    if (text.substr(0, kEventPrefix.size()) == kEventPrefix &&
        text.find_first_of("\r\n") == std::string_view::npos) {
      dest.append(text.data(), text.data() + text.size());
      return;
    }
    std::string quoted = "msg=";
    appendQuoted(quoted, text);
    dest.append(quoted.data(), quoted.data() + quoted.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<MessageFlag>();
  }
};

}  // namespace

void initLogging(std::string_view process_name, std::string_view level) {
  auto logger = spdlog::stderr_color_mt(std::string(process_name));
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  formatter->add_flag<MessageFlag>('*').set_pattern(
      "%Y-%m-%dT%H:%M:%S.%e%z level=%^%l%$ proc=%n tid=%t %*");
  logger->set_formatter(std::move(formatter));
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

std::string_view logLevel() {
  const auto name = spdlog::level::to_string_view(spdlog::default_logger_raw()->level());
  return {name.data(), name.size()};
}

std::string logValue(std::string_view value) {
  bool ok = !value.empty();
  for (unsigned char c : value) {
    if (!plain(c)) {
      ok = false;
      break;
    }
  }
  if (ok) return std::string(value);
  std::string out;
  out.reserve(value.size() + 2);
  appendQuoted(out, value);
  return out;
}

}  // namespace sbc::common

#pragma once
// What a handler answers. No Beast here.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace boost::json {
class value;
}  // namespace boost::json

namespace sbc::http {

struct Response {
  int status = 200;
  std::string content_type;  // empty: no Content-Type (e.g. 204, 304)
  std::vector<std::pair<std::string, std::string>> headers;  // besides Content-Type/Length
  std::string body;

  // Sets a header, replacing any of the same name (case-insensitive).
  Response& set(std::string_view name, std::string value);
  // Adds a header without looking for an earlier one (e.g. Set-Cookie).
  Response& add(std::string_view name, std::string value);
  std::optional<std::string_view> header(std::string_view name) const;

  static Response json(int status, const boost::json::value& value);
  static Response text(int status, std::string body,
                       std::string content_type = "text/plain; charset=utf-8");
  // {"error":{"status":404,"code":"not_found","message":"..."}}; the code is
  // the reason phrase in snake case.
  static Response error(int status, std::string_view message);
  static Response empty(int status) { return Response{status, {}, {}, {}}; }
};

std::string_view reasonPhrase(int status);

}  // namespace sbc::http

#pragma once
// What a handler answers. No Beast here.
#include <boost/asio/awaitable.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace boost::json {
class value;
}  // namespace boost::json

namespace sbc::http {

// A response body produced while it is sent (HTTP/1.1 chunked transfer):
// the server calls next() until it answers done, and writes each piece as
// one chunk. A failure after the header has gone out can only cut the
// connection (the client sees an incomplete chunked body, never a short
// "complete" one).
struct BodyPiece {
  std::string data;  // may be empty (nothing yet; the server calls again)
  bool done = false;
  bool failed = false;
};
class BodySource {
 public:
  virtual ~BodySource() = default;
  virtual boost::asio::awaitable<BodyPiece> next() = 0;
  // The client went away or the server stops: release what is held.
  virtual void cancel() {}
};

struct Response {
  int status = 200;
  std::string content_type;  // empty: no Content-Type (e.g. 204, 304)
  std::vector<std::pair<std::string, std::string>> headers;  // besides Content-Type/Length
  std::string body;
  // When set, the body is streamed from here instead (body is ignored).
  std::shared_ptr<BodySource> stream;

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
  static Response empty(int status) { return Response{status, {}, {}, {}, {}}; }
};

std::string_view reasonPhrase(int status);

}  // namespace sbc::http

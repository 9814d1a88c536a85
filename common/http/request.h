#pragma once
// What a handler sees of an HTTP request. No Beast here: handlers and
// middleware include this and response.h / router.h only.
#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sbc::http {

// One piece of a streamed request body. `data` stays valid until the next
// read(). At the end: done with empty data. On failure: error_status is the
// answer the server sends instead of the handler's (413 too large, 400
// malformed) or 0 when the connection is simply gone (timeout, reset).
struct BodyChunk {
  std::string_view data;
  bool done = false;
  int error_status = -1;  // -1: no error
  bool failed() const { return error_status >= 0; }
};

// The body of a request whose route opted into streaming (see
// Router::addStreaming): the handler pulls it chunk by chunk as it arrives,
// on the connection's executor. Each read waits at most the server's
// body_timeout.
class BodyReader {
 public:
  virtual ~BodyReader() = default;
  virtual boost::asio::awaitable<BodyChunk> read() = 0;
  // Bytes handed out so far.
  virtual std::uint64_t bytesRead() const = 0;
};

enum class Method : std::uint8_t { kGet, kHead, kPost, kPut, kDelete, kPatch, kOptions, kOther };
inline constexpr std::size_t kMethodCount = 8;

std::string_view methodName(Method method);    // "GET", ..., "OTHER"
Method methodFromName(std::string_view name);  // case-sensitive (RFC 9110 9.1)

// Header fields in arrival order. Names and values are views: into the
// connection's buffer for a received request (valid until the handler's
// response is written), or into strings the caller keeps alive.
class Headers {
 public:
  using Field = std::pair<std::string_view, std::string_view>;

  // The first field with this name, compared case-insensitively.
  std::optional<std::string_view> get(std::string_view name) const;
  bool contains(std::string_view name) const { return get(name).has_value(); }
  void add(std::string_view name, std::string_view value) { fields_.emplace_back(name, value); }
  const std::vector<Field>& fields() const { return fields_; }
  void reserve(std::size_t n) { fields_.reserve(n); }

 private:
  std::vector<Field> fields_;
};

struct Request {
  Method method = Method::kGet;
  std::string_view method_name;  // as received, e.g. "PROPFIND" for kOther
  std::string_view target;       // raw request-target: path and query, percent-encoded
  std::string path;              // percent-decoded path
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in order
  Headers headers;
  std::string body;  // empty when the route streams its body (see body_reader)
  // Set only for a streaming route; owned by the server, valid while the
  // handler runs.
  BodyReader* body_reader = nullptr;
  std::string remote_address;
  std::uint16_t remote_port = 0;
  bool secure = false;  // arrived over TLS

  // Set by the router before middleware runs.
  std::string_view route;  // the matched pattern, "" when none matched
  std::size_t route_index = static_cast<std::size_t>(-1);
  std::vector<std::pair<std::string_view, std::string>> params;  // {name} values, decoded

  // Free for middleware to hand things to handlers (e.g. "user", "role").
  std::map<std::string, std::string, std::less<>> attributes;

  std::optional<std::string_view> header(std::string_view name) const { return headers.get(name); }
  // The first query parameter with this name.
  std::optional<std::string_view> queryParam(std::string_view name) const;
  // A path parameter ("" when the route has none of that name).
  std::string_view param(std::string_view name) const;

  // Fills target, path and query from a raw request-target; false for a
  // target that is not origin-form ("/...") or whose path is badly
  // percent-encoded or decodes to a NUL.
  bool setTarget(std::string_view raw_target);
};

// Percent-decoding; nullopt for a '%' not followed by two hex digits.
// plus_as_space: form encoding ('+' means ' '), for query strings.
std::optional<std::string> percentDecode(std::string_view in, bool plus_as_space = false);

bool equalsIgnoreCase(std::string_view a, std::string_view b);

}  // namespace sbc::http

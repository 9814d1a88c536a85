// The SIP message: parse from received bytes, inspect, mutate, serialize.
//
// A Message owns its bytes (the received buffer is moved in) and every view it
// hands out points into storage the Message owns. Views, spans and references
// returned by accessors stay valid while the Message lives, including across a
// move, until the header they come from is mutated (a mutation of header X
// invalidates what was returned for X; setRequestUri invalidates requestUri()).
// A Message is used from one thread at a time (structured headers are parsed
// lazily into a cache on first access).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "sbc/sip/headers.h"
#include "sbc/sip/result.h"
#include "sbc/sip/uri.h"

namespace sbc::sip {

struct HeaderField {
  HeaderId id = HeaderId::Other;
  std::string_view name;   // as written ("v", "MaX-fOrWaRdS", ...)
  std::string_view value;  // LWS trimmed at both ends; interior folding kept
  // The original line(s) without the final CRLF, so that an untouched header
  // is forwarded byte for byte. Empty for headers added by mutation.
  std::string_view raw;
};

class Message {
 public:
  Message();  // an empty "500" response; prefer the factories below
  Message(const Message& other);
  Message& operator=(const Message& other);
  // A moved-from Message reads as empty; assign to it or destroy it.
  Message(Message&& other) noexcept;
  Message& operator=(Message&& other) noexcept;
  ~Message();

  // Builders for outgoing messages. The Request-URI must parse.
  static Result<Message> createRequest(Method method, std::string_view request_uri);
  static Result<Message> createRequest(std::string_view method, std::string_view request_uri);
  // reason empty => defaultReasonPhrase(code). code should be 100..699.
  static Message createResponse(int code, std::string_view reason = {});

  // ---- start line
  bool isRequest() const;
  bool isResponse() const { return !isRequest(); }
  Method method() const;                // Unknown for responses and extension methods
  std::string_view methodText() const;  // as written; "" for responses
  // Default Uri (empty text) for responses and when the Request-URI did not
  // parse; parseError() then says why (or names an earlier error).
  const Uri& requestUri() const;
  std::string_view requestUriText() const;
  std::string_view version() const;  // "SIP/2.0" as written
  int statusCode() const;            // 0 for requests
  std::string_view reasonPhrase() const;
  // Ok for a cleanly parsed or locally built message; otherwise why the
  // parsed message is invalid (see errorStatus()).
  ParseError parseError() const;

  // ---- raw header access (every header, in order)
  std::span<const HeaderField> headers() const;
  const HeaderField* header(HeaderId id) const;            // first of that id
  const HeaderField* header(std::string_view name) const;  // any form of the name
  std::size_t headerCount(HeaderId id) const;              // header fields, not values
  std::size_t headerCount(std::string_view name) const;
  std::string_view body() const;

  // ---- structured headers (parsed strictly on first access)
  // Missing: ParseError::Missing for single-value headers; an empty span for
  // list headers. Several fields of a single-value header: DuplicateHeader.
  Result<std::span<const Via>> vias() const;
  Result<const Via&> topVia() const;
  Result<const NameAddr&> from() const;
  Result<const NameAddr&> to() const;
  Result<std::string_view> callId() const;
  Result<CSeq> cseq() const;
  Result<std::span<const NameAddr>> contacts() const;  // empty for "Contact: *"
  bool contactIsWildcard() const;                      // "Contact: *"
  Result<std::span<const NameAddr>> routes() const;
  Result<std::span<const NameAddr>> recordRoutes() const;
  Result<std::span<const NameAddr>> pAssertedIdentities() const;
  Result<std::uint32_t> maxForwards() const;  // 0..255
  Result<std::uint32_t> contentLength() const;
  Result<const MediaType&> contentType() const;
  Result<std::span<const MediaType>> accept() const;
  Result<std::span<const std::string_view>> require() const;
  Result<std::span<const std::string_view>> proxyRequire() const;
  Result<std::span<const std::string_view>> supported() const;
  Result<std::span<const std::string_view>> unsupported() const;
  Result<std::span<const std::string_view>> allow() const;
  Result<std::span<const std::string_view>> privacy() const;  // ';'-separated values
  // Any comma-separated token list header (Require, Allow-Events, ...).
  Result<std::span<const std::string_view>> tokens(HeaderId id) const;
  Result<SessionExpires> sessionExpires() const;
  Result<MinSE> minSE() const;
  Result<std::span<const Reason>> reasons() const;
  Result<std::uint32_t> rseq() const;
  Result<RAck> rack() const;
  Result<std::uint32_t> expires() const;
  // Authorization, Proxy-Authorization, WWW-Authenticate, Proxy-Authenticate:
  // one entry per header field.
  Result<std::span<const AuthHeader>> auth(HeaderId id) const;

  // ---- mutation (values are copied into storage the Message owns; CR/LF in
  // a value are replaced by SP so that no caller can inject a header)
  // Appends after the last header of the same id, else at the end.
  void addHeader(HeaderId id, std::string_view value);
  void addHeader(std::string_view name, std::string_view value);
  // Inserts before the first header of the same id, else first of all.
  void prependHeader(HeaderId id, std::string_view value);
  void prependHeader(std::string_view name, std::string_view value);
  // Replaces every header of that id/name by one (at the first one's place).
  void setHeader(HeaderId id, std::string_view value);
  void setHeader(std::string_view name, std::string_view value);
  std::size_t removeHeader(HeaderId id);  // returns how many fields were removed
  std::size_t removeHeader(std::string_view name);
  // Removes the first comma-separated value of the first header of that id
  // (e.g. the top Via); the field goes away when it held only that value.
  bool removeFirstValue(HeaderId id);
  // Replaces that first value by `value` where it stands (what
  // removeFirstValue + prependHeader do, except that a field holding only
  // that value keeps its place in the header order): no header moves, and
  // for Via the parse already read stays current (the new top Via is parsed
  // once, the others are kept), so the transaction layer's stamp of
  // received/rport costs no re-parse of the list. False if there is no
  // such header.
  bool replaceFirstValue(HeaderId id, std::string_view value);
  // False (message unchanged) if the URI does not parse.
  [[nodiscard]] bool setRequestUri(std::string_view uri);
  void setStatus(int code, std::string_view reason = {});
  // Sets the body and Content-Length; with content_type also Content-Type.
  // An empty body removes Content-Type when content_type is empty.
  void setBody(std::string_view body, std::string_view content_type = {});

  // ---- builders that also record the parsed form of what they add, so that
  // reading it back (the transaction layer keys on the top Via) parses
  // nothing. The result is exactly what addHeader() with the same text gives.
  // Appends "SIP/2.0/<transport> <host>:<port>;branch=<branch>[;rport]"
  // (an IPv6 host, one with ':', is bracketed) as a Via; when it is the only
  // Via and its parts are plain (known transport, IPv4 or hostname, token
  // branch) its parse is seeded, otherwise it is parsed on first access.
  void addVia(std::string_view transport, std::string_view host, std::uint16_t port,
              std::string_view branch, bool rport);

  // ---- wire form. Untouched headers are emitted byte for byte; a missing
  // Content-Length is added (value = body size).
  std::string serialize() const;
  void serializeTo(std::string& out) const;  // appends

 private:
  struct Impl;
  struct Cache;
  friend struct MessageParser;
  const Impl& impl() const;
  Impl& mut();
  Cache& cache() const;
  void invalidate(HeaderId id);
  // Appends To = `value` + ";tag=" + `tag`, where `parsed` is the parse of
  // `value`; the result's parse is derived from it instead of parsed again.
  void addTaggedTo(std::string_view value, const NameAddr& parsed, std::string_view tag);
  friend Message makeResponse(const Message& request, int code, std::string_view reason,
                              std::string_view to_tag);
  std::unique_ptr<Impl> impl_;
};

// Result of parsing received bytes.
struct ParseResult {
  ParseError error = ParseError::Ok;
  // nullopt exactly when the message must be discarded (isDiscard(error)).
  // Otherwise the message, valid if error == Ok, else answer errorStatus(error)
  // (makeResponse works on it as far as Via/From/To/Call-ID/CSeq allow).
  std::optional<Message> message;

  bool ok() const { return error == ParseError::Ok; }
  bool discard() const { return !message.has_value(); }
};

// One UDP datagram: the message ends where Content-Length says and trailing
// octets are ignored (RFC 4475 dblreq); no Content-Length means the body is the
// rest of the datagram; Content-Length beyond the end is BodyTooShort.
ParseResult parseDatagram(std::string bytes);
// One message already framed by a stream transport: Content-Length mandatory.
ParseResult parseMessage(std::string bytes);

// RFC 3261 8.2.6: copies Via(s), From, To (adding to_tag when given and To has
// no tag), Call-ID, CSeq, and for 100 Trying also Timestamp; Content-Length: 0.
Message makeResponse(const Message& request, int code, std::string_view reason = {},
                     std::string_view to_tag = {});

// Reason phrase of every status code RFC 3261 and common extensions define;
// "Unknown" style fallback per class for others.
std::string_view defaultReasonPhrase(int code);

}  // namespace sbc::sip

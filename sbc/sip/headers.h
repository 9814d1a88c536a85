// Header names, methods and the structured header values a B2BUA needs, with
// a standalone parser for each (Message uses these lazily; tests and other
// modules may call them directly on a single header value).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "sbc/sip/result.h"
#include "sbc/sip/uri.h"

namespace sbc::sip {

enum class Method : std::uint8_t {
  Unknown,  // extension method: see the method text
  Invite,
  Ack,
  Bye,
  Cancel,
  Options,
  Register,
  Prack,
  Update,
  Info,
  Subscribe,
  Notify,
  Refer,
  Message,
  Publish,
};

// Methods are case-sensitive (RFC 3261 7.1): "invite" is an unknown method.
Method methodFromString(std::string_view text);
std::string_view methodName(Method m);  // "" for Unknown

enum class HeaderId : std::uint8_t {
  Other = 0,  // unknown header: kept raw, name as written
  Accept,
  AcceptContact,
  AcceptEncoding,
  AcceptLanguage,
  AlertInfo,
  Allow,
  AllowEvents,
  AuthenticationInfo,
  Authorization,
  CallId,
  CallInfo,
  Contact,
  ContentDisposition,
  ContentEncoding,
  ContentLanguage,
  ContentLength,
  ContentType,
  CSeq,
  Date,
  Diversion,
  ErrorInfo,
  Event,
  Expires,
  From,
  HistoryInfo,
  Identity,
  IdentityInfo,
  InReplyTo,
  MaxForwards,
  MimeVersion,
  MinExpires,
  MinSE,
  Organization,
  PAssertedIdentity,
  PPreferredIdentity,
  Path,
  Priority,
  Privacy,
  ProxyAuthenticate,
  ProxyAuthorization,
  ProxyRequire,
  RAck,
  Reason,
  RecordRoute,
  ReferTo,
  ReferredBy,
  RejectContact,
  Replaces,
  ReplyTo,
  RequestDisposition,
  Require,
  RetryAfter,
  Route,
  RSeq,
  Server,
  ServiceRoute,
  SessionExpires,
  Subject,
  SubscriptionState,
  Supported,
  Timestamp,
  To,
  Unsupported,
  UserAgent,
  Via,
  Warning,
  WWWAuthenticate,
  kCount,  // not a header: number of ids
};

// Canonical long name ("Call-ID"); "" for Other.
std::string_view headerName(HeaderId id);
// Case-insensitive; compact forms (i m e l c f t v s k o u r b x y a j d n)
// map to the same id. Unknown names give HeaderId::Other.
HeaderId headerIdFromName(std::string_view name);
// Headers whose value is a comma-separated list (RFC 3261 7.3.1).
bool isListHeader(HeaderId id);

// Splits a header value at top-level commas (outside quotes and <>) and trims
// LWS around each element. Empty elements (",,") are skipped.
class ListSplitter {
 public:
  explicit ListSplitter(std::string_view value) : value_(value) {}
  // False at the end, or on unbalanced quotes/<> (then error() is true).
  bool next(std::string_view& element);
  bool error() const { return error_; }

 private:
  std::string_view value_;
  std::size_t pos_ = 0;
  bool error_ = false;
};

enum class TransportProto : std::uint8_t { Udp, Tcp, Tls, Sctp, Ws, Wss, Other };
TransportProto transportFromString(std::string_view text);  // case-insensitive

struct Via {
  std::string_view text;              // this via-parm as written
  std::string_view protocol_name;     // "SIP"
  std::string_view protocol_version;  // "2.0"
  std::string_view transport_text;    // as written, e.g. "UDP", "UNKNOWN"
  TransportProto transport = TransportProto::Other;
  std::string_view host;  // sent-by host, IPv6 without brackets
  HostType host_type = HostType::None;
  std::uint16_t port = 0;
  bool has_port = false;
  Params params;            // every via-param, in order
  std::string_view branch;  // empty if absent
  std::string_view received;
  std::string_view maddr;
  bool rport = false;             // rport present (RFC 3581)
  std::uint16_t rport_value = 0;  // 0: flag without value
  int ttl = -1;                   // -1: absent

  // RFC 3261 branch (magic cookie); otherwise RFC 2543 matching applies.
  bool hasRfc3261Branch() const { return branch.size() > 7 && branch.substr(0, 7) == "z9hG4bK"; }
};

// From, To, Contact, Route, Record-Route, P-Asserted-Identity, Refer-To, ...
struct NameAddr {
  std::string_view text;          // this value as written
  std::string_view display_name;  // without quotes; backslash escapes kept
  bool display_quoted = false;
  bool angle_brackets = false;  // name-addr form; false for bare addr-spec
  Uri uri;
  // Header parameters. In addr-spec form (no <>), everything after the first
  // ';' is a header parameter, never a URI parameter (RFC 3261 20).
  Params params;
  std::string_view tag;  // value of ";tag=", empty if absent

  // Display name with quotes removed, escapes resolved, LWS collapsed.
  std::string displayName() const;
};

struct CSeq {
  std::uint32_t number = 0;  // 0 .. 2^31-1
  Method method = Method::Unknown;
  std::string_view method_text;
};

// Content-Type and Accept elements (media-type / media-range).
struct MediaType {
  std::string_view text;
  std::string_view type;     // "application", "*"
  std::string_view subtype;  // "sdp", "*"
  Params params;
  bool is(std::string_view type_, std::string_view subtype_) const;  // case-insensitive
  // True if this (an Accept range, wildcards allowed) admits type/subtype.
  bool admits(std::string_view type_, std::string_view subtype_) const;
};

enum class Refresher : std::uint8_t { None, Uac, Uas };

struct SessionExpires {  // RFC 4028
  std::uint32_t delta = 0;
  Refresher refresher = Refresher::None;
  Params params;
};

struct MinSE {
  std::uint32_t delta = 0;
  Params params;
};

struct Reason {               // RFC 3326
  std::string_view protocol;  // "SIP", "Q.850"
  int cause = -1;             // -1 if absent
  std::string_view text;      // raw, without quotes
  Params params;
};

struct RAck {  // RFC 3262
  std::uint32_t rseq = 0;
  std::uint32_t cseq = 0;
  Method method = Method::Unknown;
  std::string_view method_text;
};

// Authorization, Proxy-Authorization, WWW-Authenticate, Proxy-Authenticate.
struct AuthHeader {
  std::string_view text;
  std::string_view scheme;   // "Digest", any token
  Params params;             // ','-separated auth-params (values unquoted)
  std::string_view token68;  // non-param credentials (e.g. Basic), else empty
};

// Standalone parsers for ONE value (one list element for list headers).
Result<Via> parseVia(std::string_view value);
// allow_addr_spec: From/To/Contact accept a bare URI; Route/Record-Route do not.
Result<NameAddr> parseNameAddr(std::string_view value, bool allow_addr_spec = true);
Result<CSeq> parseCSeq(std::string_view value);
Result<std::string_view> parseCallId(std::string_view value);
Result<MediaType> parseMediaType(std::string_view value);
Result<SessionExpires> parseSessionExpires(std::string_view value);
Result<MinSE> parseMinSE(std::string_view value);
Result<Reason> parseReason(std::string_view value);
Result<RAck> parseRAck(std::string_view value);
Result<AuthHeader> parseAuth(std::string_view value);
// 1*DIGIT without sign or LWS, value <= max (overlarge => error).
Result<std::uint32_t> parseUint(std::string_view value, std::uint32_t max);
// RFC 1123 date in the RFC 3261 form "Sat, 13 Nov 2010 23:29:00 GMT".
bool isValidSipDate(std::string_view value);

// Text helpers.
bool iequals(std::string_view a, std::string_view b);
// Removes surrounding quotes if any and resolves backslash escapes.
std::string unquote(std::string_view text);
// Collapses every run of LWS (SP, HTAB, CRLF + WSP) to a single SP.
std::string unfold(std::string_view text);
// Trims LWS (including folding) at both ends.
std::string_view trimLws(std::string_view text);

}  // namespace sbc::sip

// SIP/SIPS (RFC 3261 19.1), tel (RFC 3966) and opaque absolute URIs.
// A Uri is a set of views into the text it was parsed from: keep that text
// alive (for URIs of a Message, the Message owns it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "sbc/sip/result.h"

namespace sbc::sip {

// One parameter of a ';'-, '&'- or ','-separated list.
struct Param {
  std::string_view name;
  std::string_view value;  // without surrounding quotes; escapes kept as written
  bool has_value = false;  // false for flags such as ";lr"
  bool quoted = false;     // value was a quoted-string
};

// A view of a parameter list as written, e.g. "lr;transport=tcp" (without the
// leading separator). Iteration parses on the fly: no allocation, and the list
// text has been validated by whichever parser produced it.
class Params {
 public:
  Params() = default;
  Params(std::string_view text, char separator) : text_(text), sep_(separator) {}

  class Iterator {
   public:
    using value_type = Param;
    using difference_type = std::ptrdiff_t;
    Iterator() = default;
    const Param& operator*() const { return cur_; }
    const Param* operator->() const { return &cur_; }
    Iterator& operator++();
    Iterator operator++(int) {
      Iterator t = *this;
      ++*this;
      return t;
    }
    bool operator==(const Iterator& o) const { return pos_ == o.pos_; }

   private:
    friend class Params;
    Iterator(std::string_view text, char sep, std::size_t pos);
    void load();
    std::string_view text_;
    std::size_t pos_ = std::string_view::npos;  // npos == end
    std::size_t next_ = std::string_view::npos;
    char sep_ = ';';
    Param cur_;
  };

  Iterator begin() const { return Iterator(text_, sep_, 0); }
  Iterator end() const { return Iterator(); }
  bool empty() const { return text_.empty(); }
  std::size_t size() const;
  std::string_view text() const { return text_; }
  char separator() const { return sep_; }

  // Case-insensitive name lookup; a flag yields an empty value.
  std::optional<Param> find(std::string_view name) const;
  std::optional<std::string_view> get(std::string_view name) const;
  bool has(std::string_view name) const { return find(name).has_value(); }

 private:
  std::string_view text_;
  char sep_ = ';';
};

enum class UriScheme : std::uint8_t { Sip, Sips, Tel, Other };
enum class HostType : std::uint8_t { None, Hostname, IPv4, IPv6 };

struct Uri {
  UriScheme scheme = UriScheme::Other;
  std::string_view text;         // the whole URI as written
  std::string_view scheme_text;  // as written, e.g. "SIP"

  // sip/sips: the user part, escaped as written, including any tel-style
  // ";param" (RFC 3261 allows ';' in user). tel: the number (global "+..." or
  // local), visual separators kept.
  std::string_view user;
  // user up to the first ';' (sip) / the number (tel).
  std::string_view user_number;
  // sip/sips: tel-style params inside the user part (rn, npdi, isub, ext,
  // phone-context), meaningful with user=phone (RFC 4694 section 4).
  Params user_params;
  std::string_view password;
  bool has_password = false;

  std::string_view host;  // IPv6 without the brackets
  HostType host_type = HostType::None;
  std::uint16_t port = 0;
  bool has_port = false;

  Params params;            // sip: uri-parameters; tel: tel parameters
  Params headers;           // sip: "?a=b&c=d" headers (escaped, '&'-separated)
  std::string_view opaque;  // Other: everything after "scheme:"

  bool isSip() const { return scheme == UriScheme::Sip || scheme == UriScheme::Sips; }
  std::optional<std::string_view> param(std::string_view name) const { return params.get(name); }
  std::string_view transport() const {
    return params.get("transport").value_or(std::string_view{});
  }
  std::string_view maddr() const { return params.get("maddr").value_or(std::string_view{}); }
  std::string_view userParam() const { return params.get("user").value_or(std::string_view{}); }
  bool lr() const { return params.has("lr"); }
  // tel: URI, or sip/sips with user=phone.
  bool isPhone() const;
  // RFC 4694 routing number and "number portability dip indicator": tel
  // parameters of a tel: URI, or of the user part of a sip/sips URI.
  std::optional<std::string_view> rn() const;
  bool npdi() const;
  // The phone number for routing: user_number of a phone URI (escapes kept).
  std::string_view number() const { return user_number; }
  // Explicit port, else 5061 for sips, 5060 otherwise.
  std::uint16_t portOrDefault() const {
    return has_port ? port : (scheme == UriScheme::Sips ? 5061 : 5060);
  }
};

// Strict parse. Unknown schemes with a valid "scheme:" prefix and no
// whitespace parse as UriScheme::Other (an "absolute URI", answer 416).
Result<Uri> parseUri(std::string_view text);

// RFC 3261 19.1.4 for sip/sips, RFC 3966 section 4 for tel, case-insensitive
// scheme + exact remainder for other schemes.
bool uriEquals(const Uri& a, const Uri& b);
// Parses both; false if either does not parse.
bool uriEquals(std::string_view a, std::string_view b);

// %XX decoding; a '%' not followed by two hex digits is kept as is. Decoded
// %00 yields a NUL byte inside the string (never a terminator).
std::string unescape(std::string_view text);
// Escapes every byte outside `allowed` and outside the RFC 3261 unreserved set.
std::string escape(std::string_view text, std::string_view allowed = {});

// Host syntax checks (exposed for Via and for tests).
HostType classifyHost(std::string_view host);  // None if not a valid host
bool isValidIPv4(std::string_view text);
bool isValidIPv6(std::string_view text);  // without brackets

}  // namespace sbc::sip

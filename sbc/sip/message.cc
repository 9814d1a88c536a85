#include "sbc/sip/message.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <new>
#include <vector>

#include <boost/container/small_vector.hpp>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "sbc/sip/fast_parse.h"
#include "sbc/sip/parse_memo.h"
#include "sbc/sip/text.h"

namespace sbc::sip {

namespace {

template <class T, std::size_t N>
using SmallVec = boost::container::small_vector<T, N>;

constexpr std::string_view kSipVersion = "SIP/2.0";
// A datagram is at most 64 KiB; this only bounds pathological inputs made of
// tiny header lines.
constexpr std::size_t kMaxHeaderFields = 512;

// A parsed value cached on first access. Reset only for the header that
// changed, so that views handed out for other headers stay valid.
template <class T>
struct Slot {
  bool done = false;
  ParseError error = ParseError::Ok;
  std::optional<T> value;
  void reset() {
    done = false;
    error = ParseError::Ok;
    value.reset();
  }
};

// Allow lists commonly carry 12-15 methods: keep them inline.
using TokenList = SmallVec<std::string_view, 16>;

struct TokenSlot {
  HeaderId id;
  Slot<TokenList> slot;
};

// Every message received or built allocates its Impl (~2.6 KB) and often the
// extra cache block (~2.6 KB); blocks that size miss malloc's per-thread
// cache and take its slower bins each time. A small per-thread free list of
// each size makes the next message reuse the last one's block. Under
// AddressSanitizer blocks go straight to the allocator, so that a
// use-after-free is still caught.
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SBC_SIP_NO_POOL 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define SBC_SIP_NO_POOL 1
#endif

template <std::size_t Size>
class BlockPool {
 public:
  static void* get() {
#ifndef SBC_SIP_NO_POOL
    List& l = list();
    if (l.n > 0) return l.items[--l.n];
#endif
    return ::operator new(Size);
  }
  static void put(void* p) {
#ifndef SBC_SIP_NO_POOL
    List& l = list();
    if (l.n < kMax) {
      l.items[l.n++] = p;
      return;
    }
#endif
    ::operator delete(p);
  }

 private:
  static constexpr std::size_t kMax = 64;
  struct List {
    List() = default;
    List(const List&) = delete;
    List& operator=(const List&) = delete;
    ~List() {
      while (n > 0) ::operator delete(items[--n]);
    }
    std::array<void*, kMax> items{};
    std::size_t n = 0;
  };
  static List& list() {
    thread_local List l;
    return l;
  }
};

// Class-specific allocation through BlockPool (a derived type of another
// size falls back to the global allocator).
template <class T>
struct Pooled {
  static void* operator new(std::size_t n) {
    return n == sizeof(T) ? BlockPool<sizeof(T)>::get() : ::operator new(n);
  }
  static void operator delete(void* p, std::size_t n) {
    if (n == sizeof(T)) {
      BlockPool<sizeof(T)>::put(p);
    } else {
      ::operator delete(p);
    }
  }
};

// Bytes the message owns besides the received buffer: values added by
// mutation. Append-only, chunks never move, so views stay valid. A message
// built by the B2BUA stores ~10 values (one 1 KiB chunk); the chunk list
// lives inline and standard chunks come from the per-thread free
// list, so building a message costs no allocation beyond its Impl.
struct Arena {
  static constexpr std::size_t kChunk = 1024;
  struct Chunk {
    char* data = nullptr;
    std::size_t cap = 0;
    std::size_t used = 0;
  };
  SmallVec<Chunk, 2> chunks;

  Arena() = default;
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;
  ~Arena() {
    for (Chunk& c : chunks) {
      if (c.cap == kChunk) {
        BlockPool<kChunk>::put(c.data);
      } else {
        ::operator delete(c.data);
      }
    }
  }

  char* allocate(std::size_t n) {
    if (chunks.empty() || chunks.back().cap - chunks.back().used < n) {
      const std::size_t cap = std::max(n, kChunk);
      char* data =
          static_cast<char*>(cap == kChunk ? BlockPool<kChunk>::get() : ::operator new(cap));
      chunks.push_back(Chunk{data, cap, 0});
    }
    Chunk& c = chunks.back();
    char* p = c.data + c.used;
    c.used += n;
    return p;
  }
  std::string_view store(std::string_view s) {
    if (s.empty()) return {};
    char* p = allocate(s.size());
    std::memcpy(p, s.data(), s.size());
    return {p, s.size()};
  }
};

}  // namespace

// The parse cache is split in two so that a Message stays small (it is made
// for every message and transactions keep theirs up to 32 s): the headers
// that parsing and the transaction layer always read live inline; every other
// structured header lives in a block allocated on the first access to any of
// them (most messages never need it).
namespace {
struct ExtraCache : Pooled<ExtraCache> {
  // User-provided for the same reason as Impl's: make_unique would otherwise
  // zero all ~2.6 KB before the members' own (small) initialisation.
  ExtraCache() {}  // NOLINT(modernize-use-equals-default)

  Slot<SmallVec<NameAddr, 1>> contacts;
  bool contact_star = false;
  Slot<SmallVec<NameAddr, 1>> routes;
  Slot<SmallVec<NameAddr, 1>> record_routes;
  Slot<SmallVec<NameAddr, 1>> pai;
  Slot<MediaType> content_type;
  Slot<SmallVec<MediaType, 2>> accept;
  Slot<TokenList> privacy;
  Slot<SessionExpires> session_expires;
  Slot<MinSE> min_se;
  Slot<SmallVec<Reason, 1>> reasons;
  Slot<std::uint32_t> rseq;
  Slot<RAck> rack;
  Slot<std::uint32_t> expires;
  Slot<SmallVec<AuthHeader, 1>> auth[4];
  // Token-list headers (Require, Supported, Allow, ...) get a slot on first
  // access (unique_ptr keeps each slot's address stable while others are
  // added): few messages have their lists read.
  std::vector<std::unique_ptr<TokenSlot>> tokens;
};
}  // namespace

struct Message::Cache {
  Slot<SmallVec<Via, 2>> vias;
  // After replaceFirstValue(Via): vias' first entry is stale (the others
  // hold) and is parsed from via_front on the next read of the list.
  bool via_front_stale = false;
  std::string_view via_front;
  Slot<Via> top_via;
  Slot<NameAddr> from;
  Slot<NameAddr> to;
  Slot<std::string_view> call_id;
  Slot<CSeq> cseq;
  Slot<std::uint32_t> max_forwards;
  Slot<std::uint32_t> content_length;
  std::unique_ptr<ExtraCache> extra_;

  ExtraCache& extra() {
    if (!extra_) extra_ = std::make_unique<ExtraCache>();
    return *extra_;
  }
};

struct Message::Impl : Pooled<Message::Impl> {
  // User-provided so that make_unique value-initialisation does not zero
  // the whole (large, mostly unused) cache first.
  Impl() {}  // NOLINT(modernize-use-equals-default)

  std::string buf;  // the received bytes; Impl lives on the heap, so views into it survive moves
  Arena arena;
  bool is_request = false;
  Method method = Method::Unknown;
  std::string_view method_text;
  std::string_view uri_text;
  Uri uri;
  std::string_view version = kSipVersion;
  int status = 500;
  std::string_view reason = "Server Internal Error";
  std::string_view start_raw;  // original start line; cleared when the start line changes
  // Typical INVITEs carry 10-16 header fields; more spill to the heap.
  SmallVec<HeaderField, 16> headers;
  std::string_view body;
  ParseError error = ParseError::Ok;
  mutable Cache cache;
};

// ------------------------------------------------------------ lifecycle

Message::Message() : impl_(std::make_unique<Impl>()) {}
Message::~Message() = default;
Message::Message(Message&& other) noexcept = default;
Message& Message::operator=(Message&& other) noexcept = default;

Message::Message(const Message& other) : impl_(std::make_unique<Impl>()) {
  const Impl& s = other.impl();
  Impl& d = *impl_;
  d.buf = s.buf;
  // All arena bytes go into one chunk; remember where each source chunk went.
  std::size_t total = 0;
  for (const auto& c : s.arena.chunks) total += c.used;
  std::vector<std::size_t> offsets;
  char* base = total != 0 ? d.arena.allocate(total) : nullptr;
  std::size_t off = 0;
  for (const auto& c : s.arena.chunks) {
    offsets.push_back(off);
    if (c.used != 0) std::memcpy(base + off, c.data, c.used);
    off += c.used;
  }
  auto rebase = [&](std::string_view v) -> std::string_view {
    if (v.empty()) return v;
    const char* p = v.data();
    if (!s.buf.empty() && p >= s.buf.data() && p + v.size() <= s.buf.data() + s.buf.size())
      return {d.buf.data() + (p - s.buf.data()), v.size()};
    for (std::size_t i = 0; i < s.arena.chunks.size(); ++i) {
      const auto& c = s.arena.chunks[i];
      if (p >= c.data && p + v.size() <= c.data + c.used)
        return {base + offsets[i] + (p - c.data), v.size()};
    }
    return v;  // static storage (canonical names, default phrases)
  };
  d.is_request = s.is_request;
  d.method = s.method;
  d.method_text = rebase(s.method_text);
  d.uri_text = rebase(s.uri_text);
  if (d.is_request) {
    auto u = parseUri(d.uri_text);
    if (u) d.uri = *u;
  }
  d.version = rebase(s.version);
  d.status = s.status;
  d.reason = rebase(s.reason);
  d.start_raw = rebase(s.start_raw);
  d.headers.reserve(s.headers.size());
  for (const HeaderField& h : s.headers)
    d.headers.push_back(HeaderField{h.id, rebase(h.name), rebase(h.value), rebase(h.raw)});
  d.body = rebase(s.body);
  d.error = s.error;
}

Message& Message::operator=(const Message& other) {
  if (this != &other) *this = Message(other);
  return *this;
}

const Message::Impl& Message::impl() const {
  if (impl_) return *impl_;
  static const Impl kEmpty;  // only a moved-from Message reads this
  return kEmpty;
}

Message::Impl& Message::mut() {
  if (!impl_) impl_ = std::make_unique<Impl>();
  return *impl_;
}

Message::Cache& Message::cache() const {
  if (impl_) return impl_->cache;
  // A moved-from message has no headers: every thread may cache that answer
  // in its own scratch, leaving the shared empty Impl untouched.
  thread_local Cache scratch;
  return scratch;
}

// ------------------------------------------------------------ start line

bool Message::isRequest() const {
  return impl().is_request;
}
Method Message::method() const {
  return impl().method;
}
std::string_view Message::methodText() const {
  return impl().method_text;
}
const Uri& Message::requestUri() const {
  return impl().uri;
}
std::string_view Message::requestUriText() const {
  return impl().uri_text;
}
std::string_view Message::version() const {
  return impl().version;
}
int Message::statusCode() const {
  return impl().is_request ? 0 : impl().status;
}
std::string_view Message::reasonPhrase() const {
  return impl().is_request ? std::string_view{} : impl().reason;
}
ParseError Message::parseError() const {
  return impl().error;
}

std::span<const HeaderField> Message::headers() const {
  const auto& h = impl().headers;
  return {h.data(), h.size()};
}

std::string_view Message::body() const {
  return impl().body;
}

const HeaderField* Message::header(HeaderId id) const {
  for (const HeaderField& h : impl().headers)
    if (h.id == id) return &h;
  return nullptr;
}

const HeaderField* Message::header(std::string_view name) const {
  HeaderId id = headerIdFromName(name);
  if (id != HeaderId::Other) return header(id);
  for (const HeaderField& h : impl().headers)
    if (h.id == HeaderId::Other && text::iequals(h.name, name)) return &h;
  return nullptr;
}

std::size_t Message::headerCount(HeaderId id) const {
  std::size_t n = 0;
  for (const HeaderField& h : impl().headers) n += h.id == id ? 1 : 0;
  return n;
}

std::size_t Message::headerCount(std::string_view name) const {
  HeaderId id = headerIdFromName(name);
  if (id != HeaderId::Other) return headerCount(id);
  std::size_t n = 0;
  for (const HeaderField& h : impl().headers)
    n += (h.id == HeaderId::Other && text::iequals(h.name, name)) ? 1 : 0;
  return n;
}

// ------------------------------------------------------------ structured

namespace {

template <class T>
Result<const T&> fromSlot(const Slot<T>& s) {
  if (s.error != ParseError::Ok) return s.error;
  return *s.value;
}

template <class V>
Result<std::span<const typename V::value_type>> spanFromSlot(const Slot<V>& s) {
  if (s.error != ParseError::Ok) return s.error;
  return std::span<const typename V::value_type>(s.value->data(), s.value->size());
}

// The value of a single-value header: Missing / DuplicateHeader otherwise.
Result<std::string_view> singleValue(std::span<const HeaderField> headers, HeaderId id) {
  const HeaderField* found = nullptr;
  for (const HeaderField& h : headers) {
    if (h.id != id) continue;
    if (found != nullptr) return ParseError::DuplicateHeader;
    found = &h;
  }
  if (found == nullptr) return ParseError::Missing;
  return found->value;
}

template <class T, class F>
void fillSingle(Slot<T>& slot, std::span<const HeaderField> headers, HeaderId id, F&& parse) {
  if (slot.done) return;
  slot.done = true;
  auto v = singleValue(headers, id);
  if (!v) {
    slot.error = v.error();
    return;
  }
  auto r = parse(*v);
  if (!r) {
    slot.error = r.error();
    return;
  }
  slot.value.emplace(std::move(r.value()));
}

// Every comma-separated element of every field of `id`, parsed by `parse`.
template <class V, class F>
void fillList(Slot<V>& slot, std::span<const HeaderField> headers, HeaderId id, ParseError err,
              F&& parse) {
  if (slot.done) return;
  slot.done = true;
  slot.value.emplace();
  for (const HeaderField& h : headers) {
    if (h.id != id) continue;
    ListSplitter sp(h.value);
    std::string_view el;
    while (sp.next(el)) {
      auto r = parse(el);
      if (!r) {
        slot.error = err;
        return;
      }
      slot.value->push_back(std::move(r.value()));
    }
    if (sp.error()) {
      slot.error = err;
      return;
    }
  }
}

Result<std::uint32_t> trimmedUint(std::string_view v, std::uint32_t max, ParseError err) {
  auto r = parseUint(trimLws(v), max);
  if (!r) return err;
  return *r;
}

// Contact params with their own grammar (RFC 3261 20.10): expires and q.
bool validContactParams(const NameAddr& na) {
  for (const Param& p : na.params) {
    if (text::iequals(p.name, "expires")) {
      if (!p.has_value || !parseUint(p.value, 0xffffffffU)) return false;
    } else if (text::iequals(p.name, "q")) {
      std::string_view q = p.value;
      if (q.empty() || (q[0] != '0' && q[0] != '1')) return false;
      if (q.size() > 1) {
        if (q[1] != '.' || q.size() > 5) return false;
        for (char c : q.substr(2)) {
          if (!text::isDigit(c) || (q[0] == '1' && c != '0')) return false;
        }
      }
    }
  }
  return true;
}

}  // namespace

namespace {
// parseVia without the memo, for a value seen once (a stamped top Via: new
// branch, our received=).
Result<Via> parseViaOnce(std::string_view text) {
  Via via;
  if (detail::fastVia(text, via)) return via;
  return detail::parseViaFull(text);
}
}  // namespace

Result<std::span<const Via>> Message::vias() const {
  Cache& c = cache();
  auto& s = c.vias;
  if (c.via_front_stale) {
    c.via_front_stale = false;
    if (auto v = parseViaOnce(c.via_front)) {
      s.value->front() = *v;
    } else {
      s.error = ParseError::BadVia;
    }
  }
  fillList(s, headers(), HeaderId::Via, ParseError::BadVia, parseVia);
  return spanFromSlot(s);
}

Result<const Via&> Message::topVia() const {
  auto& s = cache().top_via;
  if (!s.done && cache().via_front_stale) (void)vias();
  const auto& all = cache().vias;
  if (!s.done && all.done && all.error == ParseError::Ok && !all.value->empty()) {
    s.done = true;
    s.value.emplace(all.value->front());  // already parsed: no second pass
  }
  if (!s.done) {
    s.done = true;
    // The first element of the list, as vias() sees it: an empty field
    // ("Via: " before the real one) holds none, so look on (a request's top
    // Via came from vias() and a response's from here: they must agree).
    std::string_view el;
    bool found = false;
    for (const HeaderField& h : headers()) {
      if (h.id != HeaderId::Via) continue;
      ListSplitter sp(h.value);
      if (sp.next(el)) {
        found = true;
        break;
      }
    }
    if (!found) {
      s.error = ParseError::Missing;
    } else if (auto v = parseVia(el)) {
      s.value.emplace(*v);
    } else {
      s.error = ParseError::BadVia;
    }
  }
  return fromSlot(s);
}

Result<const NameAddr&> Message::from() const {
  auto& s = cache().from;
  fillSingle(s, headers(), HeaderId::From, [](std::string_view v) -> Result<NameAddr> {
    auto r = parseNameAddr(v, true);
    if (!r) return ParseError::BadFrom;
    return r;
  });
  return fromSlot(s);
}

Result<const NameAddr&> Message::to() const {
  auto& s = cache().to;
  fillSingle(s, headers(), HeaderId::To, [](std::string_view v) -> Result<NameAddr> {
    auto r = parseNameAddr(v, true);
    if (!r) return ParseError::BadTo;
    return r;
  });
  return fromSlot(s);
}

Result<std::string_view> Message::callId() const {
  auto& s = cache().call_id;
  fillSingle(s, headers(), HeaderId::CallId, parseCallId);
  if (s.error != ParseError::Ok) return s.error;
  return *s.value;
}

Result<CSeq> Message::cseq() const {
  auto& s = cache().cseq;
  fillSingle(s, headers(), HeaderId::CSeq, parseCSeq);
  if (s.error != ParseError::Ok) return s.error;
  return *s.value;
}

Result<std::span<const NameAddr>> Message::contacts() const {
  auto& s = cache().extra().contacts;
  if (!s.done) {
    // "Contact: *" stands alone: one field, one value.
    std::size_t fields = 0;
    bool star = false;
    for (const HeaderField& h : headers()) {
      if (h.id != HeaderId::Contact) continue;
      ++fields;
      star = star || h.value == "*";
    }
    if (star) {
      s.done = true;
      s.value.emplace();
      cache().extra().contact_star = true;
      if (fields != 1) s.error = ParseError::BadContact;
    } else {
      fillList(s, headers(), HeaderId::Contact, ParseError::BadContact,
               [](std::string_view v) -> Result<NameAddr> {
                 auto r = parseNameAddr(v, true);
                 if (!r || !validContactParams(*r)) return ParseError::BadContact;
                 return r;
               });
    }
  }
  return spanFromSlot(s);
}

bool Message::contactIsWildcard() const {
  (void)contacts();
  return cache().extra().contact_star;
}

Result<std::span<const NameAddr>> Message::routes() const {
  auto& s = cache().extra().routes;
  fillList(s, headers(), HeaderId::Route, ParseError::BadRoute,
           [](std::string_view v) { return parseNameAddr(v, false); });
  return spanFromSlot(s);
}

Result<std::span<const NameAddr>> Message::recordRoutes() const {
  auto& s = cache().extra().record_routes;
  fillList(s, headers(), HeaderId::RecordRoute, ParseError::BadRecordRoute,
           [](std::string_view v) { return parseNameAddr(v, false); });
  return spanFromSlot(s);
}

Result<std::span<const NameAddr>> Message::pAssertedIdentities() const {
  auto& s = cache().extra().pai;
  fillList(s, headers(), HeaderId::PAssertedIdentity, ParseError::BadHeaderValue,
           [](std::string_view v) { return parseNameAddr(v, true); });
  return spanFromSlot(s);
}

Result<std::uint32_t> Message::maxForwards() const {
  auto& s = cache().max_forwards;
  fillSingle(s, headers(), HeaderId::MaxForwards,
             [](std::string_view v) { return trimmedUint(v, 255, ParseError::BadMaxForwards); });
  if (s.error != ParseError::Ok) return s.error;
  return *s.value;
}

Result<std::uint32_t> Message::contentLength() const {
  auto& s = cache().content_length;
  fillSingle(s, headers(), HeaderId::ContentLength, [](std::string_view v) {
    return trimmedUint(v, 0xffffffffU, ParseError::BadContentLength);
  });
  if (s.error == ParseError::DuplicateHeader) return ParseError::MultipleContentLength;
  if (s.error != ParseError::Ok) return s.error;
  return *s.value;
}

Result<const MediaType&> Message::contentType() const {
  auto& s = cache().extra().content_type;
  fillSingle(s, headers(), HeaderId::ContentType, parseMediaType);
  return fromSlot(s);
}

Result<std::span<const MediaType>> Message::accept() const {
  auto& s = cache().extra().accept;
  fillList(s, headers(), HeaderId::Accept, ParseError::BadHeaderValue, parseMediaType);
  return spanFromSlot(s);
}

Result<std::span<const std::string_view>> Message::tokens(HeaderId id) const {
  // Most token-list headers are absent (validation asks for all of them):
  // answer those without allocating a slot.
  if (header(id) == nullptr) return std::span<const std::string_view>{};
  ExtraCache& c = cache().extra();
  auto& all = c.tokens;
  TokenSlot* ts = nullptr;
  for (auto& t : all)
    if (t->id == id) ts = t.get();
  if (ts == nullptr) {
    all.push_back(std::make_unique<TokenSlot>());
    ts = all.back().get();
    ts->id = id;
  }
  fillList(ts->slot, headers(), id, ParseError::BadHeaderValue,
           [](std::string_view v) -> Result<std::string_view> {
             if (!text::isAllToken(v)) return ParseError::BadHeaderValue;
             return v;
           });
  return spanFromSlot(ts->slot);
}

Result<std::span<const std::string_view>> Message::require() const {
  return tokens(HeaderId::Require);
}
Result<std::span<const std::string_view>> Message::proxyRequire() const {
  return tokens(HeaderId::ProxyRequire);
}
Result<std::span<const std::string_view>> Message::supported() const {
  return tokens(HeaderId::Supported);
}
Result<std::span<const std::string_view>> Message::unsupported() const {
  return tokens(HeaderId::Unsupported);
}
Result<std::span<const std::string_view>> Message::allow() const {
  return tokens(HeaderId::Allow);
}

Result<std::span<const std::string_view>> Message::privacy() const {
  auto& s = cache().extra().privacy;
  if (!s.done) {
    s.done = true;
    s.value.emplace();
    // Privacy-hdr = "Privacy" HCOLON priv-value *(";" priv-value) (RFC 3323)
    for (const HeaderField& h : headers()) {
      if (h.id != HeaderId::Privacy) continue;
      std::string_view v = h.value;
      std::size_t i = 0;
      while (i <= v.size()) {
        std::size_t semi = v.find(';', i);
        if (semi == std::string_view::npos) semi = v.size();
        std::string_view t = trimLws(v.substr(i, semi - i));
        if (!text::isAllToken(t)) {
          s.error = ParseError::BadHeaderValue;
          return s.error;
        }
        s.value->push_back(t);
        i = semi + 1;
      }
    }
  }
  return spanFromSlot(s);
}

Result<SessionExpires> Message::sessionExpires() const {
  auto& s = cache().extra().session_expires;
  fillSingle(s, headers(), HeaderId::SessionExpires, parseSessionExpires);
  if (s.error != ParseError::Ok) return s.error;
  return *s.value;
}

Result<MinSE> Message::minSE() const {
  auto& s = cache().extra().min_se;
  fillSingle(s, headers(), HeaderId::MinSE, parseMinSE);
  if (s.error != ParseError::Ok) return s.error;
  return *s.value;
}

Result<std::span<const Reason>> Message::reasons() const {
  auto& s = cache().extra().reasons;
  fillList(s, headers(), HeaderId::Reason, ParseError::BadHeaderValue, parseReason);
  return spanFromSlot(s);
}

Result<std::uint32_t> Message::rseq() const {
  auto& s = cache().extra().rseq;
  fillSingle(s, headers(), HeaderId::RSeq, [](std::string_view v) -> Result<std::uint32_t> {
    auto r = trimmedUint(v, 0x7fffffffU, ParseError::BadHeaderValue);
    if (r && *r == 0) return ParseError::BadHeaderValue;
    return r;
  });
  if (s.error != ParseError::Ok) return s.error;
  return *s.value;
}

Result<RAck> Message::rack() const {
  auto& s = cache().extra().rack;
  fillSingle(s, headers(), HeaderId::RAck, parseRAck);
  if (s.error != ParseError::Ok) return s.error;
  return *s.value;
}

Result<std::uint32_t> Message::expires() const {
  auto& s = cache().extra().expires;
  fillSingle(s, headers(), HeaderId::Expires, [](std::string_view v) {
    return trimmedUint(v, 0xffffffffU, ParseError::BadHeaderValue);
  });
  if (s.error != ParseError::Ok) return s.error;
  return *s.value;
}

namespace {
int authIndex(HeaderId id) {
  switch (id) {
    case HeaderId::Authorization:
      return 0;
    case HeaderId::ProxyAuthorization:
      return 1;
    case HeaderId::WWWAuthenticate:
      return 2;
    case HeaderId::ProxyAuthenticate:
      return 3;
    default:
      return -1;
  }
}
}  // namespace

Result<std::span<const AuthHeader>> Message::auth(HeaderId id) const {
  int idx = authIndex(id);
  if (idx < 0) return ParseError::BadHeaderValue;
  auto& s = cache().extra().auth[idx];
  if (!s.done) {
    s.done = true;
    s.value.emplace();
    for (const HeaderField& h : headers()) {
      if (h.id != id) continue;
      auto a = parseAuth(h.value);
      if (!a) {
        s.error = ParseError::BadHeaderValue;
        break;
      }
      s.value->push_back(*a);
    }
  }
  return spanFromSlot(s);
}

// ------------------------------------------------------------ mutation

void Message::invalidate(HeaderId id) {
  Cache& c = cache();
  switch (id) {
    case HeaderId::Via:
      c.vias.reset();
      c.via_front_stale = false;
      c.top_via.reset();
      return;
    case HeaderId::From:
      c.from.reset();
      return;
    case HeaderId::To:
      c.to.reset();
      return;
    case HeaderId::CallId:
      c.call_id.reset();
      return;
    case HeaderId::CSeq:
      c.cseq.reset();
      return;
    case HeaderId::MaxForwards:
      c.max_forwards.reset();
      return;
    case HeaderId::ContentLength:
      c.content_length.reset();
      return;
    default:
      break;
  }
  if (!c.extra_) return;  // nothing else was parsed yet
  ExtraCache& x = *c.extra_;
  switch (id) {
    case HeaderId::Contact:
      x.contacts.reset();
      x.contact_star = false;
      break;
    case HeaderId::Route:
      x.routes.reset();
      break;
    case HeaderId::RecordRoute:
      x.record_routes.reset();
      break;
    case HeaderId::PAssertedIdentity:
      x.pai.reset();
      break;
    case HeaderId::ContentType:
      x.content_type.reset();
      break;
    case HeaderId::Accept:
      x.accept.reset();
      break;
    case HeaderId::Privacy:
      x.privacy.reset();
      break;
    case HeaderId::SessionExpires:
      x.session_expires.reset();
      break;
    case HeaderId::MinSE:
      x.min_se.reset();
      break;
    case HeaderId::Reason:
      x.reasons.reset();
      break;
    case HeaderId::RSeq:
      x.rseq.reset();
      break;
    case HeaderId::RAck:
      x.rack.reset();
      break;
    case HeaderId::Expires:
      x.expires.reset();
      break;
    default:
      break;
  }
  if (int idx = authIndex(id); idx >= 0) x.auth[idx].reset();
  for (auto& t : x.tokens)
    if (t->id == id) t->slot.reset();
}

namespace {

// Copies a value, turning CR/LF into SP so that a value can never end the
// header line early (header injection).
std::string_view storeValue(Arena& arena, std::string_view v) {
  std::string_view stored = arena.store(v);
  // Values the engine builds never hold a line break: one inline 16-byte
  // scan for both proves it (~60 values stored per call; two memchr calls
  // cost more than the scan itself on values this short).
  if (stored.empty()) return stored;
  if (text::findAny(stored, 0, '\r', '\n', '\r', '\n') < stored.size()) {
    char* p = const_cast<char*>(stored.data());
    for (std::size_t i = 0; i < stored.size(); ++i)
      if (p[i] == '\r' || p[i] == '\n') p[i] = ' ';
  }
  // Built values rarely carry LWS at their ends (CR/LF are gone by now).
  const char first = stored.front();
  const char last = stored.back();
  if (first != ' ' && first != '\t' && last != ' ' && last != '\t') return stored;
  return trimLws(stored);
}

// Header names must be tokens; anything else is dropped rather than written.
std::string_view storeName(Arena& arena, std::string_view name) {
  std::string clean;
  for (char c : name)
    if (text::isToken(c)) clean.push_back(c);
  return arena.store(clean);
}

}  // namespace

void Message::addHeader(HeaderId id, std::string_view value) {
  if (id == HeaderId::Other) return;
  Impl& m = mut();
  HeaderField f{id, headerName(id), storeValue(m.arena, value), {}};
  auto last = std::find_if(m.headers.rbegin(), m.headers.rend(),
                           [id](const HeaderField& h) { return h.id == id; });
  if (last == m.headers.rend())
    m.headers.push_back(f);
  else
    m.headers.insert(last.base(), f);
  invalidate(id);
}

void Message::addHeader(std::string_view name, std::string_view value) {
  HeaderId id = headerIdFromName(name);
  if (id != HeaderId::Other) {
    addHeader(id, value);
    return;
  }
  Impl& m = mut();
  HeaderField f{HeaderId::Other, storeName(m.arena, name), storeValue(m.arena, value), {}};
  if (f.name.empty()) return;
  auto last = std::find_if(m.headers.rbegin(), m.headers.rend(), [&](const HeaderField& h) {
    return h.id == HeaderId::Other && text::iequals(h.name, f.name);
  });
  if (last == m.headers.rend())
    m.headers.push_back(f);
  else
    m.headers.insert(last.base(), f);
}

void Message::prependHeader(HeaderId id, std::string_view value) {
  if (id == HeaderId::Other) return;
  Impl& m = mut();
  HeaderField f{id, headerName(id), storeValue(m.arena, value), {}};
  auto first = std::find_if(m.headers.begin(), m.headers.end(),
                            [id](const HeaderField& h) { return h.id == id; });
  if (first == m.headers.end()) first = m.headers.begin();
  m.headers.insert(first, f);
  invalidate(id);
}

void Message::prependHeader(std::string_view name, std::string_view value) {
  HeaderId id = headerIdFromName(name);
  if (id != HeaderId::Other) {
    prependHeader(id, value);
    return;
  }
  Impl& m = mut();
  HeaderField f{HeaderId::Other, storeName(m.arena, name), storeValue(m.arena, value), {}};
  if (f.name.empty()) return;
  auto first = std::find_if(m.headers.begin(), m.headers.end(), [&](const HeaderField& h) {
    return h.id == HeaderId::Other && text::iequals(h.name, f.name);
  });
  if (first == m.headers.end()) first = m.headers.begin();
  m.headers.insert(first, f);
}

void Message::setHeader(HeaderId id, std::string_view value) {
  if (id == HeaderId::Other) return;
  Impl& m = mut();
  HeaderField f{id, headerName(id), storeValue(m.arena, value), {}};
  auto first = std::find_if(m.headers.begin(), m.headers.end(),
                            [id](const HeaderField& h) { return h.id == id; });
  if (first == m.headers.end()) {
    m.headers.push_back(f);
  } else {
    *first = f;
    auto rest = std::remove_if(first + 1, m.headers.end(),
                               [id](const HeaderField& h) { return h.id == id; });
    m.headers.erase(rest, m.headers.end());
  }
  invalidate(id);
}

void Message::setHeader(std::string_view name, std::string_view value) {
  HeaderId id = headerIdFromName(name);
  if (id != HeaderId::Other) {
    setHeader(id, value);
    return;
  }
  Impl& m = mut();
  HeaderField f{HeaderId::Other, storeName(m.arena, name), storeValue(m.arena, value), {}};
  if (f.name.empty()) return;
  auto match = [&](const HeaderField& h) {
    return h.id == HeaderId::Other && text::iequals(h.name, f.name);
  };
  auto first = std::find_if(m.headers.begin(), m.headers.end(), match);
  if (first == m.headers.end()) {
    m.headers.push_back(f);
  } else {
    *first = f;
    m.headers.erase(std::remove_if(first + 1, m.headers.end(), match), m.headers.end());
  }
}

std::size_t Message::removeHeader(HeaderId id) {
  if (id == HeaderId::Other || !impl_) return 0;
  auto& h = impl_->headers;
  std::size_t before = h.size();
  h.erase(std::remove_if(h.begin(), h.end(), [id](const HeaderField& f) { return f.id == id; }),
          h.end());
  invalidate(id);
  return before - h.size();
}

std::size_t Message::removeHeader(std::string_view name) {
  HeaderId id = headerIdFromName(name);
  if (id != HeaderId::Other) return removeHeader(id);
  if (!impl_) return 0;
  auto& h = impl_->headers;
  std::size_t before = h.size();
  h.erase(std::remove_if(h.begin(), h.end(),
                         [&](const HeaderField& f) {
                           return f.id == HeaderId::Other && text::iequals(f.name, name);
                         }),
          h.end());
  return before - h.size();
}

namespace {

// The end of the first comma-separated value of `v`: the first top-level
// comma (outside quotes and <>), or v.size().
std::size_t firstValueEnd(std::string_view v) {
  bool quoted = false;
  bool angle = false;
  // Without a comma the value is one element (the usual top Via): skip the
  // character-by-character scan.
  std::size_t i = v.empty() || std::memchr(v.data(), ',', v.size()) == nullptr ? v.size() : 0;
  for (; i < v.size(); ++i) {
    char c = v[i];
    if (quoted) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        quoted = false;
    } else if (c == '"') {
      quoted = true;
    } else if (c == '<') {
      angle = true;
    } else if (c == '>') {
      angle = false;
    } else if (c == ',' && !angle) {
      break;
    }
  }
  return i;
}

}  // namespace

bool Message::removeFirstValue(HeaderId id) {
  if (!impl_) return false;
  auto& hs = impl_->headers;
  auto it = std::find_if(hs.begin(), hs.end(), [id](const HeaderField& f) { return f.id == id; });
  if (it == hs.end()) return false;
  const std::string_view v = it->value;
  const std::size_t i = firstValueEnd(v);
  std::string_view rest = i < v.size() ? trimLws(v.substr(i + 1)) : std::string_view{};
  if (rest.empty()) {
    hs.erase(it);
  } else {
    it->value = rest;  // a view into the same bytes: nothing to copy
    it->raw = {};
  }
  invalidate(id);
  return true;
}

bool Message::replaceFirstValue(HeaderId id, std::string_view value) {
  if (id == HeaderId::Other || !impl_) return false;
  Impl& m = *impl_;
  auto& hs = m.headers;
  auto it = std::find_if(hs.begin(), hs.end(), [id](const HeaderField& f) { return f.id == id; });
  if (it == hs.end()) return false;
  const std::string_view v = it->value;
  const std::size_t i = firstValueEnd(v);
  const std::string_view rest = i < v.size() ? trimLws(v.substr(i + 1)) : std::string_view{};
  // An empty first element (", a") is not what the list accessors call the
  // first value (they skip it): keep the cache only in the usual case.
  const bool replaces_top = !trimLws(v.substr(0, i)).empty();
  const HeaderField f{id, headerName(id), storeValue(m.arena, value), {}};
  if (rest.empty()) {
    *it = f;
  } else {
    it->value = rest;  // a view into the same bytes: nothing to copy
    it->raw = {};
    it = hs.insert(it, f);
  }
  if (id != HeaderId::Via) {
    invalidate(id);
    return true;
  }
  // The new value is the top Via exactly when it is one element (a value
  // holding a comma is left to the lazy path). When the list was read, only
  // its first entry goes stale: it is parsed on the next read (never, for
  // most ACKs), the others keep their views.
  Cache& c = m.cache;
  const std::string_view t = f.value;
  const bool one_element =
      replaces_top && !t.empty() && std::memchr(t.data(), ',', t.size()) == nullptr;
  const bool list_read = c.vias.done && c.vias.error == ParseError::Ok && !c.vias.value->empty();
  if (!one_element || !list_read) {
    invalidate(id);
    return true;
  }
  c.top_via.reset();
  c.via_front_stale = true;
  c.via_front = t;
  return true;
}

bool Message::setRequestUri(std::string_view uri) {
  Impl& m = mut();
  if (!m.is_request) return false;
  // One plain loop: find_first_of calls memchr per byte of the URI.
  for (const char c : uri)
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') return false;
  std::string_view stored = m.arena.store(uri);
  auto u = parseUri(stored);
  if (!u) return false;
  m.uri_text = stored;
  m.uri = *u;
  m.start_raw = {};
  return true;
}

void Message::setStatus(int code, std::string_view reason) {
  Impl& m = mut();
  if (m.is_request) return;
  m.status = code;
  m.reason = reason.empty() ? defaultReasonPhrase(code) : storeValue(m.arena, reason);
  m.start_raw = {};
}

void Message::setBody(std::string_view body, std::string_view content_type) {
  Impl& m = mut();
  m.body = m.arena.store(body);
  char num[16];
  auto res = std::to_chars(num, num + sizeof num, body.size());
  setHeader(HeaderId::ContentLength,
            std::string_view(num, static_cast<std::size_t>(res.ptr - num)));
  if (!content_type.empty())
    setHeader(HeaderId::ContentType, content_type);
  else if (body.empty())
    removeHeader(HeaderId::ContentType);
}

// ------------------------------------------------------------ builders

Result<Message> Message::createRequest(Method method, std::string_view request_uri) {
  if (method == Method::Unknown) return ParseError::BadRequestLine;
  return createRequest(methodName(method), request_uri);
}

Result<Message> Message::createRequest(std::string_view method, std::string_view request_uri) {
  if (!text::isAllToken(method)) return ParseError::BadRequestLine;
  Message msg;
  Impl& m = msg.mut();
  m.is_request = true;
  m.method = methodFromString(method);
  m.method_text = m.method != Method::Unknown ? methodName(m.method) : m.arena.store(method);
  m.status = 0;
  m.reason = {};
  if (!msg.setRequestUri(request_uri)) return ParseError::BadRequestUri;
  return msg;
}

Message Message::createResponse(int code, std::string_view reason) {
  Message msg;
  msg.setStatus(code, reason);
  return msg;
}

// ------------------------------------------------------------ serialize

void Message::serializeTo(std::string& out) const {
  const Impl& m = impl();
  // Sized once, then filled with memcpy: a message is ~30 pieces, and
  // append() re-checks the capacity for each.
  std::size_t need = m.body.size() + 64 + m.start_raw.size() + m.uri_text.size() +
                     m.method_text.size() + m.version.size() + m.reason.size();
  bool has_cl = false;
  for (const HeaderField& h : m.headers) {
    need += (h.raw.empty() ? h.name.size() + h.value.size() + 2 : h.raw.size()) + 2;
    has_cl = has_cl || h.id == HeaderId::ContentLength;
  }
  const std::size_t base = out.size();
  out.resize(base + need);
  char* const begin = out.data() + base;
  char* const end = begin + need;
  char* p = begin;
  auto put = [&p](std::string_view v) {
    if (!v.empty()) std::memcpy(p, v.data(), v.size());
    p += v.size();
  };
  if (!m.start_raw.empty()) {
    put(m.start_raw);
  } else if (m.is_request) {
    put(m.method_text);
    put(" ");
    put(m.uri_text);
    put(" ");
    put(m.version);
  } else {
    put(m.version);
    put(" ");
    p = std::to_chars(p, end, m.status).ptr;
    put(" ");
    put(m.reason);
  }
  put("\r\n");
  for (const HeaderField& h : m.headers) {
    if (!h.raw.empty()) {
      put(h.raw);
    } else {
      put(h.name);
      put(": ");
      put(h.value);
    }
    put("\r\n");
  }
  if (!has_cl) {
    put("Content-Length: ");
    p = std::to_chars(p, end, m.body.size()).ptr;
    put("\r\n");
  }
  put("\r\n");
  put(m.body);
  out.resize(base + static_cast<std::size_t>(p - begin));
}

std::string Message::serialize() const {
  std::string out;
  serializeTo(out);
  return out;
}

// ------------------------------------------------------------ parsing

struct MessageParser {
  static ParseResult parse(std::string bytes, bool datagram);
};

namespace {

// Keeps the first error; a discard error always wins.
void note(ParseError& current, ParseError e) {
  if (e == ParseError::Ok) return;
  if (current == ParseError::Ok || (isDiscard(e) && !isDiscard(current))) current = e;
}

// Position of the first CR or LF at or after i (s.size() if none). SSE2
// compares 16 bytes at a time: this scan is most of the cost of splitting
// header lines.
inline std::size_t findCrOrLf(std::string_view s, std::size_t i) {
  const char* p = s.data();
  const std::size_t n = s.size();
#if defined(__SSE2__)
  const __m128i cr = _mm_set1_epi8('\r');
  const __m128i lf = _mm_set1_epi8('\n');
  while (i + 16 <= n) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    int mask = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, lf)));
    if (mask != 0) return i + static_cast<std::size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
    i += 16;
  }
#endif
  while (i < n && p[i] != '\r' && p[i] != '\n') ++i;
  return i;
}

bool isSipVersion(std::string_view v) {
  // "SIP" "/" 1*DIGIT "." 1*DIGIT, "SIP" case-insensitive.
  if (v.size() < 7 || !text::iequals(v.substr(0, 4), "SIP/")) return false;
  std::size_t dot = v.find('.', 4);
  if (dot == std::string_view::npos || dot == 4 || dot + 1 == v.size()) return false;
  for (std::size_t i = 4; i < v.size(); ++i)
    if (i != dot && !text::isDigit(v[i])) return false;
  return true;
}

}  // namespace

ParseResult MessageParser::parse(std::string bytes, bool datagram) {
  Message msg;
  Message::Impl& m = *msg.impl_;
  m.buf = std::move(bytes);
  const std::string_view s = m.buf;
  ParseError err = ParseError::Ok;

  // RFC 3261 7.5: CRLFs before the start line are ignored.
  std::size_t i = 0;
  while (i + 1 < s.size() && s[i] == '\r' && s[i + 1] == '\n') i += 2;
  if (i >= s.size()) return {ParseError::Empty, std::nullopt};
  // The start line ends at the first CR or LF, which must be a CRLF.
  std::size_t eol = findCrOrLf(s, i);
  if (eol >= s.size()) return {ParseError::IncompleteHeaders, std::nullopt};
  if (s[eol] != '\r' || eol + 1 >= s.size() || s[eol + 1] != '\n')
    return {ParseError::BadStartLine, std::nullopt};
  const std::string_view line = s.substr(i, eol - i);
  m.start_raw = line;

  if (line.size() >= 4 && text::iequals(line.substr(0, 4), "SIP/")) {
    // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase
    std::size_t sp = line.find(' ');
    if (sp == std::string_view::npos) return {ParseError::BadStartLine, std::nullopt};
    m.version = line.substr(0, sp);
    if (!text::iequals(m.version, kSipVersion)) return {ParseError::BadStartLine, std::nullopt};
    std::string_view rest = line.substr(sp + 1);
    std::size_t digits = 0;
    while (digits < rest.size() && text::isDigit(rest[digits])) ++digits;
    if (digits != 3 || (digits < rest.size() && rest[digits] != ' '))
      return {ParseError::BadStatusCode, std::nullopt};
    m.status = (rest[0] - '0') * 100 + (rest[1] - '0') * 10 + (rest[2] - '0');
    if (m.status < 100 || m.status > 699) return {ParseError::BadStatusCode, std::nullopt};
    // The SP before an empty reason phrase is sometimes left out: accept it.
    m.reason = rest.size() > 4 ? rest.substr(4) : std::string_view{};
    for (char c : m.reason) {
      auto u = static_cast<unsigned char>(c);
      if ((u < 0x20 && c != '\t') || u == 0x7f) return {ParseError::BadStartLine, std::nullopt};
    }
    m.is_request = false;
  } else {
    // Request-Line = Method SP Request-URI SP SIP-Version, single SPs only.
    m.is_request = true;
    m.status = 0;
    m.reason = {};
    std::size_t sp1 = line.find(' ');
    if (sp1 == std::string_view::npos || sp1 == 0) return {ParseError::BadStartLine, std::nullopt};
    m.method_text = line.substr(0, sp1);
    if (!text::isAllToken(m.method_text)) return {ParseError::BadStartLine, std::nullopt};
    m.method = methodFromString(m.method_text);
    std::size_t last = line.rfind(' ');
    std::string_view tail = line.substr(last + 1);
    // Not SIP at all (no version token anywhere): nothing to answer.
    // The version is case-insensitive (RFC 3261 7.1): "SiP/2.0" counts.
    // The version is nearly always the last token: look there first, then
    // scan only at 'S'/'s' (this loop compared 4 bytes at every position of
    // the Request-URI, ~1,800 instructions a request).
    auto sipAt = [&line](std::size_t k) {
      return (line[k] | 0x20) == 's' && (line[k + 1] | 0x20) == 'i' &&
             (line[k + 2] | 0x20) == 'p' && line[k + 3] == '/';
    };
    bool has_version = last != std::string_view::npos && last + 4 < line.size() && sipAt(last + 1);
    for (std::size_t k = sp1; !has_version && k + 4 <= line.size(); ++k) has_version = sipAt(k);
    if (!has_version) return {ParseError::BadStartLine, std::nullopt};
    std::size_t spaces = static_cast<std::size_t>(std::count(line.begin(), line.end(), ' '));
    if (spaces != 2 || tail.empty() || line.find('\t') != std::string_view::npos) {
      note(err, ParseError::BadRequestLine);
      // Best effort so that the message can still be answered.
      std::size_t b = line.find_first_not_of(' ', sp1);
      std::size_t e = line.find(' ', b == std::string_view::npos ? line.size() : b);
      m.uri_text = b == std::string_view::npos ? std::string_view{} : line.substr(b, e - b);
      m.version = kSipVersion;
    } else {
      m.uri_text = line.substr(sp1 + 1, last - sp1 - 1);
      m.version = tail;
      if (!isSipVersion(m.version)) return {ParseError::BadStartLine, std::nullopt};
      if (!text::iequals(m.version, kSipVersion)) note(err, ParseError::BadVersion);
      if (auto u = parseUri(m.uri_text)) {
        m.uri = *u;
      } else {
        note(err, m.uri_text.find_first_of("<>") != std::string_view::npos
                      ? ParseError::BadRequestLine
                      : ParseError::BadRequestUri);
      }
    }
  }

  // Header fields: a field ends at a CRLF not followed by SP/HT.
  i = eol + 2;
  bool ended = false;
  while (i < s.size()) {
    if (s[i] == '\r') {
      if (i + 1 < s.size() && s[i + 1] == '\n') {
        i += 2;
        ended = true;
        break;
      }
      return {ParseError::IncompleteHeaders, std::nullopt};
    }
    // field-name: token, optional WSP, ':' (checked in the same pass).
    const std::size_t b = i;
    std::size_t k = i;
    while (k < s.size() && text::isToken(s[k])) ++k;
    const std::size_t name_end = k;
    while (k < s.size() && text::isWsp(s[k])) ++k;
    const bool name_ok = name_end > b && k < s.size() && s[k] == ':';
    const std::size_t value_begin = name_ok ? k + 1 : b;
    // The field ends at the first CRLF not followed by WSP; a CR or LF that
    // is not part of such a CRLF makes the line unusable (it could end a
    // line early for a less careful parser downstream).
    std::size_t e = std::string_view::npos;
    bool bad = false;
    for (std::size_t j = value_begin;;) {
      j = findCrOrLf(s, j);
      if (j >= s.size()) break;
      if (s[j] == '\n' || j + 1 >= s.size() || s[j + 1] != '\n') {
        bad = true;
        ++j;
        continue;
      }
      if (j + 2 < s.size() && text::isWsp(s[j + 2])) {
        j += 3;
        continue;
      }
      e = j;
      break;
    }
    if (e == std::string_view::npos) return {ParseError::IncompleteHeaders, std::nullopt};
    i = e + 2;
    // Direct views (b <= e <= s.size() here): substr's range check is not
    // inlined in a function this size, a call per piece of every line.
    const std::string_view raw(s.data() + b, e - b);
    if (bad || !name_ok) {
      note(err, ParseError::BadHeaderLine);
      continue;  // an unusable line carries nothing to keep
    }
    const std::string_view name(s.data() + b, name_end - b);
    if (m.headers.size() >= kMaxHeaderFields) {
      note(err, ParseError::TooManyHeaders);
      continue;
    }
    m.headers.push_back(
        HeaderField{headerIdFromName(name), name,
                    trimLws(std::string_view(s.data() + value_begin, e - value_begin)), raw});
  }
  if (!ended) return {ParseError::IncompleteHeaders, std::nullopt};

  // Framing.
  std::string_view rest = s.substr(i);
  auto cl = msg.contentLength();
  if (cl) {
    if (*cl > rest.size()) {
      note(err, ParseError::BodyTooShort);
      m.body = rest;
    } else {
      m.body = rest.substr(0, *cl);
    }
  } else {
    m.body = rest;
    if (cl.error() == ParseError::Missing) {
      if (!datagram) note(err, ParseError::MissingContentLength);
    } else {
      note(err, cl.error());
    }
  }

  // The headers every response and transaction needs.
  bool vias_ok = m.is_request && msg.vias().ok();
  if (!msg.topVia()) return {ParseError::NoUsableVia, std::nullopt};
  if (m.is_request) {
    if (!vias_ok) note(err, ParseError::BadVia);
    auto mapMissing = [](ParseError e) {
      return e == ParseError::Missing ? ParseError::MissingHeader : e;
    };
    if (auto f = msg.from(); !f) note(err, mapMissing(f.error()));
    if (auto t = msg.to(); !t) note(err, mapMissing(t.error()));
    if (auto c = msg.callId(); !c) note(err, mapMissing(c.error()));
    auto cs = msg.cseq();
    if (!cs) {
      note(err, mapMissing(cs.error()));
    } else if (cs->method_text != m.method_text) {
      note(err, ParseError::CSeqMethodMismatch);
    }
  } else {
    if (!msg.from() || !msg.to() || !msg.callId() || !msg.cseq())
      return {ParseError::ResponseUnusable, std::nullopt};
  }
  m.error = err;
  return {err, std::move(msg)};
}

ParseResult parseDatagram(std::string bytes) {
  return MessageParser::parse(std::move(bytes), true);
}
ParseResult parseMessage(std::string bytes) {
  return MessageParser::parse(std::move(bytes), false);
}

// ------------------------------------------------------------ responses

void Message::addVia(std::string_view transport, std::string_view host, std::uint16_t port,
                     std::string_view branch, bool rport) {
  // Every request the B2BUA sends passes here: one buffer per thread.
  thread_local std::string v;
  v.assign("SIP/2.0/").append(transport).push_back(' ');
  const bool v6 = host.find(':') != std::string_view::npos;
  if (v6) v.push_back('[');
  v.append(host);
  if (v6) v.push_back(']');
  v.push_back(':');
  std::array<char, 8> digits{};
  auto [end, ec] = std::to_chars(digits.data(), digits.data() + digits.size(), port);
  v.append(digits.data(), end);
  const std::size_t params_begin = v.size() + 1;
  v.append(";branch=").append(branch);
  if (rport) v.append(";rport");

  Impl& m = mut();
  const bool first = std::none_of(m.headers.begin(), m.headers.end(),
                                  [](const HeaderField& h) { return h.id == HeaderId::Via; });
  addHeader(HeaderId::Via, v);
  if (!first || v6 || port == 0 || branch.empty()) return;
  // Only the known transport names map to a protocol: those are tokens.
  const TransportProto proto = transportFromString(transport);
  if (proto == TransportProto::Other || !text::isAllToken(branch)) return;
  const HostType host_type = classifyHost(host);
  if (host_type != HostType::IPv4 && host_type != HostType::Hostname) return;
  // The only Via is the field just appended, stored byte for byte (no CR/LF,
  // no LWS at its ends), so every part sits at the offset it has in `v`.
  const std::string_view t = m.headers.back().value;
  if (m.headers.back().id != HeaderId::Via || t.size() != v.size()) return;
  Slot<Via>& top = m.cache.top_via;
  top.done = true;
  top.error = ParseError::Ok;
  Via& via = top.value.emplace();
  via.text = t;
  via.protocol_name = t.substr(0, 3);
  via.protocol_version = t.substr(4, 3);
  via.transport_text = t.substr(8, transport.size());
  via.transport = proto;
  via.host = t.substr(9 + transport.size(), host.size());
  via.host_type = host_type;
  via.port = port;
  via.has_port = true;
  via.params = Params(t.substr(params_begin), ';');
  via.branch = t.substr(params_begin + 7, branch.size());
  via.rport = rport;
  // The responses to this request carry this Via back byte for byte: their
  // top Via parse is then a memo hit instead of a scan of a new branch.
  detail::memoStore<Via>(t, false, via);
}

void Message::addTaggedTo(std::string_view value, const NameAddr& parsed, std::string_view tag) {
  // Every answered request passes here: one buffer per thread.
  thread_local std::string v;
  v.assign(value).append(";tag=").append(tag);
  Impl& m = mut();
  const bool first = header(HeaderId::To) == nullptr;
  addHeader(HeaderId::To, v);
  // The tagged value is the parsed one plus a last header parameter: the
  // parse carries over when `parsed` is that very text, the copy is byte
  // for byte and the tag is a token (otherwise To is parsed on access).
  if (!first || parsed.text.data() != value.data() || parsed.text.size() != value.size() ||
      !text::isAllToken(tag))
    return;
  const HeaderField* f = header(HeaderId::To);
  if (f == nullptr || f->value.size() != v.size() ||
      std::memcmp(f->value.data(), value.data(), value.size()) != 0)
    return;
  const std::string_view t = f->value;
  NameAddr na = parsed;
  detail::Rebase(value.data(), value.size(), t.data())(na);
  const std::string_view old_params = na.params.text();
  if (old_params.empty()) {
    na.params = Params(t.substr(value.size() + 1), ';');
  } else if (old_params.data() + old_params.size() == t.data() + value.size()) {
    na.params =
        Params(std::string_view(old_params.data(), t.size() - (old_params.data() - t.data())), ';');
  } else {
    return;
  }
  na.text = t;
  na.tag = t.substr(t.size() - tag.size());
  Slot<NameAddr>& slot = m.cache.to;
  slot.done = true;
  slot.error = ParseError::Ok;
  slot.value.emplace(na);
  // The ACK and the in-dialog requests of this dialog carry this To back.
  detail::memoStore<NameAddr>(t, true, na);
}

Message makeResponse(const Message& request, int code, std::string_view reason,
                     std::string_view to_tag) {
  Message r = Message::createResponse(code, reason);
  for (const HeaderField& h : request.headers()) {
    switch (h.id) {
      case HeaderId::Via:
      case HeaderId::From:
      case HeaderId::CallId:
      case HeaderId::CSeq:
        r.addHeader(h.id, h.value);
        break;
      case HeaderId::To: {
        auto to = request.to();
        if (!to_tag.empty() && to && to->tag.empty() && code != 100) {
          r.addTaggedTo(h.value, *to, to_tag);
        } else {
          r.addHeader(h.id, h.value);
        }
        break;
      }
      case HeaderId::Timestamp:
        if (code == 100) r.addHeader(h.id, h.value);
        break;
      default:
        break;
    }
  }
  r.addHeader(HeaderId::ContentLength, "0");
  return r;
}

std::string_view defaultReasonPhrase(int code) {
  switch (code) {
    case 100:
      return "Trying";
    case 180:
      return "Ringing";
    case 181:
      return "Call Is Being Forwarded";
    case 182:
      return "Queued";
    case 183:
      return "Session Progress";
    case 199:
      return "Early Dialog Terminated";
    case 200:
      return "OK";
    case 202:
      return "Accepted";
    case 204:
      return "No Notification";
    case 300:
      return "Multiple Choices";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Moved Temporarily";
    case 305:
      return "Use Proxy";
    case 380:
      return "Alternative Service";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 402:
      return "Payment Required";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 406:
      return "Not Acceptable";
    case 407:
      return "Proxy Authentication Required";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 411:
      return "Length Required";
    case 412:
      return "Conditional Request Failed";
    case 413:
      return "Request Entity Too Large";
    case 414:
      return "Request-URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 416:
      return "Unsupported URI Scheme";
    case 417:
      return "Unknown Resource-Priority";
    case 420:
      return "Bad Extension";
    case 421:
      return "Extension Required";
    case 422:
      return "Session Interval Too Small";
    case 423:
      return "Interval Too Brief";
    case 424:
      return "Bad Location Information";
    case 428:
      return "Use Identity Header";
    case 429:
      return "Provide Referrer Identity";
    case 430:
      return "Flow Failed";
    case 433:
      return "Anonymity Disallowed";
    case 436:
      return "Bad Identity-Info";
    case 437:
      return "Unsupported Certificate";
    case 438:
      return "Invalid Identity Header";
    case 439:
      return "First Hop Lacks Outbound Support";
    case 440:
      return "Max-Breadth Exceeded";
    case 469:
      return "Bad Info Package";
    case 470:
      return "Consent Needed";
    case 480:
      return "Temporarily Unavailable";
    case 481:
      return "Call/Transaction Does Not Exist";
    case 482:
      return "Loop Detected";
    case 483:
      return "Too Many Hops";
    case 484:
      return "Address Incomplete";
    case 485:
      return "Ambiguous";
    case 486:
      return "Busy Here";
    case 487:
      return "Request Terminated";
    case 488:
      return "Not Acceptable Here";
    case 489:
      return "Bad Event";
    case 491:
      return "Request Pending";
    case 493:
      return "Undecipherable";
    case 494:
      return "Security Agreement Required";
    case 500:
      return "Server Internal Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Server Time-out";
    case 505:
      return "Version Not Supported";
    case 513:
      return "Message Too Large";
    case 555:
      return "Push Notification Service Not Supported";
    case 580:
      return "Precondition Failure";
    case 600:
      return "Busy Everywhere";
    case 603:
      return "Decline";
    case 604:
      return "Does Not Exist Anywhere";
    case 606:
      return "Not Acceptable";
    case 607:
      return "Unwanted";
    case 608:
      return "Rejected";
    default:
      break;
  }
  if (code >= 100 && code < 200) return "Provisional";
  if (code >= 200 && code < 300) return "Success";
  if (code >= 300 && code < 400) return "Redirection";
  if (code >= 400 && code < 500) return "Request Failure";
  if (code >= 500 && code < 600) return "Server Failure";
  return "Global Failure";
}

}  // namespace sbc::sip

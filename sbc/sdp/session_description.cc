#include "sbc/sdp/session_description.h"

#include <algorithm>
#include <functional>
#include <limits>

#include "sbc/sdp/lex.h"
#include "sbc/sdp/validate.h"

namespace sbc::sdp {

using detail::iequals;
using detail::Level;

namespace {

// Longest value a mutator writes: keeps every written line within the default
// ParseOptions::maxLineLength, so our own output always re-parses.
constexpr std::size_t kMaxWritableValue = 4094;

// Spare bytes tolerated in a section's text before edits trigger a compaction.
constexpr std::size_t kSpareSlack = 512;

bool isDirectionName(std::string_view name) {
  return directionFromName(name).has_value();
}

bool isIceAttribute(std::string_view name) {
  return detail::istartsWith(name, "ice-") || iequals(name, "candidate") ||
         iequals(name, "remote-candidates") || iequals(name, "end-of-candidates");
}

bool isDtlsAttribute(std::string_view name) {
  return iequals(name, "fingerprint") || iequals(name, "setup") || iequals(name, "connection") ||
         iequals(name, "tls-id");
}

// Calls f(value) for each a=<name>[:value] of the section, in order, until f
// returns true.
template <typename F>
void scanAttributes(const Section& s, std::string_view name, F&& f) {
  for (const LineView l : s.lines()) {
    if (l.isAttribute() && iequals(l.attributeName(), name) && f(l.attributeValue())) return;
  }
}

// The first value of attribute `name` that `parser` accepts.
template <typename Parser>
auto firstParsed(const Section& s, std::string_view name, Parser&& parser)
    -> decltype(parser(std::string_view{})) {
  decltype(parser(std::string_view{})) result;
  scanAttributes(s, name, [&](std::string_view v) {
    result = parser(v);
    return result.has_value();
  });
  return result;
}

template <typename T, typename Parser>
std::vector<T> allParsed(const Section& s, std::string_view name, Parser&& parser) {
  std::vector<T> out;
  scanAttributes(s, name, [&](std::string_view v) {
    if (auto p = parser(v)) out.push_back(std::move(*p));
    return false;
  });
  return out;
}

std::string attributeText(std::string_view name, std::string_view value) {
  std::string text;
  text.reserve(name.size() + 1 + value.size());
  text.append(name).append(":").append(value);
  return text;
}

// First SP-separated token of an attribute value ("101" of "101 0-16").
std::string_view firstToken(std::string_view value) {
  return value.substr(0, value.find(' '));
}

}  // namespace

// ---- LineView -------------------------------------------------------------

std::string_view LineView::attributeName() const {
  return isAttribute() ? detail::splitAttribute(value).name : std::string_view{};
}
std::string_view LineView::attributeValue() const {
  return isAttribute() ? detail::splitAttribute(value).value : std::string_view{};
}
bool LineView::attributeHasValue() const {
  return isAttribute() && detail::splitAttribute(value).hasValue;
}

// ---- Section: storage -----------------------------------------------------

LineView Section::line(std::size_t index) const {
  if (index >= lines_.size()) return {};
  return {lines_[index].type, valueOf(lines_[index])};
}

std::optional<std::size_t> Section::findLine(char type) const {
  for (std::size_t i = 0; i < lines_.size(); ++i) {
    if (lines_[i].type == type) return i;
  }
  return std::nullopt;
}

std::optional<std::size_t> Section::findAttribute(std::string_view name) const {
  for (std::size_t i = 0; i < lines_.size(); ++i) {
    if (lines_[i].type == 'a' && iequals(detail::splitAttribute(valueOf(lines_[i])).name, name)) {
      return i;
    }
  }
  return std::nullopt;
}

std::size_t Section::insertionPoint(char type) const {
  const int rank = detail::rankOf(level_, type);
  if (rank < 0) return lines_.size();
  std::size_t pos = 0;
  for (std::size_t i = 0; i < lines_.size(); ++i) {
    const int r = detail::rankOf(level_, lines_[i].type);
    if (r >= 0 && r <= rank) pos = i + 1;
  }
  return pos;
}

namespace {
bool isWritable(char type, std::string_view value) {
  return value.size() <= kMaxWritableValue && detail::isWritableValue(value) &&
         detail::checkLineValue(type, value) == ErrorCode::kNone;
}
}  // namespace

bool Section::insertLine(std::size_t index, char type, std::string_view value) {
  if (index > lines_.size() || !isWritable(type, value)) return false;
  // The value may be a view into text_, which the append below can reallocate.
  const std::less<const char*> before;
  if (!before(value.data(), text_.data()) && before(value.data(), text_.data() + text_.size())) {
    return insertLine(index, type, std::string(value));
  }
  if (text_.size() + value.size() > std::numeric_limits<std::uint32_t>::max()) return false;
  LineRef ref;
  ref.offset = static_cast<std::uint32_t>(text_.size());
  ref.length = static_cast<std::uint16_t>(value.size());
  ref.type = type;
  text_.append(value);
  lines_.insert(lines_.begin() + static_cast<std::ptrdiff_t>(index), ref);
  liveBytes_ += ref.length;
  compactIfWasteful();
  return true;
}

bool Section::replaceLine(std::size_t index, std::string_view value) {
  if (index >= lines_.size() || !isWritable(lines_[index].type, value)) return false;
  const std::less<const char*> before;
  if (!before(value.data(), text_.data()) && before(value.data(), text_.data() + text_.size())) {
    return replaceLine(index, std::string(value));
  }
  if (text_.size() + value.size() > std::numeric_limits<std::uint32_t>::max()) return false;
  LineRef& ref = lines_[index];
  liveBytes_ -= ref.length;
  ref.offset = static_cast<std::uint32_t>(text_.size());
  ref.length = static_cast<std::uint16_t>(value.size());
  text_.append(value);
  liveBytes_ += ref.length;
  compactIfWasteful();
  return true;
}

bool Section::putLine(char type, std::string_view value) {
  const auto first = findLine(type);
  if (!first) return insertLine(insertionPoint(type), type, value);
  if (!replaceLine(*first, value)) return false;
  std::size_t kept = 0;
  for (std::size_t i = 0; i < lines_.size(); ++i) {
    if (i != *first && lines_[i].type == type) {
      liveBytes_ -= lines_[i].length;
      continue;
    }
    lines_[kept++] = lines_[i];
  }
  lines_.resize(kept);
  compactIfWasteful();
  return true;
}

bool Section::putAttribute(std::string_view name, std::string_view text) {
  const auto first = findAttribute(name);
  if (!first) return insertLine(insertionPoint('a'), 'a', text);
  // Copy the name: the replacement may move text_ under a name view into it.
  const std::string wanted(name);
  if (!replaceLine(*first, text)) return false;
  std::size_t kept = 0;
  for (std::size_t i = 0; i < lines_.size(); ++i) {
    if (i != *first && lines_[i].type == 'a' &&
        iequals(detail::splitAttribute(valueOf(lines_[i])).name, wanted)) {
      liveBytes_ -= lines_[i].length;
      continue;
    }
    lines_[kept++] = lines_[i];
  }
  lines_.resize(kept);
  compactIfWasteful();
  return true;
}

std::size_t Section::removeLinesIf(char type, std::string_view attributeName) {
  const std::string name(attributeName);
  std::size_t kept = 0;
  std::size_t removed = 0;
  for (std::size_t i = 0; i < lines_.size(); ++i) {
    const LineRef ref = lines_[i];
    const bool match = ref.type == type &&
                       (type != 'a' || iequals(detail::splitAttribute(valueOf(ref)).name, name));
    if (match) {
      liveBytes_ -= ref.length;
      ++removed;
      continue;
    }
    lines_[kept++] = ref;
  }
  lines_.resize(kept);
  if (removed != 0) compactIfWasteful();
  return removed;
}

void Section::compactIfWasteful() {
  if (text_.size() <= 2 * static_cast<std::size_t>(liveBytes_) + kSpareSlack) return;
  shrinkToFit();
}

void Section::shrinkToFit() {
  if (text_.size() != liveBytes_ || text_.capacity() > text_.size()) {
    std::string fresh;
    fresh.reserve(liveBytes_);
    for (LineRef& ref : lines_) {
      const auto offset = static_cast<std::uint32_t>(fresh.size());
      fresh.append(text_, ref.offset, ref.length);
      ref.offset = offset;
    }
    text_.swap(fresh);
  }
  lines_.shrink_to_fit();
}

std::size_t Section::memoryUsage() const {
  constexpr std::size_t kSso = 15;  // libstdc++ keeps up to 15 chars inline
  return (text_.capacity() > kSso ? text_.capacity() + 1 : 0) + lines_.capacity() * sizeof(LineRef);
}

bool Section::sameLines(const Section& other) const {
  if (lines_.size() != other.lines_.size()) return false;
  for (std::size_t i = 0; i < lines_.size(); ++i) {
    if (lines_[i].type != other.lines_[i].type ||
        valueOf(lines_[i]) != other.valueOf(other.lines_[i])) {
      return false;
    }
  }
  return true;
}

// ---- Section: attributes --------------------------------------------------

bool Section::hasAttribute(std::string_view name) const {
  return findAttribute(name).has_value();
}

std::optional<std::string_view> Section::attribute(std::string_view name) const {
  const auto i = findAttribute(name);
  if (!i) return std::nullopt;
  return detail::splitAttribute(valueOf(lines_[*i])).value;
}

std::vector<std::string_view> Section::attributeValues(std::string_view name) const {
  std::vector<std::string_view> out;
  scanAttributes(*this, name, [&out](std::string_view v) {
    out.push_back(v);
    return false;
  });
  return out;
}

bool Section::addAttribute(std::string_view name) {
  if (!detail::isToken(name)) return false;
  return insertLine(insertionPoint('a'), 'a', name);
}

bool Section::addAttribute(std::string_view name, std::string_view value) {
  if (!detail::isToken(name)) return false;
  return insertLine(insertionPoint('a'), 'a', attributeText(name, value));
}

bool Section::setAttribute(std::string_view name) {
  if (!detail::isToken(name)) return false;
  const std::string text(name);
  return putAttribute(text, text);
}

bool Section::setAttribute(std::string_view name, std::string_view value) {
  if (!detail::isToken(name)) return false;
  return putAttribute(name, attributeText(name, value));
}

std::size_t Section::removeAttributes(std::string_view name) {
  return removeLinesIf('a', name);
}

std::size_t Section::removeIce() {
  return removeAttributesIf([](const LineView& l) { return isIceAttribute(l.attributeName()); });
}

std::size_t Section::removeDtls() {
  return removeAttributesIf([](const LineView& l) { return isDtlsAttribute(l.attributeName()); });
}

// ---- Section: c= b= i= ----------------------------------------------------

std::optional<Connection> Section::connection() const {
  const auto i = findLine('c');
  if (!i) return std::nullopt;
  return parseConnection(valueOf(lines_[*i]));
}

bool Section::setConnection(const Connection& connection) {
  return putLine('c', formatConnection(connection));
}

bool Section::setConnectionAddress(std::string_view address) {
  Connection c;
  c.addrType = addrTypeOf(address);
  c.address = address;
  return setConnection(c);
}

std::vector<Bandwidth> Section::bandwidths() const {
  std::vector<Bandwidth> out;
  for (const LineRef& ref : lines_) {
    if (ref.type != 'b') continue;
    if (auto b = parseBandwidth(valueOf(ref))) out.push_back(*b);
  }
  return out;
}

std::optional<std::uint64_t> Section::bandwidth(std::string_view type) const {
  for (const LineRef& ref : lines_) {
    if (ref.type != 'b') continue;
    const auto b = parseBandwidth(valueOf(ref));
    if (b && iequals(b->type, type)) return b->value;
  }
  return std::nullopt;
}

bool Section::setBandwidth(std::string_view type, std::uint64_t value) {
  std::string text(type);
  text.append(":").append(std::to_string(value));
  for (std::size_t i = 0; i < lines_.size(); ++i) {
    if (lines_[i].type != 'b') continue;
    const auto b = parseBandwidth(valueOf(lines_[i]));
    if (b && iequals(b->type, type)) return replaceLine(i, text);
  }
  return insertLine(insertionPoint('b'), 'b', text);
}

std::size_t Section::removeBandwidths() {
  return removeLinesIf('b', {});
}

std::optional<std::string_view> Section::information() const {
  const auto i = findLine('i');
  if (!i) return std::nullopt;
  return valueOf(lines_[*i]);
}

// ---- Section: direction, ICE, DTLS ----------------------------------------

std::optional<Direction> Section::direction() const {
  for (const LineView l : lines()) {
    if (!l.isAttribute() || l.attributeHasValue()) continue;
    if (auto d = directionFromName(l.attributeName())) return d;
  }
  return std::nullopt;
}

void Section::setDirection(Direction direction) {
  const std::string_view name = toString(direction);
  std::optional<std::size_t> first;
  for (std::size_t i = 0; i < lines_.size(); ++i) {
    if (lines_[i].type == 'a' && isDirectionName(detail::splitAttribute(valueOf(lines_[i])).name)) {
      first = i;
      break;
    }
  }
  if (!first) {
    insertLine(insertionPoint('a'), 'a', name);
    return;
  }
  replaceLine(*first, name);
  std::size_t kept = 0;
  for (std::size_t i = 0; i < lines_.size(); ++i) {
    if (i != *first && lines_[i].type == 'a' &&
        isDirectionName(detail::splitAttribute(valueOf(lines_[i])).name)) {
      liveBytes_ -= lines_[i].length;
      continue;
    }
    lines_[kept++] = lines_[i];
  }
  lines_.resize(kept);
  compactIfWasteful();
}

void Section::clearDirection() {
  removeAttributesIf([](const LineView& l) { return isDirectionName(l.attributeName()); });
}

std::optional<std::string_view> Section::iceUfrag() const {
  return firstParsed(*this, "ice-ufrag", [](std::string_view v) {
    return isValidIceCredential(v) ? std::optional<std::string_view>(v) : std::nullopt;
  });
}

std::optional<std::string_view> Section::icePwd() const {
  return firstParsed(*this, "ice-pwd", [](std::string_view v) {
    return isValidIceCredential(v) ? std::optional<std::string_view>(v) : std::nullopt;
  });
}

bool Section::iceLite() const {
  return hasAttribute("ice-lite");
}
bool Section::endOfCandidates() const {
  return hasAttribute("end-of-candidates");
}

std::optional<Fingerprint> Section::fingerprint() const {
  return firstParsed(*this, "fingerprint", parseFingerprint);
}

std::optional<Setup> Section::setup() const {
  return firstParsed(*this, "setup", parseSetup);
}

// ---- FormatList -----------------------------------------------------------

void FormatList::Iterator::load() {
  if (pos_ == nullptr) return;
  const char* sp = std::find(pos_, end_, ' ');
  current_ = std::string_view(pos_, static_cast<std::size_t>(sp - pos_));
  next_ = (sp == end_) ? nullptr : sp + 1;
}

FormatList::Iterator& FormatList::Iterator::operator++() {
  pos_ = next_;
  load();
  return *this;
}

FormatList::Iterator FormatList::begin() const {
  if (raw_.empty()) return {};
  return {raw_.data(), raw_.data() + raw_.size()};
}

std::size_t FormatList::size() const {
  return static_cast<std::size_t>(std::distance(begin(), end()));
}

bool FormatList::contains(std::string_view format) const {
  return std::find(begin(), end(), format) != end();
}

// ---- MediaDescription -----------------------------------------------------

MediaDescription::MediaDescription() : Section(Level::kMedia) {}

MediaLine MediaDescription::mediaLine() const {
  if (lines_.empty()) return {};
  return parseMediaLine(valueOf(lines_[0]), false).value_or(MediaLine{});
}

bool MediaDescription::isRtp() const {
  return proto().find("RTP") != std::string_view::npos;
}

bool MediaDescription::isSrtp() const {
  return proto().find("SAVP") != std::string_view::npos;
}

bool MediaDescription::writeMediaLine(const MediaLine& m) {
  std::string text;
  text.reserve(m.media.size() + m.proto.size() + m.formats.size() + 20);
  text.append(m.media).append(" ").append(std::to_string(m.port));
  if (m.portCount) text.append("/").append(std::to_string(*m.portCount));
  text.append(" ").append(m.proto);
  if (!m.formats.empty()) text.append(" ").append(m.formats);
  return replaceLine(0, text);
}

bool MediaDescription::setPort(std::uint16_t port) {
  MediaLine m = mediaLine();
  m.port = port;
  return writeMediaLine(m);
}

bool MediaDescription::setProto(std::string_view proto) {
  MediaLine m = mediaLine();
  m.proto = proto;
  return writeMediaLine(m);
}

bool MediaDescription::setFormats(std::span<const std::string_view> formats) {
  std::string list;
  for (const std::string_view f : formats) {
    if (!detail::isToken(f)) return false;
    if (!list.empty()) list.append(" ");
    list.append(f);
  }
  if (list.empty()) return false;
  MediaLine m = mediaLine();
  m.formats = list;
  return writeMediaLine(m);
}

bool MediaDescription::removeFormat(std::string_view format) {
  const std::string target(format);  // `format` may point into text_
  MediaLine m = mediaLine();
  std::string list;
  bool found = false;
  for (const std::string_view f : FormatList(m.formats)) {
    if (f == target) {
      found = true;
      continue;
    }
    if (!list.empty()) list.append(" ");
    list.append(f);
  }
  if (!found || list.empty()) return false;
  m.formats = list;
  if (!writeMediaLine(m)) return false;
  removeAttributesIf([&target](const LineView& l) {
    const std::string_view name = l.attributeName();
    return (iequals(name, "rtpmap") || iequals(name, "fmtp") || iequals(name, "rtcp-fb")) &&
           firstToken(l.attributeValue()) == target;
  });
  return true;
}

std::vector<RtpMap> MediaDescription::rtpmaps() const {
  return allParsed<RtpMap>(*this, "rtpmap", parseRtpMap);
}

std::optional<RtpMap> MediaDescription::rtpmap(std::uint8_t payloadType) const {
  return firstParsed(*this, "rtpmap", [payloadType](std::string_view v) {
    auto m = parseRtpMap(v);
    return (m && m->payloadType == payloadType) ? m : std::nullopt;
  });
}

std::vector<Fmtp> MediaDescription::fmtps() const {
  return allParsed<Fmtp>(*this, "fmtp", parseFmtp);
}

std::optional<std::string_view> MediaDescription::fmtp(std::string_view format) const {
  return firstParsed(*this, "fmtp", [format](std::string_view v) {
    const auto f = parseFmtp(v);
    return (f && f->format == format) ? std::optional<std::string_view>(f->params) : std::nullopt;
  });
}

std::optional<std::uint32_t> MediaDescription::ptime() const {
  return firstParsed(*this, "ptime", parsePtime);
}

std::optional<std::uint32_t> MediaDescription::maxptime() const {
  return firstParsed(*this, "maxptime", parsePtime);
}

std::vector<Crypto> MediaDescription::cryptos() const {
  return allParsed<Crypto>(*this, "crypto", parseCrypto);
}

bool MediaDescription::addCrypto(const Crypto& crypto) {
  std::size_t pos = insertionPoint('a');
  for (std::size_t i = 0; i < lines_.size(); ++i) {
    if (lines_[i].type == 'a' &&
        iequals(detail::splitAttribute(valueOf(lines_[i])).name, "crypto")) {
      pos = i + 1;
    }
  }
  return insertLine(pos, 'a', attributeText("crypto", formatCrypto(crypto)));
}

bool MediaDescription::setCryptos(std::span<const Crypto> cryptos) {
  std::vector<std::string> texts;
  texts.reserve(cryptos.size());
  for (const Crypto& c : cryptos) {
    texts.push_back(attributeText("crypto", formatCrypto(c)));
    if (!isWritable('a', texts.back())) return false;  // refuse before changing anything
  }
  const auto first = findAttribute("crypto");
  removeAttributes("crypto");
  std::size_t pos = first ? *first : insertionPoint('a');
  for (const std::string& t : texts) {
    if (!insertLine(pos++, 'a', t)) return false;
  }
  return true;
}

std::optional<Rtcp> MediaDescription::rtcp() const {
  return firstParsed(*this, "rtcp", parseRtcp);
}

bool MediaDescription::setRtcp(const Rtcp& rtcp) {
  return putAttribute("rtcp", attributeText("rtcp", formatRtcp(rtcp)));
}

void MediaDescription::setRtcpMux(bool on) {
  if (!on) {
    removeAttributes("rtcp-mux");
  } else if (!rtcpMux()) {
    addAttribute("rtcp-mux");
  }
}

std::vector<Candidate> MediaDescription::candidates() const {
  return allParsed<Candidate>(*this, "candidate", parseCandidate);
}

std::optional<std::string_view> MediaDescription::mid() const {
  return firstParsed(*this, "mid", [](std::string_view v) {
    return detail::isToken(v) ? std::optional<std::string_view>(v) : std::nullopt;
  });
}

std::vector<Ssrc> MediaDescription::ssrcs() const {
  return allParsed<Ssrc>(*this, "ssrc", parseSsrc);
}

// ---- SessionDescription ---------------------------------------------------

SessionDescription::SessionDescription() : Section(Level::kSession) {}

Origin SessionDescription::origin() const {
  const auto i = findLine('o');
  if (!i) return {};
  return parseOrigin(valueOf(lines_[*i])).value_or(Origin{});
}

bool SessionDescription::writeOrigin(const Origin& origin) {
  const auto i = findLine('o');
  return i && replaceLine(*i, formatOrigin(origin));
}

bool SessionDescription::setOrigin(const Origin& origin) {
  return writeOrigin(origin);
}

bool SessionDescription::setOriginUsername(std::string_view username) {
  Origin o = origin();
  o.username = username;
  return writeOrigin(o);
}

bool SessionDescription::setOriginAddress(std::string_view address) {
  Origin o = origin();
  o.addrType = addrTypeOf(address);
  o.address = address;
  return writeOrigin(o);
}

bool SessionDescription::setSessionId(std::uint64_t id) {
  const std::string text = std::to_string(id);
  Origin o = origin();
  o.sessionId = text;
  return writeOrigin(o);
}

bool SessionDescription::setSessionVersion(std::uint64_t version) {
  const std::string text = std::to_string(version);
  Origin o = origin();
  o.sessionVersion = text;
  return writeOrigin(o);
}

bool SessionDescription::bumpSessionVersion() {
  const auto v = origin().sessionVersionNumber();
  if (!v || *v == std::numeric_limits<std::uint64_t>::max()) return false;
  return setSessionVersion(*v + 1);
}

std::optional<std::string_view> SessionDescription::sessionName() const {
  const auto i = findLine('s');
  if (!i) return std::nullopt;
  return valueOf(lines_[*i]);
}

bool SessionDescription::setSessionName(std::string_view name) {
  return putLine('s', name);
}

std::optional<std::string_view> SessionDescription::uri() const {
  const auto i = findLine('u');
  if (!i) return std::nullopt;
  return valueOf(lines_[*i]);
}

std::vector<std::string_view> SessionDescription::emails() const {
  std::vector<std::string_view> out;
  for (const LineRef& ref : lines_) {
    if (ref.type == 'e') out.push_back(valueOf(ref));
  }
  return out;
}

std::vector<std::string_view> SessionDescription::phones() const {
  std::vector<std::string_view> out;
  for (const LineRef& ref : lines_) {
    if (ref.type == 'p') out.push_back(valueOf(ref));
  }
  return out;
}

std::optional<Timing> SessionDescription::timing() const {
  const auto i = findLine('t');
  if (!i) return std::nullopt;
  return parseTiming(valueOf(lines_[*i]));
}

void SessionDescription::ensureMandatoryLines() {
  if (!findLine('s')) insertLine(insertionPoint('s'), 's', "-");
  if (!findLine('t')) insertLine(insertionPoint('t'), 't', "0 0");
}

bool SessionDescription::removeMedia(std::size_t index) {
  if (index >= media_.size()) return false;
  media_.erase(media_.begin() + static_cast<std::ptrdiff_t>(index));
  return true;
}

Direction SessionDescription::effectiveDirection(const MediaDescription& media) const {
  if (auto d = media.direction()) return *d;
  return direction().value_or(Direction::kSendRecv);
}

std::optional<Connection> SessionDescription::effectiveConnection(
    const MediaDescription& media) const {
  if (auto c = media.connection()) return c;
  return connection();
}

bool SessionDescription::isHold(const MediaDescription& media) const {
  if (media.isDisabled()) return false;
  const Direction d = effectiveDirection(media);
  if (d == Direction::kSendOnly || d == Direction::kInactive) return true;
  const auto c = effectiveConnection(media);
  return c && isUnspecifiedAddress(c->address);
}

bool SessionDescription::isHold() const {
  bool anyEnabled = false;
  for (const MediaDescription& m : media_) {
    if (m.isDisabled()) continue;
    anyEnabled = true;
    if (!isHold(m)) return false;
  }
  return anyEnabled;
}

bool SessionDescription::setConnectionAddressEverywhere(std::string_view address) {
  const std::string addr(address);  // `address` may point into one of our sections
  if (!setConnectionAddress(addr)) return false;
  for (MediaDescription& m : media_) {
    if (m.connection() && !m.setConnectionAddress(addr)) return false;
  }
  return true;
}

std::size_t SessionDescription::serializedSize() const {
  std::size_t size = 0;
  const auto add = [&size](const Section& s) {
    for (const LineView l : s.lines()) size += l.value.size() + 4;
  };
  add(*this);
  for (const MediaDescription& m : media_) add(m);
  return size;
}

void SessionDescription::serializeTo(std::string& out) const {
  out.reserve(out.size() + serializedSize());
  const auto emit = [&out](const Section& s) {
    for (const LineView l : s.lines()) {
      out.push_back(l.type);
      out.push_back('=');
      out.append(l.value);
      out.append("\r\n");
    }
  };
  emit(*this);
  for (const MediaDescription& m : media_) emit(m);
}

std::string SessionDescription::serialize() const {
  std::string out;
  serializeTo(out);
  return out;
}

void SessionDescription::shrinkToFit() {
  Section::shrinkToFit();
  for (MediaDescription& m : media_) m.shrinkToFit();
  media_.shrink_to_fit();
}

std::size_t SessionDescription::memoryUsage() const {
  std::size_t bytes = Section::memoryUsage() + media_.capacity() * sizeof(MediaDescription);
  for (const MediaDescription& m : media_) bytes += m.Section::memoryUsage();
  return bytes;
}

bool SessionDescription::operator==(const SessionDescription& other) const {
  return sameLines(other) && media_ == other.media_;
}

}  // namespace sbc::sdp

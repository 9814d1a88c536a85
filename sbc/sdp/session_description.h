// The SDP document model: a SessionDescription (session-level lines) owning its
// MediaDescriptions (one per m= line).
//
// Every line is kept, in input order, as its raw text; typed accessors parse on
// demand from that text, and mutators write new raw text. So:
//   - unknown attributes and unknown line types survive untouched, in place;
//   - a line nobody edits is forwarded byte for byte;
//   - one copy of each section's bytes is the only storage (no per-line strings).
// Mutators accept only values that a strict parse() would accept again, and report
// a refused value by returning false; serialize() output therefore always re-parses.
//
// Lifetime: string_views returned by accessors point into the section and stay
// valid until that section is next mutated (like iterators of a vector).
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sbc/sdp/fields.h"

namespace sbc::sdp {

namespace detail {
class Parser;
enum class Level : std::uint8_t;
}  // namespace detail

// One line of a section: type letter and the text after "x=".
struct LineView {
  char type = 0;
  std::string_view value;

  bool isAttribute() const { return type == 'a'; }
  // For an a= line: the name, the text after the first ':' ("" for a flag), and
  // whether there was a ':' at all. "" / "" / false for other lines.
  std::string_view attributeName() const;
  std::string_view attributeValue() const;
  bool attributeHasValue() const;
};

// The lines of one section (session level, or one media description) and what the
// two levels share: attributes, c=, b=, i=, direction, ICE and DTLS parameters.
// Attribute names are matched ASCII-case-insensitively.
class Section {
 public:
  class LineIterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = LineView;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = LineView;

    LineIterator() = default;
    LineView operator*() const { return section_->line(index_); }
    LineIterator& operator++() {
      ++index_;
      return *this;
    }
    LineIterator operator++(int) {
      LineIterator old = *this;
      ++index_;
      return old;
    }
    bool operator==(const LineIterator&) const = default;

   private:
    friend class Section;
    LineIterator(const Section* section, std::size_t index) : section_(section), index_(index) {}
    const Section* section_ = nullptr;
    std::size_t index_ = 0;
  };
  struct LineRange {
    LineIterator first;
    LineIterator last;
    LineIterator begin() const { return first; }
    LineIterator end() const { return last; }
  };

  // Every line, the v=/o=/s= or m= line included, in order.
  LineRange lines() const { return {{this, 0}, {this, lines_.size()}}; }
  std::size_t lineCount() const { return lines_.size(); }
  LineView line(std::size_t index) const;

  // ---- attributes ----
  bool hasAttribute(std::string_view name) const;
  // Value of the first such attribute ("" for a flag).
  std::optional<std::string_view> attribute(std::string_view name) const;
  std::vector<std::string_view> attributeValues(std::string_view name) const;
  // Appends after the section's last attribute. False (nothing changed) when the
  // name or value is not valid SDP, or a known attribute's value is malformed.
  bool addAttribute(std::string_view name);
  bool addAttribute(std::string_view name, std::string_view value);
  // Replaces the first attribute of that name in place and drops the others, or
  // appends when there is none.
  bool setAttribute(std::string_view name);
  bool setAttribute(std::string_view name, std::string_view value);
  std::size_t removeAttributes(std::string_view name);
  // pred(const LineView&) is called for every a= line; returns how many went.
  template <typename Pred>
  std::size_t removeAttributesIf(Pred pred);
  // ice-*, candidate, remote-candidates, end-of-candidates.
  std::size_t removeIce();
  // fingerprint, setup, connection, tls-id (the DTLS-SRTP set).
  std::size_t removeDtls();

  // ---- c= b= i= ----
  std::optional<Connection> connection() const;  // the first c= of this section
  // Replaces this section's c= line(s) with one, or inserts it where RFC 8866 wants it.
  bool setConnection(const Connection& connection);
  // "IN IP4|IP6 <address>" (address type from the address, TTL/count dropped).
  bool setConnectionAddress(std::string_view address);
  std::vector<Bandwidth> bandwidths() const;
  std::optional<std::uint64_t> bandwidth(std::string_view type) const;
  bool setBandwidth(std::string_view type, std::uint64_t value);
  std::size_t removeBandwidths();
  std::optional<std::string_view> information() const;

  // ---- direction (RFC 3264 / 8866 6.7) ----
  // The direction attribute written at this level, if any.
  std::optional<Direction> direction() const;
  // Replaces every direction attribute of this level with one (kept in place of
  // the first one, or appended).
  void setDirection(Direction direction);
  void clearDirection();

  // ---- ICE / DTLS (valid at either level) ----
  std::optional<std::string_view> iceUfrag() const;
  std::optional<std::string_view> icePwd() const;
  bool iceLite() const;
  bool endOfCandidates() const;
  std::optional<Fingerprint> fingerprint() const;
  std::optional<Setup> setup() const;

  // Same lines, same text (offsets and spare storage do not matter).
  bool sameLines(const Section& other) const;

 protected:
  struct LineRef {
    std::uint32_t offset = 0;
    std::uint16_t length = 0;
    char type = 0;
  };

  explicit Section(detail::Level level) : level_(level) {}

  std::string_view valueOf(const LineRef& ref) const {
    return {text_.data() + ref.offset, ref.length};
  }
  std::optional<std::size_t> findLine(char type) const;
  std::optional<std::size_t> findAttribute(std::string_view name) const;
  // Where a new line of this type goes: after the last line that RFC 8866 orders
  // at or before it.
  std::size_t insertionPoint(char type) const;
  // All writes go through these: they validate (strict grammar, writable text),
  // cope with a value that points into text_, and keep storage compact.
  bool insertLine(std::size_t index, char type, std::string_view value);
  bool replaceLine(std::size_t index, std::string_view value);
  // Replace the first line of the type, drop the others, or insert if absent.
  bool putLine(char type, std::string_view value);
  bool putAttribute(std::string_view name, std::string_view text);
  std::size_t removeLinesIf(char type, std::string_view attributeName);
  void compactIfWasteful();
  void shrinkToFit();
  std::size_t memoryUsage() const;

  std::string text_;  // the section's bytes as received, then appended edits
  std::vector<LineRef> lines_;
  std::uint32_t liveBytes_ = 0;  // sum of line lengths; the rest of text_ is spare
  detail::Level level_;

 private:
  friend class detail::Parser;
};

// The fmt list of an m= line, iterated as string_views without allocating.
class FormatList {
 public:
  class Iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = std::string_view;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = std::string_view;

    Iterator() = default;
    std::string_view operator*() const { return current_; }
    Iterator& operator++();
    Iterator operator++(int) {
      Iterator old = *this;
      ++*this;
      return old;
    }
    bool operator==(const Iterator& other) const { return pos_ == other.pos_; }

   private:
    friend class FormatList;
    Iterator(const char* pos, const char* end) : pos_(pos), end_(end) { load(); }
    void load();
    const char* pos_ = nullptr;  // nullptr at the end
    const char* end_ = nullptr;
    const char* next_ = nullptr;
    std::string_view current_;
  };

  explicit FormatList(std::string_view raw) : raw_(raw) {}
  Iterator begin() const;
  Iterator end() const { return {}; }
  bool empty() const { return raw_.empty(); }
  std::size_t size() const;
  bool contains(std::string_view format) const;
  std::string_view raw() const { return raw_; }

 private:
  std::string_view raw_;
};

// One m= section.
class MediaDescription : public Section {
 public:
  MediaLine mediaLine() const;
  std::string_view mediaType() const { return mediaLine().media; }
  std::uint16_t port() const { return mediaLine().port; }
  std::optional<std::uint32_t> portCount() const { return mediaLine().portCount; }
  std::string_view proto() const { return mediaLine().proto; }
  FormatList formats() const { return FormatList(mediaLine().formats); }
  bool isDisabled() const { return port() == 0; }  // rejected/disabled stream (RFC 3264)
  bool isRtp() const;   // proto carries RTP (RTP/AVP, RTP/SAVPF, UDP/TLS/RTP/SAVPF...)
  bool isSrtp() const;  // proto is a secure RTP profile (SAVP, SAVPF)

  // Keeps a /<number of ports> suffix. False only for an m= line that a lenient
  // parse let through without formats.
  bool setPort(std::uint16_t port);
  bool setProto(std::string_view proto);
  bool setFormats(std::span<const std::string_view> formats);
  // Drops the format from the m= line and its rtpmap/fmtp/rtcp-fb lines. Refuses
  // to remove the last format (an m= line needs one).
  bool removeFormat(std::string_view format);

  std::vector<RtpMap> rtpmaps() const;
  std::optional<RtpMap> rtpmap(std::uint8_t payloadType) const;
  std::vector<Fmtp> fmtps() const;
  std::optional<std::string_view> fmtp(std::string_view format) const;
  std::optional<std::uint32_t> ptime() const;
  std::optional<std::uint32_t> maxptime() const;

  std::vector<Crypto> cryptos() const;
  bool addCrypto(const Crypto& crypto);
  // Replaces all crypto lines (at the position of the first one) with these.
  bool setCryptos(std::span<const Crypto> cryptos);
  std::size_t removeCryptos() { return removeAttributes("crypto"); }

  std::optional<Rtcp> rtcp() const;
  bool setRtcp(const Rtcp& rtcp);
  void clearRtcp() { removeAttributes("rtcp"); }
  bool rtcpMux() const { return hasAttribute("rtcp-mux"); }
  void setRtcpMux(bool on);

  std::vector<Candidate> candidates() const;
  std::optional<std::string_view> mid() const;
  std::vector<Ssrc> ssrcs() const;

  bool operator==(const MediaDescription& other) const { return sameLines(other); }

 private:
  friend class detail::Parser;
  friend class SessionDescription;
  MediaDescription();
  bool writeMediaLine(const MediaLine& m);
};

class SessionDescription : public Section {
 public:
  // ---- o= s= u= e= p= t= ----
  Origin origin() const;
  bool setOrigin(const Origin& origin);  // ids must be digits
  bool setOriginUsername(std::string_view username);
  bool setOriginAddress(std::string_view address);  // also sets IP4/IP6
  bool setSessionId(std::uint64_t id);
  bool setSessionVersion(std::uint64_t version);
  // version + 1, as a re-offer needs (RFC 3264 8). False if the version is not a
  // number below 2^64-1.
  bool bumpSessionVersion();
  std::optional<std::string_view> sessionName() const;
  bool setSessionName(std::string_view name);
  std::optional<std::string_view> uri() const;
  std::vector<std::string_view> emails() const;
  std::vector<std::string_view> phones() const;
  std::optional<Timing> timing() const;  // the first t=
  // Adds "s=-" and "t=0 0" when a leniently parsed SDP lacks them, so that what we
  // forward is valid even when what we received was not.
  void ensureMandatoryLines();

  // ---- media ----
  std::span<MediaDescription> media() { return media_; }
  std::span<const MediaDescription> media() const { return media_; }
  std::size_t mediaCount() const { return media_.size(); }
  void addMedia(const MediaDescription& media) { media_.push_back(media); }
  bool removeMedia(std::size_t index);

  // ---- effective values (media level overrides session level) ----
  Direction effectiveDirection(const MediaDescription& media) const;
  std::optional<Connection> effectiveConnection(const MediaDescription& media) const;
  // A stream is on hold when it is enabled (port != 0) and either its effective
  // direction is sendonly or inactive, or its effective c= address is 0.0.0.0 (RFC
  // 2543 hold, still sent by old PBXs). recvonly is the answer to a hold, not a hold.
  bool isHold(const MediaDescription& media) const;
  // At least one enabled stream, and every enabled stream on hold.
  bool isHold() const;
  // Media anchoring: session c= set (inserted if absent) and every media-level c=
  // rewritten to the address.
  bool setConnectionAddressEverywhere(std::string_view address);

  // ---- output ----
  std::size_t serializedSize() const;
  void serializeTo(std::string& out) const;  // appends, CRLF line endings
  std::string serialize() const;

  // Drops spare bytes left by edits and excess vector capacity; for SDPs kept for
  // the life of a call.
  void shrinkToFit();
  // Heap bytes owned (approximate: ignores allocator headers).
  std::size_t memoryUsage() const;

  bool operator==(const SessionDescription& other) const;

 private:
  friend class detail::Parser;
  SessionDescription();
  bool writeOrigin(const Origin& origin);

  std::vector<MediaDescription> media_;
};

template <typename Pred>
std::size_t Section::removeAttributesIf(Pred pred) {
  std::size_t kept = 0;
  std::size_t removed = 0;
  for (std::size_t i = 0; i < lines_.size(); ++i) {
    const LineRef ref = lines_[i];
    if (ref.type == 'a' && pred(LineView{ref.type, valueOf(ref)})) {
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

}  // namespace sbc::sdp

#include "sbc/sdp/parser.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "sbc/sdp/lex.h"
#include "sbc/sdp/validate.h"

namespace sbc::sdp {

namespace detail {

// One pass over the input. Each section (session, then one per m= line) copies its
// raw bytes once; lines are recorded as (offset, length) into that copy.
class Parser {
 public:
  Parser(std::string_view in, const ParseOptions& options)
      : in_(in),
        options_(options),
        strict_(!options.lenient),
        maxLineLength_(std::min<std::size_t>(options.maxLineLength, 65535)),
        pending_(scratch()) {
    pending_.clear();
  }

  Result<SessionDescription> run();

 private:
  // Reused across parses on a thread so that collecting lines costs no allocation.
  static std::vector<Section::LineRef>& scratch() {
    thread_local std::vector<Section::LineRef> lines;
    return lines;
  }
  Error fail(ErrorCode code) const { return Error{code, lineNo_}; }
  void endSection(Section& section, std::size_t end);
  void addLine(char type, std::string_view value);
  ErrorCode sessionLine(char type, std::string_view value);
  ErrorCode mediaLine(char type, std::string_view value);
  ErrorCode finishSession(bool atEnd) const;
  bool restIsBlank(std::size_t pos) const;

  std::string_view in_;
  const ParseOptions& options_;
  const bool strict_;
  const std::size_t maxLineLength_;
  std::uint32_t lineNo_ = 0;
  std::size_t sectionStart_ = 0;
  std::size_t firstNul_ = std::string_view::npos;
  // Lines of the current section, moved into it (exactly sized) when it ends.
  std::vector<Section::LineRef>& pending_;

  // Session-level state.
  std::size_t sessionLines_ = 0;
  int lastRank_ = -1;
  char lastKnownType_ = 0;
  std::uint32_t seenSingletons_ = 0;  // bit per letter
  bool sessionHasConnection_ = false;
  bool hasTiming_ = false;

  // Current media state.
  int mediaLastRank_ = 0;
  std::uint32_t mediaSingletons_ = 0;
  bool mediaHasConnection_ = false;
  std::uint32_t mediaLineNo_ = 0;
};

namespace {

constexpr std::uint32_t bit(char type) {
  return 1U << static_cast<unsigned>(type - 'a');
}

constexpr std::uint32_t kSessionSingletons =
    bit('v') | bit('o') | bit('s') | bit('i') | bit('u') | bit('c') | bit('z') | bit('k');
constexpr std::uint32_t kMediaSingletons = bit('i') | bit('k');
constexpr std::uint32_t kSessionOnly = bit('v') | bit('o') | bit('s') | bit('u') | bit('e') |
                                       bit('p') | bit('t') | bit('r') | bit('z');

bool isBlank(std::string_view line) {
  return std::all_of(line.begin(), line.end(), [](char c) { return c == ' ' || c == '\t'; });
}

}  // namespace

bool Parser::restIsBlank(std::size_t pos) const {
  return std::all_of(in_.begin() + static_cast<std::ptrdiff_t>(pos), in_.end(),
                     [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; });
}

void Parser::endSection(Section& section, std::size_t end) {
  section.text_.assign(in_.data() + sectionStart_, end - sectionStart_);
  section.lines_.assign(pending_.begin(), pending_.end());
  std::uint32_t live = 0;
  for (const Section::LineRef& ref : pending_) live += ref.length;
  section.liveBytes_ = live;
  pending_.clear();
}

void Parser::addLine(char type, std::string_view value) {
  Section::LineRef ref;
  ref.offset = static_cast<std::uint32_t>(static_cast<std::size_t>(value.data() - in_.data()) -
                                          sectionStart_);
  ref.length = static_cast<std::uint16_t>(value.size());
  ref.type = type;
  pending_.push_back(ref);
}

ErrorCode Parser::sessionLine(char type, std::string_view value) {
  const std::size_t index = sessionLines_++;
  if (index == 0) {
    if (type != 'v') return ErrorCode::kMissingVersion;
    return value == "0" ? ErrorCode::kNone : ErrorCode::kBadVersion;
  }
  if (index == 1) {
    if (type != 'o') return ErrorCode::kMissingOrigin;
    if (strict_) return checkLineValue('o', value);
    return parseOrigin(value) ? ErrorCode::kNone : ErrorCode::kBadOrigin;
  }
  if (index == 2) {
    lastRank_ = 1;
    lastKnownType_ = 'o';
    seenSingletons_ = bit('v') | bit('o');
    if (strict_ && type != 's') return ErrorCode::kMissingSessionName;
  }
  if (!strict_) {
    // Lenient: only what media anchoring cannot do without must be right.
    if (type == 'c') {
      if (!parseConnection(value)) return ErrorCode::kBadConnection;
      sessionHasConnection_ = true;
    }
    if (type == 't') hasTiming_ = true;
    return ErrorCode::kNone;
  }
  const int rank = rankOf(Level::kSession, type);
  if (rank >= 0) {
    if (type == 'r' && lastKnownType_ != 't' && lastKnownType_ != 'r') {
      return ErrorCode::kMisplacedLine;
    }
    if (rank < lastRank_) return ErrorCode::kMisplacedLine;
    if ((kSessionSingletons & bit(type)) != 0) {
      if ((seenSingletons_ & bit(type)) != 0) return ErrorCode::kDuplicateLine;
      seenSingletons_ |= bit(type);
    }
    lastRank_ = rank;
    lastKnownType_ = type;
  }
  const ErrorCode e = checkLineValue(type, value);
  if (e == ErrorCode::kNone) {
    if (type == 'c') sessionHasConnection_ = true;
    if (type == 't') hasTiming_ = true;
  }
  return e;
}

ErrorCode Parser::mediaLine(char type, std::string_view value) {
  if (!strict_) {
    if (type == 'c') {
      if (!parseConnection(value)) return ErrorCode::kBadConnection;
      mediaHasConnection_ = true;
    }
    return ErrorCode::kNone;
  }
  const int rank = rankOf(Level::kMedia, type);
  if (rank < 0) {
    if ((kSessionOnly & bit(type)) != 0) return ErrorCode::kMisplacedLine;
  } else {
    if (rank < mediaLastRank_) return ErrorCode::kMisplacedLine;
    if ((kMediaSingletons & bit(type)) != 0) {
      if ((mediaSingletons_ & bit(type)) != 0) return ErrorCode::kDuplicateLine;
      mediaSingletons_ |= bit(type);
    }
    mediaLastRank_ = rank;
  }
  const ErrorCode e = checkLineValue(type, value);
  if (e == ErrorCode::kNone && type == 'c') mediaHasConnection_ = true;
  return e;
}

ErrorCode Parser::finishSession(bool atEnd) const {
  if (sessionLines_ == 0) return atEnd ? ErrorCode::kEmpty : ErrorCode::kMissingVersion;
  if (sessionLines_ == 1) return ErrorCode::kMissingOrigin;
  if (!strict_) return ErrorCode::kNone;
  if (sessionLines_ == 2) return ErrorCode::kMissingSessionName;
  if (!hasTiming_) return ErrorCode::kMissingTiming;
  return ErrorCode::kNone;
}

Result<SessionDescription> Parser::run() {
  // Offsets into a section are 32-bit.
  if (in_.size() > options_.maxBytes || in_.size() > 0xFFFFFFFFU) {
    return Error{ErrorCode::kTooLarge, 0};
  }

  // NUL is rare enough that one scan of the whole input beats a check per line.
  const void* nul = in_.empty() ? nullptr : std::memchr(in_.data(), '\0', in_.size());
  firstNul_ = nul ? static_cast<std::size_t>(static_cast<const char*>(nul) - in_.data())
                  : std::string_view::npos;

  SessionDescription sd;
  Section* current = &sd;
  sectionStart_ = 0;
  bool inMedia = false;

  std::size_t pos = 0;
  while (pos < in_.size()) {
    ++lineNo_;
    if (lineNo_ > options_.maxLines) return fail(ErrorCode::kTooManyLines);
    const std::size_t lineStart = pos;
    const void* nl = std::memchr(in_.data() + pos, '\n', in_.size() - pos);
    std::size_t end =
        nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - in_.data()) : in_.size();
    pos = nl ? end + 1 : end;
    if (end > lineStart && in_[end - 1] == '\r') --end;  // CRLF (or a final lone CR)
    const std::string_view line = in_.substr(lineStart, end - lineStart);
    const bool badChar = (firstNul_ >= lineStart && firstNul_ < end) ||
                         std::memchr(line.data(), '\r', line.size()) != nullptr;

    if (line.size() > maxLineLength_) return fail(ErrorCode::kLineTooLong);
    if (badChar) return fail(ErrorCode::kBadCharacter);
    if (isBlank(line)) {
      // Trailing blank lines (a body padded with CRLFs) are harmless everywhere.
      if (restIsBlank(pos)) {
        pos = lineStart;
        break;
      }
      if (strict_) return fail(ErrorCode::kEmptyLine);
      continue;
    }
    if (line.size() < 2 || line[1] != '=' || line[0] < 'a' || line[0] > 'z') {
      return fail(ErrorCode::kBadLine);
    }
    const char type = line[0];
    std::string_view value = line.substr(2);
    if (!strict_) {
      const std::size_t last = value.find_last_not_of(" \t");
      if (last != std::string_view::npos) value = value.substr(0, last + 1);
    }

    if (type == 'm') {
      if (!inMedia) {
        if (const ErrorCode e = finishSession(false); e != ErrorCode::kNone) return fail(e);
      } else if (strict_ && !sessionHasConnection_ && !mediaHasConnection_) {
        return Error{ErrorCode::kMissingConnection, mediaLineNo_};
      }
      if (sd.media_.size() >= options_.maxMedia) return fail(ErrorCode::kTooManyMedia);
      if (!parseMediaLine(value, strict_)) return fail(ErrorCode::kBadMedia);
      endSection(*current, lineStart);
      sd.media_.push_back(MediaDescription());
      current = &sd.media_.back();
      sectionStart_ = lineStart;
      addLine(type, value);
      inMedia = true;
      mediaLastRank_ = 0;
      mediaSingletons_ = 0;
      mediaHasConnection_ = false;
      mediaLineNo_ = lineNo_;
      continue;
    }

    const ErrorCode e = inMedia ? mediaLine(type, value) : sessionLine(type, value);
    if (e != ErrorCode::kNone) return fail(e);
    addLine(type, value);
  }
  endSection(*current, pos);

  if (!inMedia) {
    if (const ErrorCode e = finishSession(true); e != ErrorCode::kNone) return fail(e);
  } else if (strict_ && !sessionHasConnection_ && !mediaHasConnection_) {
    return Error{ErrorCode::kMissingConnection, mediaLineNo_};
  }
  return Result<SessionDescription>(std::move(sd));
}

}  // namespace detail

Result<SessionDescription> parse(std::string_view text, const ParseOptions& options) {
  return detail::Parser(text, options).run();
}

}  // namespace sbc::sdp

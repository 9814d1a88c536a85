#pragma once
// RFC 4180 CSV, both ways, without holding a file in memory.
//
// CsvParser is push-style so that an HTTP body can be fed chunk by chunk as
// it arrives: feed() calls back once per complete record, finish() flushes the
// last record when the input did not end with a newline. Untrusted input never
// throws: a malformed record is reported to the callback as an error carrying
// its line, and parsing continues on the next line.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sbc::admin::imports {

enum class CsvError {
  None,
  StrayQuote,         // a '"' inside an unquoted field
  UnterminatedQuote,  // end of input inside a quoted field
  TextAfterQuote,     // "abc"x
  RecordTooLong,      // more than max_record_bytes: the rest of the record is skipped
  TooManyFields,
};

std::string_view csvErrorText(CsvError e);

struct CsvRecord {
  std::size_t line = 0;                      // 1-based line where the record starts
  std::span<const std::string_view> fields;  // valid during the callback only
  CsvError error = CsvError::None;           // fields are empty when set
};

struct CsvLimits {
  std::size_t max_record_bytes = std::size_t{64} * 1024;
  std::size_t max_fields = 64;
};

class CsvParser {
 public:
  using RecordFn = std::function<void(const CsvRecord&)>;

  explicit CsvParser(RecordFn on_record, CsvLimits limits = {});

  void feed(std::string_view data);
  // End of input: delivers a last record without a trailing newline.
  void finish();

  // Lines consumed so far (counting quoted newlines), for progress reports.
  std::size_t lines() const { return line_ - 1; }

 private:
  enum class State { FieldStart, Unquoted, Quoted, QuoteInQuoted, SkipToEol };
  void endField();
  void endRecord();
  void fail(CsvError e);
  void append(char c);

  RecordFn on_record_;
  CsvLimits limits_;
  State state_ = State::FieldStart;
  std::string buf_;                // every field of the record, back to back
  std::vector<std::size_t> ends_;  // end offset of each field in buf_
  std::vector<std::string_view> views_;
  std::size_t line_ = 1;         // current line
  std::size_t record_line_ = 1;  // line of the record being read
  bool record_empty_ = true;     // nothing seen yet on this record
  CsvError pending_error_ = CsvError::None;
};

// Appends `field` to `out`, quoted (and its quotes doubled) when it holds a
// comma, quote, CR or LF.
void appendCsvField(std::string& out, std::string_view field);

}  // namespace sbc::admin::imports

#include "admin-ui/imports/csv.h"

namespace sbc::admin::imports {

std::string_view csvErrorText(CsvError e) {
  switch (e) {
    case CsvError::None:
      return "ok";
    case CsvError::StrayQuote:
      return "a quote inside an unquoted field";
    case CsvError::UnterminatedQuote:
      return "a quoted field is not closed";
    case CsvError::TextAfterQuote:
      return "text after the closing quote of a field";
    case CsvError::RecordTooLong:
      return "the record is too long";
    case CsvError::TooManyFields:
      return "too many fields";
  }
  return "?";
}

CsvParser::CsvParser(RecordFn on_record, CsvLimits limits)
    : on_record_(std::move(on_record)), limits_(limits) {
  buf_.reserve(256);
}

void CsvParser::fail(CsvError e) {
  if (pending_error_ == CsvError::None) pending_error_ = e;
  state_ = State::SkipToEol;
}

void CsvParser::append(char c) {
  if (buf_.size() >= limits_.max_record_bytes) {
    fail(CsvError::RecordTooLong);
    return;
  }
  buf_.push_back(c);
}

void CsvParser::endField() {
  if (ends_.size() >= limits_.max_fields) {
    fail(CsvError::TooManyFields);
    return;
  }
  ends_.push_back(buf_.size());
}

void CsvParser::endRecord() {
  CsvRecord rec;
  rec.line = record_line_;
  if (pending_error_ != CsvError::None) {
    rec.error = pending_error_;
  } else {
    views_.clear();
    std::size_t begin = 0;
    for (std::size_t end : ends_) {
      views_.emplace_back(buf_.data() + begin, end - begin);
      begin = end;
    }
    rec.fields = views_;
  }
  on_record_(rec);
  buf_.clear();
  ends_.clear();
  pending_error_ = CsvError::None;
  record_empty_ = true;
  state_ = State::FieldStart;
}

void CsvParser::feed(std::string_view data) {
  for (char c : data) {
    if (c == '\n') {
      switch (state_) {
        case State::Quoted:
          append(c);
          ++line_;
          continue;
        case State::FieldStart:
          if (record_empty_) {  // blank line
            ++line_;
            record_line_ = line_;
            continue;
          }
          endField();
          break;
        case State::Unquoted:
        case State::QuoteInQuoted:
          endField();
          break;
        case State::SkipToEol:
          break;
      }
      endRecord();
      ++line_;
      record_line_ = line_;
      continue;
    }
    switch (state_) {
      case State::FieldStart:
        if (c == '\r') continue;
        record_empty_ = false;
        if (c == '"') {
          state_ = State::Quoted;
        } else if (c == ',') {
          endField();
        } else {
          state_ = State::Unquoted;
          append(c);
        }
        break;
      case State::Unquoted:
        if (c == ',') {
          endField();
          if (state_ != State::SkipToEol) state_ = State::FieldStart;
        } else if (c == '"') {
          fail(CsvError::StrayQuote);
        } else if (c != '\r') {
          append(c);
        }
        break;
      case State::Quoted:
        if (c == '"') {
          state_ = State::QuoteInQuoted;
        } else {
          append(c);
        }
        break;
      case State::QuoteInQuoted:
        if (c == '"') {
          state_ = State::Quoted;
          append(c);
        } else if (c == ',') {
          endField();
          if (state_ != State::SkipToEol) state_ = State::FieldStart;
        } else if (c != '\r') {
          fail(CsvError::TextAfterQuote);
        }
        break;
      case State::SkipToEol:
        break;
    }
  }
}

void CsvParser::finish() {
  switch (state_) {
    case State::Quoted:
      fail(CsvError::UnterminatedQuote);
      endRecord();
      break;
    case State::FieldStart:
      if (record_empty_) return;
      endField();
      endRecord();
      break;
    case State::Unquoted:
    case State::QuoteInQuoted:
      endField();
      endRecord();
      break;
    case State::SkipToEol:
      endRecord();
      break;
  }
}

void appendCsvField(std::string& out, std::string_view field) {
  if (field.find_first_of(",\"\r\n") == std::string_view::npos) {
    out.append(field);
    return;
  }
  out.push_back('"');
  for (char c : field) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
}

}  // namespace sbc::admin::imports

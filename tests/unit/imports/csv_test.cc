// RFC 4180 parsing fed in arbitrary chunks, and the quoting of the export.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "admin-ui/imports/csv.h"

namespace sbc::admin::imports {
namespace {

struct Rec {
  std::size_t line;
  std::vector<std::string> fields;
  CsvError error;
};

std::vector<Rec> parse(std::string_view text, std::size_t chunk = 0, CsvLimits limits = {}) {
  std::vector<Rec> out;
  CsvParser p(
      [&](const CsvRecord& r) {
        out.push_back(
            Rec{r.line, std::vector<std::string>(r.fields.begin(), r.fields.end()), r.error});
      },
      limits);
  if (chunk == 0) {
    p.feed(text);
  } else {
    for (std::size_t i = 0; i < text.size(); i += chunk) p.feed(text.substr(i, chunk));
  }
  p.finish();
  return out;
}

using Fields = std::vector<std::string>;

TEST(Csv, QuotedFieldsEscapesAndCrlfWhateverTheChunking) {
  const std::string text =
      "number,note\r\n+14155550100,\"a, b\"\r\n+14155550101,\"say \"\"hi\"\"\"\r\n"
      "+14155550102,\"two\nlines\"\r\n+14155550103,\r\n";
  for (std::size_t chunk : {0, 1, 2, 3, 7}) {
    const auto recs = parse(text, chunk);
    ASSERT_EQ(recs.size(), 5u) << "chunk " << chunk;
    EXPECT_EQ(recs[0].fields, (Fields{"number", "note"}));
    EXPECT_EQ(recs[1].fields, (Fields{"+14155550100", "a, b"}));
    EXPECT_EQ(recs[2].fields, (Fields{"+14155550101", "say \"hi\""}));
    EXPECT_EQ(recs[3].fields, (Fields{"+14155550102", "two\nlines"}));
    EXPECT_EQ(recs[4].fields, (Fields{"+14155550103", ""}));
    // Line numbers count the newline inside the quoted field.
    EXPECT_EQ(recs[3].line, 4u);
    EXPECT_EQ(recs[4].line, 6u);
  }
}

TEST(Csv, LastRecordWithoutNewlineAndBlankLinesSkipped) {
  const auto recs = parse("a,b\n\n\nc,d");
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[1].fields, (Fields{"c", "d"}));
  EXPECT_EQ(recs[1].line, 4u);
}

TEST(Csv, MalformedRecordsAreReportedAndParsingGoesOn) {
  const auto recs = parse("a,b\nx\"y,z\n\"q\"r,s\nok,1\n\"open");
  ASSERT_EQ(recs.size(), 5u);
  EXPECT_EQ(recs[1].error, CsvError::StrayQuote);
  EXPECT_EQ(recs[1].line, 2u);
  EXPECT_TRUE(recs[1].fields.empty());
  EXPECT_EQ(recs[2].error, CsvError::TextAfterQuote);
  EXPECT_EQ(recs[3].fields, (Fields{"ok", "1"}));
  EXPECT_EQ(recs[3].error, CsvError::None);
  EXPECT_EQ(recs[4].error, CsvError::UnterminatedQuote);
  EXPECT_EQ(recs[4].line, 5u);
}

TEST(Csv, LimitsBoundMemory) {
  CsvLimits l;
  l.max_record_bytes = 8;
  l.max_fields = 3;
  const auto recs = parse("123456789,x\na,b,c,d\nok\n", 0, l);
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(recs[0].error, CsvError::RecordTooLong);
  EXPECT_EQ(recs[1].error, CsvError::TooManyFields);
  EXPECT_EQ(recs[2].fields, (Fields{"ok"}));
  EXPECT_EQ(recs[2].line, 3u);
}

TEST(Csv, FieldsAreQuotedOnlyWhenNeeded) {
  std::string out;
  appendCsvField(out, "+14155550100");
  out += ',';
  appendCsvField(out, "Smith, John");
  out += ',';
  appendCsvField(out, "say \"hi\"");
  out += ',';
  appendCsvField(out, "a\r\nb");
  EXPECT_EQ(out, "+14155550100,\"Smith, John\",\"say \"\"hi\"\"\",\"a\r\nb\"");
  // And what we write parses back to the same fields.
  const auto recs = parse(out);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].fields, (Fields{"+14155550100", "Smith, John", "say \"hi\"", "a\r\nb"}));
}

// Arbitrary bytes never crash the parser, and how the input is cut into
// chunks never changes what comes out.
TEST(Csv, RandomInputIsChunkingInvariant) {
  std::mt19937 rng(20261125);
  constexpr char kBytes[] = "ab,\"\r\n +1\0\xff";
  const std::string alphabet(kBytes, sizeof kBytes - 1);  // with the NUL
  for (int round = 0; round < 300; ++round) {
    std::string text(rng() % 200, ' ');
    for (auto& c : text) c = alphabet[rng() % alphabet.size()];
    CsvLimits l;
    l.max_record_bytes = 16;
    l.max_fields = 5;
    const auto whole = parse(text, 0, l);
    const auto bytes = parse(text, 1, l);
    const auto odd = parse(text, 1 + rng() % 13, l);
    ASSERT_EQ(whole.size(), bytes.size()) << round;
    ASSERT_EQ(whole.size(), odd.size()) << round;
    for (std::size_t i = 0; i < whole.size(); ++i) {
      EXPECT_EQ(whole[i].fields, bytes[i].fields);
      EXPECT_EQ(whole[i].error, odd[i].error);
      EXPECT_EQ(whole[i].line, odd[i].line);
      EXPECT_LE(whole[i].fields.size(), l.max_fields);
    }
  }
}

}  // namespace
}  // namespace sbc::admin::imports

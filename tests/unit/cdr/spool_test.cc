// The on-disk spool (no database).
#include <gtest/gtest.h>

#include <fstream>

#include "sbc/cdr/spool.h"

namespace sbc::cdr {
namespace {

namespace fs = std::filesystem;

class SpoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("sbc_spool_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(SpoolTest, LinesRoundTripEveryCharacter) {
  Row row{std::string("plain"),       std::nullopt,
          std::string("tab\there"),   std::string("nl\nand\rcr"),
          std::string("back\\slash"), std::string(""),
          std::string("\\N literal")};
  std::string line;
  for (std::size_t i = 0; i < row.size(); ++i) {
    if (i) line += '\t';
    appendEscaped(line, row[i]);
  }
  EXPECT_EQ(line.find('\n'), std::string::npos);
  auto back = parseLine(line);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, row);
  EXPECT_FALSE(parseLine("bad\\x"));
  EXPECT_FALSE(parseLine("trailing\\"));
  EXPECT_FALSE(parseLine("x\\N"));
}

TEST_F(SpoolTest, WritesBatchesDurablyAndListsThemOldestFirst) {
  Spool spool(dir_);
  std::vector<std::string_view> cols{"uuid", "note"};
  std::vector<Row> a{{std::string("1"), std::string("x")}, {std::string("2"), std::nullopt}};
  std::vector<Row> b{{std::string("3"), std::string("tab\t")}};
  ASSERT_TRUE(spool.write(cols, a));
  ASSERT_TRUE(spool.write(cols, b));
  auto files = spool.list();
  ASSERT_EQ(files.size(), 2u);
  EXPECT_LT(files[0].sequence, files[1].sequence);
  EXPECT_EQ(files[0].records, 2u);
  EXPECT_EQ(files[1].records, 1u);
  auto first = Spool::read(files[0].path);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->columns, (std::vector<std::string>{"uuid", "note"}));
  EXPECT_EQ(first->rows, a);
  EXPECT_EQ(Spool::read(files[1].path)->rows, b);

  // A new Spool on the same directory continues the sequence.
  Spool again(dir_);
  ASSERT_TRUE(again.write(cols, a));
  auto now = again.list();
  ASSERT_EQ(now.size(), 3u);
  EXPECT_GT(now[2].sequence, now[1].sequence);
  EXPECT_TRUE(again.remove(now[0]));
  EXPECT_EQ(again.files(), 2u);
}

TEST_F(SpoolTest, TornOrForeignFilesAreDetected) {
  Spool spool(dir_);
  std::vector<std::string_view> cols{"uuid"};
  ASSERT_TRUE(spool.write(cols, {{std::string("1")}, {std::string("2")}}));
  auto e = spool.list().at(0);
  std::string text;
  {
    std::ifstream in(e.path);
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  {
    std::ofstream out(e.path, std::ios::trunc);
    out << text.substr(0, text.size() - 8);  // cut the END line
  }
  std::string error;
  EXPECT_FALSE(Spool::read(e.path, &error));
  EXPECT_NE(error.find("truncated"), std::string::npos) << error;
  spool.quarantine(e);
  EXPECT_EQ(spool.files(), 0u);
  EXPECT_TRUE(fs::exists(dir_ / "bad" / e.path.filename()));

  std::ofstream(dir_ / "0000000000000099-1.cdrs") << "hello\n";
  EXPECT_FALSE(Spool::read(dir_ / "0000000000000099-1.cdrs", &error));
  std::ofstream(dir_ / "0000000000000098-1.cdrs") << "SBC-CDR-SPOOL 1\nuuid\ta\n1\nEND 1\n";
  EXPECT_FALSE(Spool::read(dir_ / "0000000000000098-1.cdrs", &error));  // wrong field count
  std::ofstream(dir_ / "0000000000000097-1.cdrs") << "SBC-CDR-SPOOL 1\nuuid\n1\nEND 2\n";
  EXPECT_FALSE(Spool::read(dir_ / "0000000000000097-1.cdrs", &error));
}

TEST_F(SpoolTest, LeftoverTemporariesAreRemovedAtOpen) {
  fs::create_directories(dir_);
  std::ofstream(dir_ / ".tmp-0000000000000001-5.cdrs") << "SBC-CDR-SPOOL 1\nuu";
  std::ofstream(dir_ / "unrelated.txt") << "keep";
  Spool spool(dir_);
  EXPECT_FALSE(fs::exists(dir_ / ".tmp-0000000000000001-5.cdrs"));
  EXPECT_TRUE(fs::exists(dir_ / "unrelated.txt"));
  EXPECT_EQ(spool.files(), 0u);
}

}  // namespace
}  // namespace sbc::cdr

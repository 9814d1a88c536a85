#pragma once
// The CDR writer's on-disk spool: batches that could not reach PostgreSQL,
// one file per batch, replayed oldest first.
//
// A file is written to a temporary name, fsync'd, renamed into place and the
// directory fsync'd, so a crash leaves either the whole batch or nothing
// (stray temporaries are removed at open). Files are named
// <sequence>-<records>.cdrs so that the spool's depth is known without
// reading it. Format (text, one record a line):
//
//   SBC-CDR-SPOOL 1
//   <column names, tab-separated>
//   <values, tab-separated; \N null; \\ \t \n \r escaped>   (x records)
//   END <records>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "sbc/cdr/cdr.h"

namespace sbc::cdr {

struct SpoolBatch {
  std::vector<std::string> columns;
  std::vector<Row> rows;
};

class Spool {
 public:
  // Creates the directory if needed. Throws std::filesystem::filesystem_error
  // when it cannot (start-up).
  explicit Spool(std::filesystem::path dir);

  // Writes one batch durably; false (and errno-style message) on failure.
  bool write(const std::vector<std::string_view>& columns, const std::vector<Row>& rows,
             std::string* error = nullptr);

  struct Entry {
    std::filesystem::path path;
    std::uint64_t sequence = 0;
    std::size_t records = 0;
  };
  // Oldest first.
  std::vector<Entry> list() const;
  // nullopt when the file is unreadable or corrupt.
  static std::optional<SpoolBatch> read(const std::filesystem::path& file,
                                        std::string* error = nullptr);
  // Removes a replayed file (and fsyncs the directory).
  bool remove(const Entry& e);
  // Moves a file that cannot be replayed aside (dir/bad/), keeping it for a human.
  void quarantine(const Entry& e);
  // Appends rows PostgreSQL refused to dir/rejected/ (same format).
  bool reject(const std::vector<std::string>& columns, const std::vector<Row>& rows);

  std::size_t files() const { return list().size(); }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  bool writeFile(const std::filesystem::path& dir, const std::vector<std::string_view>& columns,
                 const std::vector<Row>& rows, std::string* error);
  std::filesystem::path dir_;
  std::uint64_t next_seq_ = 1;
};

// The escaping used in spool lines (and by COPY's text format).
void appendEscaped(std::string& out, const std::optional<std::string>& v);
// Splits one line into fields; nullopt on a malformed escape.
std::optional<Row> parseLine(std::string_view line);

}  // namespace sbc::cdr

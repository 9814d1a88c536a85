#pragma once
// Bulk CSV imports into ported_numbers (LNP data) and dids, streamed.
//
// The file is parsed as it arrives (feed()), every row is checked in C++ and
// the good ones go straight into a temporary staging table with COPY; nothing
// of the file is held in memory beyond one record and the first
// max_reported_errors errors. Duplicates within the file are found by the
// database at the end (the staging table, not a hash set of a million numbers).
// Then, in the same transaction: the upsert, one audit_log row with the
// counts, and the tables' NOTIFY triggers fire once per statement.
//
//  * A file with any bad row imports NOTHING unless skip_errors is set; then
//    the good rows go in and the bad ones are reported.
//  * Merge (default): rows of the file are inserted or update the row of the
//    same number; numbers not in the file are left alone. Replace: numbers
//    not in the file are deleted as well (a carrier's full LNP feed).
//  * Within a file the first occurrence of a number wins; later ones are
//    errors ("duplicate of line N").
//
// Nothing here throws to the caller: a database failure is a Failed result.
// Blocking (libpq): run it on a pool thread, never on an event loop.
#include <pqxx/connection>

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sbc::admin::imports {

enum class ImportTarget {
  PortedNumbers,  // header: number,routing_number[,note]
  Dids,           // header: number[,trunk][,status][,description]; trunk by name
};
enum class ImportMode { Merge, Replace };

struct ImportOptions {
  bool skip_errors = false;
  ImportMode mode = ImportMode::Merge;
  std::size_t max_reported_errors = 1000;
  std::string who = "system";            // audit_log.who
  std::optional<std::string> client_ip;  // audit_log.client_ip
  std::string source = "csv";            // ported_numbers.source
  // Called with the number of data rows read so far, every progress_every rows
  // and once at the end (on the thread that calls feed()/finish()).
  std::function<void(std::uint64_t rows_read)> on_progress;
  std::uint64_t progress_every = 50'000;
};

// One bad row. field is the column name ("" for the whole row, "header").
struct RowError {
  std::size_t line = 0;
  std::string field;
  std::string rule;     // machine name: missing_plus, duplicate, unknown_trunk, ...
  std::string message;  // for people
  std::string value;    // the offending value, cut to 64 bytes
};

enum class ImportStatus {
  Imported,  // committed
  Refused,   // the file has errors and skip_errors was not set: nothing changed
  Failed,    // database failure (message): nothing changed
};
std::string_view importStatusName(ImportStatus s);

struct ImportResult {
  ImportStatus status = ImportStatus::Failed;
  std::uint64_t rows_read = 0;   // data rows (header excluded)
  std::uint64_t rows_valid = 0;  // rows that passed the checks and were not duplicates
  std::uint64_t inserted = 0;
  std::uint64_t updated = 0;
  std::uint64_t unchanged = 0;
  std::uint64_t deleted = 0;      // Replace mode
  std::uint64_t error_count = 0;  // all errors, reported or not
  std::vector<RowError> errors;   // the first max_reported_errors, by line
  std::string message;            // Failed: what went wrong
  double seconds = 0;
};

class CsvImport {
 public:
  CsvImport(pqxx::connection& conn, ImportTarget target, ImportOptions options);
  ~CsvImport();
  CsvImport(const CsvImport&) = delete;
  CsvImport& operator=(const CsvImport&) = delete;

  void feed(std::string_view chunk);
  // Ends the input, checks duplicates, applies or rolls back. Call once.
  ImportResult finish();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Reads the stream in 64 KiB chunks.
ImportResult importCsv(pqxx::connection& conn, ImportTarget target, std::istream& in,
                       ImportOptions options);

}  // namespace sbc::admin::imports

#pragma once
// CDR search results as CSV (RFC 4180, CRLF line ends), streamed: a
// server-side cursor is read chunk_rows at a time and each chunk is handed to
// the sink as one piece of CSV text, so the HTTP server can write a chunked
// response without holding the result. Blocking (libpq): call it on a pool
// thread; the sink may hand each chunk to the connection's strand.
#include <pqxx/connection>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "admin-ui/imports/iso_time.h"

namespace sbc::admin::imports {

enum class CdrResult { Answered, Unanswered };

struct CdrFilter {
  std::optional<TimePoint> from;      // start_time >= from
  std::optional<TimePoint> to;        // start_time < to
  std::optional<std::string> number;  // equals caller or callee, as received or as sent
  std::optional<long long> trunk_id;  // inbound or outbound trunk
  std::optional<CdrResult> result;
  std::optional<int> sip_code;  // final SIP status
};

struct CdrExportOptions {
  std::size_t chunk_rows = 1000;
  std::uint64_t max_rows = 0;  // 0: no limit
  // When set: called once with the number of rows the export will send,
  // before the first chunk, counted in the same snapshot (REPEATABLE READ),
  // so that it can go out in a header ahead of a streamed body.
  std::function<void(std::uint64_t rows)> on_count;
};

struct CdrExportResult {
  bool ok = false;
  bool stopped = false;  // the sink returned false (client went away)
  std::uint64_t rows = 0;
  std::string message;  // !ok: the database error
};

// The first chunk starts with the header line. Returning false from the sink
// stops the export (the transaction is closed, nothing else is sent).
using CsvSink = std::function<bool(std::string_view csv)>;

CdrExportResult exportCdrsCsv(pqxx::connection& conn, const CdrFilter& filter, const CsvSink& sink,
                              const CdrExportOptions& options = {});

// The header line, without its CRLF (for documentation and tests).
std::string_view cdrCsvHeader();

}  // namespace sbc::admin::imports

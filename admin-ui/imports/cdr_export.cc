#include "admin-ui/imports/cdr_export.h"

#include <pqxx/pqxx>

#include "admin-ui/imports/csv.h"

namespace sbc::admin::imports {

namespace {

constexpr std::string_view kHeader =
    "uuid,start_time,answer_time,end_time,duration_ms,direction,in_trunk,out_trunk,caller_in,"
    "callee_in,caller_out,callee_out,routing_number,sip_code,sip_reason,q850_cause,ended_by,"
    "end_reason,node,a_call_id,failover_attempts";

std::string utc(std::string_view column) {
  return "to_char(" + std::string(column) +
         " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')";
}

}  // namespace

std::string_view cdrCsvHeader() {
  return kHeader;
}

CdrExportResult exportCdrsCsv(pqxx::connection& conn, const CdrFilter& f, const CsvSink& sink,
                              const CdrExportOptions& options) {
  CdrExportResult out;
  const std::size_t chunk = options.chunk_rows ? options.chunk_rows : 1000;
  try {
    pqxx::read_transaction tx(conn, "cdr_export");
    // One snapshot for the count and the cursor (first statement of the
    // transaction, as PostgreSQL requires).
    if (options.on_count) tx.exec0("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
    // Values are quoted by libpq's escaping (tx.quote); the numeric ones are
    // formatted by us. The filter never reaches SQL unquoted.
    std::string where = "TRUE";
    if (f.from) where += " AND start_time >= " + tx.quote(formatIsoTime(*f.from)) + "::timestamptz";
    if (f.to) where += " AND start_time < " + tx.quote(formatIsoTime(*f.to)) + "::timestamptz";
    if (f.number) {
      const auto q = tx.quote(*f.number);
      where += " AND " + q + " IN (caller_in, callee_in, caller_out, callee_out)";
    }
    if (f.trunk_id) {
      const auto t = std::to_string(*f.trunk_id);
      where += " AND (in_trunk_id = " + t + " OR out_trunk_id = " + t + ")";
    }
    if (f.result == CdrResult::Answered) where += " AND answer_time IS NOT NULL";
    if (f.result == CdrResult::Unanswered) where += " AND answer_time IS NULL";
    if (f.sip_code) where += " AND sip_code = " + std::to_string(*f.sip_code);
    std::string limit;
    if (options.max_rows) limit = " LIMIT " + std::to_string(options.max_rows);

    if (options.on_count) {
      std::string count_sql = "SELECT count(*) FROM (SELECT 1 FROM cdrs WHERE ";
      count_sql.append(where).append(limit).append(") c");
      const auto n = tx.exec1(count_sql)[0].as<std::uint64_t>();
      options.on_count(n);
    }
    tx.exec0("DECLARE cdr_export NO SCROLL CURSOR FOR SELECT uuid::text, " + utc("start_time") +
             ", " + utc("answer_time") + ", " + utc("end_time") +
             ", duration_ms, direction, in_trunk, out_trunk, caller_in, callee_in, caller_out,"
             " callee_out, routing_number, sip_code, sip_reason, q850_cause, ended_by, end_reason,"
             " node, a_call_id, failover_attempts FROM cdrs WHERE " +
             where + " ORDER BY start_time, uuid" + limit);
    const std::string fetch = "FETCH " + std::to_string(chunk) + " FROM cdr_export";
    std::string text;
    text.reserve(chunk * 256);
    text.append(kHeader);
    text.append("\r\n");
    bool first = true;
    for (;;) {
      const auto rows = tx.exec(fetch);
      for (const auto& r : rows) {
        for (pqxx::row::size_type i = 0; i < r.size(); ++i) {
          if (i) text.push_back(',');
          if (!r[i].is_null()) appendCsvField(text, std::string_view(r[i].c_str(), r[i].size()));
        }
        text.append("\r\n");
      }
      out.rows += rows.size();
      if (!text.empty() && (first || !rows.empty())) {
        if (!sink(text)) {
          out.stopped = true;
          break;
        }
      }
      first = false;
      text.clear();
      if (rows.size() < chunk) break;
    }
    out.ok = true;
  } catch (const std::exception& e) {
    out.ok = false;
    out.message = e.what();
  }
  return out;
}

}  // namespace sbc::admin::imports

#include "admin-ui/imports/csv_import.h"

#include <pqxx/pqxx>

#include <algorithm>
#include <array>
#include <chrono>
#include <istream>
#include <tuple>
#include <unordered_map>

#include <boost/json.hpp>

#include "admin-ui/imports/csv.h"
#include "admin-ui/imports/e164.h"

namespace sbc::admin::imports {

std::string_view importStatusName(ImportStatus s) {
  switch (s) {
    case ImportStatus::Imported:
      return "imported";
    case ImportStatus::Refused:
      return "refused";
    case ImportStatus::Failed:
      return "failed";
  }
  return "?";
}

namespace {

constexpr std::string_view kStaging = "sbc_import_staging";
constexpr std::size_t kMaxNote = 200;
constexpr std::size_t kMaxDescription = 1000;

struct Column {
  std::string_view name;
  bool required;
};

// Staging columns are generic (line, c1..c4 as text) so that one COPY path
// serves every target; each target's apply SQL casts what it needs.
constexpr std::array<Column, 3> kPortedColumns{
    {{"number", true}, {"routing_number", true}, {"note", false}}};
constexpr std::array<Column, 4> kDidColumns{
    {{"number", true}, {"trunk", true}, {"status", false}, {"description", false}}};

std::span<const Column> columnsOf(ImportTarget t) {
  if (t == ImportTarget::PortedNumbers) return kPortedColumns;
  return kDidColumns;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string cut(std::string_view v) {
  return std::string(v.substr(0, 64));
}

struct TrunkInfo {
  long long id;
  bool pbx;
};

}  // namespace

struct CsvImport::Impl {
  Impl(pqxx::connection& c, ImportTarget t, ImportOptions o)
      : conn(c),
        target(t),
        opt(std::move(o)),
        parser([this](const CsvRecord& r) { onRecord(r); }),
        started(std::chrono::steady_clock::now()) {
    const auto cols = columnsOf(target);
    col_index.assign(cols.size(), -1);
    if (target == ImportTarget::Dids && opt.mode == ImportMode::Replace) {
      fail("replace mode is only for ported numbers: DIDs are assets, delete them explicitly");
      return;
    }
    try {
      tx = std::make_unique<pqxx::work>(conn, "csv_import");
      // The duplicate check and the upsert sort the whole file: in memory
      // rather than in temp files (a million rows is ~100 MB of sort).
      tx->exec0("SET LOCAL work_mem = '128MB'");
      tx->exec0("CREATE TEMP TABLE " + std::string(kStaging) +
                " (line bigint NOT NULL, c1 text NOT NULL, c2 text NOT NULL, c3 text NOT NULL,"
                " c4 text NOT NULL) ON COMMIT DROP");
      if (target == ImportTarget::Dids) {
        for (const auto& r : tx->exec("SELECT id, name, kind = 'pbx' FROM trunks"))
          trunks.emplace(r[1].c_str(), TrunkInfo{r[0].as<long long>(), r[2].as<bool>()});
      }
      copy = std::make_unique<pqxx::stream_to>(
          *tx, std::string(kStaging), std::vector<std::string>{"line", "c1", "c2", "c3", "c4"});
    } catch (const std::exception& e) {
      fail(e.what());
    }
  }

  ~Impl() {
    // A stream left open (error path) must be closed before its transaction
    // goes; both destructors swallow errors.
    copy.reset();
    tx.reset();
  }

  void fail(std::string msg) {
    if (!failed) {
      failed = true;
      fail_message = std::move(msg);
    }
  }

  void addError(std::size_t line, std::string_view field, std::string_view rule,
                std::string message, std::string_view value) {
    ++error_count;
    if (errors.size() < opt.max_reported_errors)
      errors.push_back(
          RowError{line, std::string(field), std::string(rule), std::move(message), cut(value)});
  }

  void onHeader(const CsvRecord& rec) {
    header_done = true;
    if (rec.error != CsvError::None) {
      addError(rec.line, "header", "csv_syntax", std::string(csvErrorText(rec.error)), "");
      header_bad = true;
      return;
    }
    const auto cols = columnsOf(target);
    file_columns = rec.fields.size();
    for (std::size_t i = 0; i < rec.fields.size(); ++i) {
      const auto name = trim(rec.fields[i]);
      auto it = std::find_if(cols.begin(), cols.end(),
                             [&](const Column& c) { return iequals(c.name, name); });
      if (it == cols.end()) {
        addError(rec.line, "header", "unknown_column",
                 "unknown column '" + cut(name) + "'; expected " + expected(), name);
        header_bad = true;
        continue;
      }
      auto& slot = col_index[static_cast<std::size_t>(it - cols.begin())];
      if (slot >= 0) {
        addError(rec.line, "header", "duplicate_column", "column '" + cut(name) + "' twice", name);
        header_bad = true;
      }
      slot = static_cast<int>(i);
    }
    for (std::size_t c = 0; c < cols.size(); ++c) {
      if (cols[c].required && col_index[c] < 0) {
        addError(rec.line, "header", "missing_column",
                 "the header line must name the column '" + std::string(cols[c].name) +
                     "'; expected " + expected(),
                 "");
        header_bad = true;
      }
    }
  }

  std::string expected() const {
    std::string s;
    for (const auto& c : columnsOf(target)) {
      if (!s.empty()) s += ',';
      s += c.required ? std::string(c.name) : "[" + std::string(c.name) + "]";
    }
    return s;
  }

  std::string_view field(const CsvRecord& rec, std::size_t col) const {
    const int i = col_index[col];
    return i < 0 ? std::string_view{} : trim(rec.fields[static_cast<std::size_t>(i)]);
  }

  bool checkNumber(std::size_t line, std::string_view name, std::string_view v) {
    if (auto issue = checkE164(v)) {
      addError(line, name, numberRuleName(issue->rule),
               std::string(numberRuleText(issue->rule)) + " (character " +
                   std::to_string(issue->position) + ")",
               v);
      return false;
    }
    return true;
  }

  // Fills row's c1..c4; false (errors recorded) when the row is bad.
  bool convertPorted(const CsvRecord& rec) {
    const auto number = field(rec, 0), routing = field(rec, 1), note = field(rec, 2);
    bool ok = checkNumber(rec.line, "number", number);
    ok = checkNumber(rec.line, "routing_number", routing) && ok;
    if (note.size() > kMaxNote) {
      addError(rec.line, "note", "too_long",
               "a note has at most " + std::to_string(kMaxNote) + " characters", note);
      ok = false;
    }
    if (!ok) return false;
    std::get<1>(row).assign(number);
    std::get<2>(row).assign(routing);
    std::get<3>(row).assign(note);
    std::get<4>(row).clear();
    return true;
  }

  bool convertDid(const CsvRecord& rec) {
    const auto number = field(rec, 0), trunk = field(rec, 1), status_in = field(rec, 2),
               description = field(rec, 3);
    bool ok = checkNumber(rec.line, "number", number);
    const std::string_view status = status_in.empty() ? std::string_view("active") : status_in;
    if (status != "active" && status != "porting_in" && status != "ported_out" &&
        status != "reserved") {
      addError(rec.line, "status", "invalid_status",
               "status is one of active, porting_in, ported_out, reserved", status_in);
      ok = false;
    }
    std::string trunk_id;
    if (!trunk.empty()) {
      auto it = trunks.find(std::string(trunk));
      if (it == trunks.end()) {
        addError(rec.line, "trunk", "unknown_trunk", "no trunk of this name", trunk);
        ok = false;
      } else if (!it->second.pbx) {
        addError(rec.line, "trunk", "not_pbx", "DIDs are delivered to pbx trunks only", trunk);
        ok = false;
      } else {
        trunk_id = std::to_string(it->second.id);
      }
    } else if (status == "active") {
      addError(rec.line, "trunk", "required", "an active DID needs a trunk", "");
      ok = false;
    }
    if (description.size() > kMaxDescription) {
      addError(rec.line, "description", "too_long",
               "a description has at most " + std::to_string(kMaxDescription) + " characters",
               description);
      ok = false;
    }
    if (!ok) return false;
    std::get<1>(row).assign(number);
    std::get<2>(row) = std::move(trunk_id);
    std::get<3>(row).assign(status_in);  // '' = keep (update) / active (insert)
    std::get<4>(row).assign(description);
    return true;
  }

  void onRecord(const CsvRecord& rec) {
    if (failed || header_bad) return;
    if (!header_done) {
      onHeader(rec);
      return;
    }
    ++rows_read;
    if (opt.on_progress && opt.progress_every && rows_read % opt.progress_every == 0)
      opt.on_progress(rows_read);
    if (rec.error != CsvError::None) {
      addError(rec.line, "", "csv_syntax", std::string(csvErrorText(rec.error)), "");
      return;
    }
    if (rec.fields.size() != file_columns) {
      addError(rec.line, "", "field_count",
               "expected " + std::to_string(file_columns) + " fields, found " +
                   std::to_string(rec.fields.size()),
               "");
      return;
    }
    const bool ok = target == ImportTarget::PortedNumbers ? convertPorted(rec) : convertDid(rec);
    if (!ok) return;
    // Good rows are copied even once the file is known to be refused: only
    // the staging table can tell the duplicates, and the report lists them all.
    std::get<0>(row) = static_cast<long long>(rec.line);
    try {
      *copy << row;
      ++rows_copied;
    } catch (const std::exception& e) {
      fail(e.what());
    }
  }

  void duplicates(ImportResult& r) {
    const auto total =
        tx->exec1("SELECT count(*) - count(DISTINCT c1) FROM " + std::string(kStaging))[0]
            .as<std::uint64_t>();
    dup_count = total;
    if (total == 0) return;
    error_count += total;
    const auto rows =
        tx->exec_params("SELECT s.line, s.c1, f.first FROM " + std::string(kStaging) +
                            " s JOIN (SELECT c1, min(line) AS first FROM " + std::string(kStaging) +
                            " GROUP BY c1 HAVING count(*) > 1) f USING (c1)"
                            " WHERE s.line <> f.first ORDER BY s.line LIMIT $1",
                        static_cast<long long>(opt.max_reported_errors));
    for (const auto& d : rows) {
      errors.push_back(RowError{d[0].as<std::size_t>(), "number", "duplicate",
                                "duplicate of line " + std::string(d[2].c_str()), d[1].c_str()});
    }
    std::stable_sort(errors.begin(), errors.end(),
                     [](const RowError& a, const RowError& b) { return a.line < b.line; });
    if (errors.size() > opt.max_reported_errors) errors.resize(opt.max_reported_errors);
    (void)r;
  }

  void apply(ImportResult& r) {
    const std::string src =
        "(SELECT DISTINCT ON (c1) * FROM " + std::string(kStaging) + " ORDER BY c1, line)";
    if (target == ImportTarget::PortedNumbers) {
      const auto counts = tx->exec_params1(
          "WITH up AS (INSERT INTO ported_numbers (number, routing_number, note, source)"
          " SELECT c1, c2, c3, $1 FROM " +
              src +
              " s"
              " ON CONFLICT (number) DO UPDATE SET routing_number = EXCLUDED.routing_number,"
              " note = EXCLUDED.note, source = EXCLUDED.source"
              " WHERE (ported_numbers.routing_number, ported_numbers.note)"
              " IS DISTINCT FROM (EXCLUDED.routing_number, EXCLUDED.note)"
              " RETURNING (xmax = 0) AS ins)"
              " SELECT count(*) FILTER (WHERE ins), count(*) FILTER (WHERE NOT ins) FROM up",
          opt.source);
      r.inserted = counts[0].as<std::uint64_t>();
      r.updated = counts[1].as<std::uint64_t>();
    } else {
      // Columns absent from the file (or an empty status) keep their value
      // on update. Update first, then insert what is new: an upsert's
      // EXCLUDED row cannot say "keep".
      const std::string desc_set = col_index[3] >= 0 ? "s.c4" : "d.description";
      const std::string new_status = "CASE WHEN s.c3 = '' THEN d.status ELSE s.c3 END";
      const auto updated = tx->exec0(
          "UPDATE dids d SET trunk_id = nullif(s.c2, '')::bigint, status = " + new_status +
          ", description = " + desc_set + " FROM " + src +
          " s WHERE d.number = s.c1"
          " AND (d.trunk_id, d.status, d.description) IS DISTINCT FROM"
          " (nullif(s.c2, '')::bigint, " +
          new_status + ", " + desc_set + ")");
      const auto inserted = tx->exec0(
          "INSERT INTO dids (number, trunk_id, status, description)"
          " SELECT c1, nullif(c2, '')::bigint, coalesce(nullif(c3, ''), 'active'), c4 FROM " +
          src + " s WHERE NOT EXISTS (SELECT 1 FROM dids d WHERE d.number = s.c1)");
      r.inserted = static_cast<std::uint64_t>(inserted.affected_rows());
      r.updated = static_cast<std::uint64_t>(updated.affected_rows());
    }
    if (opt.mode == ImportMode::Replace) {
      r.deleted = tx->exec0("DELETE FROM ported_numbers p WHERE NOT EXISTS (SELECT 1 FROM " +
                            std::string(kStaging) + " s WHERE s.c1 = p.number::text)")
                      .affected_rows();
    }
  }

  ImportResult finish() {
    ImportResult r;
    if (finished) {
      r.message = "finish() called twice";
      return r;
    }
    finished = true;
    parser.finish();
    if (!failed && !header_done)
      addError(1, "header", "missing_header", "the file is empty; expected a header " + expected(),
               "");
    r.rows_read = rows_read;
    if (opt.on_progress) opt.on_progress(rows_read);
    try {
      if (!failed) {
        copy->complete();
        if (!header_bad) duplicates(r);
        r.rows_valid = rows_copied - dup_count;
        if (error_count == 0 || (opt.skip_errors && !header_bad)) {
          apply(r);
          r.unchanged = r.rows_valid - r.inserted - r.updated;
          boost::json::object after{{"file_rows", r.rows_read},
                                    {"valid_rows", r.rows_valid},
                                    {"inserted", r.inserted},
                                    {"updated", r.updated},
                                    {"unchanged", r.unchanged},
                                    {"deleted", r.deleted},
                                    {"errors", error_count},
                                    {"skip_errors", opt.skip_errors},
                                    {"mode", opt.mode == ImportMode::Merge ? "merge" : "replace"}};
          if (target == ImportTarget::PortedNumbers) after["source"] = opt.source;
          tx->exec_params0(
              "INSERT INTO audit_log (who, action, entity, after, client_ip)"
              " VALUES ($1, 'import', $2, $3::jsonb, nullif($4, '')::inet)",
              opt.who, target == ImportTarget::PortedNumbers ? "ported_numbers" : "dids",
              boost::json::serialize(after), opt.client_ip.value_or(""));
          tx->commit();
          r.status = ImportStatus::Imported;
        } else {
          r.status = ImportStatus::Refused;
          r.rows_valid = 0;
        }
      }
    } catch (const std::exception& e) {
      fail(e.what());
    }
    copy.reset();
    tx.reset();  // aborts unless committed
    if (failed) {
      r.status = ImportStatus::Failed;
      r.message = fail_message;
      r.rows_valid = r.inserted = r.updated = r.unchanged = r.deleted = 0;
    }
    r.error_count = error_count;
    r.errors = std::move(errors);
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return r;
  }

  pqxx::connection& conn;
  ImportTarget target;
  ImportOptions opt;
  std::unique_ptr<pqxx::work> tx;
  std::unique_ptr<pqxx::stream_to> copy;
  CsvParser parser;
  std::chrono::steady_clock::time_point started;
  std::vector<int> col_index;
  std::size_t file_columns = 0;
  bool header_done = false;
  bool header_bad = false;
  bool failed = false;
  bool finished = false;
  std::string fail_message;
  std::vector<RowError> errors;
  std::uint64_t error_count = 0;
  std::uint64_t rows_read = 0;
  std::uint64_t rows_copied = 0;
  std::uint64_t dup_count = 0;
  std::tuple<long long, std::string, std::string, std::string, std::string> row;
  std::unordered_map<std::string, TrunkInfo> trunks;
};

CsvImport::CsvImport(pqxx::connection& conn, ImportTarget target, ImportOptions options)
    : impl_(std::make_unique<Impl>(conn, target, std::move(options))) {}
CsvImport::~CsvImport() = default;

void CsvImport::feed(std::string_view chunk) {
  if (impl_->failed || impl_->header_bad || impl_->finished) return;
  impl_->parser.feed(chunk);
}

ImportResult CsvImport::finish() {
  return impl_->finish();
}

ImportResult importCsv(pqxx::connection& conn, ImportTarget target, std::istream& in,
                       ImportOptions options) {
  CsvImport imp(conn, target, std::move(options));
  std::string buf(std::size_t{64} * 1024, '\0');
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const auto n = in.gcount();
    if (n <= 0) break;
    imp.feed(std::string_view(buf.data(), static_cast<std::size_t>(n)));
  }
  return imp.finish();
}

}  // namespace sbc::admin::imports

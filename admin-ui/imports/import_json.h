#pragma once
// Boost.JSON for the import and CDR export routes. Query parameters are
// passed as a JSON object of strings (the server builds it from the target).
//
//   POST /api/v1/ported-numbers/import?skip_errors=true&mode=merge&source=feed-x
//     -> toJson(ImportResult)   (200 imported, 422 refused, 500 failed)
//   GET  /api/v1/cdrs.csv?from=...&to=...&number=...&trunk_id=3&result=answered&sip_code=486
#include <boost/json/object.hpp>

#include <string>
#include <variant>
#include <vector>

#include "admin-ui/imports/cdr_export.h"
#include "admin-ui/imports/csv_import.h"

namespace sbc::admin::imports {

boost::json::object toJson(const ImportResult& r);
int httpStatus(const ImportResult& r);

struct ParamError {
  std::string field;
  std::string message;
};
template <class T>
using ParamResult = std::variant<T, std::vector<ParamError>>;

// skip_errors (true|false), mode (merge|replace), source, max_errors (1..10000).
// who/client_ip/on_progress are the server's to set afterwards.
ParamResult<ImportOptions> importOptionsFromJson(const boost::json::object& query);
// from, to (RFC 3339), number, trunk_id, result (answered|unanswered), sip_code.
ParamResult<CdrFilter> cdrFilterFromJson(const boost::json::object& query);

boost::json::object toJson(const std::vector<ParamError>& errors);

}  // namespace sbc::admin::imports

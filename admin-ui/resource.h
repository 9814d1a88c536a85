#pragma once
// A table exposed as a REST resource from a declarative description: which
// columns exist, their JSON type and rules, which may be written, sorted and
// filtered on. registerResource() then adds
//
//   GET    /api/v1/<path>            list: limit/offset, sort=col|-col, col=value filters, q=
//   GET    /api/v1/<path>/{key}      one row (ETag: its version)
//   POST   /api/v1/<path>            create (201)
//   PATCH  /api/v1/<path>/{key}      update: If-Match or "version" required; stale -> 409
//   DELETE /api/v1/<path>/{key}      delete (If-Match optional)
//
// Every write runs in one transaction with its audit_log row (before/after
// as the API shows them). SQL is built only from the description's names;
// every value travels as a parameter (one jsonb document for a row's values,
// expanded with jsonb_populate_record).
#include <boost/json/object.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "admin-ui/api.h"

namespace sbc::admin {

enum class FieldType : std::uint8_t { kText, kInt, kNumber, kBool, kTextArray, kTimestamp };

struct Field {
  std::string name{};
  FieldType type = FieldType::kText;
  bool writable = true;      // clients may send it
  bool create_only = false;  // e.g. a DID's number: set once
  bool required = false;     // on create
  bool nullable = false;
  bool sortable = false;
  bool filterable = false;
  std::int64_t min = INT64_MIN;  // kInt/kNumber bounds; kText/kTextArray item length
  std::int64_t max = INT64_MAX;
  std::string pattern{};               // kText (and array items): ECMAScript regex, whole value
  std::vector<std::string> choices{};  // kText: one of these
};

// Validates one JSON object against fields (unknown keys, types, rules).
// `where` prefixes field names in errors ("gateways[0].").
std::optional<http::Response> validateObject(const boost::json::object& body,
                                             const std::vector<Field>& fields, bool create,
                                             const std::vector<std::string>& extra_keys = {},
                                             const std::string& where = {});

struct WriteContext {
  Transaction& txn;
  const boost::json::object& body;  // as the client sent it, validated
  std::string key;                  // the row's key (after insert for a create)
  bool create;
  const Principal& who;
};

struct ResourceSpec {
  std::string path;    // "trunks": /api/v1/trunks
  std::string entity;  // audit_log.entity: "trunk"
  std::string table;
  std::string key = "id";
  bool key_is_int = true;
  bool versioned = true;  // has version (bumped by trigger) and updated_at
  // The row as the API shows it, a jsonb expression over alias t.
  std::string json_expr = "to_jsonb(t)";
  std::vector<Field> fields;
  std::vector<std::string> search_columns;  // q= matches any of them (ILIKE)
  std::string default_sort;                 // a sortable field; empty: key
  Access read = Access::kViewer;
  Access write = Access::kOperator;
  // Keys of the body handled by `children` rather than columns (e.g. gateways).
  std::vector<std::string> child_keys;

  // Before the transaction, on the I/O thread: may rewrite the body (e.g.
  // hash a password into password_hash: offload the work) and add fields to
  // the answer only (a new API token). An answer stops the request.
  std::function<boost::asio::awaitable<std::optional<http::Response>>(
      Api&, const Principal&, boost::json::object& body, bool create,
      boost::json::object& answer_extra)>
      prepare;
  // Inside the transaction after the row's insert/update: child rows.
  std::function<std::optional<http::Response>(WriteContext&)> children;
  // Inside the transaction before a delete (after the version check): an
  // answer refuses it (e.g. the last enabled admin).
  std::function<std::optional<http::Response>(Transaction&, const std::string& key)> before_delete;
  // Extra body keys a `prepare` adds that clients may not send.
  std::vector<std::string> internal_columns;
};

void registerResource(Api& api, const std::shared_ptr<const ResourceSpec>& spec);

// Adds the audit row (before/after are jsonb text or empty for NULL).
void writeAudit(Transaction& txn, const Principal& who, std::string_view action,
                std::string_view entity, std::string_view entity_id, const std::string& before,
                const std::string& after, const std::string& client_ip);

// Version from If-Match ("3", W/"3") or the body's "version"; nullopt if neither.
std::optional<std::int64_t> requestedVersion(const http::Request& request,
                                             const boost::json::object* body);

}  // namespace sbc::admin

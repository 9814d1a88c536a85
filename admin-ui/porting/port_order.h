#pragma once
// Number porting orders: the domain types, their validation and the parsing
// of numbers pasted by an operator or uploaded as CSV. No database here (see
// port_order_store.h) and nothing that throws on bad input.
//
// Lifecycle (enforced again by migrations/0002 triggers):
//   draft -> submitted -> foc_confirmed -> completed
//   submitted|foc_confirmed -> rejected (reason required) -> draft (fix, resubmit)
//   draft|submitted|foc_confirmed|rejected -> cancelled
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "admin-ui/imports/iso_time.h"

namespace sbc::admin::porting {

using imports::TimePoint;

enum class Direction { PortIn, PortOut };
enum class Status { Draft, Submitted, FocConfirmed, Completed, Rejected, Cancelled };

std::string_view directionName(Direction d);  // "port_in", "port_out"
std::optional<Direction> parseDirection(std::string_view s);
std::string_view statusName(Status s);  // as stored: "draft", "foc_confirmed", ...
std::optional<Status> parseStatus(std::string_view s);
bool isOpen(Status s);  // draft, submitted, foc_confirmed
bool transitionAllowed(Status from, Status to);

struct OrderNumber {
  std::string number;                         // E.164
  std::optional<std::string> routing_number;  // port-out: wins over the order's
  bool operator==(const OrderNumber&) const = default;
};

// What an operator fills in (create, and update while draft).
struct OrderFields {
  Direction direction = Direction::PortIn;
  std::string losing_carrier;
  std::string gaining_carrier;
  std::optional<long long> target_trunk_id;  // port-in: the PBX trunk
  std::string account_name;
  std::string account_number;
  std::string account_pin;
  std::string billing_number;
  std::string service_address;
  std::string authorized_by;
  std::optional<TimePoint> requested_foc;
  std::string notes;
  std::optional<std::string> routing_number;  // port-out: one for all numbers
  std::vector<OrderNumber> numbers;
};

struct OrderEvent {
  std::optional<Status> from;  // nullopt: created
  Status to = Status::Draft;
  TimePoint at{};
  std::string by_user;
  std::string note;
};

struct PortOrder {
  long long id = 0;
  Status status = Status::Draft;
  OrderFields fields;
  std::optional<TimePoint> confirmed_foc;
  std::string reject_reason;
  std::string created_by;
  long long version = 0;
  TimePoint created_at{};
  TimePoint updated_at{};
  std::vector<OrderEvent> events;  // oldest first
};

struct OrderSummary {
  long long id = 0;
  Direction direction = Direction::PortIn;
  Status status = Status::Draft;
  std::string losing_carrier;
  std::string gaining_carrier;
  std::optional<TimePoint> requested_foc;
  std::optional<TimePoint> confirmed_foc;
  std::size_t number_count = 0;
  long long version = 0;
  TimePoint updated_at{};
};

// ---- errors ---------------------------------------------------------------

enum class ErrorCode {
  Invalid,            // 422: issues name the fields
  NotFound,           // 404
  StaleVersion,       // 409: someone else changed the order
  NumberInOpenOrder,  // 409: issues name each number and the other order
  TransitionRefused,  // 409: from -> to is not a step of the lifecycle
  NotEditable,        // 409: only drafts are edited
  Database,           // 500 (or 503 when the connection is down)
};
std::string_view errorCodeName(ErrorCode c);  // "invalid", "not_found", ...
int httpStatus(ErrorCode c);

// One problem with one field (or one number of a list).
struct Issue {
  std::string field;       // "numbers[3]", "confirmed_foc", "numbers" (pasted text)...
  std::string rule;        // machine name: "required", "missing_plus", "duplicate", ...
  std::string message;     // for people
  std::size_t line = 0;    // pasted/CSV numbers: 1-based line ...
  std::size_t column = 0;  // ... and character of the problem
  std::string value;
  long long other_order_id = 0;  // NumberInOpenOrder
};

struct Error {
  ErrorCode code = ErrorCode::Database;
  std::string message;
  std::vector<Issue> issues;
};

template <class T>
class Result {
 public:
  Result(T v) : v_(std::in_place_index<0>, std::move(v)) {}      // NOLINT: implicit by design
  Result(Error e) : v_(std::in_place_index<1>, std::move(e)) {}  // NOLINT
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// ---- numbers from people --------------------------------------------------

struct ParsedNumbers {
  std::vector<OrderNumber> numbers;
  std::vector<Issue> issues;  // field "numbers", with line and column
};

// Pasted text: numbers separated by newlines, ',', ';' or tabs; inside a
// number, spaces, '-', '.', '(' and ')' are formatting and dropped. Blank
// entries are skipped. A number twice is an issue naming both lines.
ParsedNumbers parseNumberText(std::string_view text);

// CSV with a header line: number[,routing_number].
ParsedNumbers parseNumberCsv(std::string_view csv);

// ---- validation -----------------------------------------------------------

constexpr std::size_t kMaxNumbersPerOrder = 10'000;

// What any order (even a draft) must satisfy: numbers present, E.164,
// distinct; lengths; routing numbers only on port-out orders.
std::vector<Issue> validateFields(const OrderFields& f);

// What submission adds, short of the database look-ups: a port-in names its
// target trunk, a port-out has a routing number for every number.
std::vector<Issue> validateForSubmit(const OrderFields& f);

}  // namespace sbc::admin::porting

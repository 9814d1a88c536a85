#include "admin-ui/porting/port_order.h"

#include <algorithm>
#include <unordered_map>

#include "admin-ui/imports/csv.h"
#include "admin-ui/imports/e164.h"

namespace sbc::admin::porting {

using imports::checkE164;
using imports::normaliseE164;
using imports::numberRuleName;
using imports::numberRuleText;

std::string_view directionName(Direction d) {
  return d == Direction::PortIn ? "port_in" : "port_out";
}

std::optional<Direction> parseDirection(std::string_view s) {
  if (s == "port_in") return Direction::PortIn;
  if (s == "port_out") return Direction::PortOut;
  return std::nullopt;
}

std::string_view statusName(Status s) {
  switch (s) {
    case Status::Draft:
      return "draft";
    case Status::Submitted:
      return "submitted";
    case Status::FocConfirmed:
      return "foc_confirmed";
    case Status::Completed:
      return "completed";
    case Status::Rejected:
      return "rejected";
    case Status::Cancelled:
      return "cancelled";
  }
  return "?";
}

std::optional<Status> parseStatus(std::string_view s) {
  for (Status st : {Status::Draft, Status::Submitted, Status::FocConfirmed, Status::Completed,
                    Status::Rejected, Status::Cancelled})
    if (statusName(st) == s) return st;
  return std::nullopt;
}

bool isOpen(Status s) {
  return s == Status::Draft || s == Status::Submitted || s == Status::FocConfirmed;
}

bool transitionAllowed(Status from, Status to) {
  switch (from) {
    case Status::Draft:
      return to == Status::Submitted || to == Status::Cancelled;
    case Status::Submitted:
      return to == Status::FocConfirmed || to == Status::Rejected || to == Status::Cancelled;
    case Status::FocConfirmed:
      return to == Status::Completed || to == Status::Rejected || to == Status::Cancelled;
    case Status::Rejected:
      return to == Status::Draft || to == Status::Cancelled;
    case Status::Completed:
    case Status::Cancelled:
      return false;
  }
  return false;
}

std::string_view errorCodeName(ErrorCode c) {
  switch (c) {
    case ErrorCode::Invalid:
      return "invalid";
    case ErrorCode::NotFound:
      return "not_found";
    case ErrorCode::StaleVersion:
      return "stale_version";
    case ErrorCode::NumberInOpenOrder:
      return "number_in_open_order";
    case ErrorCode::TransitionRefused:
      return "transition_refused";
    case ErrorCode::NotEditable:
      return "not_editable";
    case ErrorCode::Database:
      return "database";
  }
  return "?";
}

int httpStatus(ErrorCode c) {
  switch (c) {
    case ErrorCode::Invalid:
      return 422;
    case ErrorCode::NotFound:
      return 404;
    case ErrorCode::StaleVersion:
    case ErrorCode::NumberInOpenOrder:
    case ErrorCode::TransitionRefused:
    case ErrorCode::NotEditable:
      return 409;
    case ErrorCode::Database:
      return 500;
  }
  return 500;
}

namespace {

// Collects numbers, reporting bad and repeated ones with their place.
class NumberCollector {
 public:
  explicit NumberCollector(ParsedNumbers& out) : out_(out) {}

  void add(std::string_view text, std::size_t line, std::size_t column_base,
           std::optional<std::string> routing, const std::string& field = "numbers") {
    auto n = normaliseE164(text);
    if (n.issue) {
      out_.issues.push_back(Issue{field, std::string(numberRuleName(n.issue->rule)),
                                  std::string(numberRuleText(n.issue->rule)), line,
                                  column_base + n.issue->position,
                                  std::string(text.substr(0, 64))});
      return;
    }
    auto [it, fresh] = seen_.emplace(n.number, line);
    if (!fresh) {
      out_.issues.push_back(Issue{field, "duplicate",
                                  "listed twice (first on line " + std::to_string(it->second) + ")",
                                  line, column_base + 1, n.number});
      return;
    }
    if (out_.numbers.size() == kMaxNumbersPerOrder) {
      if (!too_many_) {
        out_.issues.push_back(
            Issue{field, "too_many",
                  "an order holds at most " + std::to_string(kMaxNumbersPerOrder) + " numbers",
                  line, 0, ""});
        too_many_ = true;
      }
      return;
    }
    out_.numbers.push_back(OrderNumber{std::move(n.number), std::move(routing)});
  }

 private:
  ParsedNumbers& out_;
  std::unordered_map<std::string, std::size_t> seen_;
  bool too_many_ = false;
};

std::string_view trimBlank(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

}  // namespace

ParsedNumbers parseNumberText(std::string_view text) {
  ParsedNumbers out;
  NumberCollector collect(out);
  std::size_t line = 1;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    const std::string_view row = text.substr(0, nl);
    std::size_t start = 0;
    while (start <= row.size()) {
      const auto sep = row.find_first_of(",;\t", start);
      const auto end = sep == std::string_view::npos ? row.size() : sep;
      const auto token = row.substr(start, end - start);
      if (!trimBlank(token).empty()) collect.add(token, line, start, std::nullopt);
      if (sep == std::string_view::npos) break;
      start = sep + 1;
    }
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
    ++line;
  }
  return out;
}

ParsedNumbers parseNumberCsv(std::string_view csv) {
  ParsedNumbers out;
  NumberCollector collect(out);
  bool header = true;
  int number_col = -1, routing_col = -1;
  bool header_bad = false;
  imports::CsvParser parser([&](const imports::CsvRecord& rec) {
    if (header_bad) return;
    if (rec.error != imports::CsvError::None) {
      out.issues.push_back(Issue{"numbers", "csv_syntax",
                                 std::string(imports::csvErrorText(rec.error)), rec.line, 0, ""});
      if (header) header_bad = true;
      return;
    }
    if (header) {
      header = false;
      for (std::size_t i = 0; i < rec.fields.size(); ++i) {
        const auto name = trimBlank(rec.fields[i]);
        if (name == "number" && number_col < 0) {
          number_col = static_cast<int>(i);
        } else if (name == "routing_number" && routing_col < 0) {
          routing_col = static_cast<int>(i);
        } else {
          out.issues.push_back(Issue{"numbers", "unknown_column",
                                     "the header is number[,routing_number]", rec.line, i + 1,
                                     std::string(name.substr(0, 64))});
          header_bad = true;
        }
      }
      if (number_col < 0 && !header_bad) {
        out.issues.push_back(Issue{"numbers", "missing_column",
                                   "the header line must name the column 'number'", rec.line, 0,
                                   ""});
        header_bad = true;
      }
      return;
    }
    const auto want = static_cast<std::size_t>(std::max(number_col, routing_col)) + 1;
    if (rec.fields.size() < want) {
      out.issues.push_back(Issue{"numbers", "field_count",
                                 "expected " + std::to_string(want) + " fields", rec.line, 0, ""});
      return;
    }
    std::optional<std::string> routing;
    if (routing_col >= 0) {
      const auto r = trimBlank(rec.fields[static_cast<std::size_t>(routing_col)]);
      if (!r.empty()) {
        if (auto issue = checkE164(r)) {
          out.issues.push_back(Issue{"routing_number", std::string(numberRuleName(issue->rule)),
                                     std::string(numberRuleText(issue->rule)), rec.line,
                                     issue->position, std::string(r.substr(0, 64))});
          return;
        }
        routing = std::string(r);
      }
    }
    collect.add(rec.fields[static_cast<std::size_t>(number_col)], rec.line, 0, std::move(routing));
  });
  parser.feed(csv);
  parser.finish();
  if (header && !header_bad)
    out.issues.push_back(Issue{"numbers", "missing_header",
                               "the CSV is empty; expected a header number[,routing_number]", 1, 0,
                               ""});
  return out;
}

namespace {

void checkLength(std::vector<Issue>& issues, std::string_view field, const std::string& v,
                 std::size_t max) {
  if (v.size() > max)
    issues.push_back(Issue{std::string(field), "too_long",
                           "at most " + std::to_string(max) + " characters", 0, 0, ""});
}

void checkNumber(std::vector<Issue>& issues, const std::string& field, const std::string& v) {
  if (auto issue = checkE164(v))
    issues.push_back(Issue{field, std::string(numberRuleName(issue->rule)),
                           std::string(numberRuleText(issue->rule)), 0, issue->position,
                           v.substr(0, 64)});
}

}  // namespace

std::vector<Issue> validateFields(const OrderFields& f) {
  std::vector<Issue> issues;
  checkLength(issues, "losing_carrier", f.losing_carrier, 200);
  checkLength(issues, "gaining_carrier", f.gaining_carrier, 200);
  checkLength(issues, "account_name", f.account_name, 200);
  checkLength(issues, "account_number", f.account_number, 100);
  checkLength(issues, "account_pin", f.account_pin, 64);
  checkLength(issues, "billing_number", f.billing_number, 32);
  checkLength(issues, "service_address", f.service_address, 500);
  checkLength(issues, "authorized_by", f.authorized_by, 200);
  checkLength(issues, "notes", f.notes, 10'000);
  if (f.numbers.empty())
    issues.push_back(Issue{"numbers", "required", "an order holds at least one number", 0, 0, ""});
  if (f.numbers.size() > kMaxNumbersPerOrder)
    issues.push_back(Issue{
        "numbers", "too_many",
        "an order holds at most " + std::to_string(kMaxNumbersPerOrder) + " numbers", 0, 0, ""});
  if (f.routing_number) {
    if (f.direction == Direction::PortIn)
      issues.push_back(Issue{"routing_number", "port_out_only",
                             "routing numbers belong to port-out orders", 0, 0, ""});
    else
      checkNumber(issues, "routing_number", *f.routing_number);
  }
  std::unordered_map<std::string_view, std::size_t> seen;
  for (std::size_t i = 0; i < f.numbers.size(); ++i) {
    const auto& n = f.numbers[i];
    const std::string field = "numbers[" + std::to_string(i) + "]";
    checkNumber(issues, field + ".number", n.number);
    if (auto [it, fresh] = seen.emplace(n.number, i); !fresh)
      issues.push_back(Issue{field + ".number", "duplicate",
                             "the same number as numbers[" + std::to_string(it->second) + "]", 0, 0,
                             n.number});
    if (n.routing_number) {
      if (f.direction == Direction::PortIn)
        issues.push_back(Issue{field + ".routing_number", "port_out_only",
                               "routing numbers belong to port-out orders", 0, 0, ""});
      else
        checkNumber(issues, field + ".routing_number", *n.routing_number);
    }
  }
  return issues;
}

std::vector<Issue> validateForSubmit(const OrderFields& f) {
  std::vector<Issue> issues;
  if (f.direction == Direction::PortIn && !f.target_trunk_id)
    issues.push_back(Issue{"target_trunk_id", "required",
                           "a port-in order names the PBX trunk that receives its numbers", 0, 0,
                           ""});
  if (f.direction == Direction::PortOut && !f.routing_number) {
    for (std::size_t i = 0; i < f.numbers.size(); ++i)
      if (!f.numbers[i].routing_number)
        issues.push_back(Issue{"numbers[" + std::to_string(i) + "].routing_number", "required",
                               "a port-out needs a routing number for every number (or one for "
                               "the whole order)",
                               0, 0, f.numbers[i].number});
  }
  return issues;
}

}  // namespace sbc::admin::porting

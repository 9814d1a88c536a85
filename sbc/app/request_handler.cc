#include "sbc/app/request_handler.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>

#include "sbc/txn/transaction.h"

namespace sbc::app {
namespace {

std::string newTag() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string tag(12, '0');
  uint64_t v = rng();
  for (auto& c : tag) {
    c = kHex[v & 15];
    v >>= 4;
  }
  return tag;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

RequestHandler::RequestHandler(HandlerOptions options) : options_(std::move(options)) {}

bool RequestHandler::addressedToUs(const sip::Message& request) const {
  const sip::Uri& uri = request.requestUri();
  if (!uri.isSip() || !uri.user.empty()) return false;
  return std::any_of(options_.local_hosts.begin(), options_.local_hosts.end(),
                     [&](const std::string& h) { return equalsIgnoreCase(h, uri.host); });
}

void RequestHandler::respond(txn::ServerTransaction& txn, sip::Message response) {
  if (!options_.product.empty()) response.setHeader(sip::HeaderId::Server, options_.product);
  txn.sendResponse(std::move(response));
}

void RequestHandler::onNewRequest(txn::ServerTransaction& txn, const sip::Message& request) {
  ++stats_.requests;
  const std::string tag = newTag();

  if (request.parseError() != sip::ParseError::Ok) {
    const sip::ErrorStatus st = sip::errorStatus(request.parseError());
    ++stats_.rejected_invalid;
    spdlog::debug("rejecting {} request: {} ({})", request.methodText(),
                  sip::toString(request.parseError()), st.code);
    respond(txn, sip::makeResponse(request, st.code, st.reason, tag));
    return;
  }

  const bool to_us = addressedToUs(request);
  sip::ValidationPolicy policy = policy_;
  policy.allow_zero_max_forwards = to_us && request.method() == sip::Method::Options;
  sip::ValidationResult v = sip::validateRequest(request, policy);
  if (!v.ok()) {
    ++stats_.rejected_invalid;
    spdlog::debug("rejecting {} request: {} ({})", request.methodText(), sip::toString(v.error),
                  v.status);
    respond(txn, sip::makeResponse(request, v, tag));
    return;
  }

  const auto to = request.to();
  const bool in_dialog = to.ok() && !to->tag.empty();

  switch (request.method()) {
    case sip::Method::Cancel:
      answerCancel(txn, request);
      return;
    case sip::Method::Options:
      if (to_us && !in_dialog) {
        ++stats_.options_answered;
        sip::Message ok = sip::makeResponse(request, 200, {}, tag);
        std::string allow;
        for (sip::Method m : policy_.allowed_methods) {
          if (!allow.empty()) allow += ", ";
          allow += sip::methodName(m);
        }
        ok.setHeader(sip::HeaderId::Allow, allow);
        ok.setHeader(sip::HeaderId::Accept, "application/sdp");
        ok.setHeader(sip::HeaderId::Supported, "100rel, timer, replaces");
        respond(txn, std::move(ok));
        return;
      }
      break;
    case sip::Method::Register:
      // No trunk may register yet; the registrar arrives with the trunks.
      respond(txn, sip::makeResponse(request, 403, "Registration Not Enabled", tag));
      return;
    default:
      break;
  }
  if (in_dialog) {
    // No dialogs exist yet, so no in-dialog request can match one.
    respond(txn, sip::makeResponse(request, 481, {}, {}));
    return;
  }
  respond(txn, sip::makeResponse(request, 404, "No Route", tag));
}

void RequestHandler::answerCancel(txn::ServerTransaction& txn, const sip::Message& cancel) {
  txn::ServerTransaction* invite =
      layer_ ? layer_->findInviteServerTransactionForCancel(cancel) : nullptr;
  if (!invite) {
    respond(txn, sip::makeResponse(cancel, 481, {}, {}));
    return;
  }
  // RFC 3261 9.2: 200 to the CANCEL; 487 to the INVITE if it is still open.
  std::string invite_tag(invite->toTag());
  if (invite_tag.empty()) invite_tag = newTag();
  respond(txn, sip::makeResponse(cancel, 200, {}, invite_tag));
  if (invite->state() == txn::TxnState::Proceeding) {
    respond(*invite, sip::makeResponse(invite->request(), 487, {}, invite_tag));
  }
}

void RequestHandler::onTimeout(txn::Transaction& txn, txn::TimerId timer) {
  spdlog::debug("transaction {} timed out (timer {})", txn.id().value, txn::toString(timer));
}

void RequestHandler::onTransportError(txn::Transaction& txn) {
  spdlog::debug("transaction {}: transport error", txn.id().value);
}

}  // namespace sbc::app

#pragma once
// The transaction user of this stage of the SBC: answers every request with a
// correct final response. OPTIONS addressed to the SBC itself get 200 (the
// keepalive every PBX and carrier sends); requests the SBC cannot route yet
// get 404, in-dialog requests for dialogs it does not have 481, CANCEL is
// matched to its INVITE (RFC 3261 9.2). The B2BUA replaces the routing part.
#include <cstdint>
#include <string>
#include <vector>

#include "sbc/sip/validate.h"
#include "sbc/txn/transaction_layer.h"
#include "sbc/txn/transaction_user.h"

namespace sbc::app {

struct HandlerOptions {
  // Server header value on our responses; empty: none.
  std::string product;
  // Hosts that mean "this SBC" in a Request-URI: listen addresses and names.
  std::vector<std::string> local_hosts;
};

struct HandlerStats {
  std::uint64_t requests = 0;
  std::uint64_t rejected_invalid = 0;  // 4xx/5xx from validation or parsing
  std::uint64_t options_answered = 0;
};

class RequestHandler final : public txn::TransactionUser {
 public:
  explicit RequestHandler(HandlerOptions options);
  void attach(txn::TransactionLayer& layer) { layer_ = &layer; }

  void onNewRequest(txn::ServerTransaction& txn, const sip::Message& request) override;
  // This stage sends no requests of its own, so no responses can match.
  void onResponse(txn::ClientTransaction&, const sip::Message&) override {}
  void onTimeout(txn::Transaction& txn, txn::TimerId timer) override;
  void onTransportError(txn::Transaction& txn) override;

  const HandlerStats& stats() const { return stats_; }
  // True when the Request-URI names the SBC itself (no user part).
  bool addressedToUs(const sip::Message& request) const;

 private:
  void respond(txn::ServerTransaction& txn, sip::Message response);
  void answerCancel(txn::ServerTransaction& txn, const sip::Message& cancel);

  HandlerOptions options_;
  sip::ValidationPolicy policy_;
  txn::TransactionLayer* layer_ = nullptr;
  HandlerStats stats_;
};

}  // namespace sbc::app

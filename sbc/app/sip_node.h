#pragma once
// One SIP worker: transport, timers, transaction layer and request handler on
// one io_context. Asio stays in sip_node.cc; this header is cheap to include.
#include <memory>

#include "sbc/app/config.h"
#include "sbc/app/request_handler.h"
#include "sbc/transport/transport.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace sbc::app {

class SipNode {
 public:
  SipNode(boost::asio::io_context& io, const Config& config);
  ~SipNode();
  SipNode(const SipNode&) = delete;
  SipNode& operator=(const SipNode&) = delete;

  // Binds the listeners; throws std::runtime_error on start-up failure.
  void start();
  void stop();
  transport::ReloadResult reloadCertificates();

  const transport::Stats& transportStats() const;
  const RequestHandler& handler() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sbc::app

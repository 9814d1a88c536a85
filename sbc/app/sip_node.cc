#include "sbc/app/sip_node.h"

#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>

#include <optional>

#include "sbc/sip/message.h"
#include "sbc/txn/asio_timer_service.h"
#include "sbc/txn/transaction_layer.h"

namespace sbc::app {
namespace {

txn::Protocol toTxn(transport::Protocol p) {
  switch (p) {
    case transport::Protocol::kUdp:
      return txn::Protocol::Udp;
    case transport::Protocol::kTcp:
      return txn::Protocol::Tcp;
    case transport::Protocol::kTls:
      return txn::Protocol::Tls;
  }
  return txn::Protocol::Udp;
}

transport::Protocol toTransport(txn::Protocol p) {
  switch (p) {
    case txn::Protocol::Udp:
      return transport::Protocol::kUdp;
    case txn::Protocol::Tcp:
      return transport::Protocol::kTcp;
    case txn::Protocol::Tls:
      return transport::Protocol::kTls;
  }
  return transport::Protocol::kUdp;
}

transport::Protocol toTransport(ListenProtocol p) {
  switch (p) {
    case ListenProtocol::Udp:
      return transport::Protocol::kUdp;
    case ListenProtocol::Tcp:
      return transport::Protocol::kTcp;
    case ListenProtocol::Tls:
      return transport::Protocol::kTls;
  }
  return transport::Protocol::kUdp;
}

transport::Config transportConfig(const Config& c) {
  transport::Config t;
  for (const auto& l : c.listen) {
    transport::ListenerConfig lc;
    lc.realm = l.realm;
    lc.protocol = toTransport(l.protocol);
    lc.bind_address = l.address;
    lc.port = l.port;
    lc.tls.certificate_chain_file = l.certificate;
    lc.tls.private_key_file = l.private_key;
    lc.tls.ca_file = l.ca;
    lc.tls.verify_client = l.verify_client;
    t.listeners.push_back(std::move(lc));
  }
  t.limits.max_message_size = c.max_message_size;
  t.limits.idle_timeout = c.idle_timeout;
  return t;
}

HandlerOptions handlerOptions(const Config& c) {
  HandlerOptions h;
  h.product = c.product;
  h.local_hosts = c.domains;
  for (const auto& l : c.listen) h.local_hosts.push_back(l.address);
  return h;
}

}  // namespace

// Bridges the transaction layer's sender interface to the transport.
class TransportSender final : public txn::MessageSender {
 public:
  void bind(transport::Transport& t) { transport_ = &t; }

  bool send(const sip::Message&, std::string_view wire, const txn::Destination& to,
            txn::TxnId owner) override {
    auto address = transport::IpAddress::parse(to.address);
    if (!address || !transport_) return false;
    transport::SendTarget target;
    target.protocol = toTransport(to.protocol);
    target.remote = transport::Endpoint{*address, to.port};
    target.connection = to.connection;
    target.listener = to.listener;
    target.owner = owner.value;
    transport_->send(target, std::string(wire));
    return true;
  }

 private:
  transport::Transport* transport_ = nullptr;
};

struct SipNode::Impl {
  Impl(boost::asio::io_context& io, const Config& config)
      : timers(io),
        handler(handlerOptions(config)),
        layer(timers, sender, handler, layerOptions()),
        transport(
            io, transportConfig(config),
            transport::Callbacks{[this](transport::InboundMessage&& m) { onMessage(std::move(m)); },
                                 [this](const transport::TransportError& e) { onError(e); },
                                 {}}) {
    sender.bind(transport);
    handler.attach(layer);
  }

  static txn::LayerOptions layerOptions() {
    txn::LayerOptions o;
    // PBXs behind NAT often send from a port other than their Via says and
    // forget rport: answer where the request came from (RFC 3581 behaviour).
    o.symmetric_responses = true;
    return o;
  }

  void onMessage(transport::InboundMessage&& in) {
    txn::Peer source;
    source.protocol = toTxn(in.protocol);
    source.address = in.remote.address.toString();
    source.port = in.remote.port;
    source.connection = in.connection;
    source.listener = static_cast<uint32_t>(in.listener);
    sip::ParseResult parsed = in.protocol == transport::Protocol::kUdp
                                  ? sip::parseDatagram(std::move(in.bytes))
                                  : sip::parseMessage(std::move(in.bytes));
    if (parsed.discard()) {
      ++discarded;
      spdlog::debug("discarded a message from {}: {}", in.remote.toString(),
                    sip::toString(parsed.error));
      return;
    }
    layer.onMessage(std::move(*parsed.message), source);
  }

  void onError(const transport::TransportError& e) {
    if (e.owner != 0) layer.onTransportError(txn::TxnId{e.owner});
    if (e.kind == transport::ErrorKind::kFramingError) {
      spdlog::info("framing error from {}: {}", e.remote.toString(),
                   transport::toString(e.framing));
      answerFramingError(e);
    } else {
      spdlog::debug("transport error {} with {}: {}", transport::toString(e.kind),
                    e.remote.toString(), e.detail);
    }
  }

  // A stream message that cannot be framed (bad or missing Content-Length)
  // still gets a 400 when its head is readable; the connection then closes.
  void answerFramingError(const transport::TransportError& e) {
    if (e.head.empty()) return;
    sip::ParseResult parsed = sip::parseDatagram(std::string(e.head));
    if (parsed.discard() || !parsed.message->isRequest() ||
        parsed.message->method() == sip::Method::Ack)
      return;
    sip::Message response = sip::makeResponse(*parsed.message, 400, "Bad Content-Length");
    transport::SendTarget target;
    target.protocol = e.protocol;
    target.remote = e.remote;
    target.connection = e.connection;
    transport.send(target, response.serialize());
  }

  txn::AsioTimerService timers;
  TransportSender sender;
  RequestHandler handler;
  txn::TransactionLayer layer;
  transport::Transport transport;
  uint64_t discarded = 0;
};

SipNode::SipNode(boost::asio::io_context& io, const Config& config)
    : impl_(std::make_unique<Impl>(io, config)) {}

SipNode::~SipNode() = default;

void SipNode::start() {
  impl_->transport.start();
}
void SipNode::stop() {
  impl_->transport.stop();
}
transport::ReloadResult SipNode::reloadCertificates() {
  return impl_->transport.reloadCertificates();
}
const transport::Stats& SipNode::transportStats() const {
  return impl_->transport.stats();
}
const RequestHandler& SipNode::handler() const {
  return impl_->handler;
}

}  // namespace sbc::app

#pragma once
// What the transaction layer needs from the transport below it. The app
// adapts sbc::transport::Transport to this; tests use a recording fake.
#include <string_view>

#include "sbc/sip/message.h"
#include "sbc/txn/types.h"

namespace sbc::txn {

class MessageSender {
 public:
  virtual ~MessageSender() = default;

  // Sends `message`, whose wire form is `wire` (serialized once and reused for
  // every retransmission). `owner` is the transaction the bytes belong to (a
  // zero id for stateless sends): an asynchronous failure (connect refused,
  // TLS handshake, queue overflow) is reported back with
  // TransactionLayer::onTransportError(owner). Returns false when the message
  // cannot be sent at all (no such listener, bad address): the transaction
  // then handles a transport error at once. Must not call back into the
  // TransactionLayer from inside send().
  virtual bool send(const sip::Message& message, std::string_view wire, const Destination& to,
                    TxnId owner) = 0;

  // Reliable transports (TCP, TLS) get no retransmissions and zero-length
  // Timers D, I, J and K.
  virtual bool isReliable(const Destination& to) const { return to.protocol != Protocol::Udp; }
};

}  // namespace sbc::txn

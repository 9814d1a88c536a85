// SIP tracing: which calls are traced, and reporting their messages to the
// MessageTap. The trace key is the A leg's Call-ID for both legs.
#include "sbc/b2bua/engine_impl.h"

namespace sbc::b2bua {

void Engine::Impl::enableTrace(Call& c, bool with_initial_invite) {
  if (c.traced) return;
  c.traced = true;
  ++traced_calls;
  if (!with_initial_invite || !message_tap) return;
  // The INVITE that created the call arrived before the call (and its trace
  // flag) existed: report it now, as the server transaction holds it.
  if (const txn::ServerTransaction* stx = layer.findServer(c.a_invite)) {
    const std::string wire = stx->request().serialize();
    tap(c, c.a.callId(), true, stx->peer(), wire);
  }
}

void Engine::Impl::tapSent(const sip::Message& m, std::string_view wire,
                           const txn::Destination& to) {
  auto cid = m.callId();
  if (!cid.ok()) return;
  const Call* c = findCallByCallId(*cid);
  if (c && c->traced) tap(*c, *cid, false, to, wire);
}

void Engine::Impl::tapReceived(const sip::Message& m, const txn::Peer& source) {
  auto cid = m.callId();
  if (!cid.ok()) return;
  const Call* c = findCallByCallId(*cid);
  if (!c || !c->traced) return;
  const std::string wire = m.serialize();
  tap(*c, *cid, true, source, wire);
}

void Engine::Impl::tap(const Call& c, std::string_view call_id, bool inbound, const txn::Peer& peer,
                       std::string_view wire) {
  if (!message_tap) return;
  TapEvent e;
  e.call_id = c.a.callId();
  e.leg = call_id == c.a.callId() ? LegSide::A : LegSide::B;
  e.inbound = inbound;
  e.protocol = peer.protocol;
  if (const ListenerInfo* l = listenerByIndex(peer.listener)) {
    e.local_host = l->host;
    e.local_port = l->port;
  }
  e.remote_address = peer.address;
  e.remote_port = peer.port;
  e.wire = wire;
  message_tap->onMessage(e);
}

void Engine::setMessageTap(MessageTap* tap) {
  impl_->message_tap = tap;
}

std::string Engine::traceCall(std::string_view call_id) {
  Call* c = impl_->findCallByCallId(call_id);
  if (!c || c->finished) return {};
  impl_->enableTrace(*c, false);
  return std::string(c->a.callId());
}

}  // namespace sbc::b2bua

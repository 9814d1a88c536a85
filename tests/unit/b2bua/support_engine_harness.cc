#include "support_engine_harness.h"

#include <atomic>

#include "sbc/sdp/sdp.h"

namespace sbc::b2bua::testing {

sip::Message parse(std::string text) {
  sip::ParseResult r = sip::parseDatagram(std::move(text));
  EXPECT_TRUE(r.ok()) << sip::toString(r.error);
  if (!r.message) return sip::Message{};
  return std::move(*r.message);
}

bool listsToken(const sip::Message& m, sip::HeaderId id, std::string_view token) {
  auto list = m.tokens(id);
  if (!list) return false;
  for (std::string_view t : *list) {
    if (sip::iequals(t, token)) return true;
  }
  return false;
}

::testing::AssertionResult noLeak(const std::string& wire,
                                  const std::vector<std::string>& forbidden) {
  for (const std::string& f : forbidden) {
    if (wire.find(f) != std::string::npos) {
      return ::testing::AssertionFailure() << "leaked \"" << f << "\" in:\n" << wire;
    }
  }
  return ::testing::AssertionSuccess();
}

void assertNoLeak(const sip::Message& message, const std::vector<std::string>& forbidden) {
  EXPECT_TRUE(noLeak(message.serialize(), forbidden));
}

const char* const kPbxSdp =
    "v=0\r\n"
    "o=pbxuser 111 1 IN IP4 10.0.0.5\r\n"
    "s=pbx\r\n"
    "c=IN IP4 10.1.1.50\r\n"
    "t=0 0\r\n"
    "m=audio 10000 RTP/AVP 0 8 101\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=sendrecv\r\n";

const char* const kCarrierSdp =
    "v=0\r\n"
    "o=carrieruser 999 5 IN IP4 198.51.100.10\r\n"
    "s=carrier\r\n"
    "c=IN IP4 198.51.100.77\r\n"
    "t=0 0\r\n"
    "m=audio 20000 RTP/AVP 0 101\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=sendrecv\r\n";

const std::vector<std::string> kPbxSecrets = {"10.0.0.5",   "pbxuser",     "PBX-Secret",
                                              "pbxtag",     "pbx-call-1",  "alice@",
                                              "z9hG4bKpbx", "pbx.internal"};
const std::vector<std::string> kCarrierSecrets = {"198.51.100.10",  "198.51.100.11", "carrieruser",
                                                  "Carrier-Secret", "cartag",        "carrier@",
                                                  "z9hG4bKcar",     "ss1.carrier"};

std::string pbxInvite(const InviteSpec& s) {
  std::string t = "INVITE " + s.ruri + " SIP/2.0\r\n";
  t += "Via: SIP/2.0/UDP 10.0.0.5:5060;branch=" + s.branch + ";rport\r\n";
  t += "Max-Forwards: " + std::to_string(s.max_forwards) + "\r\n";
  t += "From: " + s.from + "\r\n";
  t += "To: " + s.to + "\r\n";
  t += "Call-ID: " + s.call_id + "\r\n";
  t += "CSeq: " + std::to_string(s.cseq) + " INVITE\r\n";
  t += "Contact: <sip:alice@10.0.0.5:5060>\r\n";
  t += "Record-Route: <sip:pbx.internal;lr>\r\n";
  t += "User-Agent: PBX-Secret/1.0\r\n";
  t += "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE, INFO\r\n";
  t += s.extra;
  if (!s.body.empty()) t += "Content-Type: application/sdp\r\n";
  t += "Content-Length: " + std::to_string(s.body.size()) + "\r\n\r\n" + s.body;
  return t;
}

std::string PeerDialog::request(std::string_view method, std::string_view extra,
                                std::string_view body, std::optional<std::uint32_t> cseq_override) {
  static std::atomic<int> branch{1};
  const std::uint32_t n = cseq_override ? *cseq_override : ++cseq;
  std::string t = std::string(method) + " " + target + " SIP/2.0\r\n";
  const std::string prefix = via_host.starts_with("10.") ? "z9hG4bKpbx" : "z9hG4bKcar";
  t += "Via: SIP/2.0/UDP " + via_host + ":5060;branch=" + prefix + "d" + std::to_string(branch++) +
       "\r\n";
  t += "Max-Forwards: 70\r\n";
  t += "From: " + local + "\r\n";
  t += "To: " + remote + "\r\n";
  t += "Call-ID: " + call_id + "\r\n";
  t += "CSeq: " + std::to_string(n) + " " + std::string(method) + "\r\n";
  if (method == "INVITE" || method == "UPDATE") {
    t += "Contact: <sip:" + std::string(via_host.starts_with("10.") ? "alice@" : "carrier@") +
         via_host + ":5060>\r\n";
  }
  t += extra;
  if (!body.empty() && extra.find("Content-Type") == std::string_view::npos)
    t += "Content-Type: application/sdp\r\n";
  t += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  t += body;
  return t;
}

sip::Message respond(const sip::Message& request, int code, const ResponseSpec& spec) {
  sip::Message r =
      sip::makeResponse(request, code, spec.reason, code == 100 ? std::string_view{} : spec.to_tag);
  for (const std::string& rr : spec.record_route) r.addHeader(sip::HeaderId::RecordRoute, rr);
  if (code > 100 && code < 300 && !spec.contact.empty())
    r.addHeader(sip::HeaderId::Contact, spec.contact);
  const bool from_pbx = spec.contact.find("10.0.0.5") != std::string::npos;
  r.addHeader(sip::HeaderId::Server, from_pbx ? "PBX-Secret/1.0" : "Carrier-Secret/2.0");
  std::string text = r.serialize();
  // Splice raw extra headers in before the blank line.
  const std::size_t end = text.find("\r\n\r\n");
  if (!spec.extra.empty()) text.insert(end + 2, spec.extra);
  sip::Message m = parse(text);
  if (!spec.body.empty()) m.setBody(spec.body, "application/sdp");
  return parse(m.serialize());
}

// ---------------------------------------------------------------- limits

RejectCause CountingLimits::tryAcquire(const cfg::Trunk& trunk, Direction, std::string_view key) {
  auto k = std::make_pair(trunk.id, std::string(key));
  if (held_.count(k)) return RejectCause::None;
  auto m = max.find(trunk.id);
  if (m != max.end() && heldOn(trunk.id) >= m->second) return RejectCause::ChannelLimit;
  held_.insert(std::move(k));
  ++acquired_total;
  return RejectCause::None;
}

void CountingLimits::release(cfg::TrunkId trunk, std::string_view key) {
  auto it = held_.find(std::make_pair(trunk, std::string(key)));
  if (it == held_.end()) {
    ADD_FAILURE() << "double release (or release of a channel never acquired) on trunk " << trunk
                  << " key " << key;
    return;
  }
  held_.erase(it);
  ++released_total;
}

std::size_t CountingLimits::heldOn(cfg::TrunkId trunk) const {
  std::size_t n = 0;
  for (const auto& [t, k] : held_) n += t == trunk ? 1 : 0;
  return n;
}

std::vector<ChannelLimits::Usage> CountingLimits::usage() const {
  std::map<cfg::TrunkId, Usage> u;
  for (const auto& [t, k] : held_) {
    u[t].trunk = t;
    ++u[t].outbound;
  }
  std::vector<Usage> out;
  for (auto& [t, v] : u) out.push_back(v);
  return out;
}

// ---------------------------------------------------------------- policy

Identity FakePolicy::identify(const sip::Message&, const txn::Peer& source,
                              const cfg::Snapshot& snapshot) {
  ++identify_calls;
  Identity id;
  auto it = by_address.find(source.address);
  if (it == by_address.end()) {
    id.verdict = Identity::Verdict::Drop;
    id.cause = RejectCause::UnknownSource;
    return id;
  }
  id.trunk = snapshot.trunk(it->second);
  id.verdict = id.trunk ? Identity::Verdict::Accept : Identity::Verdict::Drop;
  return id;
}

sip::Message FakePolicy::handleRegister(const sip::Message& request, const txn::Peer&,
                                        const cfg::Trunk&) {
  return sip::makeResponse(request, 200, {}, "regtag");
}

RoutingDecision FakePolicy::route(const sip::Message& invite, const cfg::Trunk& from,
                                  const cfg::Snapshot& snapshot) {
  if (router) return router(invite, from, snapshot);
  return {};
}

// ---------------------------------------------------------------- anchor

namespace {
std::string anchored(const std::string& sdp, const std::string& address) {
  auto parsed = sdp::parse(sdp, sdp::kLenient);
  if (!parsed.ok()) return sdp;
  parsed->setConnectionAddressEverywhere(address);
  return parsed->serialize();
}
}  // namespace

void FakeAnchor::anchorOffer(CallHandle call, LegSide from, std::string sdp, Continuation done) {
  if (synchronous) {
    done(MediaResult{true, anchored(sdp, relay_address)});
    return;
  }
  pending.push_back(Op{call, from, true, std::move(sdp), std::move(done)});
}

void FakeAnchor::anchorAnswer(CallHandle call, LegSide from, std::string sdp, Continuation done) {
  if (synchronous) {
    done(MediaResult{true, anchored(sdp, relay_address)});
    return;
  }
  pending.push_back(Op{call, from, false, std::move(sdp), std::move(done)});
}

bool FakeAnchor::completeOne(bool ok) {
  if (pending.empty()) return false;
  Op op = std::move(pending.front());
  pending.pop_front();
  op.done(MediaResult{ok, ok ? anchored(op.sdp, relay_address) : std::string{}});
  return true;
}

std::size_t FakeAnchor::completeAll() {
  std::size_t n = 0;
  while (completeOne()) ++n;
  return n;
}

// ---------------------------------------------------------------- harness

Harness::Harness(HarnessOptions options) {
  snapshot = std::make_shared<cfg::Snapshot>();
  cfg::Trunk pbxt;
  pbxt.id = 1;
  pbxt.name = "pbx1";
  pbxt.kind = cfg::TrunkKind::Pbx;
  pbxt.realm = "inside";
  pbxt.session_expires = options.pbx_session_expires;
  pbxt.headers.pai = cfg::PaiTrust::Trusted;
  snapshot->trunks.push_back(pbxt);
  cfg::Trunk car;
  car.id = 2;
  car.name = "carrier1";
  car.kind = cfg::TrunkKind::Carrier;
  car.realm = "outside";
  car.session_expires = options.session_expires;
  car.failover_timeout_ms = options.failover_ms;
  car.headers.pai = cfg::PaiTrust::Trusted;
  car.outbound.username = "sbcuser";
  car.outbound.password = "secret";
  snapshot->trunks.push_back(car);
  snapshot->index();
  pbx_trunk = snapshot->trunk(1);
  carrier_trunk = snapshot->trunk(2);

  policy.by_address["10.0.0.5"] = 1;
  policy.by_address["198.51.100.10"] = 2;
  policy.by_address["198.51.100.11"] = 2;
  const std::size_t gateways = options.gateways;
  policy.router = [gateways](const sip::Message&, const cfg::Trunk& from,
                             const cfg::Snapshot& snap) {
    RoutingDecision d;
    d.caller = "12125550199";
    d.callee = "14155550100";
    if (from.kind == cfg::TrunkKind::Pbx) {
      d.direction = Direction::Outbound;
      for (std::size_t i = 0; i < gateways; ++i) {
        Target t;
        t.trunk = snap.trunk(2);
        t.host = i == 0 ? "198.51.100.10" : "198.51.100.11";
        t.port = 5060;
        t.gateway_id = static_cast<std::int64_t>(i + 1);
        t.request_user = "+14155550100";
        t.to_user = "+14155550100";
        d.targets.push_back(t);
      }
    } else {
      d.direction = Direction::Inbound;
      Target t;
      t.trunk = snap.trunk(1);
      t.host = "10.0.0.5";
      t.port = 5060;
      t.request_user = "2001";
      t.to_user = "2001";
      d.targets.push_back(t);
    }
    return d;
  };

  config.shard = 7;
  config.listeners.push_back(ListenerInfo{"inside", txn::Protocol::Udp, 0, "10.0.0.1", 5060});
  config.listeners.push_back(ListenerInfo{"outside", txn::Protocol::Udp, 1, "203.0.113.5", 5060});
  config.product = "edge-sbc";
  engine = std::make_unique<Engine>(
      clock, wire, policy, limits, config, snapshot,
      [this](CallRecord&& r) { cdrs.push_back(std::move(r)); },
      options.with_anchor ? &anchor : nullptr);
}

Harness::~Harness() {
  // Every test ends with a shutdown: nothing may stay held afterwards.
  engine->shutdown();
  EXPECT_EQ(limits.held(), 0u) << "channel leak";
}

std::vector<Sent> Harness::take(const std::string& address) {
  taken_.resize(wire.sent.size(), false);
  std::vector<Sent> out;
  for (std::size_t i = 0; i < wire.sent.size(); ++i) {
    if (taken_[i] || wire.sent[i].to.address != address) continue;
    taken_[i] = true;
    out.push_back(wire.sent[i]);
  }
  return out;
}

sip::Message Harness::expect(const std::string& address, std::string_view prefix) {
  taken_.resize(wire.sent.size(), false);
  std::vector<std::size_t> hits;
  for (std::size_t i = 0; i < wire.sent.size(); ++i) {
    if (!taken_[i] && wire.sent[i].to.address == address &&
        wire.sent[i].startLine().starts_with(prefix)) {
      hits.push_back(i);
    }
  }
  if (hits.size() != 1) {
    std::string dump;
    for (std::size_t i = 0; i < wire.sent.size(); ++i) {
      if (!taken_[i]) {
        dump += "-> " + wire.sent[i].to.address + " @" + std::to_string(wire.sent[i].at.count()) +
                "ms: " + wire.sent[i].startLine() + "\n";
      }
    }
    ADD_FAILURE() << "expected exactly one \"" << prefix << "\" to " << address << ", got "
                  << hits.size() << "; untaken:\n"
                  << dump;
    if (hits.empty()) return sip::Message{};
  }
  taken_[hits.front()] = true;
  return wire.sent[hits.front()].message();
}

std::size_t Harness::count(const std::string& address, std::string_view prefix) const {
  std::size_t n = 0;
  for (std::size_t i = 0; i < wire.sent.size(); ++i) {
    const bool taken = i < taken_.size() && taken_[i];
    if (!taken && wire.sent[i].to.address == address &&
        wire.sent[i].startLine().starts_with(prefix))
      ++n;
  }
  return n;
}

bool Harness::none(const std::string& address, std::string_view prefix) const {
  return count(address, prefix) == 0;
}

PeerDialog Harness::pbxDialogFrom(const sip::Message& response, std::uint32_t cseq) const {
  PeerDialog a;
  InviteSpec spec;
  a.call_id = spec.call_id;
  a.local = spec.from;
  a.remote = std::string(response.header(sip::HeaderId::To)->value);
  auto contacts = response.contacts();
  a.target = contacts.ok() && !contacts->empty() ? std::string(contacts->front().uri.text)
                                                 : std::string("sip:10.0.0.1");
  a.via_host = "10.0.0.5";
  a.cseq = cseq;
  return a;
}

void Harness::ackFromPbx(const sip::Message& ok) {
  PeerDialog a = pbxDialogFrom(ok);
  fromPbx(a.request("ACK", {}, {}, ok.cseq()->number));
}

sip::Message Harness::establish(const InviteSpec& spec) {
  fromPbx(pbxInvite(spec));
  if (engine && anchor.pending.size() > 0) anchor.completeAll();
  carrier_invite = expect(carrier.address, "INVITE");
  ResponseSpec ringing;
  fromCarrier(respond(carrier_invite, 180, ringing));
  expect(pbx.address, "SIP/2.0 180");
  ResponseSpec ok;
  ok.body = kCarrierSdp;
  fromCarrier(respond(carrier_invite, 200, ok));
  if (anchor.pending.size() > 0) anchor.completeAll();
  expect(carrier.address, "ACK");
  pbx_200 = expect(pbx.address, "SIP/2.0 200");

  pbx_dialog.call_id = spec.call_id;
  pbx_dialog.local = spec.from;
  pbx_dialog.remote = std::string(pbx_200.header(sip::HeaderId::To)->value);
  pbx_dialog.target = pbx_200.contacts().ok() && !pbx_200.contacts()->empty()
                          ? std::string(pbx_200.contacts()->front().uri.text)
                          : std::string();
  pbx_dialog.via_host = "10.0.0.5";
  pbx_dialog.cseq = spec.cseq;
  fromPbx(pbx_dialog.request("ACK", {}, {}, spec.cseq));

  carrier_dialog.call_id = std::string(*carrier_invite.callId());
  carrier_dialog.local =
      std::string(carrier_invite.header(sip::HeaderId::To)->value) + ";tag=cartag1";
  carrier_dialog.remote = std::string(carrier_invite.header(sip::HeaderId::From)->value);
  carrier_dialog.target = std::string(carrier_invite.contacts()->front().uri.text);
  carrier_dialog.via_host = "198.51.100.10";
  carrier_dialog.cseq = 1;
  return carrier_invite;
}

}  // namespace sbc::b2bua::testing

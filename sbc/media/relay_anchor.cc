#include "sbc/media/relay_anchor.h"

#include <spdlog/spdlog.h>

#include <charconv>
#include <cstdio>
#include <limits>
#include <random>
#include <vector>

#include "sbc/b2bua/sdp_rewriter.h"

namespace sbc::media {

using b2bua::CallHandle;
using b2bua::LegSide;
using b2bua::MediaResult;

struct RelayAnchor::Session {
  CallHandle handle = 0;
  std::string call_id;
  std::optional<std::size_t> relay;
  bool creating = false;
  bool created = false;
  bool released = false;  // released while the create was in flight
  std::array<std::string, 2> realm;
  std::array<cfg::MediaPolicy, 2> policy{cfg::MediaPolicy::Rtp, cfg::MediaPolicy::Rtp};
  std::size_t index = 0;  // the anchored m= line
  // Per leg, [0] A and [1] B.
  std::array<bool, 2> srtp{};
  std::array<std::optional<relayctl::Crypto>, 2> relay_key;  // what the relay sends with
  std::array<std::optional<relayctl::Crypto>, 2> peer_key;   // what the peer sends with
  std::array<std::optional<std::uint32_t>, 2> peer_tag;
  std::array<bool, 2> feedback{};
  std::array<bool, 2> mux{};
  std::array<relayctl::LegAllocation, 2> alloc;
  int offer_from = -1;  // leg of the last offer (answers come from the other)
  bool out_srtp = false;
};

namespace {

int idx(LegSide s) {
  return s == LegSide::A ? 0 : 1;
}

relayctl::Realm realmOf(std::string_view r) {
  return r == "outside" ? relayctl::Realm::kOutside : relayctl::Realm::kInside;
}

relayctl::LegUpdate toUpdate(const relayctl::LegSpec& spec) {
  relayctl::LegUpdate u;
  u.rtp = spec.rtp;
  u.rtcp = spec.rtcp;
  u.rtcpMux = spec.rtcpMux;
  u.payloadTypes = spec.payloadTypes;
  u.telephoneEventPt = spec.telephoneEventPt;
  u.direction = spec.direction;
  return u;
}

void fail(const b2bua::MediaAnchor::Continuation& done) {
  done(MediaResult{false, {}});
}

const std::array<relayctl::LegAllocation, 2>* allocationOf(const relayctl::ResponseBody& body) {
  if (const auto* c = std::get_if<relayctl::CreateResponse>(&body)) return &c->legs;
  if (const auto* u = std::get_if<relayctl::UpdateResponse>(&body)) return &u->legs;
  return nullptr;
}

std::string describeFailure(const relayctl::ResponseBody& body) {
  if (const auto* e = std::get_if<relayctl::Error>(&body)) {
    return std::string(relayctl::toString(e->code)) + " " + e->field + " " + e->message;
  }
  return "unexpected response";
}

}  // namespace

std::string sessionPrefix(std::string_view node_name) {
  std::string out;
  for (char ch : node_name.substr(0, 48)) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9') || ch == '.' || ch == '_';
    out.push_back(ok ? ch : '_');
  }
  if (out.empty()) out = "sbc";
  std::random_device rd;
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08x", static_cast<unsigned>(rd()));
  out.push_back('.');
  out.append(hex);
  return out;
}

RelayAnchor::RelayAnchor(RelayClient& client, RelayAnchorOptions options)
    : client_(client), options_(std::move(options)) {
  std::weak_ptr<bool> alive = alive_;
  client_.onEvent([this, alive](std::size_t relay, const relayctl::Event& e) {
    if (alive.lock()) onEvent(relay, e);
  });
  client_.onRelayLost([this, alive](std::size_t relay) {
    if (alive.lock()) onRelayLost(relay);
  });
}

RelayAnchor::~RelayAnchor() {
  *alive_ = false;
  alive_.reset();
  client_.onEvent(nullptr);
  client_.onRelayLost(nullptr);
}

void RelayAnchor::setEndCall(EndCall end_call) {
  end_call_ = std::move(end_call);
}

void RelayAnchor::setStatsSink(StatsSink sink) {
  stats_sink_ = std::move(sink);
}

void RelayAnchor::setLegs(CallHandle call, const b2bua::MediaLeg& a, const b2bua::MediaLeg& b) {
  auto& slot = sessions_[call];
  if (!slot) {
    slot = std::make_unique<Session>();
    slot->handle = call;
    slot->call_id = options_.session_prefix + "-" + std::to_string(call);
  }
  slot->realm[0] = a.realm;
  slot->realm[1] = b.realm;
  slot->policy[0] = a.policy;
  slot->policy[1] = b.policy;
}

void RelayAnchor::anchorOffer(CallHandle call, LegSide from, std::string body, Continuation done) {
  ++stats_.offers;
  auto it = sessions_.find(call);
  if (it == sessions_.end()) {
    // The engine always describes the legs first; without that we do not
    // know the policies.
    setLegs(call, b2bua::MediaLeg{}, b2bua::MediaLeg{});
    it = sessions_.find(call);
  }
  Session& s = *it->second;
  auto parsed = b2bua::SdpRewriter::parse(body);
  if (!parsed) {
    ++stats_.not_acceptable;
    fail(done);
    return;
  }
  const int in = idx(from);
  const int out = 1 - in;
  auto peer = readOffer(*parsed, s.policy[in]);
  if (!peer) {
    ++stats_.not_acceptable;
    spdlog::info("call {}: offer from leg {} refused: {}", call, b2bua::toString(from),
                 toString(peer.error()));
    fail(done);
    return;
  }
  const bool out_srtp = offerSrtp(s.policy[out], peer.value().srtp);
  const std::string suite =
      peer.value().srtp ? peer.value().spec.crypto->suite : std::string(kDefaultSuite);

  relayctl::RequestBody request;
  if (!s.created) {
    if (s.creating) {
      fail(done);
      return;
    }
    if (!s.relay) {
      s.relay = client_.pickRelay();
      if (!s.relay) {
        ++stats_.no_relay;
        spdlog::warn("call {}: no healthy media relay", call);
        fail(done);
        return;
      }
    }
    relayctl::CreateRequest c;
    c.callId = s.call_id;
    c.legs[in] = peer.value().spec;
    c.legs[out].payloadTypes = peer.value().spec.payloadTypes;
    c.legs[out].telephoneEventPt = peer.value().spec.telephoneEventPt;
    if (out_srtp) c.legs[out].crypto = relayctl::Crypto{suite, {}, true};
    for (int k = 0; k < 2; ++k) {
      c.legs[k].realm = realmOf(s.realm[k]);
      c.legs[k].mediaTimeoutSeconds = options_.media_timeout_seconds;
    }
    s.creating = true;
    request = std::move(c);
  } else {
    relayctl::UpdateRequest u;
    u.callId = s.call_id;
    u.legs[in] = toUpdate(peer.value().spec);
    // A new key from the peer re-keys its leg; the same key changes nothing.
    if (peer.value().srtp && peer.value().spec.crypto != s.peer_key[in]) {
      u.legs[in].crypto = peer.value().spec.crypto;
    }
    u.legs[out].payloadTypes = peer.value().spec.payloadTypes;
    u.legs[out].telephoneEventPt = peer.value().spec.telephoneEventPt;
    if (out_srtp && !s.relay_key[out]) u.legs[out].crypto = relayctl::Crypto{suite, {}, true};
    request = std::move(u);
  }

  std::weak_ptr<bool> alive = alive_;
  auto sdp = std::make_shared<sdp::SessionDescription>(std::move(*parsed));
  auto peer_stream = std::make_shared<PeerStream>(std::move(peer).value());
  client_.send(*s.relay, std::move(request),
               [this, alive, call, in, out, out_srtp, sdp, peer_stream,
                done = std::move(done)](const relayctl::ResponseBody& rsp) {
                 if (!alive.lock()) return;
                 auto sit = sessions_.find(call);
                 if (sit == sessions_.end()) return;
                 Session& ss = *sit->second;
                 const bool was_create = ss.creating;
                 ss.creating = false;
                 const auto* legs = allocationOf(rsp);
                 if (was_create && legs) {
                   ss.created = true;
                   ++stats_.sessions_created;
                 }
                 if (ss.released) {
                   // The call ended while the relay worked: free what it made.
                   if (ss.created)
                     release(call);
                   else
                     sessions_.erase(sit);
                   return;
                 }
                 if (!legs) {
                   ++stats_.failures;
                   spdlog::warn("call {}: relay refused the offer: {}", call, describeFailure(rsp));
                   fail(done);
                   return;
                 }
                 ss.alloc = *legs;
                 for (int k = 0; k < 2; ++k) {
                   if (ss.alloc[k].crypto) ss.relay_key[k] = ss.alloc[k].crypto;
                 }
                 const PeerStream& p = *peer_stream;
                 ss.index = p.index;
                 ss.srtp[in] = p.srtp;
                 ss.peer_key[in] = p.spec.crypto;
                 ss.peer_tag[in] = p.cryptoTag;
                 ss.feedback[in] = p.feedback;
                 ss.mux[in] = p.spec.rtcpMux;
                 ss.offer_from = in;
                 ss.out_srtp = out_srtp;
                 if (out_srtp && !ss.relay_key[out]) {
                   ++stats_.failures;
                   spdlog::warn("call {}: relay returned no key for the SRTP leg", call);
                   fail(done);
                   return;
                 }
                 LocalStream local;
                 local.address = ss.alloc[out].localAddress;
                 local.rtpPort = ss.alloc[out].rtpPort;
                 local.rtcpPort = ss.alloc[out].rtcpPort;
                 local.rtcpMux = false;
                 if (out_srtp) local.crypto = ss.relay_key[out];
                 local.cryptoTag = kOurCryptoTag;
                 local.feedback = p.feedback;
                 if (!rewriteForLeg(*sdp, p.index, local)) {
                   ++stats_.failures;
                   fail(done);
                   return;
                 }
                 done(MediaResult{true, sdp->serialize()});
               });
}

void RelayAnchor::anchorAnswer(CallHandle call, LegSide from, std::string body, Continuation done) {
  ++stats_.answers;
  auto it = sessions_.find(call);
  const int ans = idx(from);
  if (it == sessions_.end() || !it->second->created || it->second->offer_from != 1 - ans) {
    ++stats_.failures;
    fail(done);
    return;
  }
  Session& s = *it->second;
  const int off = s.offer_from;
  auto parsed = b2bua::SdpRewriter::parse(body);
  if (!parsed) {
    ++stats_.not_acceptable;
    fail(done);
    return;
  }
  auto peer = readAnswer(*parsed, s.index, s.out_srtp);
  if (!peer) {
    ++stats_.not_acceptable;
    spdlog::info("call {}: answer from leg {} refused: {}", call, b2bua::toString(from),
                 toString(peer.error()));
    fail(done);
    return;
  }
  auto sdp = std::make_shared<sdp::SessionDescription>(std::move(*parsed));
  auto finishAnswer = [this, call, off, sdp](bool rejected, const Continuation& cont) {
    auto sit = sessions_.find(call);
    if (sit == sessions_.end()) return;
    Session& ss = *sit->second;
    // offer_from stays: an 18x and then the 2xx (or a failover target)
    // answer the same offer again.
    LocalStream local;
    local.address = ss.alloc[off].localAddress;
    local.rtpPort = ss.alloc[off].rtpPort;
    local.rtcpPort = ss.alloc[off].rtcpPort;
    local.rtcpMux = ss.mux[off];
    if (ss.srtp[off]) local.crypto = ss.relay_key[off];
    local.cryptoTag = ss.peer_tag[off].value_or(kOurCryptoTag);
    local.feedback = ss.feedback[off];
    local.rejected = rejected;
    if ((ss.srtp[off] && !local.crypto) || !rewriteForLeg(*sdp, ss.index, local)) {
      ++stats_.failures;
      fail(cont);
      return;
    }
    cont(MediaResult{true, sdp->serialize()});
  };
  if (peer.value().rejected) {
    finishAnswer(true, done);
    return;
  }
  relayctl::UpdateRequest u;
  u.callId = s.call_id;
  u.legs[ans] = toUpdate(peer.value().spec);
  if (peer.value().srtp && peer.value().spec.crypto != s.peer_key[ans]) {
    u.legs[ans].crypto = peer.value().spec.crypto;
  }
  std::weak_ptr<bool> alive = alive_;
  auto peer_stream = std::make_shared<PeerStream>(std::move(peer).value());
  client_.send(*s.relay, std::move(u),
               [this, alive, call, ans, peer_stream, finishAnswer,
                done = std::move(done)](const relayctl::ResponseBody& rsp) {
                 if (!alive.lock()) return;
                 auto sit = sessions_.find(call);
                 if (sit == sessions_.end()) return;
                 Session& ss = *sit->second;
                 const auto* legs = allocationOf(rsp);
                 if (!legs) {
                   ++stats_.failures;
                   spdlog::warn("call {}: relay refused the answer: {}", call,
                                describeFailure(rsp));
                   fail(done);
                   return;
                 }
                 ss.alloc = *legs;
                 for (int k = 0; k < 2; ++k) {
                   if (ss.alloc[k].crypto) ss.relay_key[k] = ss.alloc[k].crypto;
                 }
                 ss.srtp[ans] = peer_stream->srtp;
                 ss.peer_key[ans] = peer_stream->spec.crypto;
                 ss.peer_tag[ans] = peer_stream->cryptoTag;
                 ss.feedback[ans] = peer_stream->feedback;
                 ss.mux[ans] = peer_stream->spec.rtcpMux;
                 finishAnswer(false, done);
               });
}

void RelayAnchor::release(CallHandle call) {
  auto it = sessions_.find(call);
  if (it == sessions_.end()) return;
  Session& s = *it->second;
  if (s.creating) {
    s.released = true;  // destroyed when the create answers
    return;
  }
  if (!s.created || !s.relay) {
    sessions_.erase(it);
    return;
  }
  relayctl::DestroyRequest d;
  d.callId = s.call_id;
  const std::size_t relay = *s.relay;
  sessions_.erase(it);
  ++stats_.sessions_destroyed;
  destroying_[call] = client_.status(relay).endpoint;
  std::weak_ptr<bool> alive = alive_;
  client_.send(relay, std::move(d), [this, alive, call](const relayctl::ResponseBody& rsp) {
    if (!alive.lock()) return;
    destroying_.erase(call);
    const auto* r = std::get_if<relayctl::DestroyResponse>(&rsp);
    if (!r) spdlog::warn("call {}: relay destroy failed: {}", call, describeFailure(rsp));
    if (stats_sink_) stats_sink_(call, r ? &r->legs : nullptr);
  });
}

void RelayAnchor::onEvent(std::size_t relay, const relayctl::Event& event) {
  const std::string& id = event.callId;
  const std::string prefix = options_.session_prefix + "-";
  if (id.size() <= prefix.size() || id.compare(0, prefix.size(), prefix) != 0) return;
  CallHandle h = 0;
  auto [p, ec] = std::from_chars(id.data() + prefix.size(), id.data() + id.size(), h);
  if (ec != std::errc() || p != id.data() + id.size()) return;
  auto it = sessions_.find(h);
  if (it == sessions_.end() || it->second->relay != relay) return;
  spdlog::info("call {}: relay reports {} on leg {}", h, relayctl::toString(event.kind), event.leg);
  if (event.kind == relayctl::EventKind::kMediaTimeout) {
    ++stats_.media_timeouts;
    if (end_call_) end_call_(h, b2bua::EndReason::MediaTimeout);
  } else {
    ++stats_.relay_lost_calls;
    if (end_call_) end_call_(h, b2bua::EndReason::RelayLost);
  }
}

void RelayAnchor::onRelayLost(std::size_t relay) {
  std::vector<CallHandle> victims;
  for (const auto& [h, s] : sessions_) {
    if (s->relay == relay && !s->released) victims.push_back(h);
  }
  for (CallHandle h : victims) {
    ++stats_.relay_lost_calls;
    if (end_call_) end_call_(h, b2bua::EndReason::RelayLost);
  }
}

std::string RelayAnchor::relayOf(CallHandle call) const {
  auto it = sessions_.find(call);
  if (it == sessions_.end() || !it->second->relay) return {};
  return client_.status(*it->second->relay).endpoint;
}

std::optional<std::string> RelayAnchor::destroyPending(CallHandle call) const {
  auto it = destroying_.find(call);
  if (it == destroying_.end()) return std::nullopt;
  return it->second;
}

std::size_t RelayAnchor::sessionCount() const {
  return sessions_.size();
}

const AnchorStats& RelayAnchor::stats() const {
  return stats_;
}

}  // namespace sbc::media

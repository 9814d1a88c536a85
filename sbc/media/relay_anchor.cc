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

// One anchored m= line: a relay session of its own.
struct StreamState {
  std::string call_id;   // the relay session id
  bool created = false;  // the relay has the session
  bool active = false;   // carried in the current offer/answer exchange
  bool failed = false;   // the relay refused the last request for it
  // Per leg, [0] A and [1] B.
  std::array<bool, 2> srtp{};
  std::array<std::optional<relayctl::Crypto>, 2> relay_key;  // what the relay sends with
  std::array<std::optional<relayctl::Crypto>, 2> peer_key;   // what the peer sends with
  std::array<std::optional<std::uint32_t>, 2> peer_tag;
  std::array<bool, 2> feedback{};
  std::array<bool, 2> mux{};
  std::array<relayctl::LegAllocation, 2> alloc;
  bool out_srtp = false;  // the offer sent on carried SRTP
  bool rejected = false;  // the answer declined it (port 0)
};

struct RelayAnchor::Session {
  CallHandle handle = 0;
  std::string call_id;  // base of the stream session ids
  std::optional<std::size_t> relay;
  int pending = 0;        // relay requests in flight for the current exchange
  bool released = false;  // released while requests were in flight
  std::array<std::string, 2> realm;
  std::array<cfg::MediaPolicy, 2> policy{cfg::MediaPolicy::Rtp, cfg::MediaPolicy::Rtp};
  // What the current relay sessions were created for: a failover to a trunk
  // in another realm or with another policy needs new ones.
  std::array<std::string, 2> created_realm;
  std::array<cfg::MediaPolicy, 2> created_policy{cfg::MediaPolicy::Rtp, cfg::MediaPolicy::Rtp};
  unsigned generation = 0;
  std::size_t primary = 0;           // the m= line whose events end the call
  std::vector<StreamState> streams;  // by m= line index
  int offer_from = -1;               // leg of the last offer (answers come from the other)

  bool anyCreated() const {
    for (const StreamState& st : streams) {
      if (st.created) return true;
    }
    return false;
  }
  // "<base>" for the first stream of a call (what one-stream calls always
  // use), "<base>_m<i>[_g<n>]" for the others and after a re-anchoring.
  std::string streamId(std::size_t index) const {
    if (index == 0 && generation == 0) return call_id;
    std::string id = call_id + "_m" + std::to_string(index);
    if (generation != 0) id += "_g" + std::to_string(generation);
    return id;
  }
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

// Legs a request turns back into plain RTP.
std::array<bool, 2> plainLegs(const relayctl::RequestBody& request) {
  std::array<bool, 2> out{};
  if (const auto* u = std::get_if<relayctl::UpdateRequest>(&request)) {
    for (int k = 0; k < 2; ++k) out[k] = u->legs[k].plain;
  }
  return out;
}

// The relay's sending keys after an answered create/update: a key in the
// allocation is the current one; a leg sent back to plain has none.
void keepKeys(StreamState& st, const std::array<bool, 2>& plain) {
  for (int k = 0; k < 2; ++k) {
    if (st.alloc[k].crypto) {
      st.relay_key[k] = st.alloc[k].crypto;
    } else if (plain[k]) {
      st.relay_key[k].reset();
      st.peer_key[k].reset();
    }
  }
}

// What leg `leg` gets for a stream: the relay's side of that leg.
LocalStream localFor(const StreamState& st, int leg, bool srtp, bool feedback, bool mux,
                     std::uint32_t tag) {
  LocalStream local;
  local.address = st.alloc[leg].localAddress;
  local.rtpPort = st.alloc[leg].rtpPort;
  local.rtcpPort = st.alloc[leg].rtcpPort;
  local.rtcpMux = mux;
  if (srtp) local.crypto = st.relay_key[leg];
  local.cryptoTag = tag;
  local.feedback = feedback;
  return local;
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
  if (s.pending > 0) {
    fail(done);
    return;
  }
  auto parsed = b2bua::SdpRewriter::parse(body);
  if (!parsed) {
    ++stats_.not_acceptable;
    fail(done);
    return;
  }
  const int in = idx(from);
  const int out = 1 - in;
  auto offer = readOfferStreams(*parsed, s.policy[in]);
  if (!offer) {
    ++stats_.not_acceptable;
    spdlog::info("call {}: offer from leg {} refused: {}", call, b2bua::toString(from),
                 toString(offer.error()));
    fail(done);
    return;
  }
  if (s.anyCreated() && (s.realm != s.created_realm || s.policy != s.created_policy)) {
    // A failover (or overflow) to a trunk in another realm or with another
    // media policy: the relay cannot move a leg to another realm, so the
    // call gets new sessions and the old ones go.
    spdlog::info("call {}: re-anchoring for the new target (realm {}, media policy {})", call,
                 s.realm[1], static_cast<int>(s.policy[1]));
    ++stats_.reanchored;
    destroyStreams(s, false);
    s.streams.clear();
    ++s.generation;
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
  OfferStreams& plan = offer.value();
  if (s.streams.size() < plan.streams.size()) s.streams.resize(plan.streams.size());
  s.primary = plan.primary;
  s.offer_from = in;
  s.created_realm = s.realm;
  s.created_policy = s.policy;

  // One request per carried stream, all in flight at once; the SDP is
  // written when the last one is answered.
  struct Join {
    std::shared_ptr<sdp::SessionDescription> sdp;
    std::vector<std::optional<PeerStream>> peers;
    Continuation done;
  };
  auto join = std::make_shared<Join>();
  join->sdp = std::make_shared<sdp::SessionDescription>(std::move(*parsed));
  join->peers = std::move(plan.streams);
  join->done = std::move(done);
  std::vector<std::pair<std::size_t, relayctl::RequestBody>> requests;
  for (std::size_t i = 0; i < s.streams.size(); ++i) {
    StreamState& st = s.streams[i];
    st.active = i < join->peers.size() && join->peers[i].has_value();
    st.failed = false;
    st.rejected = false;
    if (!st.active) continue;
    const PeerStream& p = *join->peers[i];
    const bool out_srtp = offerSrtp(s.policy[out], p.srtp);
    const std::string suite = p.srtp ? p.spec.crypto->suite : std::string(kDefaultSuite);
    st.out_srtp = out_srtp;
    if (!st.created) {
      relayctl::CreateRequest c;
      st.call_id = s.streamId(i);
      c.callId = st.call_id;
      c.legs[in] = p.spec;
      c.legs[out].payloadTypes = p.spec.payloadTypes;
      c.legs[out].telephoneEventPt = p.spec.telephoneEventPt;
      if (out_srtp) c.legs[out].crypto = relayctl::Crypto{suite, {}, true};
      for (int k = 0; k < 2; ++k) {
        c.legs[k].realm = realmOf(s.realm[k]);
        c.legs[k].mediaTimeoutSeconds = options_.media_timeout_seconds;
      }
      requests.emplace_back(i, std::move(c));
    } else {
      relayctl::UpdateRequest u;
      u.callId = st.call_id;
      u.legs[in] = toUpdate(p.spec);
      // A new key from the peer re-keys its leg; the same key changes nothing.
      // SAVP -> AVP on a leg drops both its keys at the relay.
      if (p.srtp && p.spec.crypto != st.peer_key[in]) {
        u.legs[in].crypto = p.spec.crypto;
      } else if (!p.srtp && st.relay_key[in]) {
        u.legs[in].plain = true;
      }
      u.legs[out].payloadTypes = p.spec.payloadTypes;
      u.legs[out].telephoneEventPt = p.spec.telephoneEventPt;
      if (out_srtp && !st.relay_key[out]) {
        u.legs[out].crypto = relayctl::Crypto{suite, {}, true};
      } else if (!out_srtp && st.relay_key[out]) {
        u.legs[out].plain = true;
      }
      requests.emplace_back(i, std::move(u));
    }
  }
  s.pending = static_cast<int>(requests.size());
  std::weak_ptr<bool> alive = alive_;
  auto finish = [this, call, in, out, join]() {
    auto sit = sessions_.find(call);
    if (sit == sessions_.end()) return;
    Session& ss = *sit->second;
    if (ss.released) {
      // The call ended while the relay worked: free what it made.
      ss.released = false;
      release(call);
      return;
    }
    std::vector<std::optional<LocalStream>> locals(ss.streams.size());
    for (std::size_t i = 0; i < ss.streams.size(); ++i) {
      StreamState& st = ss.streams[i];
      if (!st.active) continue;
      if (st.failed) {
        ++stats_.failures;
        fail(join->done);
        return;
      }
      if (st.out_srtp && !st.relay_key[out]) {
        ++stats_.failures;
        spdlog::warn("call {}: relay returned no key for the SRTP leg", call);
        fail(join->done);
        return;
      }
      locals[i] = localFor(st, out, st.out_srtp, st.feedback[in], false, kOurCryptoTag);
    }
    if (!rewriteStreams(*join->sdp, locals)) {
      ++stats_.failures;
      fail(join->done);
      return;
    }
    join->done(MediaResult{true, join->sdp->serialize()});
  };
  for (auto& entry : requests) {
    const std::size_t i = entry.first;
    relayctl::RequestBody& request = entry.second;
    const bool is_create = std::holds_alternative<relayctl::CreateRequest>(request);
    const std::array<bool, 2> plain = plainLegs(request);
    client_.send(*s.relay, std::move(request),
                 [this, alive, call, in, i, is_create, plain, join,
                  finish](const relayctl::ResponseBody& rsp) {
                   if (!alive.lock()) return;
                   auto sit = sessions_.find(call);
                   if (sit == sessions_.end()) return;
                   Session& ss = *sit->second;
                   StreamState& st = ss.streams[i];
                   const auto* legs = allocationOf(rsp);
                   if (is_create && legs) {
                     st.created = true;
                     ++stats_.sessions_created;
                   }
                   if (!legs) {
                     st.failed = true;
                     spdlog::warn("call {}: relay refused the offer (m= {}): {}", call, i,
                                  describeFailure(rsp));
                   } else {
                     const PeerStream& p = *join->peers[i];
                     st.alloc = *legs;
                     keepKeys(st, plain);
                     st.srtp[in] = p.srtp;
                     st.peer_key[in] = p.spec.crypto;
                     st.peer_tag[in] = p.cryptoTag;
                     st.feedback[in] = p.feedback;
                     st.mux[in] = p.spec.rtcpMux;
                   }
                   if (--ss.pending == 0) finish();
                 });
  }
  if (requests.empty()) {
    // readOfferStreams always carries the primary stream.
    fail(join->done);
  }
}

void RelayAnchor::anchorAnswer(CallHandle call, LegSide from, std::string body, Continuation done) {
  ++stats_.answers;
  auto it = sessions_.find(call);
  const int ans = idx(from);
  if (it == sessions_.end() || !it->second->anyCreated() || it->second->pending > 0 ||
      it->second->offer_from != 1 - ans) {
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
  struct Join {
    std::shared_ptr<sdp::SessionDescription> sdp;
    std::vector<std::optional<PeerStream>> peers;
    Continuation done;
  };
  auto join = std::make_shared<Join>();
  join->peers.resize(s.streams.size());
  std::vector<std::pair<std::size_t, relayctl::RequestBody>> requests;
  for (std::size_t i = 0; i < s.streams.size(); ++i) {
    StreamState& st = s.streams[i];
    if (!st.active) continue;
    st.failed = false;
    auto peer = readAnswer(*parsed, i, st.out_srtp);
    if (!peer) {
      ++stats_.not_acceptable;
      spdlog::info("call {}: answer from leg {} refused (m= {}): {}", call, b2bua::toString(from),
                   i, toString(peer.error()));
      fail(done);
      return;
    }
    st.rejected = peer.value().rejected;
    if (st.rejected) continue;
    relayctl::UpdateRequest u;
    u.callId = st.call_id;
    u.legs[ans] = toUpdate(peer.value().spec);
    if (peer.value().srtp && peer.value().spec.crypto != st.peer_key[ans]) {
      u.legs[ans].crypto = peer.value().spec.crypto;
    } else if (!peer.value().srtp && st.relay_key[ans]) {
      u.legs[ans].plain = true;
    }
    join->peers[i] = std::move(peer).value();
    requests.emplace_back(i, std::move(u));
  }
  join->sdp = std::make_shared<sdp::SessionDescription>(std::move(*parsed));
  join->done = std::move(done);
  auto finish = [this, call, off, join]() {
    auto sit = sessions_.find(call);
    if (sit == sessions_.end()) return;
    Session& ss = *sit->second;
    if (ss.released) {
      ss.released = false;
      release(call);
      return;
    }
    // offer_from stays: an 18x and then the 2xx (or a failover target)
    // answer the same offer again.
    std::vector<std::optional<LocalStream>> locals(ss.streams.size());
    for (std::size_t i = 0; i < ss.streams.size(); ++i) {
      StreamState& st = ss.streams[i];
      if (!st.active) continue;
      if (st.failed) {
        ++stats_.failures;
        fail(join->done);
        return;
      }
      LocalStream local = localFor(st, off, st.srtp[off], st.feedback[off], st.mux[off],
                                   st.peer_tag[off].value_or(kOurCryptoTag));
      local.rejected = st.rejected;
      if (st.srtp[off] && !local.crypto) {
        ++stats_.failures;
        fail(join->done);
        return;
      }
      locals[i] = local;
    }
    if (!rewriteStreams(*join->sdp, locals)) {
      ++stats_.failures;
      fail(join->done);
      return;
    }
    join->done(MediaResult{true, join->sdp->serialize()});
  };
  if (requests.empty()) {
    finish();  // every stream declined: nothing for the relay to learn
    return;
  }
  s.pending = static_cast<int>(requests.size());
  std::weak_ptr<bool> alive = alive_;
  for (auto& entry : requests) {
    const std::size_t i = entry.first;
    relayctl::RequestBody& request = entry.second;
    const std::array<bool, 2> plain = plainLegs(request);
    client_.send(
        *s.relay, std::move(request),
        [this, alive, call, ans, i, plain, join, finish](const relayctl::ResponseBody& rsp) {
          if (!alive.lock()) return;
          auto sit = sessions_.find(call);
          if (sit == sessions_.end()) return;
          Session& ss = *sit->second;
          StreamState& st = ss.streams[i];
          const auto* legs = allocationOf(rsp);
          if (!legs) {
            st.failed = true;
            spdlog::warn("call {}: relay refused the answer (m= {}): {}", call, i,
                         describeFailure(rsp));
          } else {
            const PeerStream& p = *join->peers[i];
            st.alloc = *legs;
            keepKeys(st, plain);
            st.srtp[ans] = p.srtp;
            st.peer_key[ans] = p.spec.crypto;
            st.peer_tag[ans] = p.cryptoTag;
            st.feedback[ans] = p.feedback;
            st.mux[ans] = p.spec.rtcpMux;
          }
          if (--ss.pending == 0) finish();
        });
  }
}

void RelayAnchor::destroyStreams(Session& s, bool report) {
  if (!s.relay) return;
  const std::size_t relay = *s.relay;
  const CallHandle call = s.handle;
  // The final stats are the sums over the call's streams (jitter: the
  // primary stream's), reported once every destroy is answered.
  struct Join {
    int pending = 0;
    bool ok = true;
    std::array<relayctl::LegStats, 2> legs{};
  };
  auto join = std::make_shared<Join>();
  const std::size_t primary = s.primary;
  for (std::size_t i = 0; i < s.streams.size(); ++i) {
    StreamState& st = s.streams[i];
    if (!st.created) continue;
    st.created = false;
    ++join->pending;
    ++stats_.sessions_destroyed;
    relayctl::DestroyRequest d;
    d.callId = st.call_id;
    std::weak_ptr<bool> alive = alive_;
    client_.send(relay, std::move(d),
                 [this, alive, call, i, primary, report, join](const relayctl::ResponseBody& rsp) {
                   if (!alive.lock()) return;
                   const auto* r = std::get_if<relayctl::DestroyResponse>(&rsp);
                   if (!r) {
                     join->ok = false;
                     spdlog::warn("call {}: relay destroy failed: {}", call, describeFailure(rsp));
                   } else {
                     for (int k = 0; k < 2; ++k) {
                       relayctl::LegStats& sum = join->legs[k];
                       const relayctl::LegStats& one = r->legs[k];
                       sum.packetsIn += one.packetsIn;
                       sum.bytesIn += one.bytesIn;
                       sum.packetsOut += one.packetsOut;
                       sum.bytesOut += one.bytesOut;
                       sum.lost += one.lost;
                       sum.srtpAuthFailures += one.srtpAuthFailures;
                       sum.rtpTimeouts += one.rtpTimeouts;
                       if (i == primary) sum.jitterUs = one.jitterUs;
                     }
                   }
                   if (--join->pending > 0 || !report) return;
                   destroying_.erase(call);
                   if (stats_sink_) stats_sink_(call, join->ok ? &join->legs : nullptr);
                 });
  }
  if (report && join->pending > 0) destroying_[call] = client_.status(relay).endpoint;
}

void RelayAnchor::release(CallHandle call) {
  auto it = sessions_.find(call);
  if (it == sessions_.end()) return;
  Session& s = *it->second;
  if (s.pending > 0) {
    s.released = true;  // destroyed when the relay answers
    return;
  }
  if (!s.anyCreated() || !s.relay) {
    sessions_.erase(it);
    return;
  }
  destroyStreams(s, true);
  sessions_.erase(it);
}

void RelayAnchor::onEvent(std::size_t relay, const relayctl::Event& event) {
  const std::string& id = event.callId;
  const std::string prefix = options_.session_prefix + "-";
  if (id.size() <= prefix.size() || id.compare(0, prefix.size(), prefix) != 0) return;
  CallHandle h = 0;
  auto [p, ec] = std::from_chars(id.data() + prefix.size(), id.data() + id.size(), h);
  if (ec != std::errc() || (p != id.data() + id.size() && *p != '_')) return;
  auto it = sessions_.find(h);
  if (it == sessions_.end() || it->second->relay != relay) return;
  const Session& s = *it->second;
  std::optional<std::size_t> stream;
  for (std::size_t i = 0; i < s.streams.size(); ++i) {
    if (s.streams[i].created && s.streams[i].call_id == id) stream = i;
  }
  if (!stream) return;  // a session of an earlier anchoring, already destroyed
  if (event.kind == relayctl::EventKind::kMediaTimeout && *stream != s.primary) {
    // Video or a second audio stream may pause; the call's media is the
    // primary stream's.
    spdlog::info("call {}: media timeout on secondary m= {} ignored", h, *stream);
    return;
  }
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

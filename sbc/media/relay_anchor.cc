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

// The destroy answers of a call's stream sessions, summed for the CDR.
struct StatsJoin {
  int pending = 0;      // destroys not answered yet
  bool ok = true;       // every destroy at release was answered
  bool report = false;  // released: report once pending reaches 0
  std::array<relayctl::LegStats, 2> legs{};
};

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

// One offer or answer crossing the relay: the SDP being rewritten, what each
// peer stream said, and where the result goes.
struct RelayAnchor::Exchange {
  std::shared_ptr<sdp::SessionDescription> sdp;
  std::vector<std::optional<PeerStream>> peers;
  Continuation done;
};

struct RelayAnchor::Session {
  CallHandle handle = 0;
  std::string call_id;  // base of the stream session ids
  std::optional<std::size_t> relay;
  int pending = 0;        // relay requests in flight for the current exchange
  bool released = false;  // released while requests were in flight
  std::array<std::string, 2> realm;
  std::array<cfg::MediaPolicy, 2> policy{cfg::MediaPolicy::Rtp, cfg::MediaPolicy::Rtp};
  std::array<cfg::MediaLatch, 2> latch{cfg::MediaLatch::Strict, cfg::MediaLatch::Strict};
  // What the current relay sessions were created for: a failover to a trunk
  // in another realm or with another policy needs new ones.
  std::array<std::string, 2> created_realm;
  std::array<cfg::MediaPolicy, 2> created_policy{cfg::MediaPolicy::Rtp, cfg::MediaPolicy::Rtp};
  std::array<cfg::MediaLatch, 2> created_latch{cfg::MediaLatch::Strict, cfg::MediaLatch::Strict};
  unsigned generation = 0;
  std::size_t primary = 0;           // the m= line whose events end the call
  std::vector<StreamState> streams;  // by m= line index
  int offer_from = -1;               // leg of the last offer (answers come from the other)
  // Final counters of every stream destroyed so far (streams turned off
  // mid-call, an earlier anchoring, and at release): the CDR gets the sum.
  std::shared_ptr<StatsJoin> totals = std::make_shared<StatsJoin>();

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

// The crypto change of the update for the leg a peer's SDP came from: a new
// peer key re-keys, the same key changes nothing, SAVP -> AVP drops both of
// the leg's keys at the relay.
void peerCrypto(relayctl::LegUpdate& u, const StreamState& st, int leg, const PeerStream& p) {
  if (p.srtp && p.spec.crypto != st.peer_key[leg]) {
    u.crypto = p.spec.crypto;
  } else if (!p.srtp && st.relay_key[leg]) {
    u.plain = true;
  }
}

// What an answered create/update tells about a stream, `leg` being the leg
// whose peer's SDP the request carried.
void takeAllocation(StreamState& st, const std::array<relayctl::LegAllocation, 2>& legs,
                    const std::array<bool, 2>& plain, int leg, const PeerStream& p) {
  st.alloc = legs;
  keepKeys(st, plain);
  st.srtp[leg] = p.srtp;
  st.peer_key[leg] = p.spec.crypto;
  st.peer_tag[leg] = p.cryptoTag;
  st.feedback[leg] = p.feedback;
  st.mux[leg] = p.spec.rtcpMux;
}

relayctl::LatchMode latchOf(cfg::MediaLatch l) {
  return l == cfg::MediaLatch::WindowAny ? relayctl::LatchMode::kWindowAny
                                         : relayctl::LatchMode::kStrict;
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
  slot->latch[0] = a.latch;
  slot->latch[1] = b.latch;
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
  if (s.anyCreated() &&
      (s.realm != s.created_realm || s.policy != s.created_policy || s.latch != s.created_latch)) {
    // A failover (or overflow) to a trunk in another realm or with another
    // media policy (or latching rule): the relay cannot move a leg to another
    // realm, so the call gets new sessions and the old ones go.
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
  s.created_latch = s.latch;

  // One request per carried stream, all in flight at once; the SDP is
  // written when the last one is answered.
  auto ex = std::make_shared<Exchange>();
  ex->sdp = std::make_shared<sdp::SessionDescription>(std::move(*parsed));
  ex->peers = std::move(plan.streams);
  ex->done = std::move(done);
  std::vector<std::pair<std::size_t, relayctl::RequestBody>> requests;
  for (std::size_t i = 0; i < s.streams.size(); ++i) {
    StreamState& st = s.streams[i];
    st.active = i < ex->peers.size() && ex->peers[i].has_value();
    st.failed = false;
    st.rejected = false;
    if (!st.active) continue;  // turned off: its session goes with the answer
    const PeerStream& p = *ex->peers[i];
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
        c.legs[k].latch = latchOf(s.latch[k]);
      }
      requests.emplace_back(i, std::move(c));
    } else {
      relayctl::UpdateRequest u;
      u.callId = st.call_id;
      u.legs[in] = toUpdate(p.spec);
      peerCrypto(u.legs[in], st, in, p);
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
  if (requests.empty()) {
    // readOfferStreams always carries the primary stream.
    fail(ex->done);
    return;
  }
  auto finish = [this, call, in, out, ex]() {
    Session* ss = settled(call);
    if (ss == nullptr) return;
    std::vector<std::optional<LocalStream>> locals(ss->streams.size());
    for (std::size_t i = 0; i < ss->streams.size(); ++i) {
      StreamState& st = ss->streams[i];
      if (!st.active) continue;
      if (st.failed) {
        ++stats_.failures;
        fail(ex->done);
        return;
      }
      if (st.out_srtp && !st.relay_key[out]) {
        ++stats_.failures;
        spdlog::warn("call {}: relay returned no key for the SRTP leg", call);
        fail(ex->done);
        return;
      }
      locals[i] = localFor(st, out, st.out_srtp, st.feedback[in], false, kOurCryptoTag);
    }
    writeSdp(*ex, locals);
  };
  sendRequests(s, in, std::move(requests), ex, std::move(finish), "offer");
}

void RelayAnchor::anchorAnswer(CallHandle call, LegSide from, std::string body, Continuation done) {
  ++stats_.answers;
  auto it = sessions_.find(call);
  const int ans = idx(from);
  if (it == sessions_.end() || !it->second->relay || it->second->pending > 0 ||
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
  auto ex = std::make_shared<Exchange>();
  ex->peers.resize(s.streams.size());
  std::vector<std::pair<std::size_t, relayctl::RequestBody>> requests;
  std::vector<std::size_t> turned_off;
  for (std::size_t i = 0; i < s.streams.size(); ++i) {
    StreamState& st = s.streams[i];
    if (!st.active) {
      // Left out of (or disabled in) the offer this answers.
      if (st.created) turned_off.push_back(i);
      continue;
    }
    st.failed = false;
    if (!st.created) {
      // An earlier answer to this offer (an 18x) declined it and its session
      // is gone: it stays declined towards the offerer.
      st.rejected = true;
      continue;
    }
    auto peer = readAnswer(*parsed, i, st.out_srtp);
    if (!peer) {
      ++stats_.not_acceptable;
      spdlog::info("call {}: answer from leg {} refused (m= {}): {}", call, b2bua::toString(from),
                   i, toString(peer.error()));
      fail(done);
      return;
    }
    st.rejected = peer.value().rejected;
    if (st.rejected) {
      turned_off.push_back(i);
      continue;
    }
    relayctl::UpdateRequest u;
    u.callId = st.call_id;
    u.legs[ans] = toUpdate(peer.value().spec);
    peerCrypto(u.legs[ans], st, ans, peer.value());
    ex->peers[i] = std::move(peer).value();
    requests.emplace_back(i, std::move(u));
  }
  // The exchange removes these streams (RFC 3264 8.2: port 0 in the offer or
  // the answer): their relay sessions go now rather than at the call's end.
  for (std::size_t i : turned_off) {
    spdlog::info("call {}: m= {} turned off, its relay session goes", call, i);
    ++stats_.streams_removed;
    destroyStream(s, i, false);
  }
  ex->sdp = std::make_shared<sdp::SessionDescription>(std::move(*parsed));
  ex->done = std::move(done);
  auto finish = [this, call, off, ex]() {
    Session* ss = settled(call);
    if (ss == nullptr) return;
    // offer_from stays: an 18x and then the 2xx (or a failover target)
    // answer the same offer again.
    std::vector<std::optional<LocalStream>> locals(ss->streams.size());
    for (std::size_t i = 0; i < ss->streams.size(); ++i) {
      StreamState& st = ss->streams[i];
      if (!st.active) continue;
      if (st.rejected) {
        LocalStream declined = localFor(st, off, false, false, false, kOurCryptoTag);
        declined.rejected = true;
        locals[i] = declined;
        continue;
      }
      if (st.failed) {
        ++stats_.failures;
        fail(ex->done);
        return;
      }
      LocalStream local = localFor(st, off, st.srtp[off], st.feedback[off], st.mux[off],
                                   st.peer_tag[off].value_or(kOurCryptoTag));
      if (st.srtp[off] && !local.crypto) {
        ++stats_.failures;
        fail(ex->done);
        return;
      }
      locals[i] = local;
    }
    writeSdp(*ex, locals);
  };
  if (requests.empty()) {
    finish();  // every stream declined: nothing for the relay to learn
    return;
  }
  sendRequests(s, ans, std::move(requests), ex, std::move(finish), "answer");
}

RelayAnchor::Session* RelayAnchor::settled(CallHandle call) {
  auto it = sessions_.find(call);
  if (it == sessions_.end()) return nullptr;
  if (it->second->released) {
    // The call ended while the relay worked: free what it made.
    it->second->released = false;
    release(call);
    return nullptr;
  }
  return it->second.get();
}

void RelayAnchor::writeSdp(Exchange& ex, const std::vector<std::optional<LocalStream>>& locals) {
  if (!rewriteStreams(*ex.sdp, locals)) {
    ++stats_.failures;
    fail(ex.done);
    return;
  }
  ex.done(MediaResult{true, ex.sdp->serialize()});
}

void RelayAnchor::sendRequests(Session& s, int leg,
                               std::vector<std::pair<std::size_t, relayctl::RequestBody>> requests,
                               const std::shared_ptr<Exchange>& ex, std::function<void()> finish,
                               std::string_view what) {
  s.pending = static_cast<int>(requests.size());
  const CallHandle call = s.handle;
  std::weak_ptr<bool> alive = alive_;
  auto shared_finish = std::make_shared<std::function<void()>>(std::move(finish));
  for (auto& entry : requests) {
    const std::size_t i = entry.first;
    relayctl::RequestBody& request = entry.second;
    const bool is_create = std::holds_alternative<relayctl::CreateRequest>(request);
    const std::array<bool, 2> plain = plainLegs(request);
    client_.send(*s.relay, std::move(request),
                 [this, alive, call, leg, i, is_create, plain, ex, shared_finish,
                  what](const relayctl::ResponseBody& rsp) {
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
                     spdlog::warn("call {}: relay refused the {} (m= {}): {}", call, what, i,
                                  describeFailure(rsp));
                   } else {
                     takeAllocation(st, *legs, plain, leg, *ex->peers[i]);
                   }
                   if (--ss.pending == 0) (*shared_finish)();
                 });
  }
}

void RelayAnchor::destroyStream(Session& s, std::size_t i, bool final) {
  StreamState& st = s.streams[i];
  if (!st.created || !s.relay) return;
  ++stats_.sessions_destroyed;
  const CallHandle call = s.handle;
  const bool primary = i == s.primary;
  std::shared_ptr<StatsJoin> totals = s.totals;
  ++totals->pending;
  relayctl::DestroyRequest d;
  d.callId = st.call_id;
  // A later offer that enables the line again creates a new session (same
  // id: the relay has forgotten it by then, requests run in order).
  StreamState fresh;
  fresh.call_id = std::move(st.call_id);
  fresh.alloc = std::move(st.alloc);  // the relay address a declined line still names
  st = std::move(fresh);
  std::weak_ptr<bool> alive = alive_;
  client_.send(*s.relay, std::move(d),
               [this, alive, call, primary, final, totals](const relayctl::ResponseBody& rsp) {
                 if (!alive.lock()) return;
                 const auto* r = std::get_if<relayctl::DestroyResponse>(&rsp);
                 if (!r) {
                   // Only a failure at release makes the CDR say "no stats": a stream
                   // turned off earlier just misses from the sums.
                   if (final) totals->ok = false;
                   spdlog::warn("call {}: relay destroy failed: {}", call, describeFailure(rsp));
                 } else {
                   for (int k = 0; k < 2; ++k) {
                     relayctl::LegStats& sum = totals->legs[k];
                     const relayctl::LegStats& one = r->legs[k];
                     sum.packetsIn += one.packetsIn;
                     sum.bytesIn += one.bytesIn;
                     sum.packetsOut += one.packetsOut;
                     sum.bytesOut += one.bytesOut;
                     sum.lost += one.lost;
                     sum.srtpAuthFailures += one.srtpAuthFailures;
                     sum.rtpTimeouts += one.rtpTimeouts;
                     if (primary) sum.jitterUs = one.jitterUs;  // jitter does not add up
                   }
                 }
                 if (--totals->pending > 0 || !totals->report) return;
                 destroying_.erase(call);
                 if (stats_sink_) stats_sink_(call, totals->ok ? &totals->legs : nullptr);
               });
}

void RelayAnchor::destroyStreams(Session& s, bool report) {
  for (std::size_t i = 0; i < s.streams.size(); ++i) destroyStream(s, i, report);
  if (!report || !s.relay) return;
  // The final stats are the sums over the call's streams, reported once
  // every destroy (including earlier ones still in flight) is answered.
  s.totals->report = true;
  if (s.totals->pending > 0) destroying_[s.handle] = client_.status(*s.relay).endpoint;
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

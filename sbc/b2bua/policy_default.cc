#include "sbc/b2bua/policy_default.h"

#include "sbc/b2bua/ids.h"

namespace sbc::b2bua {
namespace {

bool isPbxAuth(const cfg::Trunk& t) {
  return t.kind == cfg::TrunkKind::Pbx &&
         (t.auth == cfg::AuthMode::Digest || t.auth == cfg::AuthMode::Register);
}

}  // namespace

DefaultPolicy::DefaultPolicy(txn::TimerService& timers, PolicyOptions options,
                             const HealthView* health, RegistrationSink* sink)
    : timers_(timers),
      options_(std::move(options)),
      digest_(options_.digest),
      flood_(options_.flood),
      registrar_(timers, options_.registrar, sink),
      router_(options_.routing, health, &registrar_, options_.seed) {}

std::string DefaultPolicy::makeTag() {
  return options_.make_tag ? options_.make_tag() : b2bua::makeTag(0);
}

std::string_view DefaultPolicy::realmOf(const cfg::Trunk& trunk) const {
  return trunk.inbound.realm.empty() ? std::string_view(options_.node_name)
                                     : std::string_view(trunk.inbound.realm);
}

Identity DefaultPolicy::drop(RejectCause cause) {
  Identity id;
  id.verdict = Identity::Verdict::Drop;
  id.cause = cause;
  if (cause == RejectCause::Flood)
    ++stats_.dropped_flood;
  else
    ++stats_.dropped_unknown;
  return id;
}

Identity DefaultPolicy::identify(const sip::Message& request, const txn::Peer& source,
                                 const cfg::Snapshot& snapshot) {
  const sip::Method method = request.method();
  const bool is_register = method == sip::Method::Register;
  // ACK and CANCEL cannot be challenged (RFC 3261 22.1): they only act on a
  // transaction that was identified already.
  const bool unchallengeable = method == sip::Method::Ack || method == sip::Method::Cancel;

  auto addr = IpAddr::parse(source.address);
  if (!addr) return drop(RejectCause::UnknownSource);
  std::string_view realm;
  if (!options_.listener_realms.empty()) {
    if (source.listener >= options_.listener_realms.size()) return drop(RejectCause::UnknownSource);
    realm = options_.listener_realms[source.listener];
  }

  // (a) ACL
  if (const cfg::Trunk* t = snapshot.trunkByAddress(addr->v6, addr->bytes, realm)) {
    const bool digest_trunk = t->kind == cfg::TrunkKind::Pbx && t->auth == cfg::AuthMode::Digest &&
                              t->inbound.present() && !unchallengeable &&
                              method != sip::Method::Options;
    const bool register_trunk = t->kind == cfg::TrunkKind::Pbx &&
                                t->auth == cfg::AuthMode::Register && t->inbound.present() &&
                                is_register;
    if (digest_trunk || register_trunk) return digest(request, *t);
    ++stats_.accepted_acl;
    Identity id;
    id.verdict = Identity::Verdict::Accept;
    id.trunk = t;
    return id;
  }

  if (!flood_.allow(*addr, timers_.now())) return drop(RejectCause::Flood);

  // (c) a registered contact
  if (!is_register) {
    if (cfg::TrunkId tid = registrar_.trunkBySource(source.address, source.port)) {
      const cfg::Trunk* t = snapshot.trunk(tid);
      if (t && t->enabled && t->auth == cfg::AuthMode::Register &&
          (realm.empty() || t->realm == realm)) {
        ++stats_.accepted_registered;
        Identity id;
        id.verdict = Identity::Verdict::Accept;
        id.trunk = t;
        return id;
      }
    }
  }

  // (b) credentials of an ACL-less PBX trunk
  if (const cfg::Trunk* t = byCredentials(request, snapshot, realm)) {
    if (unchallengeable) {
      Identity id;
      id.verdict = Identity::Verdict::Accept;
      id.trunk = t;
      return id;
    }
    return digest(request, *t);
  }

  // (d)
  return drop(RejectCause::UnknownSource);
}

Identity DefaultPolicy::digest(const sip::Message& request, const cfg::Trunk& trunk) {
  const bool is_register = request.method() == sip::Method::Register;
  const std::string_view realm = realmOf(trunk);
  const txn::TimePoint now = timers_.now();
  DigestServer::Check check = digest_.verify(request, !is_register, realm, trunk.inbound, now);
  Identity id;
  id.trunk = &trunk;
  switch (check) {
    case DigestServer::Check::Ok:
      ++stats_.accepted_digest;
      id.verdict = Identity::Verdict::Accept;
      return id;
    case DigestServer::Check::Failed:
      ++stats_.auth_failures;
      id.verdict = Identity::Verdict::Reject;
      id.cause = RejectCause::Auth;
      id.response = sip::makeResponse(request, 403, {}, makeTag());
      return id;
    case DigestServer::Check::Missing:
    case DigestServer::Check::BadNonce:
    case DigestServer::Check::Stale:
      break;
  }
  const bool stale = check == DigestServer::Check::Stale;
  ++stats_.challenges;
  if (stale) ++stats_.stale_challenges;
  id.verdict = Identity::Verdict::Challenge;
  id.cause = RejectCause::Auth;
  id.response = sip::makeResponse(request, is_register ? 401 : 407, {}, makeTag());
  digest_.challenge(*id.response, realm, stale, now);
  return id;
}

void DefaultPolicy::indexUsers(const cfg::Snapshot& snapshot) {
  if (users_of_ == &snapshot && users_generation_ == snapshot.generation) return;
  users_.clear();
  for (const cfg::Trunk& t : snapshot.trunks) {
    if (!t.enabled || !isPbxAuth(t) || !t.acl.empty() || !t.inbound.present()) continue;
    users_[t.inbound.username].push_back(&t);
  }
  users_of_ = &snapshot;
  users_generation_ = snapshot.generation;
}

const cfg::Trunk* DefaultPolicy::byCredentials(const sip::Message& request,
                                               const cfg::Snapshot& snapshot,
                                               std::string_view realm) {
  indexUsers(snapshot);
  if (users_.empty()) return nullptr;
  auto who = request.method() == sip::Method::Register ? request.to() : request.from();
  if (!who.ok() || !who->uri.isSip() || who->uri.user.empty()) return nullptr;
  auto it = users_.find(sip::unescape(who->uri.user_number));
  if (it == users_.end()) return nullptr;
  for (const cfg::Trunk* t : it->second)
    if (realm.empty() || t->realm == realm) return t;
  return nullptr;
}

sip::Message DefaultPolicy::handleRegister(const sip::Message& request, const txn::Peer& source,
                                           const cfg::Trunk& trunk) {
  if (trunk.kind != cfg::TrunkKind::Pbx || trunk.auth != cfg::AuthMode::Register ||
      !trunk.enabled) {
    ++stats_.registers_refused;
    return sip::makeResponse(request, 403, "Registration Not Allowed", makeTag());
  }
  return registrar_.handleRegister(request, source, trunk, makeTag());
}

RoutingDecision DefaultPolicy::route(const sip::Message& invite, const cfg::Trunk& from,
                                     const cfg::Snapshot& snapshot) {
  return router_.route(invite, from, snapshot);
}

}  // namespace sbc::b2bua

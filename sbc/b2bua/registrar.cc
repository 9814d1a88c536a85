#include "sbc/b2bua/registrar.h"

#include <algorithm>
#include <limits>

namespace sbc::b2bua {
namespace {

std::string sourceKey(std::string_view address, std::uint16_t port) {
  std::string k;
  k.reserve(address.size() + 6);
  k.append(address);
  k.push_back('|');
  k.append(std::to_string(port));
  return k;
}

std::string aorOf(const sip::Uri& uri) {
  std::string aor = sip::unescape(uri.user);
  aor.push_back('@');
  for (char c : uri.host) aor.push_back((c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c);
  return aor;
}

std::uint32_t remaining(const Binding& b, txn::TimePoint now) {
  if (b.expires_at <= now) return 0;
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(b.expires_at - now).count();
  return static_cast<std::uint32_t>(std::max<long long>(1, secs));
}

}  // namespace

Registrar::Registrar(txn::TimerService& timers, RegistrarOptions options, RegistrationSink* sink)
    : timers_(timers), options_(options), sink_(sink) {
  options_.min_expires = std::max<std::uint32_t>(1, options_.min_expires);
  options_.max_expires = std::max(options_.max_expires, options_.min_expires);
  schedulePurge();
}

Registrar::~Registrar() {
  timers_.cancel(purge_timer_);
}

void Registrar::schedulePurge() {
  if (options_.purge_interval.count() <= 0) return;
  purge_timer_ = timers_.schedule(options_.purge_interval, [this] {
    purgeExpired();
    schedulePurge();
  });
}

void Registrar::emit(BindingEvent::Kind kind, const Binding& b) {
  switch (kind) {
    case BindingEvent::Kind::Added:
      ++stats_.added;
      break;
    case BindingEvent::Kind::Refreshed:
      ++stats_.refreshed;
      break;
    case BindingEvent::Kind::Removed:
      ++stats_.removed;
      break;
  }
  if (!sink_) return;
  BindingEvent e;
  e.kind = kind;
  e.binding = b;
  const auto left = b.expires_at - timers_.now();
  e.expires_wall = std::chrono::system_clock::now() +
                   std::chrono::duration_cast<std::chrono::system_clock::duration>(left);
  sink_->onBindingEvent(e);
}

void Registrar::indexSource(const Binding& b) {
  auto [it, inserted] =
      by_source_.try_emplace(sourceKey(b.source.address, b.source.port), b.trunk, 0u);
  if (!inserted && it->second.first != b.trunk) it->second = {b.trunk, 0u};  // newest wins
  ++it->second.second;
}

void Registrar::unindexSource(const Binding& b) {
  auto it = by_source_.find(sourceKey(b.source.address, b.source.port));
  if (it == by_source_.end() || it->second.first != b.trunk) return;
  if (--it->second.second == 0) by_source_.erase(it);
}

sip::Message Registrar::reject(const sip::Message& request, int code, std::string_view reason,
                               std::string_view to_tag) {
  ++stats_.rejected;
  return sip::makeResponse(request, code, reason, to_tag);
}

sip::Message Registrar::handleRegister(const sip::Message& request, const txn::Peer& source,
                                       const cfg::Trunk& trunk, std::string_view to_tag) {
  ++stats_.registers;
  const txn::TimePoint now = timers_.now();
  auto to = request.to();
  auto call_id = request.callId();
  auto cseq = request.cseq();
  if (!to.ok() || !call_id.ok() || !cseq.ok()) return reject(request, 400, {}, to_tag);
  if (!to->uri.isSip()) return reject(request, 400, "Bad To URI", to_tag);
  const std::string aor = aorOf(to->uri);

  std::optional<std::uint32_t> header_expires;
  if (auto e = request.expires(); e.ok()) {
    header_expires = *e;
  } else if (e.error() != sip::ParseError::Missing) {
    return reject(request, 400, "Bad Expires", to_tag);
  }
  auto contacts = request.contacts();
  if (!contacts.ok()) return reject(request, 400, "Bad Contact", to_tag);

  std::vector<Binding>& list = bindings_[trunk.id];
  // Expired bindings must not take part in the Call-ID/CSeq checks.
  purgeList(list, now);

  auto sameCallIdNotNewer = [&](const Binding& b) {
    return b.call_id == *call_id && cseq->number <= b.cseq;
  };

  if (request.contactIsWildcard()) {
    // RFC 3261 10.3 step 6: "*" only alone and only with Expires: 0.
    if (request.headerCount(sip::HeaderId::Contact) != 1 || !contacts->empty() ||
        header_expires != 0u)
      return reject(request, 400, "Invalid Wildcard", to_tag);
    for (const Binding& b : list) {
      if (b.aor == aor && sameCallIdNotNewer(b))
        return reject(request, 500, "Out Of Order Request", to_tag);
    }
    for (auto it = list.begin(); it != list.end();) {
      if (it->aor != aor) {
        ++it;
        continue;
      }
      unindexSource(*it);
      it->expires_at = now;
      emit(BindingEvent::Kind::Removed, *it);
      --count_;
      it = list.erase(it);
    }
  } else {
    // Validate everything first so that a bad Contact leaves no half update.
    struct Change {
      const sip::NameAddr* contact;
      std::uint32_t expires;
      std::ptrdiff_t existing;  // index into list, -1 if new
    };
    std::vector<Change> changes;
    changes.reserve(contacts->size());
    std::size_t adds = 0, removes = 0;
    for (const sip::NameAddr& c : *contacts) {
      if (!c.uri.isSip()) return reject(request, 400, "Bad Contact URI", to_tag);
      std::uint32_t expires = header_expires.value_or(options_.default_expires);
      if (auto p = c.params.get("expires")) {
        auto v = sip::parseUint(*p, std::numeric_limits<std::uint32_t>::max());
        if (!v.ok()) return reject(request, 400, "Bad Contact Expires", to_tag);
        expires = *v;
      }
      if (expires != 0 && expires < options_.min_expires) {
        ++stats_.rejected;
        sip::Message r = sip::makeResponse(request, 423, {}, to_tag);
        r.addHeader(sip::HeaderId::MinExpires, std::to_string(options_.min_expires));
        return r;
      }
      expires = std::min(expires, options_.max_expires);
      std::ptrdiff_t existing = -1;
      for (std::size_t i = 0; i < list.size(); ++i) {
        if (list[i].aor == aor && sip::uriEquals(list[i].contact, c.uri.text)) {
          existing = static_cast<std::ptrdiff_t>(i);
          break;
        }
      }
      if (existing >= 0 && sameCallIdNotNewer(list[static_cast<std::size_t>(existing)]))
        return reject(request, 500, "Out Of Order Request", to_tag);
      if (existing < 0 && expires > 0) ++adds;
      if (existing >= 0 && expires == 0) ++removes;
      changes.push_back({&c, expires, existing});
    }
    if (list.size() + adds - removes > options_.max_contacts_per_trunk ||
        (adds > removes && count_ + adds - removes > options_.max_bindings))
      return reject(request, 403, "Too Many Registrations", to_tag);

    std::string user_agent;
    if (const sip::HeaderField* ua = request.header(sip::HeaderId::UserAgent))
      user_agent.assign(ua->value.substr(0, 128));
    std::vector<std::size_t> erase;
    for (const Change& ch : changes) {
      if (ch.existing >= 0) {
        Binding& b = list[static_cast<std::size_t>(ch.existing)];
        if (ch.expires == 0) {
          b.expires_at = now;
          erase.push_back(static_cast<std::size_t>(ch.existing));
          continue;
        }
        unindexSource(b);
        b.source = source;
        b.contact.assign(ch.contact->uri.text);
        b.expires_at = now + std::chrono::seconds(ch.expires);
        b.call_id.assign(*call_id);
        b.cseq = cseq->number;
        b.user_agent = user_agent;
        indexSource(b);
        emit(BindingEvent::Kind::Refreshed, b);
      } else if (ch.expires > 0) {
        Binding b;
        b.trunk = trunk.id;
        b.aor = aor;
        b.contact.assign(ch.contact->uri.text);
        b.source = source;
        b.expires_at = now + std::chrono::seconds(ch.expires);
        b.call_id.assign(*call_id);
        b.cseq = cseq->number;
        b.user_agent = user_agent;
        indexSource(b);
        emit(BindingEvent::Kind::Added, b);
        list.push_back(std::move(b));
        ++count_;
      }
    }
    // Erase from the back so that the indexes stay valid; a contact listed
    // twice with expires 0 appears twice here.
    std::sort(erase.begin(), erase.end());
    erase.erase(std::unique(erase.begin(), erase.end()), erase.end());
    for (auto it = erase.rbegin(); it != erase.rend(); ++it) {
      Binding& b = list[*it];
      unindexSource(b);
      emit(BindingEvent::Kind::Removed, b);
      list.erase(list.begin() + static_cast<std::ptrdiff_t>(*it));
      --count_;
    }
  }

  sip::Message ok = sip::makeResponse(request, 200, {}, to_tag);
  for (const Binding& b : list) {
    if (b.aor != aor) continue;
    ok.addHeader(sip::HeaderId::Contact,
                 "<" + b.contact + ">;expires=" + std::to_string(remaining(b, now)));
  }
  if (list.empty()) bindings_.erase(trunk.id);
  return ok;
}

std::vector<const Binding*> Registrar::contactsOf(cfg::TrunkId trunk) const {
  std::vector<const Binding*> out;
  auto it = bindings_.find(trunk);
  if (it == bindings_.end()) return out;
  const txn::TimePoint now = timers_.now();
  for (const Binding& b : it->second)
    if (b.expires_at > now) out.push_back(&b);
  std::stable_sort(out.begin(), out.end(), [](const Binding* a, const Binding* b) {
    return a->expires_at > b->expires_at;
  });
  return out;
}

cfg::TrunkId Registrar::trunkBySource(std::string_view address, std::uint16_t port) const {
  auto it = by_source_.find(sourceKey(address, port));
  if (it == by_source_.end()) return 0;
  // The index may still hold a binding that expired since the last purge.
  auto bit = bindings_.find(it->second.first);
  if (bit == bindings_.end()) return 0;
  const txn::TimePoint now = timers_.now();
  for (const Binding& b : bit->second) {
    if (b.expires_at > now && b.source.port == port && b.source.address == address) return b.trunk;
  }
  return 0;
}

void Registrar::restore(Binding binding) {
  if (count_ >= options_.max_bindings) return;
  indexSource(binding);
  bindings_[binding.trunk].push_back(std::move(binding));
  ++count_;
}

std::size_t Registrar::purgeList(std::vector<Binding>& list, txn::TimePoint now) {
  std::size_t n = 0;
  for (auto b = list.begin(); b != list.end();) {
    if (b->expires_at > now) {
      ++b;
      continue;
    }
    unindexSource(*b);
    emit(BindingEvent::Kind::Removed, *b);
    ++stats_.expired;
    --count_;
    ++n;
    b = list.erase(b);
  }
  return n;
}

std::size_t Registrar::purgeExpired() {
  const txn::TimePoint now = timers_.now();
  std::size_t n = 0;
  for (auto it = bindings_.begin(); it != bindings_.end();) {
    n += purgeList(it->second, now);
    it = it->second.empty() ? bindings_.erase(it) : std::next(it);
  }
  return n;
}

}  // namespace sbc::b2bua

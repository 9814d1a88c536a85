#pragma once
// Helpers for the policy suite: hand-built snapshots and parsed requests.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sbc/b2bua/policy.h"
#include "sbc/config/snapshot.h"
#include "sbc/sip/message.h"

namespace sbc::b2bua::testing {

inline sip::Message parseSip(std::string text) {
  sip::ParseResult r = sip::parseDatagram(std::move(text));
  EXPECT_TRUE(r.ok()) << sip::toString(r.error);
  if (!r.message) return sip::Message{};
  return std::move(*r.message);
}

inline sip::Uri uriOf(std::string_view text) {
  auto r = sip::parseUri(text);
  EXPECT_TRUE(r.ok()) << text;
  return r.ok() ? *r : sip::Uri{};
}

inline cfg::Cidr cidr(std::string_view text) {
  auto c = cfg::Cidr::parse(text);
  EXPECT_TRUE(c.has_value()) << text;
  return c.value_or(cfg::Cidr{});
}

inline cfg::Gateway gateway(std::int64_t id, std::string host, int priority = 10,
                            int weight = 100) {
  cfg::Gateway g;
  g.id = id;
  g.host = std::move(host);
  g.priority = priority;
  g.weight = weight;
  return g;
}

inline cfg::Trunk carrier(cfg::TrunkId id, std::string name) {
  cfg::Trunk t;
  t.id = id;
  t.name = std::move(name);
  t.kind = cfg::TrunkKind::Carrier;
  t.realm = "outside";
  return t;
}

inline cfg::Trunk pbx(cfg::TrunkId id, std::string name, cfg::AuthMode auth = cfg::AuthMode::Acl) {
  cfg::Trunk t;
  t.id = id;
  t.name = std::move(name);
  t.kind = cfg::TrunkKind::Pbx;
  t.realm = "inside";
  t.auth = auth;
  return t;
}

// A request as a UA would send it; `extra` is inserted before the blank line.
inline std::string request(std::string_view method, std::string_view ruri,
                           std::string_view from_user = "alice", std::string_view to_user = "bob",
                           std::string_view extra = "") {
  std::string s;
  s += std::string(method) + " " + std::string(ruri) + " SIP/2.0\r\n";
  s += "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKtest1\r\n";
  s += "Max-Forwards: 70\r\n";
  s += "From: <sip:" + std::string(from_user) + "@192.0.2.10>;tag=ft1\r\n";
  s += "To: <sip:" + std::string(to_user) + "@198.51.100.1>\r\n";
  s += "Call-ID: cid-1@192.0.2.10\r\n";
  s += "CSeq: 1 " + std::string(method) + "\r\n";
  s += extra;
  s += "Content-Length: 0\r\n\r\n";
  return s;
}

// Records what the policy sends and lets the test answer it.
class FakeRequestSender : public RequestSender {
 public:
  struct Sent {
    sip::Message request;
    txn::Destination to;
    std::string realm;
    Callback on_final;
    bool answered = false;
  };

  bool sendOutOfDialog(sip::Message request, const txn::Destination& to, std::string_view realm,
                       Callback on_final) override {
    if (refuse) return false;
    sent.push_back(Sent{std::move(request), to, std::string(realm), std::move(on_final)});
    return true;
  }
  std::string advertisedHostPort(std::string_view realm, txn::Protocol) const override {
    return realm == "outside" ? "203.0.113.1:5060" : "10.0.0.1:5060";
  }
  std::string makeCallId() override { return "cid" + std::to_string(++ids_); }
  std::string makeTag() override { return "tag" + std::to_string(++ids_); }

  // Answers request `i` with `code` (extra headers before the blank line).
  void answer(std::size_t i, int code, std::string_view extra = "") {
    ASSERT_LT(i, sent.size());
    sip::Message resp = sip::makeResponse(sent[i].request, code, {}, code > 100 ? "rtag" : "");
    std::string wire = resp.serialize();
    if (!extra.empty()) wire.insert(wire.size() - 2, extra);
    // The engine adds the Via when it sends; our requests have none.
    if (!resp.header(sip::HeaderId::Via))
      wire.insert(wire.find("\r\n") + 2,
                  "Via: SIP/2.0/UDP 203.0.113.1:5060;branch=z9hG4bKfake\r\n");
    sip::Message parsed = parseSip(std::move(wire));
    Outcome o;
    o.response = &parsed;
    sent[i].answered = true;
    sent[i].on_final(o);
  }
  void timeout(std::size_t i) {
    ASSERT_LT(i, sent.size());
    Outcome o;
    o.timeout = true;
    sent[i].answered = true;
    sent[i].on_final(o);
  }
  std::size_t pending() const {
    std::size_t n = 0;
    for (const auto& s : sent) n += s.answered ? 0 : 1;
    return n;
  }

  std::vector<Sent> sent;
  bool refuse = false;

 private:
  int ids_ = 0;
};

}  // namespace sbc::b2bua::testing

#pragma once
// Fakes for driving the transaction layer: a sender that records every
// message with the simulated time it left, and a TU that records callbacks.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sbc/sip/message.h"
#include "sbc/txn/fake_timer_service.h"
#include "sbc/txn/sender.h"
#include "sbc/txn/transaction.h"
#include "sbc/txn/transaction_layer.h"
#include "sbc/txn/transaction_user.h"

namespace sbc::txn::testing {

using namespace std::chrono_literals;

inline sip::Message parse(std::string text) {
  sip::ParseResult r = sip::parseDatagram(std::move(text));
  EXPECT_TRUE(r.ok()) << sip::toString(r.error);
  if (!r.message) return sip::Message{};
  return std::move(*r.message);
}

struct SentMessage {
  Duration at;  // FakeTimerService::elapsed() when sent
  std::string wire;
  Destination to;
  TxnId owner;

  sip::Message message() const { return parse(wire); }
  std::string startLine() const { return wire.substr(0, wire.find("\r\n")); }
};

class FakeSender : public MessageSender {
 public:
  explicit FakeSender(FakeTimerService& clock) : clock_(clock) {}

  bool send(const sip::Message& message, std::string_view wire, const Destination& to,
            TxnId owner) override {
    sent.push_back(SentMessage{clock_.elapsed(), std::string(wire), to, owner});
    return !fail_next_sends || (--fail_next_sends, false);
  }

  // Times (ms since the test began) of every sent message whose start line
  // begins with `prefix`.
  std::vector<long> timesOf(std::string_view prefix) const {
    std::vector<long> out;
    for (const auto& s : sent) {
      if (s.wire.starts_with(prefix)) out.push_back(static_cast<long>(s.at.count()));
    }
    return out;
  }
  std::size_t countOf(std::string_view prefix) const { return timesOf(prefix).size(); }
  const SentMessage& last() const { return sent.back(); }

  std::vector<SentMessage> sent;
  int fail_next_sends = 0;

 private:
  FakeTimerService& clock_;
};

struct TuEvent {
  std::string what;  // "new", "response", "timeout", "transport_error", "stray_ack", ...
  Duration at;
  TxnId id;
  int code = 0;        // response status
  std::string detail;  // method, timer name, ...
};

class RecordingTu : public TransactionUser {
 public:
  explicit RecordingTu(FakeTimerService& clock) : clock_(clock) {}

  void onNewRequest(ServerTransaction& txn, const sip::Message& request) override {
    events.push_back({"new", clock_.elapsed(), txn.id(), 0, std::string(request.methodText())});
    last_server = txn.id();
    if (on_new_request) on_new_request(txn, request);
  }
  void onResponse(ClientTransaction& txn, const sip::Message& response) override {
    events.push_back({"response", clock_.elapsed(), txn.id(), response.statusCode(),
                      std::string(toString(txn.state()))});
    if (on_response) on_response(txn, response);
  }
  void onTimeout(Transaction& txn, TimerId timer) override {
    events.push_back({"timeout", clock_.elapsed(), txn.id(), 0, toString(timer)});
  }
  void onTransportError(Transaction& txn) override {
    events.push_back({"transport_error", clock_.elapsed(), txn.id(), 0, toString(txn.state())});
  }
  void onStrayAck(const sip::Message& ack, const Peer& source,
                  ServerTransaction* accepted) override {
    events.push_back({"stray_ack", clock_.elapsed(), accepted ? accepted->id() : TxnId{}, 0,
                      accepted ? "accepted" : "none"});
  }
  void onStrayResponse(const sip::Message& response, const Peer& source) override {
    events.push_back({"stray_response", clock_.elapsed(), TxnId{}, response.statusCode(), ""});
  }
  void onTerminated(Transaction& txn) override {
    events.push_back({"terminated", clock_.elapsed(), txn.id(), 0, toString(txn.kind())});
  }

  std::vector<TuEvent> of(std::string_view what) const {
    std::vector<TuEvent> out;
    for (const auto& e : events) {
      if (e.what == what) out.push_back(e);
    }
    return out;
  }
  std::size_t count(std::string_view what) const { return of(what).size(); }

  std::vector<TuEvent> events;
  TxnId last_server;
  std::function<void(ServerTransaction&, const sip::Message&)> on_new_request;
  std::function<void(ClientTransaction&, const sip::Message&)> on_response;

 private:
  FakeTimerService& clock_;
};

// Source/destination peers.
inline Peer udpPeer(std::string address = "192.0.2.10", std::uint16_t port = 5060) {
  return Peer{Protocol::Udp, std::move(address), port, 0, 0};
}
inline Peer tcpPeer(std::string address = "192.0.2.10", std::uint16_t port = 40123,
                    std::uint64_t connection = 7) {
  return Peer{Protocol::Tcp, std::move(address), port, connection, 0};
}

struct RequestSpec {
  std::string method = "INVITE";
  std::string ruri = "sip:bob@biloxi.example.com";
  std::string via = "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKnashds8";
  std::string from = "Alice <sip:alice@atlanta.example.com>;tag=1928301774";
  std::string to = "Bob <sip:bob@biloxi.example.com>";
  std::string call_id = "a84b4c76e66710@pc33.atlanta.example.com";
  std::uint32_t cseq = 314159;
  std::string cseq_method;  // empty: same as method
  std::vector<std::string> routes;
  std::string extra;  // raw header lines, each ending in CRLF
  std::string body;
};

inline std::string requestText(const RequestSpec& s) {
  std::string t = s.method + " " + s.ruri + " SIP/2.0\r\n";
  t += "Via: " + s.via + "\r\n";
  t += "Max-Forwards: 70\r\n";
  for (const auto& r : s.routes) t += "Route: " + r + "\r\n";
  t += "To: " + s.to + "\r\n";
  t += "From: " + s.from + "\r\n";
  t += "Call-ID: " + s.call_id + "\r\n";
  t += "CSeq: " + std::to_string(s.cseq) + " " +
       (s.cseq_method.empty() ? s.method : s.cseq_method) + "\r\n";
  t += "Contact: <sip:alice@192.0.2.10>\r\n";
  t += s.extra;
  t += "Content-Length: " + std::to_string(s.body.size()) + "\r\n\r\n" + s.body;
  return t;
}

inline sip::Message request(const RequestSpec& s) {
  return parse(requestText(s));
}

// A response to `req` as the far end would send it (Vias, From, Call-ID and
// CSeq copied; To tagged for non-100).
inline sip::Message responseTo(const sip::Message& req, int code,
                               std::string_view to_tag = "as-tag-1") {
  sip::Message m = sip::makeResponse(req, code, {}, code == 100 ? std::string_view{} : to_tag);
  return parse(m.serialize());
}

// A wire-level copy, as if received again (a retransmission).
inline sip::Message copyOf(const sip::Message& m) {
  return parse(m.serialize());
}

// Holds the fakes and the layer under test.
struct Harness {
  explicit Harness(LayerOptions options = {})
      : sender(clock), tu(clock), layer(clock, sender, tu, options) {}

  FakeTimerService clock;
  FakeSender sender;
  RecordingTu tu;
  TransactionLayer layer;
};

}  // namespace sbc::txn::testing

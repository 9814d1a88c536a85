#pragma once
// A scripted media relay for the client tests: a real TCP listener on
// 127.0.0.1:0, the real codec, replies decided by the test.
#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/relayctl/codec.h"
#include "common/relayctl/line_framer.h"

namespace sbc::media::test {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

class FakeRelay {
 public:
  // nullopt: do not answer this request.
  using Script = std::function<std::optional<relayctl::Response>(const relayctl::Request&)>;

  explicit FakeRelay(asio::io_context& io)
      : acceptor_(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    port_ = acceptor_.local_endpoint().port();
    accept();
  }

  std::uint16_t port() const { return port_; }
  Script script = [](const relayctl::Request& r) { return defaultReply(r); };
  std::vector<relayctl::Request> received;
  int connections = 0;
  std::uint32_t sessions = 0;

  static std::optional<relayctl::Response> defaultReply(const relayctl::Request& r) {
    relayctl::Response rsp;
    rsp.id = r.id;
    if (std::holds_alternative<relayctl::PingRequest>(r.body)) {
      rsp.body = relayctl::PongResponse{0, 1000};
    } else if (const auto* c = std::get_if<relayctl::CreateRequest>(&r.body)) {
      relayctl::CreateResponse cr;
      for (int k = 0; k < 2; ++k) cr.legs[k] = allocation(k, c->legs[k].crypto);
      rsp.body = cr;
    } else if (const auto* u = std::get_if<relayctl::UpdateRequest>(&r.body)) {
      relayctl::UpdateResponse ur;
      for (int k = 0; k < 2; ++k) ur.legs[k] = allocation(k, u->legs[k].crypto);
      rsp.body = ur;
    } else if (std::holds_alternative<relayctl::DestroyRequest>(r.body)) {
      relayctl::DestroyResponse d;
      d.legs[0].packetsIn = 50;
      d.legs[1].packetsIn = 49;
      rsp.body = d;
    } else {
      rsp.body = relayctl::Error{relayctl::ErrorCode::kUnknownSession, {}, "no"};
    }
    return rsp;
  }
  // Leg 0 on 10.1.0.1:40000, leg 1 on 10.2.0.1:40002; on an SRTP leg the
  // relay's own sending key (the real relay reports it on every SRTP leg).
  static relayctl::LegAllocation allocation(int leg, const std::optional<relayctl::Crypto>& c) {
    relayctl::LegAllocation a;
    a.localAddress = leg == 0 ? "10.1.0.1" : "10.2.0.1";
    a.rtpPort = leg == 0 ? 40000 : 40002;
    a.rtcpPort = static_cast<std::uint16_t>(a.rtpPort + 1);
    if (c) {
      a.crypto = relayctl::Crypto{c->suite, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd", false};
    }
    return a;
  }

  void sendLine(std::string line) {
    if (!conn_) return;
    line.push_back('\n');
    auto keep = std::make_shared<std::string>(std::move(line));
    asio::async_write(conn_->socket, asio::buffer(*keep), [keep](auto, auto) {});
  }
  void dropConnection() {
    if (!conn_) return;
    boost::system::error_code ec;
    conn_->socket.close(ec);
    conn_.reset();
  }
  void stopListening() {
    boost::system::error_code ec;
    acceptor_.close(ec);
  }

  template <typename Request>
  std::vector<const Request*> receivedOf() const {
    std::vector<const Request*> out;
    for (const auto& r : received) {
      if (const auto* x = std::get_if<Request>(&r.body)) out.push_back(x);
    }
    return out;
  }

 private:
  struct Conn {
    explicit Conn(tcp::socket s) : socket(std::move(s)) {}
    tcp::socket socket;
    std::array<char, 4096> buf{};
    relayctl::LineFramer framer;
  };

  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket s) {
      if (ec) return;
      ++connections;
      conn_ = std::make_shared<Conn>(std::move(s));
      read(conn_);
      accept();
    });
  }
  void read(std::shared_ptr<Conn> c) {
    c->socket.async_read_some(asio::buffer(c->buf),
                              [this, c](boost::system::error_code ec, std::size_t n) {
                                if (ec) return;
                                c->framer.feed(std::string_view(c->buf.data(), n),
                                               [&](relayctl::FrameEvent, std::string_view line) {
                                                 auto req = relayctl::decodeRequest(line);
                                                 if (!req) return;
                                                 received.push_back(req.value());
                                                 if (auto rsp = script(req.value())) {
                                                   if (c == conn_) sendLine(relayctl::encode(*rsp));
                                                 }
                                               });
                                read(c);
                              });
  }

  tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::shared_ptr<Conn> conn_;
};

// Runs the loop until pred() or the deadline; returns pred().
template <typename Pred>
bool runUntil(asio::io_context& io, Pred pred,
              std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!pred() && std::chrono::steady_clock::now() < end) {
    io.run_one_for(std::chrono::milliseconds(10));
    if (io.stopped()) io.restart();
  }
  return pred();
}

}  // namespace sbc::media::test

#pragma once
// A plain TCP peer for the tests, driven without blocking the loop the
// Transport runs on.

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <string>

#include "test_support.h"

namespace sbc::transport::test {

inline boost::asio::ip::tcp::endpoint toTcp(const Endpoint& endpoint) {
  return {boost::asio::ip::make_address(endpoint.address.toString()), endpoint.port};
}

class RawClient {
 public:
  RawClient(boost::asio::io_context& io, const Endpoint& server) : io_(io), socket_(io) {
    socket_.connect(toTcp(server));  // the kernel completes it from the listen backlog
  }

  void write(std::string_view data) {
    boost::asio::write(socket_, boost::asio::buffer(data.data(), data.size()));
  }

  // Runs the loop until `n` bytes arrived (or the peer closed / time is up).
  bool waitForBytes(std::size_t n, std::chrono::milliseconds limit = 5s) {
    return runUntil(
               io_, [&] { return pump() >= n || closed_; }, limit) &&
           received_.size() >= n;
  }
  // Runs the loop until the peer closes the connection.
  bool waitForClose(std::chrono::milliseconds limit = 5s) {
    return runUntil(
        io_,
        [&] {
          pump();
          return closed_;
        },
        limit);
  }

  const std::string& received() const { return received_; }
  bool closed() {
    pump();
    return closed_;
  }
  Endpoint localEndpoint() const {
    const auto local = socket_.local_endpoint();
    return {*IpAddress::parse(local.address().to_string()), local.port()};
  }

 private:
  std::size_t pump() {
    if (closed_) return received_.size();
    socket_.non_blocking(true);
    char buffer[16384];
    for (;;) {
      boost::system::error_code ec;
      const std::size_t n = socket_.read_some(boost::asio::buffer(buffer), ec);
      if (ec == boost::asio::error::would_block) break;
      if (ec) {
        closed_ = true;
        break;
      }
      received_.append(buffer, n);
    }
    socket_.non_blocking(false);
    return received_.size();
  }

  boost::asio::io_context& io_;
  boost::asio::ip::tcp::socket socket_;
  std::string received_;
  bool closed_ = false;
};

}  // namespace sbc::transport::test

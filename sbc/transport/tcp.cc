// Plain TCP connections and the accept loop shared by TCP and TLS listeners.

#include <boost/asio/write.hpp>

#include "sbc/transport/transport_core.h"

namespace sbc::transport::detail {
namespace {

// How long to wait before accepting again after e.g. EMFILE, instead of
// spinning on an error that will not clear by itself at once.
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(100);

class TcpConnection final : public StreamConnection {
 public:
  TcpConnection(TransportCore& core, ConnectionId id, ListenerIndex listener, bool outbound,
                tcp::socket socket)
      : StreamConnection(core, id, Protocol::kTcp, listener, outbound),
        socket_(std::move(socket)) {}

 protected:
  tcp::socket& socket() override { return socket_; }

  void asyncHandshake() override { onHandshake({}); }

  void asyncRead(asio::mutable_buffer buffer) override {
    socket_.async_read_some(buffer,
                            [this, self = shared_from_this()](const boost::system::error_code& ec,
                                                              std::size_t n) { onRead(ec, n); });
  }

  void asyncWrite(std::span<const asio::const_buffer> buffers) override {
    asio::async_write(socket_, buffers,
                      [this, self = shared_from_this()](const boost::system::error_code& ec,
                                                        std::size_t n) { onWritten(ec, n); });
  }

 private:
  tcp::socket socket_;
};

}  // namespace

StreamConnectionPtr makeTcpConnection(TransportCore& core, ConnectionId id, ListenerIndex listener,
                                      bool outbound, tcp::socket socket) {
  return std::make_shared<TcpConnection>(core, id, listener, outbound, std::move(socket));
}

StreamListener::StreamListener(TransportCore& core, ListenerIndex index, tcp::acceptor acceptor)
    : core_(&core), index_(index), acceptor_(std::move(acceptor)), retry_timer_(core.io()) {
  boost::system::error_code ec;
  local_ = fromAsioEndpoint(acceptor_.local_endpoint(ec));
}

void StreamListener::start() {
  accept();
}

void StreamListener::accept() {
  acceptor_.async_accept(
      [self = shared_from_this()](const boost::system::error_code& ec, tcp::socket socket) {
        if (self->core_ == nullptr || ec == asio::error::operation_aborted) return;
        if (ec) {
          self->retry_timer_.expires_after(kAcceptRetryDelay);
          self->retry_timer_.async_wait([self](const boost::system::error_code& wait_ec) {
            if (!wait_ec && self->core_ != nullptr) self->accept();
          });
          return;
        }
        self->core_->accepted(self->index_, std::move(socket));
        if (self->core_ != nullptr) self->accept();
      });
}

void StreamListener::close() {
  core_ = nullptr;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  retry_timer_.cancel();
}

}  // namespace sbc::transport::detail

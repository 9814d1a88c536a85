#pragma once
// The SBC side of the relay control protocol: one persistent TCP connection
// per configured media relay, on the SIP thread's io_context. Nothing here
// blocks: connects, writes and reads are asynchronous, every request has a
// deadline, and answers arrive as callbacks on that same thread.
//
// - Requests carry ids; a request not answered within `request_timeout` is
//   sent again with the SAME id (the relay answers a repeat from its cache),
//   up to `attempts` times; across a reconnect, requests still pending are
//   re-sent on the new connection. The callback runs exactly once.
// - Health: a `ping` every `ping_interval`; a relay is healthy while its
//   connection is up and its last pong is recent. New sessions go to the
//   healthy relay with the fewest sessions (from pong, plus creates since).
// - Reconnect with exponential backoff. A relay down for longer than `grace`
//   is reported once through onRelayLost (calls on it must end).
// - Events (media timeout, session expired) go to onEvent.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/relayctl/protocol.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace sbc::media {

struct RelayEndpoint {
  std::string address;  // IP literal
  std::uint16_t port = 0;
};

struct RelayClientOptions {
  std::vector<RelayEndpoint> relays;
  std::chrono::milliseconds ping_interval{2000};
  std::chrono::milliseconds request_timeout{700};  // per attempt
  int attempts = 3;
  std::chrono::milliseconds reconnect_min{100};
  std::chrono::milliseconds reconnect_max{5000};
  std::chrono::milliseconds grace{5000};  // down this long: calls on it end
  std::string id_prefix = "s";            // request ids: <prefix><counter>
};

struct RelayStatus {
  std::string endpoint;  // "address:port"
  bool connected = false;
  bool healthy = false;
  std::uint32_t sessions = 0;  // last pong + creates since
  std::uint32_t ports_free = 0;
  std::uint64_t requests = 0;
  std::uint64_t retransmits = 0;
  std::uint64_t timeouts = 0;
  std::uint64_t reconnects = 0;
};

class RelayClient {
 public:
  // An Error body (code kInternal, message "timeout"/"stopped") when the
  // relay did not answer in time.
  using ResponseHandler = std::function<void(const relayctl::ResponseBody&)>;
  using EventHandler = std::function<void(std::size_t relay, const relayctl::Event&)>;
  using LostHandler = std::function<void(std::size_t relay)>;
  // Every request's outcome once it is settled: verb "create", "update",
  // "destroy", "query" or "ping"; result "ok", "error" (the relay refused),
  // "timeout" (no answer after every attempt) or "stopped"; latency from the
  // first attempt. On the io_context's thread (for metrics).
  using RequestObserver =
      std::function<void(std::size_t relay, std::string_view verb, std::string_view result,
                         std::chrono::steady_clock::duration latency)>;

  RelayClient(boost::asio::io_context& io, RelayClientOptions options);
  ~RelayClient();
  RelayClient(const RelayClient&) = delete;
  RelayClient& operator=(const RelayClient&) = delete;

  void onEvent(EventHandler handler);
  void onRelayLost(LostHandler handler);
  void onRequestDone(RequestObserver observer);

  void start();  // connects to every relay
  void stop();   // closes; pending requests fail with "stopped"

  // The relay a new session should go to; nullopt when none is healthy.
  std::optional<std::size_t> pickRelay() const;
  // Sends a request (the client assigns the id). `done` runs later, on the
  // io_context's thread, never from inside send().
  void send(std::size_t relay, relayctl::RequestBody body, ResponseHandler done);

  std::size_t relayCount() const;
  RelayStatus status(std::size_t relay) const;
  bool healthy(std::size_t relay) const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace sbc::media

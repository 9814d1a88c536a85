#pragma once
// Shared by the transport socket tests: an event sink per Transport and a
// bounded way to run the io_context until something happened.

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "sbc/transport/transport.h"

namespace sbc::transport::test {

using namespace std::chrono_literals;

// Runs the loop until pred() holds or the time is up; never hangs.
inline bool runUntil(boost::asio::io_context& io, const std::function<bool()>& pred,
                     std::chrono::milliseconds limit = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    if (io.stopped()) io.restart();
    io.run_for(5ms);
  }
  return true;
}

// Runs the loop for a fixed time (to check that something does NOT happen).
inline void runFor(boost::asio::io_context& io, std::chrono::milliseconds duration) {
  runUntil(
      io, [] { return false; }, duration);
}

struct RecordedError {
  ErrorKind kind;
  ConnectionId connection;
  std::uint64_t owner;
  FramingError framing;
  std::string detail;
  std::string head;
};

// Records everything a Transport reports.
struct Sink {
  std::vector<InboundMessage> messages;
  std::vector<RecordedError> errors;
  std::vector<std::pair<ConnectionId, CloseReason>> closed;
  std::function<void(const InboundMessage&)> on_message;  // optional extra reaction
  std::function<void(const TransportError&)> on_error;    // optional extra reaction

  Callbacks callbacks() {
    Callbacks callbacks;
    callbacks.on_message = [this](InboundMessage&& message) {
      messages.push_back(std::move(message));
      if (on_message) on_message(messages.back());
    };
    callbacks.on_error = [this](const TransportError& error) {
      errors.push_back({error.kind, error.connection, error.owner, error.framing,
                        std::string(error.detail), std::string(error.head)});
      if (on_error) on_error(error);
    };
    callbacks.on_closed = [this](ConnectionId id, CloseReason reason) {
      closed.emplace_back(id, reason);
    };
    return callbacks;
  }

  bool hasError(ErrorKind kind) const {
    for (const auto& error : errors) {
      if (error.kind == kind) return true;
    }
    return false;
  }
};

inline ListenerConfig listener(Protocol protocol, std::string realm = "inside",
                               std::string address = "127.0.0.1") {
  ListenerConfig config;
  config.realm = std::move(realm);
  config.protocol = protocol;
  config.bind_address = std::move(address);
  config.port = 0;
  return config;
}

inline std::string sipMessage(std::string_view call_id, std::string_view body = "") {
  std::string message = "MESSAGE sip:bob@example.com SIP/2.0\r\nCall-ID: ";
  message += call_id;
  message += "\r\nCSeq: 1 MESSAGE\r\nContent-Length: ";
  message += std::to_string(body.size());
  message += "\r\n\r\n";
  message += body;
  return message;
}

}  // namespace sbc::transport::test

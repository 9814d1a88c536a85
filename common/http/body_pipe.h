#pragma once
// A bounded byte pipe between a coroutine on an Asio executor and a blocking
// thread (a database pool thread), for bodies that stream through a handler:
// a request body read from the network and fed to COPY, or a CSV export read
// from a cursor and written as a chunked response.
//
// One side writes, the other reads; either may cancel. The blocking side
// waits on a condition variable; the coroutine side waits on a timer that the
// other side cancels through the coroutine's executor, so an I/O thread never
// blocks. At most `capacity` bytes are held (one write may overshoot it).
//
// Thread-safe. Keep it in a shared_ptr held by both sides.
#include <boost/asio/awaitable.hpp>

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace sbc::http {

class BodyPipe {
 public:
  explicit BodyPipe(std::size_t capacity);

  // ---- writer side
  // Coroutine: waits for room; false when the reader cancelled.
  boost::asio::awaitable<bool> write(std::string_view data);
  // Blocking thread: waits for room; false when the reader cancelled.
  bool writeBlocking(std::string_view data);
  // End of data: ok, or a failure the reader sees after what was written.
  void close(bool ok = true);

  // ---- reader side. What has been written, all of it at once (empty at the
  // end: check ended()/failed()).
  // Coroutine: waits until there is something or the writer closed.
  boost::asio::awaitable<std::string> read();
  // Blocking thread: waits until there is something or the writer closed.
  std::string readBlocking();

  // Either side gives up: every wait on both sides ends.
  void cancel();

  bool ended() const;      // closed by the writer and everything read
  bool failed() const;     // closed with ok = false
  bool cancelled() const;  // cancel() was called

 private:
  struct Waiter;
  bool readable() const;  // lock held
  bool writable() const;  // lock held
  void wakeAll();         // lock held

  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::string data_;
  bool closed_ = false;
  bool ok_ = true;
  bool cancelled_ = false;
  // The coroutine waiting (one at most per side), woken by cancelling its
  // timer on its own executor.
  std::shared_ptr<Waiter> waiter_;
};

}  // namespace sbc::http

#include "common/http/body_pipe.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>

namespace sbc::http {

namespace asio = boost::asio;

struct BodyPipe::Waiter {
  explicit Waiter(const asio::any_io_executor& ex) : timer(ex) {}
  asio::steady_timer timer;
};

BodyPipe::BodyPipe(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

bool BodyPipe::readable() const {
  return !data_.empty() || closed_ || cancelled_;
}

bool BodyPipe::writable() const {
  return data_.size() < capacity_ || cancelled_;
}

void BodyPipe::wakeAll() {
  cv_.notify_all();
  if (waiter_) {
    // The cancel runs on the waiter's executor, after its coroutine has
    // suspended in async_wait (it registered under this lock and suspends
    // before that executor runs anything else).
    auto w = std::move(waiter_);
    asio::post(w->timer.get_executor(), [w] { w->timer.cancel(); });
  }
}

asio::awaitable<bool> BodyPipe::write(std::string_view data) {
  auto ex = co_await asio::this_coro::executor;
  while (true) {
    std::shared_ptr<Waiter> w;
    {
      std::lock_guard lock(mutex_);
      if (cancelled_) co_return false;
      if (writable()) {
        data_.append(data);
        wakeAll();
        co_return true;
      }
      w = std::make_shared<Waiter>(ex);
      w->timer.expires_at(asio::steady_timer::time_point::max());
      waiter_ = w;
    }
    co_await w->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

bool BodyPipe::writeBlocking(std::string_view data) {
  std::unique_lock lock(mutex_);
  cv_.wait(lock, [this] { return writable(); });
  if (cancelled_) return false;
  data_.append(data);
  wakeAll();
  return true;
}

void BodyPipe::close(bool ok) {
  std::lock_guard lock(mutex_);
  if (closed_) return;
  closed_ = true;
  ok_ = ok;
  wakeAll();
}

asio::awaitable<std::string> BodyPipe::read() {
  auto ex = co_await asio::this_coro::executor;
  while (true) {
    std::shared_ptr<Waiter> w;
    {
      std::lock_guard lock(mutex_);
      if (readable()) {
        std::string out;
        out.swap(data_);
        wakeAll();
        co_return out;
      }
      w = std::make_shared<Waiter>(ex);
      w->timer.expires_at(asio::steady_timer::time_point::max());
      waiter_ = w;
    }
    co_await w->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

std::string BodyPipe::readBlocking() {
  std::unique_lock lock(mutex_);
  cv_.wait(lock, [this] { return readable(); });
  std::string out;
  if (cancelled_) return out;
  out.swap(data_);
  wakeAll();
  return out;
}

void BodyPipe::cancel() {
  std::lock_guard lock(mutex_);
  cancelled_ = true;
  data_.clear();
  wakeAll();
}

bool BodyPipe::ended() const {
  std::lock_guard lock(mutex_);
  return (closed_ && data_.empty()) || cancelled_;
}

bool BodyPipe::failed() const {
  std::lock_guard lock(mutex_);
  return closed_ && !ok_;
}

bool BodyPipe::cancelled() const {
  std::lock_guard lock(mutex_);
  return cancelled_;
}

}  // namespace sbc::http

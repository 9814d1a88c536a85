#include "sbc/media/record_join.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <utility>

namespace sbc::media {

struct RecordJoin::Held {
  explicit Held(boost::asio::io_context& io) : timer(io) {}
  b2bua::CallRecord record;
  boost::asio::steady_timer timer;
};

b2bua::LegMediaStats toLegMedia(const relayctl::LegStats& s) {
  b2bua::LegMediaStats m;
  m.packets_in = s.packetsIn;
  m.bytes_in = s.bytesIn;
  m.packets_out = s.packetsOut;
  m.bytes_out = s.bytesOut;
  m.packets_lost = s.lost;
  m.jitter_ms = static_cast<double>(s.jitterUs) / 1000.0;
  m.srtp_failures = s.srtpAuthFailures;
  return m;
}

RecordJoin::RecordJoin(boost::asio::io_context& io, RelayAnchor& anchor,
                       std::chrono::milliseconds deadline, b2bua::CallRecordSink out)
    : io_(io), anchor_(anchor), deadline_(deadline), out_(std::move(out)) {
  anchor_.setStatsSink(
      [this](b2bua::CallHandle call, const std::array<relayctl::LegStats, 2>* stats) {
        onStats(call, stats);
      });
}

RecordJoin::~RecordJoin() {
  anchor_.setStatsSink(nullptr);
  flush();
}

void RecordJoin::onRecord(b2bua::CallRecord&& record) {
  std::optional<std::string> relay = anchor_.destroyPending(record.call_handle);
  if (!relay) {
    if (out_) out_(std::move(record));
    return;
  }
  const b2bua::CallHandle call = record.call_handle;
  auto held = std::make_unique<Held>(io_);
  held->record = std::move(record);
  held->record.media_relay = std::move(*relay);
  held->timer.expires_after(deadline_);
  // The timer dies with its Held (cancelled, handler sees operation_aborted)
  // and every Held dies before `this`.
  held->timer.async_wait([this, call](const boost::system::error_code& ec) {
    // A timer that fired just as the stats came is already queued: check.
    if (ec || held_.find(call) == held_.end()) return;
    ++stats_.timed_out;
    emit(call);
  });
  held_[call] = std::move(held);
}

void RecordJoin::onStats(b2bua::CallHandle call, const std::array<relayctl::LegStats, 2>* stats) {
  auto it = held_.find(call);
  if (it == held_.end()) return;  // written already (deadline) or never anchored
  if (stats) {
    b2bua::CallRecord& r = it->second->record;
    r.media_stats = true;
    r.media[0] = toLegMedia((*stats)[0]);
    r.media[1] = toLegMedia((*stats)[1]);
    ++stats_.joined;
  } else {
    ++stats_.failed;
  }
  emit(call);
}

void RecordJoin::emit(b2bua::CallHandle call) {
  auto it = held_.find(call);
  if (it == held_.end()) return;
  std::unique_ptr<Held> held = std::move(it->second);
  held_.erase(it);
  held->timer.cancel();
  if (out_) out_(std::move(held->record));
}

void RecordJoin::flush() {
  auto all = std::move(held_);
  held_.clear();
  for (auto& [call, held] : all) {
    held->timer.cancel();
    if (out_) out_(std::move(held->record));
  }
}

}  // namespace sbc::media

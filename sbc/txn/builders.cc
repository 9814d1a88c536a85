#include "sbc/txn/builders.h"

#include <charconv>
#include <random>
#include <string>

#include "sbc/txn/matching.h"

namespace sbc::txn {
namespace {

void appendCSeqValue(std::string& out, std::uint32_t number, std::string_view method) {
  char buf[12];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, number);
  out.append(buf, end);
  out.push_back(' ');
  out.append(method);
}

void copyRoutes(const sip::Message& from, sip::Message& to) {
  for (const sip::HeaderField& h : from.headers()) {
    if (h.id == sip::HeaderId::Route) to.addHeader(sip::HeaderId::Route, h.value);
  }
}

// The fields shared by ACK and CANCEL; `to_value` differs between them.
std::optional<sip::Message> makeInTransaction(const sip::Message& request, sip::Method method,
                                              std::string_view method_name,
                                              std::string_view to_value) {
  auto via = request.topVia();
  auto cseq = request.cseq();
  const sip::HeaderField* from = request.header(sip::HeaderId::From);
  const sip::HeaderField* call_id = request.header(sip::HeaderId::CallId);
  if (!request.isRequest() || !via || !cseq || !from || !call_id) return std::nullopt;
  auto created = sip::Message::createRequest(method, request.requestUriText());
  if (!created) return std::nullopt;
  sip::Message msg = std::move(created).value();
  msg.addHeader(sip::HeaderId::Via, via->text);
  msg.addHeader(sip::HeaderId::MaxForwards, "70");
  copyRoutes(request, msg);
  msg.addHeader(sip::HeaderId::From, from->value);
  msg.addHeader(sip::HeaderId::To, to_value);
  msg.addHeader(sip::HeaderId::CallId, call_id->value);
  std::string cseq_value;
  appendCSeqValue(cseq_value, cseq->number, method_name);
  msg.addHeader(sip::HeaderId::CSeq, cseq_value);
  msg.addHeader(sip::HeaderId::ContentLength, "0");
  return msg;
}

std::uint64_t nextRandom() {
  // splitmix64 over a per-thread seed from the OS: branches must not repeat
  // and should not be guessable by a peer that saw a few of them.
  thread_local std::uint64_t state = [] {
    std::random_device rd;
    return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  }();
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

std::optional<sip::Message> makeAck(const sip::Message& invite, const sip::Message& response) {
  const sip::HeaderField* to = response.header(sip::HeaderId::To);
  if (!to) return std::nullopt;
  return makeInTransaction(invite, sip::Method::Ack, "ACK", to->value);
}

std::optional<sip::Message> makeCancel(const sip::Message& request) {
  const sip::HeaderField* to = request.header(sip::HeaderId::To);
  if (!to) return std::nullopt;
  return makeInTransaction(request, sip::Method::Cancel, "CANCEL", to->value);
}

std::string makeBranch(std::string_view tag) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string branch;
  branch.reserve(7 + tag.size() + 16);
  branch.append("z9hG4bK");
  branch.append(tag);
  std::uint64_t r = nextRandom();
  for (int i = 0; i < 16; ++i) {
    branch.push_back(kHex[r & 0xf]);
    r >>= 4;
  }
  return branch;
}

bool stampReceived(sip::Message& request, const Peer& source) {
  auto top = request.topVia();
  if (!top || source.address.empty()) return false;
  const sip::Via& via = *top;
  const bool add_received = via.rport || via.host != source.address;
  const bool set_rport = via.rport && via.rport_value != source.port;
  if (!add_received && !set_rport) return false;
  if (add_received && via.received == source.address && !set_rport) return false;

  // Every received request is stamped: reuse one buffer per thread.
  thread_local std::string text;
  text.clear();
  text.append(via.protocol_name).append("/").append(via.protocol_version).append("/");
  text.append(via.transport_text).append(" ");
  if (via.host_type == sip::HostType::IPv6) {
    text.append("[").append(via.host).append("]");
  } else {
    text.append(via.host);
  }
  if (via.has_port) {
    char buf[6];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, via.port);
    text.append(":").append(buf, end);
  }
  for (const sip::Param& p : via.params) {
    if (sip::iequals(p.name, "received") || sip::iequals(p.name, "rport")) continue;
    text.append(";").append(p.name);
    if (p.has_value) {
      text.append("=");
      if (p.quoted) {
        text.append("\"").append(p.value).append("\"");
      } else {
        text.append(p.value);
      }
    }
  }
  if (add_received) text.append(";received=").append(source.address);
  if (via.rport) {
    char buf[6];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, source.port);
    text.append(";rport=").append(buf, end);
  }
  // `via` points into the header being replaced: it is not used past here.
  request.replaceFirstValue(sip::HeaderId::Via, text);
  return true;
}

Destination responseDestination(const sip::Message& request, const Peer& source, bool symmetric) {
  Destination to = source;
  auto top = request.topVia();
  if (!top) return to;
  if (source.protocol != Protocol::Udp) {
    // The connection is what counts; the address is only the transport's
    // fallback when the connection has closed (RFC 3261 18.2.2: received +
    // sent-by port).
    to.port = sentByPort(*top);
    return to;
  }
  if (!top->rport && !symmetric) to.port = sentByPort(*top);
  return to;
}

}  // namespace sbc::txn

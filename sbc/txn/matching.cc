#include "sbc/txn/matching.h"

#include <charconv>

namespace sbc::txn {
namespace {

// Separator that cannot appear in a token, host or Call-ID.
constexpr char kSep = '\x1f';

// One append, then lowered in place: keys are built for every request
// received, and push_back per character re-checks the capacity each time.
void appendLower(std::string& out, std::string_view s) {
  const std::size_t base = out.size();
  out.append(s);
  for (std::size_t i = base; i < out.size(); ++i) {
    const char c = out[i];
    if (c >= 'A' && c <= 'Z') out[i] = static_cast<char>(c - 'A' + 'a');
  }
}

void appendNumber(std::string& out, std::uint32_t n) {
  char buf[12];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
  out.append(buf, end);
}

void appendSentBy(std::string& out, const sip::Via& via) {
  appendLower(out, via.host);
  out.push_back(':');
  appendNumber(out, sentByPort(via));
}

}  // namespace

std::string_view matchMethod(const sip::Message& request) {
  if (request.method() == sip::Method::Ack) return "INVITE";
  return request.methodText();
}

std::uint16_t sentByPort(const sip::Via& via) {
  if (via.has_port) return via.port;
  return via.transport == sip::TransportProto::Tls || via.transport == sip::TransportProto::Wss
             ? 5061
             : 5060;
}

void appendServerKey(std::string& out, const sip::Via& top, std::string_view method) {
  out.append(top.branch);
  out.push_back(kSep);
  appendSentBy(out, top);
  out.push_back(kSep);
  out.append(method);
}

void appendClientKey(std::string& out, std::string_view branch, std::string_view method) {
  out.append(branch);
  out.push_back(kSep);
  out.append(method);
}

bool append2543Key(std::string& out, const sip::Message& request, std::string_view method) {
  auto via = request.topVia();
  auto call_id = request.callId();
  auto cseq = request.cseq();
  auto from = request.from();
  if (!via || !call_id || !cseq || !from) return false;
  out.append("2543");
  out.push_back(kSep);
  out.append(*call_id);
  out.push_back(kSep);
  appendNumber(out, cseq->number);
  out.push_back(kSep);
  out.append(method);
  out.push_back(kSep);
  out.append(from->tag);
  out.push_back(kSep);
  appendSentBy(out, *via);
  return true;
}

bool sameVia2543(const sip::Via& a, const sip::Via& b) {
  return a.transport == b.transport && sip::iequals(a.transport_text, b.transport_text) &&
         sip::iequals(a.host, b.host) && sentByPort(a) == sentByPort(b) && a.branch == b.branch;
}

}  // namespace sbc::txn

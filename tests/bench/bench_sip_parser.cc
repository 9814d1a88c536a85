// SIP message core benchmarks on a ~1 KB INVITE as Asterisk (PJSIP) sends it.
// Each iteration copies the bytes into a fresh std::string first, as a
// transport does when it hands its receive buffer to the parser.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>

#include "sbc/sip/message.h"
#include "sbc/sip/validate.h"

namespace {

using namespace sbc::sip;

std::string makeInvite() {
  const std::string sdp =
      "v=0\r\n"
      "o=- 1700000000 1700000000 IN IP4 10.0.0.5\r\n"
      "s=Asterisk\r\n"
      "c=IN IP4 10.0.0.5\r\n"
      "t=0 0\r\n"
      "m=audio 14062 RTP/AVP 0 8 9 18 101\r\n"
      "a=rtpmap:0 PCMU/8000\r\n"
      "a=rtpmap:8 PCMA/8000\r\n"
      "a=rtpmap:9 G722/8000\r\n"
      "a=rtpmap:18 G729/8000\r\n"
      "a=fmtp:18 annexb=no\r\n"
      "a=rtpmap:101 telephone-event/8000\r\n"
      "a=fmtp:101 0-16\r\n"
      "a=ptime:20\r\n"
      "a=maxptime:150\r\n"
      "a=sendrecv\r\n";
  std::string m =
      "INVITE sip:+15551234567@carrier.example.com:5060 SIP/2.0\r\n"
      "Via: SIP/2.0/UDP "
      "10.0.0.5:5060;rport;branch=z9hG4bKPj5c1e0d2b-7c4f-4f3b-9a4e-1b2c3d4e5f60\r\n"
      "From: \"Reception Desk\" <sip:100@10.0.0.5>;tag=1f0e9d8c-7b6a-4958-8f7e-6d5c4b3a2910\r\n"
      "To: <sip:+15551234567@carrier.example.com>\r\n"
      "Contact: <sip:asterisk@10.0.0.5:5060>\r\n"
      "Call-ID: 8a7b6c5d-4e3f-4a1b-9c8d-7e6f5a4b3c2d\r\n"
      "CSeq: 27815 INVITE\r\n"
      "Allow: OPTIONS, REGISTER, SUBSCRIBE, NOTIFY, PUBLISH, INVITE, ACK, BYE, CANCEL, UPDATE, "
      "PRACK, INFO, MESSAGE, REFER\r\n"
      "Supported: 100rel, timer, replaces, norefersub\r\n"
      "Session-Expires: 1800\r\n"
      "Min-SE: 90\r\n"
      "P-Asserted-Identity: \"Reception Desk\" <sip:+15550001111@10.0.0.5>\r\n"
      "Max-Forwards: 70\r\n"
      "User-Agent: Asterisk PBX 18.10.0\r\n"
      "Content-Type: application/sdp\r\n"
      "Content-Length: " +
      std::to_string(sdp.size()) + "\r\n\r\n" + sdp;
  return m;
}

const std::string& invite() {
  static const std::string kInvite = makeInvite();
  return kInvite;
}

Message parseOrDie(std::string bytes) {
  auto r = parseDatagram(std::move(bytes));
  if (!r.ok()) std::abort();
  return std::move(*r.message);
}

void BM_Parse(benchmark::State& state) {
  for (auto _ : state) {
    auto r = parseDatagram(invite());
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * invite().size()));
}
BENCHMARK(BM_Parse);

void BM_ParseSerialize(benchmark::State& state) {
  std::string out;
  for (auto _ : state) {
    auto r = parseDatagram(invite());
    out.clear();
    r.message->serializeTo(out);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["bytes"] = static_cast<double>(invite().size());
}
BENCHMARK(BM_ParseSerialize);

// The INVITE with the n-th new branch, From tag and Call-ID: texts the
// parser has not seen (no memo hit), as in a call's new transactions.
class NewIds {
 public:
  std::string next(std::uint64_t n) const {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string bytes = base_;
    for (std::size_t i = 0; i < 8; ++i, n >>= 4) {
      bytes[branch_ + i] = kHex[n & 0xf];
      bytes[tag_ + i] = kHex[n & 0xf];
      bytes[call_id_ + i] = kHex[n & 0xf];
    }
    return bytes;
  }

 private:
  const std::string& base_ = invite();
  std::size_t branch_ = base_.find("z9hG4bKPj") + 9;
  std::size_t tag_ = base_.find(";tag=") + 5;
  std::size_t call_id_ = base_.find("Call-ID: ") + 9;
};

// As in a call: every new transaction's Via (branch) and, for a new call,
// From tag and Call-ID are texts the parser has not seen (no memo hit).
void BM_ParseSerializeNewIds(benchmark::State& state) {
  const NewIds ids;
  std::string out;
  std::uint64_t n = 0;
  for (auto _ : state) {
    std::string bytes = ids.next(++n);
    auto r = parseDatagram(std::move(bytes));
    out.clear();
    r.message->serializeTo(out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_ParseSerializeNewIds);

std::size_t accessAll(const Message& m) {
  std::size_t n = 0;
  n += m.requestUri().user.size();
  n += m.topVia()->branch.size();
  n += m.vias()->size();
  n += m.from()->tag.size() + m.from()->uri.host.size();
  n += m.to()->uri.user.size();
  n += m.callId()->size();
  n += m.cseq()->number;
  n += m.contacts()->size();
  n += m.routes()->size() + m.recordRoutes()->size();
  n += m.maxForwards().valueOr(0);
  n += m.contentLength().valueOr(0);
  n += m.contentType()->subtype.size();
  n += m.require()->size() + m.proxyRequire()->size() + m.supported()->size() + m.allow()->size();
  n += m.sessionExpires()->delta + m.minSE()->delta;
  n += m.pAssertedIdentities()->size();
  n += m.privacy()->size() + m.reasons()->size();
  n += m.rseq().ok() + m.rack().ok() + m.expires().ok();
  n += m.auth(HeaderId::Authorization)->size() + m.auth(HeaderId::ProxyAuthorization)->size();
  return n;
}

void BM_ParseAccessAll(benchmark::State& state) {
  for (auto _ : state) {
    auto r = parseDatagram(invite());
    benchmark::DoNotOptimize(accessAll(*r.message));
  }
}
BENCHMARK(BM_ParseAccessAll);

void BM_ParseValidate(benchmark::State& state) {
  ValidationPolicy policy;
  for (auto _ : state) {
    auto r = parseDatagram(invite());
    auto v = validateRequest(*r.message, policy);
    benchmark::DoNotOptimize(v.status);
  }
}
BENCHMARK(BM_ParseValidate);

void BM_MakeResponse(benchmark::State& state) {
  const Message req = parseOrDie(invite());
  for (auto _ : state) {
    Message resp = makeResponse(req, 180, {}, "sbc-1a2b3c");
    benchmark::DoNotOptimize(resp);
  }
}
BENCHMARK(BM_MakeResponse);

void BM_MakeResponseSerialize(benchmark::State& state) {
  const Message req = parseOrDie(invite());
  std::string out;
  for (auto _ : state) {
    Message resp = makeResponse(req, 180, {}, "sbc-1a2b3c");
    out.clear();
    resp.serializeTo(out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_MakeResponseSerialize);

// What a B2BUA does to forward the INVITE on the far leg: new Request-URI,
// own Via/Contact/Call-ID/From tag, hidden User-Agent.
void BM_ParseRewriteSerialize(benchmark::State& state) {
  std::string out;
  for (auto _ : state) {
    auto r = parseDatagram(invite());
    Message& m = *r.message;
    (void)m.setRequestUri("sip:+15551234567@192.0.2.20:5060");
    m.setHeader(HeaderId::Via, "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-s1-0001;rport");
    m.setHeader(HeaderId::Contact, "<sip:sbc@192.0.2.10:5060>");
    m.setHeader(HeaderId::CallId, "s1-b-0001@192.0.2.10");
    m.setHeader(HeaderId::From, "\"Reception Desk\" <sip:+15550001111@192.0.2.10>;tag=s1-f-0001");
    m.removeHeader(HeaderId::UserAgent);
    out.clear();
    m.serializeTo(out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_ParseRewriteSerialize);

// What the transaction layer does with every received request: parse (new
// branch, tag and Call-ID), stamp received/rport into the top Via, then
// read the Vias back (validation, the response's destination).
template <bool kReplace>
void parseStampReadVias(benchmark::State& state) {
  const NewIds ids;
  std::string stamp;
  std::uint64_t n = 0;
  for (auto _ : state) {
    std::string bytes = ids.next(++n);
    auto r = parseDatagram(std::move(bytes));
    Message& m = *r.message;
    stamp.assign(m.topVia()->text).append(";received=192.0.2.99;rport=5062");
    if (kReplace) {
      m.replaceFirstValue(HeaderId::Via, stamp);
    } else {  // the two-step edit stampReceived used before
      m.removeFirstValue(HeaderId::Via);
      m.prependHeader(HeaderId::Via, stamp);
    }
    benchmark::DoNotOptimize(m.vias()->size() + m.topVia()->received.size());
  }
}
void BM_ParseStampReadVias(benchmark::State& state) {
  parseStampReadVias<true>(state);
}
BENCHMARK(BM_ParseStampReadVias);
void BM_ParseStampReadViasTwoStep(benchmark::State& state) {
  parseStampReadVias<false>(state);
}
BENCHMARK(BM_ParseStampReadViasTwoStep);

// A response to a request the B2BUA sent: its top Via is the one addVia
// wrote (a memo hit), its To carries the far end's new tag.
void BM_ParseResponseToOwnRequest(benchmark::State& state) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string branch = "z9hG4bKsbc-00000000";
  std::uint64_t n = 0;
  for (auto _ : state) {
    std::uint64_t v = ++n;
    for (std::size_t i = 0; i < 8; ++i, v >>= 4) branch[branch.size() - 1 - i] = kHex[v & 0xf];
    auto req = Message::createRequest(Method::Invite, "sip:+15551234567@192.0.2.20:5060");
    req->addVia("UDP", "192.0.2.10", 5060, branch, true);
    std::string bytes = "SIP/2.0 180 Ringing\r\nVia: ";
    bytes.append(req->header(HeaderId::Via)->value)
        .append(
            "\r\nFrom: <sip:+15550001111@192.0.2.10>;tag=s1-f-0001\r\n"
            "To: <sip:+15551234567@192.0.2.20>;tag=far-")
        .append(branch, branch.size() - 8, 8)
        .append(
            "\r\nCall-ID: s1-b-0001@192.0.2.10\r\nCSeq: 1 INVITE\r\n"
            "Contact: <sip:far@192.0.2.20:5060>\r\nContent-Length: 0\r\n\r\n");
    auto r = parseDatagram(std::move(bytes));
    benchmark::DoNotOptimize(r.message->topVia()->branch.size() + r.message->to()->tag.size());
  }
}
BENCHMARK(BM_ParseResponseToOwnRequest);

void BM_Copy(benchmark::State& state) {
  const Message req = parseOrDie(invite());
  for (auto _ : state) {
    Message copy(req);
    benchmark::DoNotOptimize(copy);
  }
}
BENCHMARK(BM_Copy);

}  // namespace

BENCHMARK_MAIN();

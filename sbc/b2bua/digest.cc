#include "sbc/b2bua/digest.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace sbc::b2bua {
namespace {

constexpr std::size_t kStampHex = 16;
constexpr std::size_t kMacBytes = 16;
constexpr std::size_t kNonceHex = kStampHex + kMacBytes * 2;

const DigestServer::Key& processKey() {
  static const DigestServer::Key key = [] {
    DigestServer::Key k{};
    if (RAND_bytes(k.data(), static_cast<int>(k.size())) != 1) {
      // Without a CSPRNG nothing else in the SBC is safe either; fail loudly
      // at start-up rather than hand out guessable nonces.
      std::abort();
    }
    return k;
  }();
  return key;
}

std::uint64_t stampOf(txn::TimePoint now) {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count());
}

bool parseHex64(std::string_view s, std::uint64_t& out) {
  out = 0;
  for (char c : s) {
    int v = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
    if (v < 0) return false;
    out = (out << 4) | static_cast<std::uint64_t>(v);
  }
  return true;
}

std::string hex(const unsigned char* data, std::size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (std::size_t i = 0; i < n; ++i) {
    out[2 * i] = kHex[data[i] >> 4];
    out[2 * i + 1] = kHex[data[i] & 15];
  }
  return out;
}

// Auth-param values as the parser gives them: quotes removed, escapes kept.
bool paramEquals(std::string_view escaped, std::string_view plain) {
  if (escaped.find('\\') == std::string_view::npos) return escaped == plain;
  std::size_t j = 0;
  for (std::size_t i = 0; i < escaped.size(); ++i, ++j) {
    if (escaped[i] == '\\' && i + 1 < escaped.size()) ++i;
    if (j >= plain.size() || escaped[i] != plain[j]) return false;
  }
  return j == plain.size();
}

struct Credentials {
  std::string_view username, realm, nonce, uri, response, algorithm, cnonce, qop, nc;
  bool has_realm = false;
};

Credentials readCredentials(const sip::AuthHeader& h) {
  Credentials c;
  for (const sip::Param& p : h.params) {
    if (sip::iequals(p.name, "username"))
      c.username = p.value;
    else if (sip::iequals(p.name, "realm"))
      c.realm = p.value, c.has_realm = true;
    else if (sip::iequals(p.name, "nonce"))
      c.nonce = p.value;
    else if (sip::iequals(p.name, "uri"))
      c.uri = p.value;
    else if (sip::iequals(p.name, "response"))
      c.response = p.value;
    else if (sip::iequals(p.name, "algorithm"))
      c.algorithm = p.value;
    else if (sip::iequals(p.name, "cnonce"))
      c.cnonce = p.value;
    else if (sip::iequals(p.name, "qop"))
      c.qop = p.value;
    else if (sip::iequals(p.name, "nc"))
      c.nc = p.value;
  }
  return c;
}

std::string unescaped(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '\\' && i + 1 < v.size()) ++i;
    out.push_back(v[i]);
  }
  return out;
}

}  // namespace

bool constantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string_view toString(DigestServer::Check c) {
  switch (c) {
    case DigestServer::Check::Ok:
      return "ok";
    case DigestServer::Check::Missing:
      return "missing";
    case DigestServer::Check::BadNonce:
      return "bad_nonce";
    case DigestServer::Check::Stale:
      return "stale";
    case DigestServer::Check::Failed:
      return "failed";
  }
  return "unknown";
}

DigestServer::DigestServer(DigestServerOptions options) : DigestServer(options, processKey()) {}

DigestServer::DigestServer(DigestServerOptions options, const Key& key)
    : options_(options), key_(key) {}

std::string DigestServer::mac(std::uint64_t stamp, std::string_view realm) const {
  // HMAC over stamp || realm: a nonce is only good for the realm it was
  // issued for. Realms are short (operator configuration); a longer one is
  // cut, which only weakens the realm binding, never the HMAC.
  unsigned char msg[8 + 256];
  for (int i = 0; i < 8; ++i) msg[i] = static_cast<unsigned char>(stamp >> (56 - 8 * i));
  const std::size_t rlen = std::min<std::size_t>(realm.size(), 256);
  if (rlen) std::memcpy(msg + 8, realm.data(), rlen);
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (!HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()), msg, 8 + rlen, out, &n) ||
      n < kMacBytes)
    return {};
  return hex(out, kMacBytes);
}

std::string DigestServer::makeNonce(std::string_view realm, txn::TimePoint now) const {
  char stamp[kStampHex + 1];
  std::uint64_t s = stampOf(now);
  std::snprintf(stamp, sizeof stamp, "%016llx", static_cast<unsigned long long>(s));
  std::string nonce(stamp, kStampHex);
  nonce += mac(s, realm);
  return nonce;
}

DigestServer::Check DigestServer::checkNonce(std::string_view nonce, std::string_view realm,
                                             txn::TimePoint now) const {
  if (nonce.size() != kNonceHex) return Check::BadNonce;
  std::uint64_t stamp = 0;
  if (!parseHex64(nonce.substr(0, kStampHex), stamp)) return Check::BadNonce;
  std::string expected = mac(stamp, realm);
  if (expected.empty() || !constantTimeEquals(expected, nonce.substr(kStampHex)))
    return Check::BadNonce;
  const std::uint64_t now_ms = stampOf(now);
  const auto lifetime_ms = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(options_.nonce_lifetime).count());
  // A nonce from the future is ours (the HMAC says so) but cannot be: treat
  // it as stale rather than trusting the clock arithmetic.
  if (stamp > now_ms || now_ms - stamp > lifetime_ms) return Check::Stale;
  return Check::Ok;
}

void DigestServer::challenge(sip::Message& response, std::string_view realm, bool stale,
                             txn::TimePoint now) const {
  const bool proxy = response.statusCode() == 407;
  const sip::HeaderId id =
      proxy ? sip::HeaderId::ProxyAuthenticate : sip::HeaderId::WWWAuthenticate;
  const std::string nonce = makeNonce(realm, now);
  std::string quoted_realm;
  quoted_realm.reserve(realm.size() + 2);
  quoted_realm.push_back('"');
  for (char c : realm) {
    if (c == '"' || c == '\\') quoted_realm.push_back('\\');
    quoted_realm.push_back(c);
  }
  quoted_realm.push_back('"');
  for (std::string_view alg : {std::string_view("SHA-256"), std::string_view("MD5")}) {
    std::string v;
    v.reserve(96 + quoted_realm.size());
    v.append("Digest realm=").append(quoted_realm).append(", nonce=\"").append(nonce);
    v.append("\", qop=\"auth\", algorithm=").append(alg);
    if (stale) v += ", stale=true";
    response.addHeader(id, v);
  }
}

DigestServer::Check DigestServer::verify(const sip::Message& request, bool proxy,
                                         std::string_view realm,
                                         const cfg::Credentials& credentials,
                                         txn::TimePoint now) const {
  auto headers =
      request.auth(proxy ? sip::HeaderId::ProxyAuthorization : sip::HeaderId::Authorization);
  if (!headers.ok()) return Check::Missing;
  const sip::AuthHeader* chosen = nullptr;
  Credentials c;
  for (const sip::AuthHeader& h : *headers) {
    if (!sip::iequals(h.scheme, "Digest")) continue;
    Credentials candidate = readCredentials(h);
    // Credentials for another realm (another hop's) are not ours to judge.
    if (!candidate.has_realm || !paramEquals(candidate.realm, realm)) continue;
    chosen = &h;
    c = candidate;
    break;
  }
  if (!chosen) return Check::Missing;

  DigestAlgorithm alg;
  if (c.algorithm.empty() || sip::iequals(c.algorithm, "MD5"))
    alg = DigestAlgorithm::Md5;
  else if (sip::iequals(c.algorithm, "SHA-256"))
    alg = DigestAlgorithm::Sha256;
  else
    return Check::Failed;  // we offered neither -sess nor anything else

  Check nonce_state = checkNonce(c.nonce, realm, now);
  if (nonce_state == Check::BadNonce) return Check::BadNonce;

  if (!paramEquals(c.username, credentials.username)) return Check::Failed;
  // We always offer qop="auth"; an RFC 2069 answer without it is a downgrade.
  if (!sip::iequals(c.qop, "auth") || c.cnonce.empty() || c.nc.size() != 8) return Check::Failed;
  // The digest covers the uri parameter; it must name this request.
  if (!sip::uriEquals(unescaped(c.uri), request.requestUriText())) return Check::Failed;

  auto h = [alg](std::string_view s) {
    return alg == DigestAlgorithm::Sha256 ? sha256Hex(s) : md5Hex(s);
  };
  std::string a1;
  a1.reserve(credentials.username.size() + realm.size() + credentials.password.size() + 2);
  a1.append(credentials.username)
      .append(":")
      .append(realm)
      .append(":")
      .append(credentials.password);
  const std::string ha1 = h(a1);
  std::string a2(request.methodText());
  a2.append(":").append(unescaped(c.uri));
  const std::string ha2 = h(a2);
  std::string kd = ha1;
  kd.append(":").append(c.nonce).append(":").append(c.nc).append(":");
  kd.append(unescaped(c.cnonce)).append(":auth:").append(ha2);
  const std::string expected = h(kd);

  // Lower-case the received response in place of a copy of fixed size.
  std::string got(c.response);
  for (char& ch : got) ch = (ch >= 'A' && ch <= 'F') ? static_cast<char>(ch + 32) : ch;
  if (expected.empty() || !constantTimeEquals(expected, got)) return Check::Failed;
  return nonce_state == Check::Stale ? Check::Stale : Check::Ok;
}

}  // namespace sbc::b2bua

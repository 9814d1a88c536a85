#include "sbc/b2bua/digest_client.h"

#include <openssl/evp.h>

#include <cstdio>

namespace sbc::b2bua {
namespace {

std::string hexOf(const unsigned char* data, unsigned int n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(std::size_t{n} * 2);
  for (unsigned int i = 0; i < n; ++i) {
    out.push_back(kHex[data[i] >> 4]);
    out.push_back(kHex[data[i] & 15]);
  }
  return out;
}

std::string hashHex(std::string_view data, const EVP_MD* md) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(data.data(), data.size(), out, &n, md, nullptr) != 1) return {};
  return hexOf(out, n);
}

// Auth-param values come unquoted but with backslash escapes as written.
std::string unescapeQuoted(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '\\' && i + 1 < v.size()) ++i;
    out.push_back(v[i]);
  }
  return out;
}

std::string quote(std::string_view v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::optional<DigestAlgorithm> algorithmFrom(std::string_view name) {
  if (name.empty() || sip::iequals(name, "MD5")) return DigestAlgorithm::Md5;
  if (sip::iequals(name, "MD5-sess")) return DigestAlgorithm::Md5Sess;
  if (sip::iequals(name, "SHA-256")) return DigestAlgorithm::Sha256;
  if (sip::iequals(name, "SHA-256-sess")) return DigestAlgorithm::Sha256Sess;
  return std::nullopt;
}

std::string_view algorithmName(DigestAlgorithm a) {
  switch (a) {
    case DigestAlgorithm::Md5:
      return "MD5";
    case DigestAlgorithm::Md5Sess:
      return "MD5-sess";
    case DigestAlgorithm::Sha256:
      return "SHA-256";
    case DigestAlgorithm::Sha256Sess:
      return "SHA-256-sess";
  }
  return "MD5";
}

bool isSha(DigestAlgorithm a) {
  return a == DigestAlgorithm::Sha256 || a == DigestAlgorithm::Sha256Sess;
}
bool isSess(DigestAlgorithm a) {
  return a == DigestAlgorithm::Md5Sess || a == DigestAlgorithm::Sha256Sess;
}

}  // namespace

std::string md5Hex(std::string_view data) {
  return hashHex(data, EVP_md5());
}
std::string sha256Hex(std::string_view data) {
  return hashHex(data, EVP_sha256());
}

std::optional<DigestChallenge> parseChallenge(const sip::AuthHeader& header) {
  if (!sip::iequals(header.scheme, "Digest")) return std::nullopt;
  DigestChallenge c;
  bool have_nonce = false;
  std::string_view algorithm;
  for (const sip::Param& p : header.params) {
    if (sip::iequals(p.name, "realm")) {
      c.realm = unescapeQuoted(p.value);
    } else if (sip::iequals(p.name, "nonce")) {
      c.nonce = unescapeQuoted(p.value);
      have_nonce = !c.nonce.empty();
    } else if (sip::iequals(p.name, "opaque")) {
      c.opaque = unescapeQuoted(p.value);
      c.has_opaque = true;
    } else if (sip::iequals(p.name, "algorithm")) {
      algorithm = p.value;
    } else if (sip::iequals(p.name, "stale")) {
      c.stale = sip::iequals(p.value, "true");
    } else if (sip::iequals(p.name, "qop")) {
      // A quoted, comma-separated list of tokens.
      std::string_view list = p.value;
      while (!list.empty()) {
        const std::size_t comma = list.find(',');
        std::string_view tok = sip::trimLws(list.substr(0, comma));
        if (sip::iequals(tok, "auth")) c.qop_auth = true;
        if (sip::iequals(tok, "auth-int")) c.qop_auth_int = true;
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
      }
    }
  }
  auto alg = algorithmFrom(algorithm);
  if (!have_nonce || !alg) return std::nullopt;
  c.algorithm = *alg;
  return c;
}

std::optional<DigestChallenge> pickChallenge(std::span<const sip::AuthHeader> headers) {
  std::optional<DigestChallenge> best;
  for (const sip::AuthHeader& h : headers) {
    auto c = parseChallenge(h);
    if (!c) continue;
    if (!best || (isSha(c->algorithm) && !isSha(best->algorithm))) best = std::move(c);
  }
  return best;
}

std::string digestAuthorization(const DigestChallenge& ch, const cfg::Credentials& cred,
                                const DigestInput& in) {
  auto h = [&](std::string_view s) { return isSha(ch.algorithm) ? sha256Hex(s) : md5Hex(s); };
  const bool use_qop = ch.qop_auth || ch.qop_auth_int;
  // Prefer "auth": auth-int would need the exact body of every retransmitted
  // request and few carriers insist on it.
  const bool auth_int = use_qop && !ch.qop_auth;

  std::string a1 = cred.username + ":" + ch.realm + ":" + cred.password;
  std::string ha1 = h(a1);
  if (isSess(ch.algorithm)) ha1 = h(ha1 + ":" + ch.nonce + ":" + std::string(in.cnonce));

  std::string a2 = std::string(in.method) + ":" + std::string(in.uri);
  if (auth_int) a2 += ":" + h(in.body);
  const std::string ha2 = h(a2);

  char nc[9];
  std::snprintf(nc, sizeof nc, "%08x", in.nc);
  std::string response;
  if (use_qop) {
    response = h(ha1 + ":" + ch.nonce + ":" + nc + ":" + std::string(in.cnonce) + ":" +
                 (auth_int ? "auth-int" : "auth") + ":" + ha2);
  } else {
    response = h(ha1 + ":" + ch.nonce + ":" + ha2);
  }

  std::string out = "Digest username=" + quote(cred.username);
  out += ", realm=" + quote(ch.realm);
  out += ", nonce=" + quote(ch.nonce);
  out += ", uri=" + quote(in.uri);
  out += ", response=" + quote(response);
  out += ", algorithm=";
  out += algorithmName(ch.algorithm);
  if (use_qop) {
    out += ", cnonce=" + quote(in.cnonce);
    out += auth_int ? ", qop=auth-int" : ", qop=auth";
    out += ", nc=";
    out += nc;
  }
  if (ch.has_opaque) out += ", opaque=" + quote(ch.opaque);
  return out;
}

}  // namespace sbc::b2bua

#include "test_certs.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>

namespace sbc::transport::test {
namespace {

struct Deleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(FILE* p) const { std::fclose(p); }
};
template <typename T>
using Ptr = std::unique_ptr<T, Deleter>;

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test PKI: ") + what);
}

Ptr<EVP_PKEY> newKey() {
  Ptr<EVP_PKEY> key(EVP_EC_gen("P-256"));
  check(key != nullptr, "EC key generation");
  return key;
}

void addExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  Ptr<X509_EXTENSION> ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  check(ext != nullptr, "extension");
  check(X509_add_ext(cert, ext.get(), -1) == 1, "add extension");
}

Ptr<X509> load(const std::string& file) {
  Ptr<FILE> f(std::fopen(file.c_str(), "r"));
  check(f != nullptr, "open certificate");
  Ptr<X509> cert(PEM_read_X509(f.get(), nullptr, nullptr, nullptr));
  check(cert != nullptr, "read certificate");
  return cert;
}

Ptr<EVP_PKEY> loadKey(const std::string& file) {
  Ptr<FILE> f(std::fopen(file.c_str(), "r"));
  check(f != nullptr, "open key");
  Ptr<EVP_PKEY> key(PEM_read_PrivateKey(f.get(), nullptr, nullptr, nullptr));
  check(key != nullptr, "read key");
  return key;
}

void write(const CertFiles& files, X509* cert, EVP_PKEY* key) {
  Ptr<FILE> c(std::fopen(files.certificate.c_str(), "w"));
  check(c != nullptr && PEM_write_X509(c.get(), cert) == 1, "write certificate");
  Ptr<FILE> k(std::fopen(files.key.c_str(), "w"));
  check(k != nullptr &&
            PEM_write_PrivateKey(k.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
        "write key");
}

// issuer == nullptr: self-signed CA.
CertFiles build(const std::string& dir, const std::string& stem, const std::string& common_name,
                long serial, const std::vector<std::string>* dns_names, const CertFiles* issuer) {
  const CertFiles files{dir + "/" + stem + ".crt", dir + "/" + stem + ".key"};
  auto key = newKey();
  Ptr<X509> cert(X509_new());
  check(cert != nullptr, "X509_new");
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 7L * 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("edge-sbc tests"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);

  Ptr<X509> issuer_cert;
  Ptr<EVP_PKEY> issuer_key;
  if (issuer != nullptr) {
    issuer_cert = load(issuer->certificate);
    issuer_key = loadKey(issuer->key);
    X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer_cert.get()));
  } else {
    X509_set_issuer_name(cert.get(), name);
  }
  X509* signer = issuer != nullptr ? issuer_cert.get() : cert.get();

  addExtension(cert.get(), signer, NID_subject_key_identifier, "hash");
  if (issuer == nullptr) {
    addExtension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
    addExtension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    addExtension(cert.get(), signer, NID_authority_key_identifier, "keyid");
    addExtension(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
    addExtension(cert.get(), signer, NID_key_usage, "critical,digitalSignature");
    addExtension(cert.get(), signer, NID_ext_key_usage, "serverAuth,clientAuth");
    std::string san = "IP:127.0.0.1";
    for (const auto& dns : *dns_names) san += ",DNS:" + dns;
    addExtension(cert.get(), signer, NID_subject_alt_name, san);
  }
  check(X509_sign(cert.get(), issuer != nullptr ? issuer_key.get() : key.get(), EVP_sha256()) > 0,
        "sign");
  write(files, cert.get(), key.get());
  return files;
}

}  // namespace

TestPki::TestPki() {
  std::string pattern =
      (std::filesystem::temp_directory_path() / "sbc-transport-test-XXXXXX").string();
  check(::mkdtemp(pattern.data()) != nullptr, "mkdtemp");
  dir_ = pattern;
  ca_ = build(dir_, "ca", "Test CA", serial_++, nullptr, nullptr);
}

TestPki::~TestPki() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

CertFiles TestPki::issue(const std::string& file_stem, const std::string& common_name,
                         const std::vector<std::string>& dns_names, const CertFiles* issuer) {
  return build(dir_, file_stem, common_name, serial_++, &dns_names,
               issuer != nullptr ? issuer : &ca_);
}

CertFiles TestPki::makeCa(const std::string& file_stem, const std::string& common_name) {
  return build(dir_, file_stem, common_name, serial_++, nullptr, nullptr);
}

std::string TestPki::subjectOf(const std::string& certificate_file) {
  auto cert = load(certificate_file);
  Ptr<BIO> bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert.get()), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

}  // namespace sbc::transport::test

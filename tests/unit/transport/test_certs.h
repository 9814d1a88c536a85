#pragma once
// Throwaway PKI for the TLS tests: an EC P-256 CA and certificates it issues,
// written as PEM into a temporary directory that is removed afterwards.

#include <string>
#include <vector>

namespace sbc::transport::test {

struct CertFiles {
  std::string certificate;  // PEM
  std::string key;          // PEM
};

class TestPki {
 public:
  TestPki();  // creates the directory and a CA ("Test CA")
  ~TestPki();
  TestPki(const TestPki&) = delete;
  TestPki& operator=(const TestPki&) = delete;

  const std::string& dir() const { return dir_; }
  const CertFiles& ca() const { return ca_; }

  // A leaf certificate signed by this CA (or by `issuer` when given), valid
  // for TLS server and client use, with the given DNS names and 127.0.0.1
  // as subjectAltNames. Files are <dir>/<file_stem>.crt/.key.
  CertFiles issue(const std::string& file_stem, const std::string& common_name,
                  const std::vector<std::string>& dns_names, const CertFiles* issuer = nullptr);
  // A second, unrelated CA.
  CertFiles makeCa(const std::string& file_stem, const std::string& common_name);

  // Subject (RFC 2253) of the certificate in a PEM file.
  static std::string subjectOf(const std::string& certificate_file);

 private:
  std::string dir_;
  CertFiles ca_;
  long serial_ = 1;
};

}  // namespace sbc::transport::test

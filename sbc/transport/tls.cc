// TLS connections (OpenSSL through Asio) and the contexts they are made from.

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <exception>

#include "sbc/transport/transport_core.h"

namespace sbc::transport::detail {
namespace {

using SslStream = asio::ssl::stream<tcp::socket>;

std::string subjectOf(X509* certificate) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr) return {};
  X509_NAME_print_ex(bio, X509_get_subject_name(certificate), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  std::string subject =
      size > 0 ? std::string(data, static_cast<std::size_t>(size)) : std::string();
  BIO_free(bio);
  return subject;
}

class TlsConnection final : public StreamConnection {
 public:
  TlsConnection(TransportCore& core, ConnectionId id, ListenerIndex listener, bool outbound,
                tcp::socket socket, SslContextPtr context, std::string server_name,
                bool verify_server, std::size_t profile)
      : StreamConnection(core, id, Protocol::kTls, listener, outbound),
        context_(std::move(context)),
        stream_(std::move(socket), *context_),
        server_name_(std::move(server_name)),
        verify_server_(verify_server) {
    if (outbound) {
      // Known before the handshake: both are part of the reuse key.
      info_.tls_server_name = server_name_;
      info_.tls_profile = profile;
    }
  }

 protected:
  tcp::socket& socket() override { return stream_.next_layer(); }
  bool isTls() const override { return true; }

  void asyncHandshake() override {
    const bool client = info_.outbound;
    if (client) configureClient();
    stream_.async_handshake(
        client ? asio::ssl::stream_base::client : asio::ssl::stream_base::server,
        [this, self = shared_from_this()](const boost::system::error_code& ec) {
          onHandshake(ec);
        });
  }

  void asyncRead(asio::mutable_buffer buffer) override {
    stream_.async_read_some(buffer,
                            [this, self = shared_from_this()](const boost::system::error_code& ec,
                                                              std::size_t n) { onRead(ec, n); });
  }

  void asyncWrite(std::span<const asio::const_buffer> buffers) override {
    asio::async_write(stream_, buffers,
                      [this, self = shared_from_this()](const boost::system::error_code& ec,
                                                        std::size_t n) { onWritten(ec, n); });
  }

  void recordHandshakeDetails() override {
    SSL* ssl = stream_.native_handle();
    if (info_.outbound) {
      info_.tls_server_name = server_name_;
    } else if (const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)) {
      info_.tls_server_name = sni;
    }
    X509* peer = SSL_get1_peer_certificate(ssl);
    if (peer == nullptr) return;
    // Only a verified identity is worth reporting: the application may
    // identify a trunk by it.
    if ((SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER) != 0 &&
        SSL_get_verify_result(ssl) == X509_V_OK) {
      info_.peer_certificate = subjectOf(peer);
    }
    X509_free(peer);
  }

  TlsFailure classifyHandshakeFailure(const boost::system::error_code& ec,
                                      std::string* detail) override {
    if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated ||
        ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
        ec == asio::error::connection_aborted) {
      return TlsFailure::kClosed;
    }
    if (ec.category() != asio::error::get_ssl_category()) return TlsFailure::kOther;
    const auto code = static_cast<unsigned long>(ec.value());
    const int reason = ERR_GET_REASON(code);
    if (reason == SSL_R_CERTIFICATE_VERIFY_FAILED) {
      const long result = SSL_get_verify_result(stream_.native_handle());
      if (result != X509_V_OK) {
        *detail += ": ";
        *detail += X509_verify_cert_error_string(result);
      }
      return result == X509_V_ERR_HOSTNAME_MISMATCH || result == X509_V_ERR_IP_ADDRESS_MISMATCH
                 ? TlsFailure::kNameMismatch
                 : TlsFailure::kUntrusted;
    }
    // Reasons from SSL_AD_REASON_OFFSET on are alerts the server sent us.
    if (reason >= SSL_AD_REASON_OFFSET) return TlsFailure::kPeerAlert;
    switch (reason) {
      case SSL_R_UNEXPECTED_EOF_WHILE_READING:
        return TlsFailure::kClosed;
      case SSL_R_WRONG_VERSION_NUMBER:
      case SSL_R_UNSUPPORTED_PROTOCOL:
      case SSL_R_NO_PROTOCOLS_AVAILABLE:
      case SSL_R_NO_SHARED_CIPHER:
      case SSL_R_PACKET_LENGTH_TOO_LONG:
        return TlsFailure::kProtocol;
      default:
        return TlsFailure::kOther;
    }
  }

 private:
  void configureClient() {
    SSL* ssl = stream_.native_handle();
    const auto literal = IpAddress::parse(server_name_);
    // SNI carries host names only (RFC 6066 3).
    if (!server_name_.empty() && !literal) {
      SSL_set_tlsext_host_name(ssl, server_name_.c_str());
    }
    if (!verify_server_) {
      SSL_set_verify(ssl, SSL_VERIFY_NONE, nullptr);
      return;
    }
    SSL_set_verify(ssl, SSL_VERIFY_PEER, nullptr);
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    if (!server_name_.empty() && !literal) {
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      SSL_set1_host(ssl, server_name_.c_str());
      return;
    }
    // No name: the certificate must carry the address we connect to.
    const IpAddress& address = literal ? *literal : info_.remote.address;
    X509_VERIFY_PARAM_set1_ip(param, address.bytes().data(), address.isV4() ? 4 : 16);
  }

  SslContextPtr context_;  // keeps the context of this handshake alive across reloads
  SslStream stream_;
  std::string server_name_;
  bool verify_server_;
};

void setCommonOptions(asio::ssl::context& context) {
  SSL_CTX* native = context.native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(
      native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
}

bool loadIdentity(asio::ssl::context& context, const std::string& chain, const std::string& key,
                  std::string* error) {
  boost::system::error_code ec;
  context.use_certificate_chain_file(chain, ec);
  if (ec) {
    *error = "certificate chain " + chain + ": " + ec.message();
    return false;
  }
  context.use_private_key_file(key, asio::ssl::context::pem, ec);
  if (ec) {
    *error = "private key " + key + ": " + ec.message();
    return false;
  }
  if (SSL_CTX_check_private_key(context.native_handle()) != 1) {
    *error = "private key " + key + " does not match certificate " + chain;
    return false;
  }
  return true;
}

}  // namespace

StreamConnectionPtr makeTlsConnection(TransportCore& core, ConnectionId id, ListenerIndex listener,
                                      bool outbound, tcp::socket socket, SslContextPtr context,
                                      std::string server_name, bool verify_server,
                                      std::size_t profile) {
  return std::make_shared<TlsConnection>(core, id, listener, outbound, std::move(socket),
                                         std::move(context), std::move(server_name), verify_server,
                                         profile);
}

SslContextPtr makeServerContext(const TlsServerOptions& options, std::string* error) {
  try {
    auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
    setCommonOptions(*context);
    if (!loadIdentity(*context, options.certificate_chain_file, options.private_key_file, error)) {
      return nullptr;
    }
    SSL_CTX* native = context->native_handle();
    if (!options.ca_file.empty()) {
      boost::system::error_code ec;
      context->load_verify_file(options.ca_file, ec);
      if (ec) {
        *error = "CA file " + options.ca_file + ": " + ec.message();
        return nullptr;
      }
      // Tell clients which CAs we accept so they pick the right certificate.
      if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(options.ca_file.c_str())) {
        SSL_CTX_set_client_CA_list(native, names);
      }
    }
    if (options.verify_client) {
      if (options.ca_file.empty()) {
        *error = "verify_client needs a ca_file";
        return nullptr;
      }
      SSL_CTX_set_verify(native, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    } else {
      SSL_CTX_set_verify(native, SSL_VERIFY_NONE, nullptr);
    }
    // Session resumption with client verification needs a session context.
    static constexpr unsigned char kSessionContext[] = "sbc-sip";
    SSL_CTX_set_session_id_context(native, kSessionContext, sizeof(kSessionContext) - 1);
    return context;
  } catch (const std::exception& e) {  // context construction: configuration time only
    *error = e.what();
    return nullptr;
  }
}

SslContextPtr makeClientContext(const TlsClientOptions& options, std::string* error) {
  try {
    auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
    setCommonOptions(*context);
    boost::system::error_code ec;
    if (options.ca_file.empty()) {
      context->set_default_verify_paths(ec);
    } else {
      context->load_verify_file(options.ca_file, ec);
    }
    if (ec) {
      *error = "CA file " + (options.ca_file.empty() ? std::string("(system)") : options.ca_file) +
               ": " + ec.message();
      return nullptr;
    }
    if (options.certificate_chain_file.empty() != options.private_key_file.empty()) {
      *error = "a client certificate needs both certificate_chain_file and private_key_file";
      return nullptr;
    }
    if (!options.certificate_chain_file.empty() &&
        !loadIdentity(*context, options.certificate_chain_file, options.private_key_file, error)) {
      return nullptr;
    }
    SSL_CTX_set_verify(context->native_handle(),
                       options.verify_server ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
    return context;
  } catch (const std::exception& e) {
    *error = e.what();
    return nullptr;
  }
}

}  // namespace sbc::transport::detail

namespace sbc::transport {

TlsClientContextPtr loadTlsClientContext(const TlsClientOptions& options, std::string* error) {
  std::string why;
  detail::SslContextPtr ssl = detail::makeClientContext(options, &why);
  if (!ssl) {
    if (error != nullptr) *error = std::move(why);
    return nullptr;
  }
  auto context = std::make_shared<TlsClientContext>();
  context->options = options;
  context->ssl = std::move(ssl);
  return context;
}

TlsCertificatesPtr loadCertificates(const Config& config, std::string* error) {
  std::string why;
  auto fail = [&](std::string what) {
    if (error != nullptr) *error = std::move(what) + ": " + why;
    return nullptr;
  };
  auto certificates = std::make_shared<TlsCertificates>();
  certificates->servers.resize(config.listeners.size());
  for (std::size_t i = 0; i < config.listeners.size(); ++i) {
    const auto& listener = config.listeners[i];
    if (listener.protocol != Protocol::kTls) continue;
    certificates->servers[i] = detail::makeServerContext(listener.tls, &why);
    if (!certificates->servers[i]) {
      return fail("listener " + std::to_string(i) + " (" + listener.realm + ")");
    }
  }
  // As the Transport does: no profile configured means one default profile
  // (system CAs), which a reload refreshes too.
  const std::vector<TlsClientOptions> kDefault(1);
  const auto& clients = config.tls_clients.empty() ? kDefault : config.tls_clients;
  for (std::size_t i = 0; i < clients.size(); ++i) {
    auto context = detail::makeClientContext(clients[i], &why);
    if (!context) return fail("TLS client profile " + std::to_string(i));
    certificates->clients.push_back(std::move(context));
  }
  return certificates;
}

}  // namespace sbc::transport

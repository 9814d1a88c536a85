#pragma once
// SIP transport: UDP, TCP and TLS listeners and connections on one
// io_context. Moves framed byte strings in both directions; parsing is the
// next layer's job. Asio and OpenSSL stay behind the pimpl so that including
// this header is cheap.
//
// Threading: a Transport belongs to the thread running its io_context. Every
// member function must be called on that thread, and every callback runs on
// it. Shard by creating one Transport per io_context (listeners can share a
// port across shards only with SO_REUSEPORT, which is not done yet).
//
// Callbacks run from the Transport's own handlers, never from inside a call
// the application made (send(), closeConnection(), ...): errors detected
// inside such a call are posted and reported on the next turn of the loop.
// A callback may call send(), closeConnection() and stop(), but must not
// destroy the Transport (post that instead).

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sbc/transport/endpoint.h"
#include "sbc/transport/stream_framer.h"

namespace boost::asio {
class io_context;
namespace ssl {
class context;
}  // namespace ssl
}  // namespace boost::asio

namespace sbc::transport {

namespace detail {
class TransportCore;
}  // namespace detail

using ConnectionId = std::uint64_t;
inline constexpr ConnectionId kNoConnection = 0;
// Position of a listener in Config::listeners.
using ListenerIndex = std::size_t;

struct TlsServerOptions {
  std::string certificate_chain_file;  // PEM, leaf first
  std::string private_key_file;        // PEM
  std::string ca_file;                 // PEM; client certificates are verified against it
  bool verify_client = false;          // require a client certificate signed by ca_file
};

struct ListenerConfig {
  std::string realm;  // "inside", "outside", ...
  Protocol protocol = Protocol::kUdp;
  std::string bind_address = "0.0.0.0";  // IPv4 or IPv6 literal; IPv6 sockets are v6-only
  std::uint16_t port = 0;                // 0: ephemeral, see Transport::localEndpoint()
  TlsServerOptions tls;                  // kTls only
};

// One outbound TLS profile (typically per trunk).
struct TlsClientOptions {
  std::string certificate_chain_file;  // optional client certificate (PEM)
  std::string private_key_file;
  std::string ca_file;  // empty: the system trust store
  bool verify_server = true;
  // SNI and the name the server certificate must match. Empty: no SNI, and
  // the certificate must match the IP address we connect to.
  std::string server_name;
};

// An outbound TLS profile with its OpenSSL context built (certificate, key
// and CA files read and parsed). Made off the SIP threads by
// loadTlsClientContext() and handed to Transport::addTlsClient(), so that a
// SIP thread never touches the disk for it; connections only read it.
struct TlsClientContext {
  TlsClientOptions options;
  std::shared_ptr<boost::asio::ssl::context> ssl;
};
using TlsClientContextPtr = std::shared_ptr<const TlsClientContext>;

// Reads the profile's files and builds its context. Slow (disk, key
// parsing): any thread but a SIP thread. nullptr with *error naming the file
// at fault.
TlsClientContextPtr loadTlsClientContext(const TlsClientOptions& options, std::string* error);

// Why an outbound TLS handshake failed, in few enough kinds for a metric
// label (TransportError::detail has OpenSSL's own words).
enum class TlsFailure : std::uint8_t {
  kNone,
  kUntrusted,     // the server's certificate chain did not verify (CA, expiry)
  kNameMismatch,  // the certificate does not carry the SNI name / address
  kPeerAlert,     // the server refused us (e.g. no or unknown client certificate)
  kProtocol,      // no common version or cipher, not TLS at all
  kClosed,        // the connection closed or reset during the handshake
  kTimeout,       // no handshake within Limits::connect_timeout
  kOther,
};
inline constexpr std::size_t kTlsFailureCount = 8;
// "untrusted", "name_mismatch", "peer_alert", ... (metric label values).
std::string_view toString(TlsFailure failure);

struct Limits {
  std::size_t max_message_size = std::size_t{64} * 1024;  // headers + body, streams and datagrams
  std::chrono::milliseconds idle_timeout = std::chrono::minutes(5);
  std::size_t max_connections = 4096;  // inbound + outbound stream connections
  // TCP connect, and then again the TLS handshake (inbound too).
  std::chrono::milliseconds connect_timeout = std::chrono::seconds(10);
  // Unsent bytes per connection (UDP: per socket); beyond it the connection
  // is dropped rather than buffering without bound.
  std::size_t max_send_queue_bytes = std::size_t{1024} * 1024;
};

struct Config {
  std::vector<ListenerConfig> listeners;
  // Goes into the top 16 bits of every ConnectionId, so that ids stay unique
  // across the Transports of several SIP threads and name their thread.
  std::uint16_t shard = 0;
  // Outbound TLS profiles, selected by SendTarget::tls_profile. If empty,
  // profile 0 verifies servers against the system trust store.
  std::vector<TlsClientOptions> tls_clients;
  Limits limits;
};

struct InboundMessage {
  std::string bytes;  // exactly one SIP message
  Protocol protocol = Protocol::kUdp;
  Endpoint remote;
  Endpoint local;  // the listener's bound address for UDP (no IP_PKTINFO yet)
  ConnectionId connection = kNoConnection;  // kNoConnection for UDP
  ListenerIndex listener = 0;               // accepting listener, or the one an outbound send named
  std::string_view realm;                   // that listener's realm; valid for the Transport's life
};

struct SendTarget {
  Protocol protocol = Protocol::kUdp;
  Endpoint remote;
  // Prefer this connection (a response goes back on the request's). If it is
  // gone, the bytes go to `remote` like any other send (RFC 3261 18.2.2).
  ConnectionId connection = kNoConnection;
  // The realm to send from. UDP: the datagram leaves from this listener's
  // socket (or another UDP listener of the same realm and address family).
  // TCP/TLS: a new connection binds to this listener's address and is
  // stamped with its realm.
  ListenerIndex listener = 0;
  // Index into Config::tls_clients (TLS). A connection is reused only for
  // sends with the same profile and server name (two trunks with different
  // client certificates to one gateway get a connection each); inbound
  // connections count as profile 0.
  std::size_t tls_profile = 0;
  std::string_view server_name;  // overrides the profile's SNI; read during send() only
  std::uint64_t owner = 0;       // opaque; comes back in errors about these bytes
};

enum class ErrorKind : std::uint8_t {
  kConnectFailed,      // TCP connect failed or timed out; once per queued send
  kHandshakeFailed,    // TLS handshake failed (inbound: no owner; outbound: per queued send)
  kFramingError,       // the stream broke the framing rules; the connection closes
  kSendQueueOverflow,  // unsent bytes exceeded the limit; the connection was dropped
  kConnectionLimit,    // max_connections reached; no connection opened for this send
  kConnectionLost,     // the connection closed before these bytes were written
  kSendFailed,         // UDP send error
  kBadTarget,          // no usable listener / profile for this send, or stopped
};

std::string_view toString(ErrorKind kind);

struct TransportError {
  ErrorKind kind = ErrorKind::kSendFailed;
  Protocol protocol = Protocol::kUdp;
  Endpoint remote;
  ConnectionId connection = kNoConnection;
  std::uint64_t owner = 0;  // SendTarget::owner of the bytes concerned, 0 if none
  FramingError framing = FramingError::kNone;
  std::string_view detail;  // human readable reason (OpenSSL, errno)
  // kFramingError with a complete head: the offending message's start line
  // and headers. A 400 sent on `connection` from inside the callback is
  // written before the connection closes.
  std::string_view head;
  // kHandshakeFailed of an outbound connection: the kind of failure and the
  // SendTarget::tls_profile it was made with; kNone otherwise.
  TlsFailure tls_failure = TlsFailure::kNone;
  std::size_t tls_profile = 0;
};

enum class CloseReason : std::uint8_t {
  kPeerClosed,
  kIdleTimeout,
  kFramingError,
  kSendQueueOverflow,
  kIoError,
  kConnectFailed,
  kHandshakeFailed,
  kClosedByApp,
};

std::string_view toString(CloseReason reason);

struct ConnectionInfo {
  ConnectionId id = kNoConnection;
  Protocol protocol = Protocol::kTcp;
  Endpoint remote;
  Endpoint local;
  ListenerIndex listener = 0;
  bool outbound = false;
  bool established = false;      // connected (and TLS handshake done)
  std::size_t tls_profile = 0;   // outbound TLS: SendTarget::tls_profile it was made with
  std::string tls_server_name;   // SNI the client sent (inbound) or we sent (outbound)
  std::string peer_certificate;  // verified peer certificate subject (RFC 2253), or empty
};

struct Callbacks {
  std::function<void(InboundMessage&&)> on_message;
  std::function<void(const TransportError&)> on_error;
  std::function<void(ConnectionId, CloseReason)> on_closed;  // optional
};

struct ProtocolCounters {
  std::uint64_t messages_in = 0;
  std::uint64_t bytes_in = 0;
  std::uint64_t messages_out = 0;
  std::uint64_t bytes_out = 0;  // includes keepalive pongs
};

struct Stats {
  std::array<ProtocolCounters, kProtocolCount> per_protocol{};
  std::uint64_t connections_open = 0;  // gauge
  std::uint64_t connections_accepted = 0;
  std::uint64_t connections_opened = 0;    // outbound attempts
  std::uint64_t connections_rejected = 0;  // inbound refused at max_connections
  std::uint64_t connect_failures = 0;
  std::uint64_t tls_handshake_failures = 0;
  // By direction, [0] inbound (we are the server), [1] outbound: completed
  // TLS handshakes and failed ones (the failures also count above).
  std::array<std::uint64_t, 2> tls_handshakes{};
  std::array<std::uint64_t, 2> tls_handshake_failed{};
  // Failed outbound handshakes by TlsFailure (index 0, kNone, stays 0).
  std::array<std::uint64_t, kTlsFailureCount> tls_client_failures{};
  std::uint64_t framing_errors = 0;
  std::uint64_t send_queue_overflows = 0;
  std::uint64_t idle_timeouts = 0;
  std::uint64_t keepalive_pings = 0;    // CRLFCRLF received on streams
  std::uint64_t datagrams_dropped = 0;  // oversized or keepalive-only UDP datagrams
  std::uint64_t send_errors = 0;        // UDP send failures, bad targets

  const ProtocolCounters& of(Protocol protocol) const {
    return per_protocol[static_cast<std::size_t>(protocol)];
  }
};

struct ReloadResult {
  bool ok = true;
  std::string error;  // first failure; nothing was replaced if !ok
};

// The listeners' server contexts and Config::tls_clients' contexts, built
// from their files by loadCertificates() on a thread that may block (SIGHUP:
// the mgmt thread), then handed to Transport::swapCertificates(), which
// reads no file. Indexes are those of Config::listeners / tls_clients.
struct TlsCertificates {
  std::vector<std::shared_ptr<boost::asio::ssl::context>> servers;  // null: not a TLS listener
  std::vector<std::shared_ptr<boost::asio::ssl::context>> clients;
};
using TlsCertificatesPtr = std::shared_ptr<const TlsCertificates>;

// Reads every TLS listener's certificate, key and CA file (key checked
// against the certificate) and builds the contexts; reads only `config`,
// so any thread may call it. nullptr and *error (naming the listener and
// file) on the first failure.
TlsCertificatesPtr loadCertificates(const Config& config, std::string* error);

class Transport {
 public:
  // The io_context must outlive the Transport.
  Transport(boost::asio::io_context& io, Config config, Callbacks callbacks);
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // Binds every listener and loads certificates. Start-up only: throws
  // std::runtime_error naming the listener or file at fault.
  void start();
  // Closes listeners and connections without further callbacks. Idempotent.
  void stop();

  // Never blocks, never throws. Returns the connection the bytes were queued
  // on (kNoConnection for UDP or when the send failed; failures also come
  // through on_error).
  ConnectionId send(const SendTarget& target, std::string bytes);
  // The same for bytes the caller keeps (a transaction's wire form): they
  // are copied only when they must be queued (stream connections, or a UDP
  // socket that would block), not for the common UDP send.
  ConnectionId sendBytes(const SendTarget& target, std::string_view bytes);

  // Closes a stream connection now; unsent bytes are reported as lost.
  void closeConnection(ConnectionId id);

  // Re-reads every certificate, key and CA file on the calling thread and
  // swaps them in: loadCertificates() + swapCertificates(). For tests and
  // tools; the SBC's SIGHUP does the reading off the SIP thread.
  ReloadResult reloadCertificates();
  // Swaps in contexts built by loadCertificates() for this transport's
  // Config; reads no file. New handshakes use the new ones; established
  // connections keep theirs. Nothing changes if the set does not fit the
  // listeners (then !ok).
  ReloadResult swapCertificates(const TlsCertificatesPtr& certificates);

  // Adds an outbound TLS profile built elsewhere (loadTlsClientContext(), off
  // this thread; per-trunk profiles arrive with configuration reloads) and
  // returns its SendTarget::tls_profile index. Reads no file. Certificate
  // reloads (reloadCertificates(), swapCertificates()) leave such profiles
  // alone: whoever built them rebuilds them.
  std::size_t addTlsClient(const TlsClientContextPtr& context);
  // Swaps the context of a profile added by addTlsClient() (files fixed or
  // renewed). New connections use it; established ones keep theirs and stay
  // reusable. False if `index` is not such a profile.
  bool replaceTlsClient(std::size_t index, const TlsClientContextPtr& context);

  // The bound address of a listener (the real port when configured as 0).
  Endpoint localEndpoint(ListenerIndex listener) const;
  const Config& config() const;
  std::optional<ConnectionInfo> connectionInfo(ConnectionId id) const;
  const Stats& stats() const;

 private:
  std::unique_ptr<detail::TransportCore> core_;
};

}  // namespace sbc::transport

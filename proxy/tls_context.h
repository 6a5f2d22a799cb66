// Builds the server's OpenSSL context from the `tls` settings, and reads the
// client's identity off a finished handshake.
//
// TlsContext::Create() is the only way to get one; it reports every problem
// (unreadable or malformed certificate, key that does not match, bad CA or
// CRL file, a tls.ciphers string that leaves no TLS 1.2 suite for the key, a
// tls.groups name OpenSSL does not know) as a config::ConfigError naming the
// key and line, so `--check`, start-up and reload say the same thing. The
// context is immutable once built and is shared by every connection.
//
// Resumption across reloads: a context built with `previous` shares its
// session-ticket keys and session cache when client verification is the
// same (same client_ca and CRL contents, same require_client_cert), so
// clients resume after a SIGHUP. When verification changed, a resumed
// session would skip the new checks (a certificate just revoked would still
// be accepted), so the new context starts with fresh keys and an empty
// cache.
#pragma once

#include <openssl/ssl.h>

#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "proxy/session_cache.h"
#include "proxy/session_tickets.h"

namespace tlsproxy::proxy {

struct SslCtxDeleter {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxDeleter>;

class TlsContext {
 public:
  struct Result {
    std::shared_ptr<const TlsContext> context;  // set when errors is empty
    std::vector<config::ConfigError> errors;
  };
  static Result Create(const config::TlsSettings& settings, const TlsContext* previous = nullptr);

  // Whether this context resumes sessions made under `other`.
  bool SharesSessionsWith(const TlsContext& other) const { return tickets_ == other.tickets_; }

  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  // A new SSL for one accepted connection; the caller owns it.
  SSL* NewSsl() const;

  // Whether the handshake chose HTTP/2 by ALPN. The proxy prefers http/1.1:
  // only a client that offers h2 and not http/1.1 (every gRPC client) gets it.
  static bool NegotiatedHttp2(SSL* ssl);

  // The server certificate's notAfter, as a Unix time (0 if unknown).
  std::time_t NotAfter() const;

  // The identity of the client's leaf certificate (CertificateIdentity)
  // when the handshake verified it against client_ca (and the CRL); nullopt
  // otherwise. With require_client_cert false a certificate that fails
  // verification still completes the handshake, but gives no identity here;
  // with it true, the handshake fails.
  static std::optional<std::string> VerifiedClientName(SSL* ssl, const config::TlsSettings& tls);

  // The name `tls.identity` reads from `leaf`: the first kind present (CN,
  // URI SAN, DNS SAN) decides; several names of that kind, a URI SAN
  // outside tls.identity_prefix (which is stripped), an empty name, one with
  // a control byte or over 255 bytes give none. Pure.
  static std::optional<std::string> CertificateIdentity(X509* leaf, const config::TlsSettings& tls);

 private:
  TlsContext(SslCtxPtr ctx, std::string verification)
      : ctx_(std::move(ctx)), verification_(std::move(verification)) {}
  SslCtxPtr ctx_;
  std::string verification_;  // digest of what client verification depends on
  // Also held by ctx_ (and so by every SSL made from it) until OpenSSL frees it.
  std::shared_ptr<SessionTickets> tickets_;
  std::shared_ptr<SessionCache> sessions_;
};

}  // namespace tlsproxy::proxy

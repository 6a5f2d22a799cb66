#include "tests/integration/resuming_client.h"

#include <openssl/err.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/integration/harness.h"

namespace tlsproxy::integration {

ResumingClient::ResumingClient(Mode mode) : ctx_(SSL_CTX_new(TLS_client_method())) {
  if (!ctx_) return;
  SSL_CTX_load_verify_locations(ctx_.get(), TestCertificates().ca.c_str(), nullptr);
  SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_session_cache_mode(ctx_.get(), SSL_SESS_CACHE_CLIENT);
  if (mode == Mode::kTls12SessionIds) {
    SSL_CTX_set_max_proto_version(ctx_.get(), TLS1_2_VERSION);
    SSL_CTX_set_options(ctx_.get(), SSL_OP_NO_TICKET);
  }
  ssl_.reset(SSL_new(ctx_.get()));
  if (ssl_) SSL_set_tlsext_host_name(ssl_.get(), "localhost");
}

ResumingClient::Round ResumingClient::Connect(uint16_t port) {
  Round round;
  if (!ssl_) {
    round.why = "no TLS client";
    return round;
  }
  const int fd = TcpConnect(port);
  if (fd < 0) {
    round.why = "connect failed";
    return round;
  }
  timeval timeout{10, 0};  // a bound on every read, not a timing assertion
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  SSL* ssl = ssl_.get();
  SSL_set_fd(ssl, fd);
  if (SSL_connect(ssl) != 1) {
    round.why = "handshake failed";
  } else {
    const std::string request =
        "GET /version HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    SSL_write(ssl, request.data(), static_cast<int>(request.size()));
    std::string raw;
    char buffer[4096];
    int n = 0;
    while ((n = SSL_read(ssl, buffer, sizeof buffer)) > 0 && raw.size() < (1u << 16)) {
      raw.append(buffer, static_cast<size_t>(n));
    }
    round.status = ParseStatus(raw);
    round.resumed = SSL_session_reused(ssl) == 1;
    round.ok = true;
    SSL_shutdown(ssl);
  }
  SSL_clear(ssl);  // keeps the session for the next connection
  close(fd);
  ERR_clear_error();
  return round;
}

}  // namespace tlsproxy::integration

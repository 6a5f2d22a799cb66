// TLS session resumption as load generators and clients that reconnect use
// it: one OpenSSL client object, SSL_clear between connections (wrk's
// pattern), one request per connection. TLS 1.3 tickets are single-use for
// OpenSSL clients, so every resumed handshake must hand out a fresh ticket;
// otherwise every other connection is a full handshake (twice the client's
// CPU per connection, as the benchmark once showed).
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>

#include "tests/integration/harness.h"

namespace tlsproxy::integration {
namespace {

struct CtxFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
struct SslFree {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};

struct Round {
  bool ok = false;
  bool resumed = false;
  int status = 0;
  std::string why;
};

// One connection on `ssl` (kept across calls): handshake, GET /version with
// Connection: close, read to the end, close_notify, SSL_clear.
Round OneConnection(SSL* ssl, uint16_t port) {
  Round round;
  const int fd = TcpConnect(port);
  if (fd < 0) {
    round.why = "connect failed";
    return round;
  }
  timeval timeout{10, 0};  // a bound on every read, not a timing assertion
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
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

TEST(SessionResumptionTest, EveryReconnectResumes) {
  Stack stack;
  ASSERT_TRUE(stack.Start());
  std::unique_ptr<SSL_CTX, CtxFree> ctx(SSL_CTX_new(TLS_client_method()));
  ASSERT_TRUE(ctx);
  ASSERT_EQ(SSL_CTX_load_verify_locations(ctx.get(), TestCertificates().ca.c_str(), nullptr), 1);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_CLIENT);
  std::unique_ptr<SSL, SslFree> ssl(SSL_new(ctx.get()));
  ASSERT_TRUE(ssl);
  SSL_set_tlsext_host_name(ssl.get(), "localhost");

  const Round first = OneConnection(ssl.get(), stack.port());
  ASSERT_TRUE(first.ok) << first.why;
  EXPECT_EQ(first.status, 200);
  EXPECT_FALSE(first.resumed);
  int resumed = 0;
  constexpr int kReconnects = 6;
  for (int i = 0; i < kReconnects; ++i) {
    const Round round = OneConnection(ssl.get(), stack.port());
    ASSERT_TRUE(round.ok) << round.why;
    EXPECT_EQ(round.status, 200);
    if (round.resumed) ++resumed;
  }
  EXPECT_EQ(resumed, kReconnects) << "reconnects that did a full handshake: "
                                  << kReconnects - resumed;
  EXPECT_TRUE(stack.proxy.Stop());
}

}  // namespace
}  // namespace tlsproxy::integration

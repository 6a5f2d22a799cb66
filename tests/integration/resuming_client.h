// A TLS client that reconnects as load generators do: one OpenSSL client
// object, SSL_clear between connections (wrk's pattern), so each new
// connection offers the session of the last one. One request per
// connection: GET /version with Connection: close.
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <string>

namespace tlsproxy::integration {

class ResumingClient {
 public:
  enum class Mode {
    kDefault,          // TLS 1.3, resumes with session tickets
    kTls12SessionIds,  // TLS 1.2 without tickets: resumes by session ID (the server's cache)
  };
  explicit ResumingClient(Mode mode = Mode::kDefault);
  ResumingClient(const ResumingClient&) = delete;
  ResumingClient& operator=(const ResumingClient&) = delete;

  struct Round {
    bool ok = false;  // the handshake completed; `why` says what failed otherwise
    bool resumed = false;
    int status = 0;
    std::string why;
  };
  // One connection to 127.0.0.1:`port`; every read is bounded (10 s).
  Round Connect(uint16_t port);

 private:
  struct CtxFree {
    void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
  };
  struct SslFree {
    void operator()(SSL* ssl) const { SSL_free(ssl); }
  };
  std::unique_ptr<SSL_CTX, CtxFree> ctx_;
  std::unique_ptr<SSL, SslFree> ssl_;
};

}  // namespace tlsproxy::integration

// What a Worker knows of a client connection, whatever stage or protocol it
// is in: it can be told to drain, and destroying it closes it. TlsConnection
// (accept and handshake) hands the socket over to an Http1Session or, after
// ALPN "h2", an Http2Session. Each registers with its Worker on creation
// and leaves it on destruction; at a hand-over the session registers before
// the TlsConnection leaves, so the socket is counted once at rest.
#pragma once

namespace tlsproxy::proxy {

class Connection {
 public:
  virtual ~Connection() = default;
  // The server is shutting down: finish what is in flight, end open
  // watches cleanly, then close.
  virtual void BeginDrain() = 0;
};

}  // namespace tlsproxy::proxy

// What a Worker knows of a client connection, whichever protocol it speaks:
// it can be told to drain, and destroying it closes it. ClientConnection
// (TLS handshake, then HTTP/1.1) and Http2Session (HTTP/2 after ALPN "h2")
// register with their Worker on creation and leave it on destruction.
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

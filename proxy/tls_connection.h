// One accepted client socket until its TLS handshake is done: the first
// stage of every client connection, whatever protocol it then speaks.
//
//   Accept()         refuses the socket (a TCP close before any TLS byte)
//                    past max_connections; otherwise wraps it in an OpenSSL
//                    bufferevent and starts the server handshake.
//   the handshake    must end within timeouts.handshake in all; a failure,
//                    a close or the deadline counts a handshake failure
//                    (metric and log line, with OpenSSL's reason) and closes.
//   hand-over        a verified client certificate gives the connection its
//                    certificate identity; ALPN picks the session: "h2" an
//                    Http2Session, anything else an Http1Session. The
//                    session takes the bufferevent (and the bytes already
//                    read) and this object destroys itself.
//
// The socket is counted once in the open-connections gauge throughout: the
// session registers with the Worker before this object leaves it.
//
// Lifetime: registered in its Worker's connection set; it destroys itself
// through ScheduleDestroy(), which runs from the event loop, never from
// inside a callback of its own.
#pragma once

#include <event2/bufferevent.h>
#include <event2/event.h>

#include <string>

#include "proxy/connection.h"

namespace tlsproxy::proxy {

class Worker;

class TlsConnection : public Connection {
 public:
  // Takes ownership of `fd`, an accepted TCP socket.
  static void Accept(Worker& worker, evutil_socket_t fd, const sockaddr* address, int length);
  ~TlsConnection() override;
  TlsConnection(const TlsConnection&) = delete;
  TlsConnection& operator=(const TlsConnection&) = delete;

  // The server is shutting down: a handshake in progress is abandoned.
  void BeginDrain() override;

 private:
  TlsConnection(Worker& worker, bufferevent* bev, std::string peer_ip, std::string peer);

  void OnHandshakeDone();
  void OnHandshakeFailed(const char* reason);
  void ScheduleDestroy();

  static void OnEvent(bufferevent* bev, short what, void* self);
  static void OnHandshakeDeadline(evutil_socket_t, short, void* self);
  static void OnDestroy(evutil_socket_t, short, void* self);

  Worker& worker_;
  bufferevent* bev_;  // null once handed over
  // The whole handshake must end within timeouts.handshake (a read timeout
  // alone restarts on every byte, so a client dripping bytes would never hit it).
  event* handshake_deadline_ = nullptr;
  std::string peer_ip_;
  std::string peer_;  // ip:port, for logs
  bool destroying_ = false;
};

}  // namespace tlsproxy::proxy

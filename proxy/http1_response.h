// The response side of an HTTP/1.1 session: the bytes one client receives
// for its request in flight, whether etcd's response re-framed for this
// client or a response the proxy makes itself, and what the access log
// says of them (status, body bytes).
//
// Bytes are gathered (Write*) and sent by Flush(), as one TLS record when
// they fit. Re-framing: hop-by-hop headers are dropped; the body goes by
// etcd's Content-Length when it gave one, else chunked to an HTTP/1.1
// client, else until the connection closes (an HTTP/1.0 client).
//
// Not copyable; `bev` is the session's TLS bufferevent and must outlive
// this object. One request at a time: Reset() before the next.
#pragma once

#include <event2/bufferevent.h>

#include <cstddef>
#include <string>

#include "proxy/http_message.h"
#include "proxy/local_response.h"

namespace tlsproxy::proxy {

class Http1Response {
 public:
  explicit Http1Response(bufferevent* bev) : bev_(bev) {}
  Http1Response(const Http1Response&) = delete;
  Http1Response& operator=(const Http1Response&) = delete;

  // A new request: no status, no body bytes, no framing.
  void Reset();

  // etcd's response head for `request`. `content_length` is etcd's, or null;
  // `has_body` whether a body follows. Returns whether the connection may
  // stay open after this response: `keep_alive`, unless only closing it can
  // end the body. The head says "Connection: close" when it may not.
  bool WriteHead(const ResponseHead& head, bool has_body, const std::string* content_length,
                 const RequestHead& request, bool keep_alive);
  // Part of etcd's response body (a chunk when chunked).
  void WriteBody(const char* data, size_t length);
  // The end of etcd's body: the last chunk when chunked, else nothing.
  void WriteEnd();

  // A response the proxy makes itself, whole (see RenderHttp1).
  void WriteLocal(const LocalResponse& response, bool keep_alive, bool is_head);
  // Bytes outside any response (an interim "100 Continue").
  void Write(const std::string& bytes) { pending_ += bytes; }

  // Sends what was gathered. `socket_open` false once the session is closed
  // for good: the bytes then only go to libevent's buffer.
  void Flush(bool socket_open);
  // Bytes sent but not yet taken by the socket.
  size_t Queued() const;

  int status() const { return status_; }  // 0 until a head is written
  void set_status(int status) { status_ = status; }
  size_t body_bytes() const { return body_bytes_; }

 private:
  enum class BodyFraming { kNone, kLength, kChunked, kUntilClose };

  bufferevent* bev_;
  BodyFraming framing_ = BodyFraming::kNone;
  std::string pending_;  // bytes gathered since the last Flush()
  int status_ = 0;
  size_t body_bytes_ = 0;
};

}  // namespace tlsproxy::proxy

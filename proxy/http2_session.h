// A client connection that chose HTTP/2 by ALPN: the nghttp2 server session
// over the connection's TLS bufferevent, and its streams, each a GrpcCall.
//
// The path of a call, top to bottom:
//   HEADERS        a GrpcCall is made for the stream and checks the request
//                  head (canonical gRPC only; see grpc_call.h).
//   DATA           handed to the call, which decides each whole message and
//                  forwards what the ACL allowed on its own upstream stream.
//   response       the call hands etcd's headers, messages and trailers back
//                  through SubmitResponse() / ResumeResponse().
//   stream close   the call is destroyed; a call still running upstream
//                  resets its upstream stream.
//
// Every nghttp2 call that sends runs from this session's own event handlers
// (socket readable or writable, or the deferred "send" event that
// ScheduleSend() arms), never from inside a call's code: calls may use every
// method below from any callback, including upstream ones.
//
// Protections: at most kMaxConcurrentStreams streams at once; headers over
// max_header_bytes reset the stream; nghttp2's own limits against rapid
// reset, CONTINUATION, PING and SETTINGS floods (set explicitly below);
// timeouts.idle closes a connection with no open stream; each stream's
// request bytes are acknowledged (WINDOW_UPDATE) only once its call has
// passed them on, so a slow etcd holds back one client stream, not memory;
// incomplete messages on all streams together are held to max_body_bytes
// (AddPartialBytes). The connection window is kConnectionWindow, so a few
// stalled streams do not stall the others.
#pragma once

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <nghttp2/nghttp2.h>

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "proxy/connection.h"
#include "proxy/upstream_h2.h"

namespace tlsproxy::proxy {

class GrpcCall;
class Worker;

class Http2Session : public Connection {
 public:
  // Takes over `bev` (TLS, handshake done, ALPN "h2") and its bytes already
  // read. Registers with the worker.
  static void Start(Worker& worker, bufferevent* bev, std::string peer,
                    std::optional<std::string> cert_user);
  ~Http2Session() override;
  Http2Session(const Http2Session&) = delete;
  Http2Session& operator=(const Http2Session&) = delete;

  // GOAWAY; running unary calls finish; streaming calls end with status 14.
  void BeginDrain() override;

  // For the calls.
  // Sends response headers; with `end_stream` nothing follows (a
  // trailers-only response), else the body comes from the call's
  // ReadResponseBody().
  void SubmitResponse(int32_t stream_id, const HeaderList& headers, bool end_stream);
  // The call has more response bytes (or its trailers).
  void ResumeResponse(int32_t stream_id);
  // Only from inside the call's ReadResponseBody(): the trailers that end it.
  void SubmitTrailers(int32_t stream_id, const HeaderList& trailers);
  // The call has passed `length` request bytes on: the client may send more.
  void ConsumeRequest(int32_t stream_id, size_t length);
  // Incomplete request messages held by the calls, all streams together.
  // Past max_body_bytes (what one HTTP/1.1 connection may hold of a body),
  // calls holding part of a message stop acknowledging request bytes until
  // some message completes or its call ends. `delta` may be negative.
  void AddPartialBytes(int64_t delta);
  bool PartialBytesOverBudget() const;
  void ResetStream(int32_t stream_id, uint32_t error_code);

  Worker& worker() { return worker_; }
  const std::string& peer() const { return peer_; }
  const std::string& peer_ip() const { return peer_ip_; }  // for the auth throttle
  const std::optional<std::string>& cert_user() const { return cert_user_; }
  bool draining() const { return draining_; }

  static constexpr uint32_t kMaxConcurrentStreams = 128;
  static constexpr int32_t kConnectionWindow = 1 << 20;

 private:
  Http2Session(Worker& worker, bufferevent* bev, std::string peer,
               std::optional<std::string> cert_user);
  bool Init();
  void ReadInput();
  void ScheduleSend();
  void SendNow();
  void UpdateIdleTimeout();
  void Close();
  GrpcCall* CallOf(int32_t stream_id) const;

  static void OnRead(bufferevent* bev, void* self);
  static void OnWrite(bufferevent* bev, void* self);
  static void OnEvent(bufferevent* bev, short what, void* self);
  static void OnSendEvent(evutil_socket_t, short, void* self);
  static void OnDestroy(evutil_socket_t, short, void* self);

  // nghttp2 callbacks.
  static int OnBeginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* self);
  static int OnHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                      size_t name_length, const uint8_t* value, size_t value_length, uint8_t flags,
                      void* self);
  static int OnFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* self);
  static int OnFrameSend(nghttp2_session*, const nghttp2_frame* frame, void* self);
  static int OnDataChunk(nghttp2_session*, uint8_t flags, int32_t stream_id, const uint8_t* data,
                         size_t length, void* self);
  static int OnStreamClose(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* self);
  static ssize_t ReadBody(nghttp2_session*, int32_t stream_id, uint8_t* buffer, size_t length,
                          uint32_t* flags, nghttp2_data_source* source, void* self);

  Worker& worker_;
  bufferevent* bev_;
  std::string peer_;
  std::string peer_ip_;
  std::optional<std::string> cert_user_;
  nghttp2_session* session_ = nullptr;
  event* send_event_ = nullptr;
  std::map<int32_t, std::unique_ptr<GrpcCall>> calls_;
  bool draining_ = false;
  bool closed_ = false;
  bool idle_timer_on_ = false;
  size_t partial_bytes_ = 0;
  std::string send_batch_;  // SendNow()'s frames, reused
  bool resume_requests_ = false;
};

}  // namespace tlsproxy::proxy

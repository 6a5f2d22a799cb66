// Plaintext HTTP/2 (prior knowledge, "h2c") connections from one worker to
// the local etcd, carrying gRPC calls. Each client gRPC stream gets one
// upstream stream; streams are multiplexed over a few connections per
// worker (a new connection is opened when every live one carries
// kStreamsPerConnection streams, up to kMaxConnections).
//
// Flow control is end to end: the library's automatic WINDOW_UPDATEs are
// off, and a stream's received bytes are acknowledged only when its owner
// calls Consume(), after passing them on to the client. A client that stops
// reading a watch therefore stops etcd after one stream window (64 KiB)
// plus what its owner buffers; the connection window is large enough that
// one stalled stream does not stall the others.
//
// Every nghttp2 call that sends happens from this connection's own event
// handlers (its socket, or a deferred "send" event), never from inside a
// stream owner's code, so owners can call any method from any callback.
// When the connection fails (etcd down, connection lost, protocol error),
// every open stream's owner hears OnUpstreamClose() with the reason once,
// and the connection is dropped from the pool; new streams go to a new one.
#pragma once

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <nghttp2/nghttp2.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "proxy/header_list.h"

namespace tlsproxy::proxy {

// The owner of one upstream stream (a gRPC call).
class UpstreamStreamOwner {
 public:
  virtual ~UpstreamStreamOwner() = default;
  // etcd's response headers (`trailers` false) or trailers (true).
  // `end_stream`: nothing follows (a trailers-only response has both false
  // trailers and end_stream true).
  virtual void OnUpstreamHeaders(const HeaderList& headers, bool trailers, bool end_stream) = 0;
  virtual void OnUpstreamData(const uint8_t* data, size_t length) = 0;
  // The stream is over. `error_code` is the HTTP/2 code of etcd's
  // RST_STREAM (0 after a normal end); `connection_failure` says why when
  // the connection to etcd failed or could not be made (empty otherwise).
  // The owner's handle is void after.
  virtual void OnUpstreamClose(uint32_t error_code, std::string_view connection_failure) = 0;
  // Request body bytes: copy up to `length` into `buffer` and return how
  // many; set *eof when the body ends after them. Returning 0 without eof
  // means "nothing yet": call ResumeSending() when there is more.
  virtual size_t ReadRequestBody(uint8_t* buffer, size_t length, bool* eof) = 0;
};

class UpstreamH2Connection;

// A started stream, as seen by its owner.
struct UpstreamStreamHandle {
  UpstreamH2Connection* connection = nullptr;
  int32_t stream_id = -1;
  explicit operator bool() const { return connection != nullptr; }
};

class UpstreamH2Connection {
 public:
  UpstreamH2Connection(event_base* base, const sockaddr_storage& address, socklen_t length);
  ~UpstreamH2Connection();
  UpstreamH2Connection(const UpstreamH2Connection&) = delete;
  UpstreamH2Connection& operator=(const UpstreamH2Connection&) = delete;

  // Connects; false when no socket could be made.
  bool Start();
  // Starts a request stream (headers as given, body from the owner);
  // -1 when this connection takes no new streams.
  int32_t Submit(const HeaderList& headers, UpstreamStreamOwner* owner);
  // The owner has more request body bytes.
  void ResumeSending(int32_t stream_id);
  // The owner has passed `length` received bytes on: etcd may send more.
  void Consume(int32_t stream_id, size_t length);
  // The owner goes away (client cancelled, call ended early): RST_STREAM
  // with `error_code`; the owner hears nothing more.
  void Reset(int32_t stream_id, uint32_t error_code);

  bool usable() const;
  bool dead() const { return dead_; }
  size_t open_streams() const { return owners_.size(); }

 private:
  void ScheduleSend();
  void SendNow();
  void Fail(const std::string& why);
  UpstreamStreamOwner* OwnerOf(int32_t stream_id) const;

  static void OnRead(bufferevent* bev, void* self);
  static void OnWrite(bufferevent* bev, void* self);
  static void OnEvent(bufferevent* bev, short what, void* self);
  static void OnSendEvent(evutil_socket_t, short, void* self);

  // nghttp2 callbacks.
  static int OnBeginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* self);
  static int OnHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                      size_t name_length, const uint8_t* value, size_t value_length, uint8_t flags,
                      void* self);
  static int OnFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* self);
  static int OnDataChunk(nghttp2_session*, uint8_t flags, int32_t stream_id, const uint8_t* data,
                         size_t length, void* self);
  static int OnStreamClose(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* self);
  static ssize_t ReadBody(nghttp2_session*, int32_t stream_id, uint8_t* buffer, size_t length,
                          uint32_t* flags, nghttp2_data_source* source, void* self);

  event_base* base_;
  sockaddr_storage address_;
  socklen_t length_;
  bufferevent* bev_ = nullptr;
  event* send_event_ = nullptr;
  nghttp2_session* session_ = nullptr;
  bool connected_ = false;
  bool dead_ = false;
  std::map<int32_t, UpstreamStreamOwner*> owners_;
  std::map<int32_t, HeaderList> incoming_;  // headers being received, per stream
  std::string send_batch_;                  // SendNow()'s frames, reused
};

// The worker's upstream HTTP/2 connections. Single-threaded.
class UpstreamH2Pool {
 public:
  UpstreamH2Pool(event_base* base, const sockaddr_storage& address, socklen_t length);
  ~UpstreamH2Pool();
  UpstreamH2Pool(const UpstreamH2Pool&) = delete;
  UpstreamH2Pool& operator=(const UpstreamH2Pool&) = delete;

  // Starts a stream on the least busy usable connection (opening one if
  // needed). An empty handle when no connection could even be started; a
  // stream on a connection that then fails hears OnUpstreamClose(lost).
  UpstreamStreamHandle Open(const HeaderList& headers, UpstreamStreamOwner* owner);

  static constexpr size_t kStreamsPerConnection = 100;
  static constexpr size_t kMaxConnections = 4;

 private:
  void Reap();  // frees dead connections with no streams
  static void OnReap(evutil_socket_t, short, void* self);

  event_base* base_;
  sockaddr_storage address_;
  socklen_t length_;
  std::vector<std::unique_ptr<UpstreamH2Connection>> connections_;
  event* reap_event_ = nullptr;
};

}  // namespace tlsproxy::proxy

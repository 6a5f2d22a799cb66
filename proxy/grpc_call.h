// One gRPC call on an HTTP/2 stream: checks the request head, decides every
// request message with the ACL, forwards what was allowed on its own
// upstream stream, and relays etcd's response back as etcd sends it.
//
// The path of a call, top to bottom:
//   OnRequestHeaders  canonical gRPC only: POST, a "/package.Service/Method"
//                     :path, content-type application/grpc (or +proto), no
//                     grpc-encoding but identity, a well-formed grpc-timeout.
//                     Anything else ends the call here; nothing is forwarded.
//   OnRequestData     whole messages (GrpcMessageReader): a compressed flag,
//                     a message over max_body_bytes, bytes that do not parse
//                     end the call; each message is decoded (acl/grpc_request)
//                     and decided (Acl::DecideV3Call). Unary calls are held
//                     until the request ends, so exactly one message is ever
//                     forwarded for them; stream messages go on one by one.
//   refusal           the call ends with trailers only: grpc-status 7
//                     "etcdserver: permission denied", or 3 "etcdserver: user
//                     name is empty" when no identity was given. A refused
//                     Watch create instead gets etcd's own shape of refusal,
//                     {watch_id: -1, created, canceled, cancel_reason}, in the
//                     order the creates were sent; the stream goes on.
//   response          headers, messages and trailers relayed unbuffered; on a
//                     Watch stream etcd's messages are read (whole) to keep
//                     the order of create answers and to count watches.
//   the end           etcd's trailers; or status 14 when etcd is unreachable
//                     or its connection is lost; status 4 when grpc-timeout
//                     passes; a client RST_STREAM resets the upstream stream
//                     and the reverse. One access-log line per call, and one
//                     per Watch create decided.
//
// The call holds the Runtime current when its stream opened, to its end.
// Flow control: request bytes are acknowledged to the client once they are
// passed to etcd (or dropped), response bytes to etcd once the client's
// session has taken them, so each direction buffers about one window; the
// bytes of a message still incomplete are acknowledged while the session's
// budget for incomplete messages (max_body_bytes per connection) lasts.
//
// The answer to Auth/Authenticate is in grpc_call_login.cc, the access-log
// lines (and shadow mode's would-be statuses) in grpc_call_access_log.cc.
#pragma once

#include <event2/event.h>
#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "acl/acl.h"
#include "acl/grpc_request.h"
#include "proxy/grpc_message_reader.h"
#include "proxy/grpc_request_head.h"
#include "proxy/grpc_watch_relay.h"
#include "proxy/runtime.h"
#include "proxy/upstream_h2.h"

namespace tlsproxy::proxy {

class Http2Session;

class GrpcCall : private UpstreamStreamOwner {
 public:
  GrpcCall(Http2Session& session, int32_t stream_id, std::shared_ptr<const Runtime> runtime);
  ~GrpcCall() override;
  GrpcCall(const GrpcCall&) = delete;
  GrpcCall& operator=(const GrpcCall&) = delete;

  // From the session, in stream order. AddHeader returns false when the
  // header list passes max_header_bytes (the stream is then reset).
  bool AddHeader(std::string_view name, std::string_view value, bool trailer);
  void OnRequestHeaders();
  void OnRequestData(const uint8_t* data, size_t length);
  void OnRequestEnd();
  // The response's END_STREAM went out.
  void OnResponseSent();
  // The stream is closed (`error_code` from the client's RST_STREAM, or 0);
  // the session destroys the call right after.
  void OnStreamClosed(uint32_t error_code);
  // The session's budget for incomplete messages has room again.
  void ResumeRequest() { ConsumeClientBytes(); }
  // The server drains: streaming calls end with status 14, unary ones finish.
  void BeginDrain();
  // The session's data source: response bytes, then the trailers.
  ssize_t ReadResponseBody(uint8_t* buffer, size_t length, uint32_t* flags);

 private:
  // UpstreamStreamOwner
  void OnUpstreamHeaders(const HeaderList& headers, bool trailers, bool end_stream) override;
  void OnUpstreamData(const uint8_t* data, size_t length) override;
  void OnUpstreamClose(uint32_t error_code, std::string_view connection_failure) override;
  size_t ReadRequestBody(uint8_t* buffer, size_t length, bool* eof) override;

  // Request side.
  void HandleMessage(GrpcMessage message);
  void Forward(const std::string& message);
  void AnswerLogin(const std::string& message);
  void RefuseWatchCreate(const acl::Decision& decision);
  void ConsumeClientBytes();
  void ReportPartialBytes(size_t now);

  // Response side.
  void RelayWatchResponses(const uint8_t* data, size_t length);
  void SendToClient(const std::string& bytes);
  void StartResponse();
  // Ends the call with a gRPC status of the proxy's own: trailers only, or
  // trailers after what was already relayed. Resets the upstream stream.
  void Finish(int code, std::string_view message);
  void ResetUpstream();
  void CreditUpstream();
  void LogCall();
  void LogWatchCreate(const acl::Decision& decision);
  static constexpr int kNoShadowDenial = -1;
  void WriteAccessLine(std::string_view method, int grpc_status, std::string_view rule,
                       size_t bytes, double milliseconds, int shadow_denied);
  void NoteShadowDenial(const acl::Decision& decision, bool watch_create);

  static void OnDeadline(evutil_socket_t, short, void* self);
  static void OnResponseTimeout(evutil_socket_t, short, void* self);

  Http2Session& session_;
  const int32_t stream_id_;
  std::shared_ptr<const Runtime> runtime_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();

  // Request head.
  GrpcRequestHead head_;
  std::string path_;  // the method, once the head is complete
  bool head_ok_ = false;
  acl::GrpcCallShape shape_ = acl::GrpcCallShape::kUnary;
  acl::Identity identity_;

  // Request body.
  GrpcMessageReader request_reader_;
  size_t messages_ = 0;
  std::optional<std::string> held_;  // a unary call's decided message
  bool request_ended_ = false;
  size_t client_owed_ = 0;       // request bytes not yet acknowledged to the client
  size_t partial_reported_ = 0;  // request_reader_.buffered() as told to the session

  // Upstream.
  UpstreamStreamHandle upstream_;
  std::string upstream_body_;  // framed messages for etcd
  bool upstream_body_eof_ = false;
  size_t upstream_owed_ = 0;  // response bytes not yet acknowledged to etcd

  // Response.
  bool response_started_ = false;
  bool finished_ = false;  // the end (trailers or reset) is decided
  std::string out_;        // response bytes for the client
  bool out_eof_ = false;
  HeaderList trailers_;

  // Watch streams only.
  std::optional<WatchRelay> watch_relay_;

  // Access log.
  int grpc_status_ = -1;
  std::string rule_ = "-";
  std::string key_;
  int shadow_denied_ = kNoShadowDenial;  // shadow mode: the would-be grpc-status
  size_t bytes_sent_ = 0;                // response message bytes (with their prefixes)
  bool logged_ = false;

  event* deadline_ = nullptr;
  event* response_timer_ = nullptr;
};

}  // namespace tlsproxy::proxy

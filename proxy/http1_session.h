// The HTTP/1.1 session on one client connection whose TLS handshake is
// done (TlsConnection hands it over when ALPN did not choose h2): its
// requests, one at a time (pipelined requests wait in the input buffer).
//
// The path of a request, top to bottom:
//   kReadingRequest  the request head and body are read (Http1RequestReader);
//                  framing that could smuggle a second request, an oversized
//                  head or body, or a protocol upgrade ends here with a 4xx.
//   HandleRequest  canonicalise the target -> authenticate basic auth ->
//                  ACL decision (DecideKeys, or DecideGateway for the v3
//                  JSON gateway, whose keys are in the body) -> either a
//                  refusal or Forward().
//   kForwarding    an UpstreamExchange carries the request to etcd and
//                  streams the response back, re-framed for this client
//                  (Http1Response), reading etcd no faster than the client
//                  takes the response.
//   FinishRequest  one access-log line; next request or close.
// Nothing is forwarded unless the ACL allowed exactly the target forwarded.
// HandleRequest (the gate: authentication, the ACL decision, the gateway's
// logins) and the rendering of refusals are in http1_session_gate.cc.
//
// Each request uses the Runtime (config, ACL, accounts) current when its
// first byte is read, so a reload applies from the next request on a
// kept-alive connection and never changes a request half way. Between
// requests the session holds no Runtime, so an idle connection never keeps
// an old one (and its access-log file) alive.
//
// Lifetime: owned by its Worker's connection set; it destroys itself through
// ScheduleDestroy(), which runs from the event loop, never from inside a
// callback of its own.
#pragma once

#include <event2/bufferevent.h>
#include <event2/event.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "acl/acl.h"
#include "proxy/connection.h"
#include "proxy/error_response.h"
#include "proxy/http1_request_reader.h"
#include "proxy/http1_response.h"
#include "proxy/http_message.h"
#include "proxy/runtime.h"
#include "proxy/upstream_exchange.h"

namespace tlsproxy::proxy {

class Worker;

class Http1Session : public Connection, private UpstreamExchange::Delegate {
 public:
  // Takes over `bev` (TLS, handshake done, ALPN not "h2") and its bytes
  // already read; `cert_user` is the verified client certificate's name.
  // Registers with the worker.
  static void Start(Worker& worker, bufferevent* bev, std::string peer_ip, std::string peer,
                    std::optional<std::string> cert_user);
  ~Http1Session() override;
  Http1Session(const Http1Session&) = delete;
  Http1Session& operator=(const Http1Session&) = delete;

  // The server is shutting down: close now if idle, end an open watch with a
  // clean end of stream, otherwise let the request in flight finish and
  // close after it.
  void BeginDrain() override;

 private:
  enum class State { kReadingRequest, kForwarding, kClosing, kClosed };

  Http1Session(Worker& worker, bufferevent* bev, std::string peer_ip, std::string peer,
               std::optional<std::string> cert_user);

  // Request phases.
  void ParseInput();
  void HandleRequest();
  std::optional<acl::Identity> Authenticate(bool gateway, std::string* failure) const;
  void AnswerGatewayLogin();
  size_t ThrottledFor() const;
  Http1RequestReader::Limits RequestLimits() const;
  bool RequestTooSlow() const;
  void SendContinue();
  const RequestHead& head() const { return reader_.head(); }
  const std::string& body() const { return reader_.body(); }
  std::optional<acl::Decision> DecideKeys(const acl::RequestTarget& target,
                                          const acl::Identity& identity) const;
  std::optional<acl::Decision> DecideGateway(const acl::RequestTarget& target,
                                             const acl::Identity& identity);
  void NoteShadowDenial(acl::Verdict verdict, bool gateway);
  void Forward(const acl::RequestTarget& target);
  std::string BuildUpstreamRequest(const acl::RequestTarget& target) const;
  void Refuse(ProxyError error, const char* message, bool keep_alive);
  void RefuseVerdict(acl::Verdict verdict, bool gateway);
  void SendRefusal(const LocalResponse& response, bool keep_alive);
  void FinishRequest();
  void ResetRequest();

  // Ending the connection.
  void CloseAfterFlush();
  void ScheduleDestroy();

  // UpstreamExchange::Delegate
  void OnResponseHead(const ResponseHead& head, bool has_body,
                      const std::string* content_length) override;
  void OnResponseBody(const char* data, size_t length) override;
  void OnResponseBatchEnd() override;
  void OnResponseComplete() override;
  void OnUpstreamError(UpstreamFailure failure, bool after_head) override;
  void EndWatch();

  void LogAccess();
  void Flush();
  void SetReadTimeout(int seconds);

  // libevent callbacks.
  static void OnRead(bufferevent* bev, void* self);
  static void OnWriteDrained(bufferevent* bev, void* self);
  static void OnEvent(bufferevent* bev, short what, void* self);
  static void OnResume(evutil_socket_t, short, void* self);
  static void OnDestroy(evutil_socket_t, short, void* self);

  Worker& worker_;
  std::shared_ptr<const Runtime> runtime_;  // set from a request's first byte to its end
  bufferevent* bev_;
  event* resume_event_ = nullptr;
  std::string peer_ip_;
  std::string peer_;  // ip:port, for logs
  State state_ = State::kReadingRequest;
  std::optional<std::string> cert_user_;  // the verified client certificate's name

  // The request being read or served.
  Http1RequestReader reader_;
  bool request_timer_armed_ = false;  // the read timeout is request_headers, not idle
  bool keep_alive_ = true;
  std::unique_ptr<UpstreamExchange> exchange_;

  // The response being written, and the access-log fields.
  std::chrono::steady_clock::time_point forwarded_;
  bool is_watch_ = false;
  Http1Response response_;
  bool output_paused_ = false;
  std::string identity_ = "-";
  std::string path_ = "-";
  std::string rule_ = "-";
  int shadow_denied_ = -1;  // the would-be status in shadow mode, else -1
};

}  // namespace tlsproxy::proxy

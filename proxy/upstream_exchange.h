// One request/response exchange with the local etcd, on a pooled connection.
//
// Phases, each with its own handler: kConnecting (connect timeout -> 504,
// refused -> 502), kAwaitingHead (the request is written; an error before
// the response head -> 502, none within the response timeout -> 504), kStreaming (the body is
// handed to the delegate piece by piece as etcd sends it, with no read timeout, so watches live as
// long as the client does). When the response is complete and the connection reusable, it goes back
// to the pool. The cluster ID etcd sends with a response head is recorded in
// EtcdClusterId::Process().
//
// Destroying an exchange that has not completed closes its connection: that
// is how a client that goes away cancels its upstream request.
#pragma once

#include <event2/bufferevent.h>
#include <http_parser.h>

#include <cstddef>
#include <string>

#include "proxy/http_message.h"
#include "proxy/upstream_pool.h"

namespace tlsproxy::proxy {

// Why an exchange failed; the HTTP/1.1 session turns it into a 502 or 504.
enum class UpstreamFailure {
  kConnect,          // refused, unreachable, no socket: 502
  kTimeout,          // connect timed out: 504
  kResponseTimeout,  // no response head within the response timeout: 504
  kClosed,           // etcd closed or reset the connection before the response ended: 502
  kMalformed,        // the response could not be parsed: 502
};

class UpstreamExchange {
 public:
  // Receives the response. Each call may be the last thing the delegate
  // does with this exchange: the delegate may destroy the exchange inside
  // OnResponseComplete() and OnUpstreamError(), and nowhere else.
  class Delegate {
   public:
    virtual ~Delegate() = default;
    // `has_body` is false for HEAD, 1xx, 204 and 304 responses.
    // `content_length` is set when etcd framed the body by length.
    virtual void OnResponseHead(const ResponseHead& head, bool has_body,
                                const std::string* content_length) = 0;
    virtual void OnResponseBody(const char* data, size_t length) = 0;
    // Everything from one read of etcd's socket has been handed over
    // (head and/or body pieces): a good moment to send it on together.
    virtual void OnResponseBatchEnd() = 0;
    virtual void OnResponseComplete() = 0;
    // `after_head` tells whether OnResponseHead() was already called.
    virtual void OnUpstreamError(UpstreamFailure failure, bool after_head) = 0;
  };

  struct Options {
    bool is_head = false;    // the response parser expects no body
    bool may_retry = false;  // one retry on a fresh connection when a reused one
                             // was already closed (safe methods only)
    size_t connect_timeout_seconds = 5;
    size_t response_timeout_seconds = 0;  // until the response head; 0: none (watches)
  };
  // `request` is the complete request (head and body) to send.
  UpstreamExchange(UpstreamPool& pool, Delegate& delegate, std::string request,
                   const Options& options);
  ~UpstreamExchange();
  UpstreamExchange(const UpstreamExchange&) = delete;
  UpstreamExchange& operator=(const UpstreamExchange&) = delete;

  void Start();

  // Back-pressure: stop and resume reading from etcd while the client's
  // output is above its high-water mark.
  void PauseReading();
  void ResumeReading();

 private:
  enum class Phase { kIdle, kConnecting, kAwaitingHead, kStreaming, kDone, kFailed };

  void Send();
  void AwaitHead();
  void ParseInput();
  void Fail(UpstreamFailure failure);
  void Complete();

  static void OnRead(bufferevent* bev, void* self);
  static void OnEvent(bufferevent* bev, short what, void* self);

  static int OnHeaderField(http_parser* parser, const char* at, size_t length);
  static int OnHeaderValue(http_parser* parser, const char* at, size_t length);
  static int OnHeadersComplete(http_parser* parser);
  static int OnBody(http_parser* parser, const char* at, size_t length);
  static int OnMessageComplete(http_parser* parser);
  static const http_parser_settings kSettings;

  UpstreamPool& pool_;
  Delegate& delegate_;
  std::string request_;
  Options options_;
  bool reused_ = false;
  bool got_bytes_ = false;
  Phase phase_ = Phase::kIdle;
  bufferevent* bev_ = nullptr;
  http_parser parser_;
  ResponseHead head_;
  HeaderCollector headers_;
  bool informational_ = false;
  bool message_complete_ = false;
};

}  // namespace tlsproxy::proxy

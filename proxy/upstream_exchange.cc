#include "proxy/upstream_exchange.h"

#include <event2/buffer.h>
#include <sys/socket.h>

#include <cerrno>

#include "proxy/etcd_cluster_id.h"

namespace tlsproxy::proxy {
namespace {

UpstreamExchange* Self(http_parser* parser) { return static_cast<UpstreamExchange*>(parser->data); }

}  // namespace

const http_parser_settings UpstreamExchange::kSettings = [] {
  http_parser_settings s{};
  s.on_header_field = &UpstreamExchange::OnHeaderField;
  s.on_header_value = &UpstreamExchange::OnHeaderValue;
  s.on_headers_complete = &UpstreamExchange::OnHeadersComplete;
  s.on_body = &UpstreamExchange::OnBody;
  s.on_message_complete = &UpstreamExchange::OnMessageComplete;
  return s;
}();

UpstreamExchange::UpstreamExchange(UpstreamPool& pool, Delegate& delegate, std::string request,
                                   const Options& options)
    : pool_(pool), delegate_(delegate), request_(std::move(request)), options_(options) {}

UpstreamExchange::~UpstreamExchange() {
  if (bev_ != nullptr) bufferevent_free(bev_);
}

void UpstreamExchange::Start() {
  http_parser_init(&parser_, HTTP_RESPONSE);
  parser_.data = this;
  head_ = ResponseHead{};
  head_.headers.reserve(8);  // etcd sends about six: one allocation, not four
  headers_.Reset();
  informational_ = false;
  message_complete_ = false;
  got_bytes_ = false;

  const UpstreamPool::Lease lease = pool_.Acquire();
  if (lease.bev == nullptr) return Fail(UpstreamFailure::kConnect);
  bev_ = lease.bev;
  reused_ = lease.reused;
  bufferevent_setcb(bev_, &UpstreamExchange::OnRead, nullptr, &UpstreamExchange::OnEvent, this);
  if (reused_) {
    phase_ = Phase::kAwaitingHead;
    AwaitHead();
  } else {
    phase_ = Phase::kConnecting;
    const timeval connect = {static_cast<time_t>(options_.connect_timeout_seconds), 0};
    bufferevent_set_timeouts(bev_, nullptr, &connect);
  }
  // EV_WRITE is enabled only when bytes wait for the socket (see Send()): a
  // socket bufferevent arms its write event as soon as writing is enabled.
  bufferevent_enable(bev_, reused_ ? EV_READ : EV_READ | EV_WRITE);
  Send();
}

// Until the response head: a read timeout (none for watches).
void UpstreamExchange::AwaitHead() {
  if (options_.response_timeout_seconds == 0) {
    bufferevent_set_timeouts(bev_, nullptr, nullptr);
    return;
  }
  const timeval head = {static_cast<time_t>(options_.response_timeout_seconds), 0};
  bufferevent_set_timeouts(bev_, &head, nullptr);
}

void UpstreamExchange::Send() {
  size_t sent = 0;
  if (reused_ && evbuffer_get_length(bufferevent_get_output(bev_)) == 0) {
    // A kept-alive connection with nothing queued: write now, which saves
    // arming (and disarming) a write event for every request.
    const ssize_t n = send(bufferevent_getfd(bev_), request_.data(), request_.size(),
                           MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) sent = static_cast<size_t>(n);
  }
  // The rest (all of it on a new connection) is flushed by libevent once
  // the socket is connected and writable; errors surface through OnEvent.
  if (sent < request_.size()) {
    bufferevent_enable(bev_, EV_WRITE);
    bufferevent_write(bev_, request_.data() + sent, request_.size() - sent);
  }
}

void UpstreamExchange::PauseReading() {
  if (bev_ != nullptr) bufferevent_disable(bev_, EV_READ);
}

void UpstreamExchange::ResumeReading() {
  if (bev_ != nullptr && phase_ == Phase::kStreaming) bufferevent_enable(bev_, EV_READ);
}

void UpstreamExchange::OnRead(bufferevent* /*bev*/, void* self) {
  static_cast<UpstreamExchange*>(self)->ParseInput();
}

void UpstreamExchange::ParseInput() {
  evbuffer* input = bufferevent_get_input(bev_);
  while (evbuffer_get_length(input) > 0 && !message_complete_) {
    got_bytes_ = true;
    evbuffer_iovec chunk;
    evbuffer_peek(input, -1, nullptr, &chunk, 1);
    const size_t parsed = http_parser_execute(
        &parser_, &kSettings, static_cast<const char*>(chunk.iov_base), chunk.iov_len);
    evbuffer_drain(input, parsed);
    const auto error = HTTP_PARSER_ERRNO(&parser_);
    if (error != HPE_OK && error != HPE_PAUSED) {
      return Fail(UpstreamFailure::kMalformed);
    }
  }
  if (message_complete_) return Complete();
  delegate_.OnResponseBatchEnd();
}

void UpstreamExchange::Complete() {
  const bool reusable =
      http_should_keep_alive(&parser_) && evbuffer_get_length(bufferevent_get_input(bev_)) == 0;
  bufferevent* bev = bev_;
  bev_ = nullptr;
  phase_ = Phase::kDone;
  if (reusable) {
    pool_.Release(bev);
  } else {
    bufferevent_free(bev);
  }
  delegate_.OnResponseComplete();  // may destroy this
}

void UpstreamExchange::Fail(UpstreamFailure failure) {
  const bool after_head = phase_ == Phase::kStreaming;
  phase_ = Phase::kFailed;
  if (bev_ != nullptr) {
    bufferevent_free(bev_);
    bev_ = nullptr;
  }
  delegate_.OnUpstreamError(failure, after_head);  // may destroy this
}

void UpstreamExchange::OnEvent(bufferevent* /*bev*/, short what, void* context) {
  auto* self = static_cast<UpstreamExchange*>(context);
  if (what & BEV_EVENT_CONNECTED) {
    self->phase_ = Phase::kAwaitingHead;
    self->AwaitHead();
    return;
  }
  if (what & BEV_EVENT_TIMEOUT) {
    return self->Fail(self->phase_ == Phase::kConnecting ? UpstreamFailure::kTimeout
                                                         : UpstreamFailure::kResponseTimeout);
  }
  if (self->phase_ == Phase::kConnecting) {
    return self->Fail(UpstreamFailure::kConnect);
  }
  if (what & BEV_EVENT_EOF) {
    // Close-delimited bodies end here; tell the parser.
    http_parser_execute(&self->parser_, &kSettings, nullptr, 0);
    if (self->message_complete_) return self->Complete();
  }
  if (!self->got_bytes_ && self->reused_ && self->options_.may_retry) {
    // A kept-alive connection etcd had already closed: try again.
    bufferevent_free(self->bev_);
    self->bev_ = nullptr;
    return self->Start();
  }
  self->Fail(UpstreamFailure::kClosed);
}

int UpstreamExchange::OnHeaderField(http_parser* parser, const char* at, size_t length) {
  UpstreamExchange* self = Self(parser);
  self->headers_.Field(self->head_.headers, at, length);
  return 0;
}

int UpstreamExchange::OnHeaderValue(http_parser* parser, const char* at, size_t length) {
  UpstreamExchange* self = Self(parser);
  return self->headers_.Value(self->head_.headers, at, length) ? 0 : 1;
}

int UpstreamExchange::OnHeadersComplete(http_parser* parser) {
  UpstreamExchange* self = Self(parser);
  const int status = static_cast<int>(parser->status_code);
  if (status == 101) return -1;  // we never ask for an upgrade
  if (status >= 100 && status < 200) {
    self->informational_ = true;  // e.g. 100 Continue: wait for the real head
    return 0;
  }
  self->head_.status = status;
  self->head_.http_major = parser->http_major;
  self->head_.http_minor = parser->http_minor;
  self->phase_ = Phase::kStreaming;
  bufferevent_set_timeouts(self->bev_, nullptr, nullptr);  // the body may take hours (watches)
  const bool has_body = !self->options_.is_head && status != 204 && status != 304;
  const std::string* content_length = nullptr;
  for (const auto& [name, value] : self->head_.headers) {
    if (EqualsIgnoreCase(name, "content-length")) content_length = &value;
    if (EqualsIgnoreCase(name, "x-etcd-cluster-id")) EtcdClusterId::Process().Record(value);
  }
  self->delegate_.OnResponseHead(self->head_, has_body, content_length);
  return self->options_.is_head ? 1 : 0;
}

int UpstreamExchange::OnBody(http_parser* parser, const char* at, size_t length) {
  Self(parser)->delegate_.OnResponseBody(at, length);
  return 0;
}

int UpstreamExchange::OnMessageComplete(http_parser* parser) {
  UpstreamExchange* self = Self(parser);
  if (self->informational_) {
    self->informational_ = false;
    self->head_ = ResponseHead{};
    self->headers_.Reset();
    return 0;
  }
  self->message_complete_ = true;
  http_parser_pause(parser, 1);
  return 0;
}

}  // namespace tlsproxy::proxy

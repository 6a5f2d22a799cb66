#include "proxy/http1_session.h"

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include "acl/request_target.h"
#include "proxy/log_escape.h"
#include "proxy/worker.h"

namespace tlsproxy::proxy {
namespace {

// Response bytes queued for a slow client before we stop reading from etcd.
constexpr size_t kOutputHighWater = 1 << 20;
constexpr size_t kOutputLowWater = 256 << 10;
// Bytes a client may send ahead (pipelining) while a request is in flight.
constexpr size_t kMaxReadAhead = 256 << 10;

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

}  // namespace

// ---- Taking over from the TLS handshake -----------------------------------

void Http1Session::Start(Worker& worker, bufferevent* bev, std::string peer_ip, std::string peer,
                         std::optional<std::string> cert_user) {
  auto* session =
      new Http1Session(worker, bev, std::move(peer_ip), std::move(peer), std::move(cert_user));
  worker.Add(session);
  session->ParseInput();  // bytes that arrived with the end of the handshake
}

Http1Session::Http1Session(Worker& worker, bufferevent* bev, std::string peer_ip, std::string peer,
                           std::optional<std::string> cert_user)
    : worker_(worker),
      bev_(bev),
      peer_ip_(std::move(peer_ip)),
      peer_(std::move(peer)),
      cert_user_(std::move(cert_user)),
      reader_([this] { SendContinue(); }),
      response_(bev) {
  bufferevent_setcb(bev_, &Http1Session::OnRead, nullptr, &Http1Session::OnEvent, this);
  ResetRequest();
  SetReadTimeout(worker.runtime()->config->timeouts.idle);
}

Http1Session::~Http1Session() {
  exchange_.reset();
  if (resume_event_ != nullptr) event_free(resume_event_);
  // Best effort close_notify; the socket is non-blocking and closes next.
  SSL* ssl = bufferevent_openssl_get_ssl(bev_);
  if (ssl != nullptr) SSL_shutdown(ssl);
  bufferevent_free(bev_);
  worker_.Remove(this);
}

// ---- Reading a request -----------------------------------------------------

void Http1Session::ResetRequest() {
  runtime_.reset();  // an idle connection keeps no Runtime alive
  reader_.Reset();
  request_timer_armed_ = false;
  response_.Reset();
  is_watch_ = false;
  identity_ = "-";
  path_ = "-";
  rule_ = "-";
  shadow_denied_ = -1;
}

void Http1Session::ParseInput() {
  evbuffer* input = bufferevent_get_input(bev_);
  // A request uses the Runtime in force when its first byte is read, to its
  // end: a reload applies from the next request on.
  if (!runtime_ && evbuffer_get_length(input) > 0) runtime_ = worker_.runtime();
  const Http1RequestReader::Limits limits = RequestLimits();
  while (state_ == State::kReadingRequest && evbuffer_get_length(input) > 0) {
    evbuffer_iovec chunk;
    evbuffer_peek(input, -1, nullptr, &chunk, 1);
    const size_t parsed =
        reader_.Parse(static_cast<const char*>(chunk.iov_base), chunk.iov_len, limits);
    evbuffer_drain(input, parsed);
    if (reader_.complete()) {
      keep_alive_ = reader_.keep_alive();
      return HandleRequest();
    }
    if (const auto error = reader_.error()) return Refuse(error->error, error->message, false);
  }
  if (!reader_.reading()) return;
  if (RequestTooSlow()) {
    return Refuse(ProxyError::kRequestTimeout, "request not received in time", false);
  }
  // Part of a request, the rest still to come: from here it must all arrive
  // within request_headers. Each read restarts libevent's timer, so the
  // total is checked above. (A request read whole never needs the timer.)
  if (!request_timer_armed_) {
    request_timer_armed_ = true;
    SetReadTimeout(runtime_->config->timeouts.request_headers);
  }
}

Http1RequestReader::Limits Http1Session::RequestLimits() const {
  if (!runtime_) return {};  // no byte of a request yet: nothing to parse
  return {runtime_->config->max_header_bytes, runtime_->config->max_body_bytes};
}

bool Http1Session::RequestTooSlow() const {
  const auto limit = std::chrono::seconds(runtime_->config->timeouts.request_headers);
  return std::chrono::steady_clock::now() - reader_.started() > limit;
}

// The client asked, in a head that passed every check, before sending a body.
void Http1Session::SendContinue() {
  response_.Write("HTTP/1.1 100 Continue\r\n\r\n");
  Flush();
}

// ---- Forwarding ------------------------------------------------------------

void Http1Session::Forward(const acl::RequestTarget& target) {
  state_ = State::kForwarding;
  forwarded_ = std::chrono::steady_clock::now();
  is_watch_ = acl::IsWatchRequest(head().method, target);
  if (is_watch_) worker_.metrics().WatchOpened();
  SetReadTimeout(0);  // a watch may sit silent for hours
  const bool is_head = head().method == "HEAD";
  UpstreamExchange::Delegate& delegate = *this;
  UpstreamExchange::Options options;
  options.is_head = is_head;
  options.may_retry = acl::Acl::IsReadMethod(head().method);
  options.connect_timeout_seconds = runtime_->config->timeouts.upstream_connect;
  // A watch waits as long as the client does; anything else gets a 504.
  options.response_timeout_seconds = is_watch_ ? 0 : runtime_->config->timeouts.upstream_response;
  exchange_ = std::make_unique<UpstreamExchange>(worker_.pool(), delegate,
                                                 BuildUpstreamRequest(target), options);
  exchange_->Start();
}

std::string Http1Session::BuildUpstreamRequest(const acl::RequestTarget& target) const {
  std::string out;
  out.reserve(512 + body().size());
  out.append(head().method).append(" ").append(target.forward_target).append(" HTTP/1.1\r\n");
  const std::vector<std::string> tokens = ConnectionTokens(head().headers);
  // etcd's v3 gateway reads Authorization as an etcd token and rejects Basic.
  const bool strip_authorization = StartsWith(target.path, "/v3");
  std::string forwarded_for;
  bool has_host = false;
  for (const auto& [name, value] : head().headers) {
    if (IsHopByHop(name, tokens)) continue;
    if (EqualsIgnoreCase(name, "x-forwarded-for")) {
      forwarded_for.append(forwarded_for.empty() ? "" : ", ").append(value);
      continue;
    }
    if (EqualsIgnoreCase(name, "x-real-ip") || EqualsIgnoreCase(name, "x-forwarded-proto")) {
      continue;
    }
    if (strip_authorization && EqualsIgnoreCase(name, "authorization")) continue;
    if (EqualsIgnoreCase(name, "host")) has_host = true;
    AppendHeader(out, name, value);
  }
  if (!has_host) AppendHeader(out, "Host", runtime_->config->upstream.host);
  if (!forwarded_for.empty()) forwarded_for.append(", ");
  AppendHeader(out, "X-Forwarded-For", forwarded_for.append(peer_ip_));
  AppendHeader(out, "X-Real-IP", peer_ip_);
  AppendHeader(out, "X-Forwarded-Proto", "https");
  const bool client_framed = head().First("content-length") || head().First("transfer-encoding");
  if (client_framed || !body().empty()) {
    AppendHeader(out, "Content-Length", std::to_string(body().size()));
  }
  out.append("\r\n").append(body());
  return out;
}

void Http1Session::OnResponseHead(const ResponseHead& head, bool has_body,
                                  const std::string* content_length) {
  worker_.stats().ObserveUpstreamLatency(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - forwarded_).count());
  if (worker_.draining()) keep_alive_ = false;
  keep_alive_ = response_.WriteHead(head, has_body, content_length, reader_.head(), keep_alive_);
}

void Http1Session::OnResponseBody(const char* data, size_t length) {
  response_.WriteBody(data, length);
}

void Http1Session::OnResponseBatchEnd() {
  Flush();
  if (!output_paused_ && response_.Queued() > kOutputHighWater) {
    // Slow client: stop reading etcd until its output drains.
    output_paused_ = true;
    exchange_->PauseReading();
    bufferevent_setwatermark(bev_, EV_WRITE, kOutputLowWater, 0);
    bufferevent_setcb(bev_, &Http1Session::OnRead, &Http1Session::OnWriteDrained,
                      &Http1Session::OnEvent, this);
  }
}

void Http1Session::OnResponseComplete() {
  response_.WriteEnd();
  exchange_.reset();
  FinishRequest();
}

void Http1Session::OnUpstreamError(UpstreamFailure failure, bool after_head) {
  exchange_.reset();
  struct Mapping {
    ProxyError error;
    const char* message;
    const char* kind;
  };
  static constexpr Mapping kMappings[] = {
      {ProxyError::kBadGateway, "cannot connect to etcd", "connect"},
      {ProxyError::kGatewayTimeout, "timed out connecting to etcd", "timeout"},
      {ProxyError::kGatewayTimeout, "etcd did not answer in time", "response_timeout"},
      {ProxyError::kBadGateway, "etcd closed the connection", "closed"},
      {ProxyError::kBadGateway, "malformed response from etcd", "malformed"},
  };
  const Mapping& m = kMappings[static_cast<int>(failure)];
  worker_.metrics().CountUpstreamError(m.kind);
  spdlog::warn("{}: upstream error on {} \"{}\": {}", peer_, head().method, LogText(path_),
               m.message);
  if (after_head) {
    // The status line is gone; all we can do is end the stream early.
    keep_alive_ = false;
    return FinishRequest();
  }
  Refuse(m.error, m.message, keep_alive_);
}

void Http1Session::BeginDrain() {
  switch (state_) {
    case State::kReadingRequest:
      // Idle between requests: nothing is lost by closing now.
      if (reader_.head_bytes() == 0 && evbuffer_get_length(bufferevent_get_input(bev_)) == 0) {
        return CloseAfterFlush();
      }
      return;  // FinishRequest() closes after this request
    case State::kForwarding:
      if (is_watch_) return EndWatch();
      return;  // FinishRequest() closes after this request
    case State::kClosing:
    case State::kClosed:
      return;
  }
}

// Ends a watch as if etcd had finished it: the client sees a complete
// response (a clean end of stream) rather than a reset connection.
void Http1Session::EndWatch() {
  exchange_.reset();
  response_.WriteEnd();
  keep_alive_ = false;
  FinishRequest();
}

// ---- Finishing -------------------------------------------------------------

// The one place a refusal is written: rendered for this HTTP/1.1 client,
// with the access log's status and body bytes taken from the value.
void Http1Session::SendRefusal(const LocalResponse& response, bool keep_alive) {
  keep_alive_ = keep_alive && !worker_.draining();
  response_.WriteLocal(response, keep_alive_, head().method == "HEAD");
  FinishRequest();
}

void Http1Session::FinishRequest() {
  Flush();
  LogAccess();
  if (worker_.draining()) keep_alive_ = false;
  if (output_paused_) {
    output_paused_ = false;
    bufferevent_setwatermark(bev_, EV_WRITE, 0, 0);
    bufferevent_setcb(bev_, &Http1Session::OnRead, nullptr, &Http1Session::OnEvent, this);
  }
  if (!keep_alive_) return CloseAfterFlush();
  state_ = State::kReadingRequest;
  ResetRequest();
  SetReadTimeout(worker_.runtime()->config->timeouts.idle);
  // Reading stays enabled while a request is forwarded (a client that goes
  // away must end its watch); enabling again would re-add the event.
  if (!(bufferevent_get_enabled(bev_) & EV_READ)) bufferevent_enable(bev_, EV_READ);
  if (evbuffer_get_length(bufferevent_get_input(bev_)) == 0) return;
  // A pipelined request is waiting: parse it from the loop, not from here,
  // so a long pipeline never deepens the stack.
  if (resume_event_ == nullptr) {
    resume_event_ = event_new(worker_.base(), -1, 0, &Http1Session::OnResume, this);
  }
  event_active(resume_event_, EV_TIMEOUT, 0);
}

void Http1Session::LogAccess() {
  if (is_watch_) {
    worker_.metrics().WatchClosed();
    is_watch_ = false;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - reader_.started()).count();
  if (!head().method.empty()) {
    worker_.stats().CountRequest(acl::Acl::IsReadMethod(head().method) ? "read" : "write",
                                 response_.status());
    worker_.stats().ObserveRequestLatency(seconds);
  }
  AccessRecord record;
  record.client = peer_;
  record.identity = identity_;
  record.method = head().method.empty() ? std::string_view("-") : std::string_view(head().method);
  record.path = path_;
  record.status = response_.status();
  record.bytes = response_.body_bytes();
  record.milliseconds = seconds * 1000;
  record.rule = rule_;
  record.shadow_denied = shadow_denied_;
  runtime_->access_log->Write(static_cast<size_t>(worker_.index()), record);
}

void Http1Session::CloseAfterFlush() {
  state_ = State::kClosing;
  exchange_.reset();
  bufferevent_disable(bev_, EV_READ);
  if (evbuffer_get_length(bufferevent_get_output(bev_)) == 0) return ScheduleDestroy();
  bufferevent_setwatermark(bev_, EV_WRITE, 0, 0);
  bufferevent_setcb(bev_, nullptr, &Http1Session::OnWriteDrained, &Http1Session::OnEvent, this);
}

void Http1Session::ScheduleDestroy() {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  exchange_.reset();
  bufferevent_setcb(bev_, nullptr, nullptr, nullptr, nullptr);
  bufferevent_disable(bev_, EV_READ | EV_WRITE);
  const timeval now = {0, 0};
  event_base_once(worker_.base(), -1, EV_TIMEOUT, &Http1Session::OnDestroy, this, &now);
}

// Sends the response bytes gathered; straight to the socket unless the
// session is closed for good.
void Http1Session::Flush() { response_.Flush(/*socket_open=*/state_ != State::kClosed); }

void Http1Session::SetReadTimeout(int seconds) {
  if (seconds == 0) {
    bufferevent_set_timeouts(bev_, nullptr, nullptr);
    return;
  }
  const timeval timeout = {seconds, 0};
  bufferevent_set_timeouts(bev_, &timeout, nullptr);
}

// ---- libevent callbacks ----------------------------------------------------

void Http1Session::OnRead(bufferevent* bev, void* context) {
  auto* self = static_cast<Http1Session*>(context);
  if (self->state_ == State::kReadingRequest) return self->ParseInput();
  if (self->state_ == State::kForwarding &&
      evbuffer_get_length(bufferevent_get_input(bev)) > kMaxReadAhead) {
    bufferevent_disable(bev, EV_READ);  // enough pipelined for now
  }
}

void Http1Session::OnWriteDrained(bufferevent* /*bev*/, void* context) {
  auto* self = static_cast<Http1Session*>(context);
  if (self->state_ == State::kClosing) return self->ScheduleDestroy();
  if (self->output_paused_) {
    self->output_paused_ = false;
    bufferevent_setwatermark(self->bev_, EV_WRITE, 0, 0);
    bufferevent_setcb(self->bev_, &Http1Session::OnRead, nullptr, &Http1Session::OnEvent, self);
    if (self->exchange_) self->exchange_->ResumeReading();
  }
}

void Http1Session::OnEvent(bufferevent* /*bev*/, short what, void* context) {
  auto* self = static_cast<Http1Session*>(context);
  if ((what & BEV_EVENT_TIMEOUT) && self->state_ == State::kReadingRequest &&
      self->reader_.reading()) {
    // Half a request, then silence (slowloris): say so, then close.
    return self->Refuse(ProxyError::kRequestTimeout, "request not received in time", false);
  }
  if (self->state_ == State::kForwarding) {
    // The client went away mid-request (or mid-watch): cancel upstream.
    if (self->response_.status() == 0) self->response_.set_status(499);
    self->exchange_.reset();
    self->LogAccess();
  }
  self->ScheduleDestroy();
}

void Http1Session::OnResume(evutil_socket_t, short, void* context) {
  static_cast<Http1Session*>(context)->ParseInput();
}

void Http1Session::OnDestroy(evutil_socket_t, short, void* context) {
  delete static_cast<Http1Session*>(context);
}

}  // namespace tlsproxy::proxy

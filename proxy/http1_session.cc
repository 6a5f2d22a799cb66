#include "proxy/http1_session.h"

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "acl/ascii.h"
#include "acl/basic_auth.h"
#include "acl/request_target.h"
#include "proxy/etcd_cluster_id.h"
#include "proxy/grpc_status.h"
#include "proxy/log_escape.h"
#include "proxy/login.h"
#include "proxy/refusal.h"
#include "proxy/worker.h"

namespace tlsproxy::proxy {
namespace {

// Response bytes queued for a slow client before we stop reading from etcd.
constexpr size_t kOutputHighWater = 1 << 20;
constexpr size_t kOutputLowWater = 256 << 10;
// Bytes a client may send ahead (pipelining) while a request is in flight.
constexpr size_t kMaxReadAhead = 256 << 10;

// A v2 refusal carries etcd's cluster ID as etcd's own responses do, once
// etcd has reported one (python-etcd warns about every response without it).
LocalResponse WithEtcdClusterId(LocalResponse response) {
  if (const std::string* id = EtcdClusterId::Process().Current()) {
    response.headers.emplace_back("X-Etcd-Cluster-Id", *id);
  }
  return response;
}

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

// ---- Deciding --------------------------------------------------------------

void Http1Session::HandleRequest() {
  acl::TargetResult parsed = acl::ParseRequestTarget(head().target);
  if (!parsed.target) {
    spdlog::debug("{}: refused target: {}", peer_, parsed.error);
    return Refuse(ProxyError::kBadRequest, "malformed or non-canonical request path", keep_alive_);
  }
  const acl::RequestTarget& target = *parsed.target;
  path_ = target.path;
  const bool gateway = acl::V3Endpoint(target.path).has_value();

  if (gateway && *acl::V3Endpoint(target.path) == "auth/authenticate" && head().method == "POST") {
    return AnswerGatewayLogin();  // the proxy's own logins: see proxy/login
  }
  if (const size_t wait = ThrottledFor(); wait > 0) {
    worker_.metrics().CountAuthFailure("throttled");
    rule_ = "auth_throttle";
    return SendRefusal(WithEtcdClusterId(ThrottledResponse(wait)), keep_alive_);
  }
  std::string failure;
  std::optional<acl::Identity> identity = Authenticate(gateway, &failure);
  if (!identity) {
    if (runtime_->auth_throttle->RecordFailure(peer_ip_, std::chrono::steady_clock::now())) {
      spdlog::warn("{}: too many failed authentication attempts: back-off for {} s", peer_ip_,
                   runtime_->config->auth_throttle.backoff);
    }
    spdlog::info("{}: authentication failed: {}", peer_, failure);
    worker_.metrics().CountAuthFailure(failure);
    rule_ = "authentication";
    if (gateway && failure == "invalid_token") {
      return SendRefusal(GatewayErrorResponse(401, kGrpcUnauthenticated, kInvalidToken),
                         keep_alive_);
    }
    if (gateway) return SendRefusal(GatewayAuthenticationFailure(), keep_alive_);
    return RefuseVerdict(acl::Verdict::kNeedCredentials, /*gateway=*/false);
  }
  identity_ = identity->ToString();

  std::optional<acl::Decision> decision =
      gateway ? DecideGateway(target, *identity) : DecideKeys(target, *identity);
  if (!decision) return;  // already refused: the body could not be read
  rule_ = decision->rule.empty() ? "-" : decision->rule;
  if (decision->shadow_denied) NoteShadowDenial(*decision->shadow_denied, gateway);
  if (decision->allowed()) return Forward(target);
  worker_.metrics().CountAclDenial(rule_);
  spdlog::debug("{}: {} \"{}\" refused: {}", peer_, head().method, LogText(path_),
                LogText(decision->reason));
  RefuseVerdict(decision->verdict, gateway);
}

// Shadow mode: the ACL would have refused this request, which is forwarded
// anyway; its access line carries the status it would have had.
void Http1Session::NoteShadowDenial(acl::Verdict verdict, bool gateway) {
  worker_.metrics().CountShadowDenial(rule_);
  shadow_denied_ = gateway ? GatewayRefusalFor(verdict).status : V2RefusalFor(verdict).status;
}

// Everything but the v3 gateway: the decision is on the canonical path
// (for /v2/keys, the key), with the body's form parameters for subtree reach.
std::optional<acl::Decision> Http1Session::DecideKeys(const acl::RequestTarget& target,
                                                      const acl::Identity& identity) const {
  acl::AclRequest request;
  request.identity = identity;
  request.method = head().method;
  request.target = target;
  const auto content_type = head().First("content-type");
  request.reaches_subtree =
      acl::ReachesSubtree(target.query, body(), content_type.value_or(std::string_view()));
  return runtime_->acl->Decide(request);
}

// The v3 JSON gateway: the keys are in the body. Returns nullopt after
// refusing a body that cannot be read (400, never forwarded).
std::optional<acl::Decision> Http1Session::DecideGateway(const acl::RequestTarget& target,
                                                         const acl::Identity& identity) {
  // The v3 mode is the ACL's to apply (Acl::DecideV3Call); only in "acl"
  // mode does the body matter, so only then is it read.
  if (runtime_->config->v3 != config::Config::V3Mode::kAcl) {
    return runtime_->acl->DecideV3Call(identity, acl::AdminRequest(target.path, /*write=*/true));
  }
  const acl::V3ParseResult parsed = acl::ParseV3Request(target.path, body());
  if (!parsed.request) {
    spdlog::debug("{}: refused v3 body: {}", peer_, LogText(parsed.error));
    SendRefusal(GatewayErrorResponse(400, 3, parsed.error), keep_alive_);
    return std::nullopt;
  }
  return runtime_->acl->DecideV3Call(identity, *parsed.request);
}

// Seconds this client must wait before its credentials are checked again;
// 0 when it carries none or is not in back-off.
size_t Http1Session::ThrottledFor() const {
  if (!head().First("authorization")) return 0;
  return runtime_->auth_throttle->RetryAfter(peer_ip_, std::chrono::steady_clock::now());
}

// The identity the request proves: the connection's verified certificate
// name, plus the basic-auth user when an Authorization header is present
// (on the v3 gateway, the user of the proxy's login token when the header
// is not Basic, as etcd's gateway takes a bare token there).
// nullopt means the credentials presented are wrong: 401 whatever the path.
std::optional<acl::Identity> Http1Session::Authenticate(bool gateway, std::string* failure) const {
  acl::Identity identity;
  identity.cert_user = cert_user_;
  const auto values = head().All("authorization");
  if (values.empty()) return identity;
  if (values.size() > 1) {
    *failure = "several_headers";
    return std::nullopt;
  }
  if (gateway && !acl::StartsWithIgnoreCase(values[0], "Basic ")) {
    std::string_view token = values[0];
    if (token.substr(0, 7) == "Bearer ") token.remove_prefix(7);
    const std::optional<std::string> user =
        TokenUser(*runtime_, {std::string(token)}, std::time(nullptr));
    if (!user || user->empty()) {
      *failure = "invalid_token";
      return std::nullopt;
    }
    identity.basic_user = *user;
    return identity;
  }
  const std::optional<acl::BasicCredentials> credentials = acl::ParseBasicAuth(values[0]);
  if (!credentials) {
    *failure = "malformed_header";
    return std::nullopt;
  }
  if (!runtime_->accounts->Verify(credentials->user, credentials->password)) {
    *failure = "wrong_password";  // or unknown user; never log the name, it may be a password
    return std::nullopt;
  }
  identity.basic_user = credentials->user;
  return identity;
}

// POST /v3/auth/authenticate: {"name", "password"} -> {"header", "token"},
// answered by the proxy (proxy/login); nothing goes to etcd.
void Http1Session::AnswerGatewayLogin() {
  rule_ = "login";
  const nlohmann::json request = nlohmann::json::parse(body(), nullptr, /*allow_exceptions=*/false);
  const bool shaped = request.is_object() && request.contains("name") &&
                      request["name"].is_string() && request.contains("password") &&
                      request["password"].is_string();
  if (!shaped) {
    return SendRefusal(GatewayErrorResponse(400, 3, "expected {\"name\": ..., \"password\": ...}"),
                       keep_alive_);
  }
  const std::string name = request["name"].get<std::string>();
  const LoginOutcome login =
      Login(*runtime_, name, request["password"].get<std::string>(), peer_ip_, std::time(nullptr));
  switch (login.kind) {
    case LoginOutcome::Kind::kThrottled:
      worker_.metrics().CountAuthFailure("throttled");
      return SendRefusal(ThrottledResponse(login.retry_after), keep_alive_);
    case LoginOutcome::Kind::kFailed:
      worker_.metrics().CountAuthFailure("wrong_password");
      if (login.backoff_started) {
        spdlog::warn("{}: too many failed logins: back-off for {} s", peer_ip_,
                     runtime_->config->auth_throttle.backoff);
      }
      return SendRefusal(GatewayErrorResponse(400, 3, kLoginFailed), keep_alive_);
    case LoginOutcome::Kind::kOk:
      break;
  }
  identity_ = "basic:" + name;
  nlohmann::json response = {
      {"header", {{"cluster_id", std::to_string(KnownClusterId())}}},
      {"token", login.token},
  };
  LocalResponse ok;
  ok.status = 200;
  ok.headers.emplace_back("Content-Type", "application/json");
  ok.body = response.dump();
  SendRefusal(ok, keep_alive_);
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

void Http1Session::Refuse(ProxyError error, const char* message, bool keep_alive) {
  SendRefusal(WithEtcdClusterId(ErrorResponse(error, message)), keep_alive);
}

// An ACL refusal, in the v3 JSON gateway's shape or etcd v2's.
void Http1Session::RefuseVerdict(acl::Verdict verdict, bool gateway) {
  if (gateway) return SendRefusal(GatewayRefusalFor(verdict), keep_alive_);
  SendRefusal(WithEtcdClusterId(V2RefusalFor(verdict)), keep_alive_);
}

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

#include "proxy/grpc_call.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <ctime>

#include "proxy/grpc_status.h"
#include "proxy/http2_session.h"
#include "proxy/log_escape.h"
#include "proxy/login.h"
#include "proxy/worker.h"

namespace tlsproxy::proxy {
namespace {

// A direction's buffer below this: acknowledge what the other side sent.
constexpr size_t kLowWater = 64 << 10;
// Response bytes of our own (refused watch creates) queued for a client
// that does not read, before its requests are no longer acknowledged.
constexpr size_t kOutputHighWater = 1 << 20;
// etcd's response messages on a Watch stream are read whole; etcd sends
// at most its --max-request-bytes plus overhead in one (events are split
// with fragment=true only when asked), so this bounds memory, not etcd.
constexpr size_t kMaxWatchResponseBytes = 64 << 20;

constexpr std::string_view kWatchMethod = "/etcdserverpb.Watch/Watch";
constexpr std::string_view kAuthenticateMethod = "/etcdserverpb.Auth/Authenticate";

// etcd's headers as the client should see them: everything but
// connection-specific ones.
HeaderList Relayable(const HeaderList& headers, bool keep_status) {
  HeaderList out;
  for (const auto& [name, value] : headers) {
    if (name == "connection" || name == "keep-alive" || name == "transfer-encoding" ||
        name == "upgrade" || name == "proxy-connection") {
      continue;
    }
    if (!keep_status && !name.empty() && name[0] == ':') continue;
    out.emplace_back(name, value);
  }
  return out;
}

int StatusOf(const HeaderList& headers) {
  for (const auto& [name, value] : headers) {
    if (name == "grpc-status") {
      int code = 0;
      for (const char c : value) {
        if (c < '0' || c > '9') return 2;
        code = code * 10 + (c - '0');
        if (code > 99) return 2;
      }
      return value.empty() ? 2 : code;
    }
  }
  return -1;
}

}  // namespace

GrpcCall::GrpcCall(Http2Session& session, int32_t stream_id, std::shared_ptr<const Runtime> runtime)
    : session_(session),
      stream_id_(stream_id),
      runtime_(std::move(runtime)),
      head_(runtime_->config->max_header_bytes),
      request_reader_(runtime_->config->max_body_bytes) {}

GrpcCall::~GrpcCall() {
  ReportPartialBytes(0);
  ResetUpstream();
  if (watch_relay_) {
    for (size_t i = 0; i < watch_relay_->open_watches(); ++i) {
      session_.worker().metrics().WatchClosed();
    }
  }
  if (deadline_ != nullptr) event_free(deadline_);
  if (response_timer_ != nullptr) event_free(response_timer_);
  LogCall();
}

// ---- The request head -------------------------------------------------------

bool GrpcCall::AddHeader(std::string_view name, std::string_view value, bool trailer) {
  return head_.Add(name, value, trailer);
}

void GrpcCall::OnRequestHeaders() {
  identity_.cert_user = session_.cert_user();
  path_ = head_.path();
  if (!head_.IsGrpc()) {
    // Not gRPC at all (an HTTP/2 client asking for v2 or the JSON gateway):
    // those are served over HTTP/1.1.
    finished_ = true;
    session_.SubmitResponse(stream_id_, {{":status", "415"}, {"content-type", "text/plain"}}, true);
    return;
  }
  if (const std::optional<GrpcStatus> refusal = head_.Check()) {
    spdlog::debug("{}: refused gRPC head: {}", session_.peer(), refusal->message);
    return Finish(refusal->code, refusal->message);
  }
  if (const std::optional<timeval> timeout = head_.Timeout()) {
    deadline_ = evtimer_new(session_.worker().base(), &GrpcCall::OnDeadline, this);
    if (deadline_ != nullptr) evtimer_add(deadline_, &*timeout);
  }
  // Login tokens give a password identity; Authenticate itself ignores
  // them (clientv3 may still send its expired one when it logs in again).
  if (path_ != kAuthenticateMethod) {
    if (const std::optional<std::string> user =
            TokenUser(*runtime_, head_.tokens(), std::time(nullptr))) {
      if (user->empty()) {
        session_.worker().metrics().CountAuthFailure("invalid_token");
        return Finish(kGrpcUnauthenticated, kInvalidToken);
      }
      identity_.basic_user = *user;
    }
  }
  head_ok_ = true;
  shape_ = acl::ShapeOf(path_);
  if (path_ == kWatchMethod) {
    watch_relay_.emplace(std::max(kMaxWatchResponseBytes, runtime_->config->max_body_bytes));
  }
}

// ---- Request messages ---------------------------------------------------------

void GrpcCall::OnRequestData(const uint8_t* data, size_t length) {
  client_owed_ += length;
  if (!finished_ && head_ok_) {
    std::vector<GrpcMessage> messages;
    const auto status = request_reader_.Feed(
        std::string_view(reinterpret_cast<const char*>(data), length), &messages);
    for (GrpcMessage& message : messages) {
      if (finished_) break;
      HandleMessage(std::move(message));
    }
    if (!finished_ && status == GrpcMessageReader::Status::kTooLarge) {
      Finish(kGrpcResourceExhausted, "grpc: received message larger than max_body_bytes (" +
                                         std::to_string(runtime_->config->max_body_bytes) + ")");
    }
  }
  ReportPartialBytes(finished_ ? 0 : request_reader_.buffered());
  ConsumeClientBytes();
}

void GrpcCall::ReportPartialBytes(size_t now) {
  if (now == partial_reported_) return;
  const int64_t delta = static_cast<int64_t>(now) - static_cast<int64_t>(partial_reported_);
  partial_reported_ = now;
  session_.AddPartialBytes(delta);
}

void GrpcCall::HandleMessage(GrpcMessage message) {
  if (message.compressed) {
    return Finish(kGrpcInternal, "compressed messages are not accepted");
  }
  ++messages_;
  if (shape_ != acl::GrpcCallShape::kBidiStream && messages_ > 1) {
    return Finish(kGrpcInternal, "grpc: this method takes exactly one request message");
  }
  if (path_ == kAuthenticateMethod) {  // answered here, not decided: see AnswerLogin()
    held_ = std::move(message.bytes);
    return;
  }
  const acl::V3ParseResult parsed = watch_relay_ ? acl::ParseGrpcWatchRequest(message.bytes)
                                                 : acl::ParseGrpcRequest(path_, message.bytes);
  if (!parsed.request) {
    spdlog::debug("{}: refused gRPC message: {}", session_.peer(), LogText(parsed.error));
    return Finish(kGrpcInvalidArgument, "grpc: cannot decode the request: " + parsed.error);
  }
  const acl::Decision decision = runtime_->acl->DecideV3Call(identity_, *parsed.request);
  const bool watch_create = watch_relay_ && !parsed.request->accesses.empty();
  if (!watch_relay_ || watch_create || rule_ == "-") {
    rule_ = decision.rule;
    key_ = parsed.request->accesses.empty() ? "" : parsed.request->accesses.front().key;
  }
  if (decision.shadow_denied) NoteShadowDenial(decision, watch_create);
  if (!decision.allowed()) {
    session_.worker().metrics().CountAclDenial(decision.rule);
    if (watch_create) return RefuseWatchCreate(decision);
    const GrpcStatus refusal = GrpcRefusalFor(decision.verdict);
    return Finish(refusal.code, refusal.message);
  }
  if (watch_create) {
    LogWatchCreate(decision);
    watch_relay_->CreateForwarded();
  }
  if (shape_ == acl::GrpcCallShape::kBidiStream) return Forward(message.bytes);
  held_ = std::move(message.bytes);
}

void GrpcCall::OnRequestEnd() {
  request_ended_ = true;
  if (finished_ || !head_ok_) return;
  if (request_reader_.HasPartialMessage()) {
    return Finish(kGrpcInternal, "the request ended inside a message");
  }
  if (shape_ != acl::GrpcCallShape::kBidiStream) {
    if (!held_) return Finish(kGrpcInternal, "grpc: this method takes exactly one request message");
    if (path_ == kAuthenticateMethod) return AnswerLogin(*held_);
    Forward(*held_);
    held_.reset();
    if (finished_) return;
  }
  upstream_body_eof_ = true;
  if (upstream_) return upstream_.connection->ResumeSending(upstream_.stream_id);
  // A stream that forwarded nothing (every Watch create refused) ends as
  // etcd would end it when the client closes its side.
  Finish(kGrpcOk, "");
}

void GrpcCall::Forward(const std::string& message) {
  if (!upstream_) {
    upstream_ = session_.worker().h2_pool().Open(head_.UpstreamHeaders(), this);
    if (!upstream_) return Finish(kGrpcUnavailable, "etcd is unavailable: cannot connect");
    if (shape_ == acl::GrpcCallShape::kUnary) {
      const size_t seconds = runtime_->config->timeouts.upstream_response;
      if (seconds > 0) {
        response_timer_ = evtimer_new(session_.worker().base(), &GrpcCall::OnResponseTimeout, this);
        const timeval timeout = {static_cast<time_t>(seconds), 0};
        if (response_timer_ != nullptr) evtimer_add(response_timer_, &timeout);
      }
    }
  }
  upstream_body_ += FrameGrpcMessage(message);
  upstream_.connection->ResumeSending(upstream_.stream_id);
}

size_t GrpcCall::ReadRequestBody(uint8_t* buffer, size_t length, bool* eof) {
  const size_t n = std::min(length, upstream_body_.size());
  std::memcpy(buffer, upstream_body_.data(), n);
  upstream_body_.erase(0, n);
  *eof = upstream_body_.empty() && upstream_body_eof_;
  ConsumeClientBytes();
  return n;
}

// Acknowledges the client's request bytes once they have left for etcd (or
// were dropped), unless our own answers pile up for a client not reading.
void GrpcCall::ConsumeClientBytes() {
  if (client_owed_ == 0) return;
  if (!finished_) {
    if (upstream_body_.size() >= kLowWater || out_.size() >= kOutputHighWater) return;
    if (request_reader_.HasPartialMessage() && session_.PartialBytesOverBudget()) return;
  }
  session_.ConsumeRequest(stream_id_, client_owed_);
  client_owed_ = 0;
}

// ---- Watch creates ------------------------------------------------------------

void GrpcCall::RefuseWatchCreate(const acl::Decision& decision) {
  LogWatchCreate(decision);
  const std::string answer = watch_relay_->CreateRefused(GrpcRefusalFor(decision.verdict));
  if (!answer.empty()) SendToClient(answer);
}

void GrpcCall::RelayWatchResponses(const uint8_t* data, size_t length) {
  const WatchRelay::Output out =
      watch_relay_->FromEtcd(std::string_view(reinterpret_cast<const char*>(data), length));
  for (int i = 0; i < out.watches_opened; ++i) session_.worker().metrics().WatchOpened();
  for (int i = 0; i < out.watches_closed; ++i) session_.worker().metrics().WatchClosed();
  if (!out.bytes.empty()) SendToClient(out.bytes);
  if (out.too_large) Finish(kGrpcResourceExhausted, "a watch response from etcd is too large");
}

// ---- The response ---------------------------------------------------------------

void GrpcCall::StartResponse() {
  if (response_started_) return;
  response_started_ = true;
  session_.SubmitResponse(stream_id_, {{":status", "200"}, {"content-type", "application/grpc"}},
                          false);
}

void GrpcCall::SendToClient(const std::string& bytes) {
  StartResponse();
  out_ += bytes;
  session_.ResumeResponse(stream_id_);
}

void GrpcCall::OnUpstreamHeaders(const HeaderList& headers, bool trailers, bool end_stream) {
  if (finished_) return;
  if (response_timer_ != nullptr) evtimer_del(response_timer_);
  if (!trailers && !end_stream) {
    if (!response_started_) {
      response_started_ = true;
      session_.SubmitResponse(stream_id_, Relayable(headers, true), false);
    }
    return;
  }
  // Trailers, or a trailers-only response: the call's end, as etcd says.
  finished_ = true;
  grpc_status_ = StatusOf(headers);
  if (!response_started_) {
    response_started_ = true;
    session_.SubmitResponse(stream_id_, Relayable(headers, true), true);
    return;
  }
  trailers_ = Relayable(headers, false);
  out_eof_ = true;
  session_.ResumeResponse(stream_id_);
}

void GrpcCall::OnUpstreamData(const uint8_t* data, size_t length) {
  upstream_owed_ += length;
  if (!finished_) {
    if (watch_relay_) {
      RelayWatchResponses(data, length);
    } else {
      StartResponse();
      out_.append(reinterpret_cast<const char*>(data), length);
      session_.ResumeResponse(stream_id_);
    }
  }
  CreditUpstream();
}

// Acknowledges etcd's bytes once the client has taken most of what we hold.
void GrpcCall::CreditUpstream() {
  if (!upstream_ || upstream_owed_ == 0) return;
  if (!finished_ && out_.size() >= kLowWater) return;
  upstream_.connection->Consume(upstream_.stream_id, upstream_owed_);
  upstream_owed_ = 0;
}

void GrpcCall::OnUpstreamClose(uint32_t error_code, std::string_view connection_failure) {
  upstream_ = {};
  upstream_owed_ = 0;
  if (finished_) return;
  if (!connection_failure.empty()) {
    session_.worker().metrics().CountUpstreamError("grpc_unavailable");
    return Finish(kGrpcUnavailable, "etcd is unavailable: " + std::string(connection_failure));
  }
  if (error_code != 0) {
    // etcd reset the stream: so does the proxy, with etcd's code.
    finished_ = true;
    session_.ResetStream(stream_id_, error_code);
    return;
  }
  Finish(kGrpcInternal, "etcd ended the stream without a status");
}

ssize_t GrpcCall::ReadResponseBody(uint8_t* buffer, size_t length, uint32_t* flags) {
  const size_t n = std::min(length, out_.size());
  std::memcpy(buffer, out_.data(), n);
  out_.erase(0, n);
  bytes_sent_ += n;
  CreditUpstream();
  ConsumeClientBytes();
  if (out_.empty() && out_eof_) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    if (!trailers_.empty()) {
      *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      session_.SubmitTrailers(stream_id_, trailers_);
    }
    return static_cast<ssize_t>(n);
  }
  if (n == 0) return NGHTTP2_ERR_DEFERRED;
  return static_cast<ssize_t>(n);
}

void GrpcCall::Finish(int code, std::string_view message) {
  if (finished_) return;
  finished_ = true;
  grpc_status_ = code;
  ReportPartialBytes(0);  // whatever was read of a message is dropped
  ResetUpstream();
  HeaderList status = {{"grpc-status", std::to_string(code)}};
  if (!message.empty()) status.emplace_back("grpc-message", PercentEncodeGrpcMessage(message));
  if (!response_started_) {
    response_started_ = true;
    HeaderList headers = {{":status", "200"}, {"content-type", "application/grpc"}};
    headers.insert(headers.end(), status.begin(), status.end());
    session_.SubmitResponse(stream_id_, headers, true);
    return;
  }
  trailers_ = std::move(status);
  out_eof_ = true;
  session_.ResumeResponse(stream_id_);
}

void GrpcCall::ResetUpstream() {
  if (!upstream_) return;
  upstream_.connection->Reset(upstream_.stream_id, NGHTTP2_CANCEL);
  upstream_ = {};
}

void GrpcCall::OnResponseSent() {
  // The response is complete; a client still sending is told to stop.
  if (!request_ended_) session_.ResetStream(stream_id_, NGHTTP2_NO_ERROR);
}

void GrpcCall::OnStreamClosed(uint32_t error_code) {
  if (!finished_ && error_code != 0) {
    spdlog::debug("{}: client reset gRPC stream {} ({})", session_.peer(), stream_id_,
                  nghttp2_http2_strerror(error_code));
    grpc_status_ = kGrpcCancelled;
  }
  ResetUpstream();
}

void GrpcCall::BeginDrain() {
  if (shape_ == acl::GrpcCallShape::kUnary) return;
  Finish(kGrpcUnavailable, "etcd-tlsproxy is shutting down");
}

void GrpcCall::OnDeadline(evutil_socket_t, short, void* self) {
  static_cast<GrpcCall*>(self)->Finish(kGrpcDeadlineExceeded, "context deadline exceeded");
}

void GrpcCall::OnResponseTimeout(evutil_socket_t, short, void* self) {
  static_cast<GrpcCall*>(self)->Finish(kGrpcUnavailable,
                                       "etcd did not answer within timeouts.upstream_response");
}

}  // namespace tlsproxy::proxy

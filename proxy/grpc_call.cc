#include "proxy/grpc_call.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "etcd/etcdserver/etcdserverpb/rpc.pb.h"
#include "proxy/grpc_status.h"
#include "proxy/http2_session.h"
#include "proxy/log_escape.h"
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

// Request headers never forwarded: the proxy's identity decides, not a
// token etcd cannot check (3.4 with auth off answers any token with
// "invalid auth token"); and HTTP/2 connection-specific headers.
bool IsDroppedMetadata(std::string_view name) {
  return name == "token" || name == "authorization" || name == "grpc-encoding" ||
         name == "grpc-accept-encoding" || name == "content-type" || name == "te" ||
         name == "host" || name == "content-length" || name == "connection" ||
         name == "keep-alive" || name == "proxy-connection" || name == "transfer-encoding" ||
         name == "upgrade";
}

// "/package.Service/Method" with nothing else: what gRPC clients send.
bool IsCanonicalPath(std::string_view path) {
  if (path.size() < 4 || path[0] != '/') return false;
  const size_t slash = path.find('/', 1);
  if (slash == std::string_view::npos || slash == 1 || slash + 1 == path.size()) return false;
  for (size_t i = 1; i < path.size(); ++i) {
    const char c = path[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || (c == '/' && i == slash);
    if (!ok) return false;
  }
  return true;
}

// grpc-timeout: 1 to 8 digits and a unit (H M S m u n). Returns false when
// malformed.
bool ParseGrpcTimeout(std::string_view text, timeval* out) {
  if (text.size() < 2 || text.size() > 9) return false;
  uint64_t value = 0;
  for (const char c : text.substr(0, text.size() - 1)) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  uint64_t micros = 0;
  switch (text.back()) {
    case 'H':
      micros = value * 3600 * 1000000;
      break;
    case 'M':
      micros = value * 60 * 1000000;
      break;
    case 'S':
      micros = value * 1000000;
      break;
    case 'm':
      micros = value * 1000;
      break;
    case 'u':
      micros = value;
      break;
    case 'n':
      micros = value / 1000;
      break;
    default:
      return false;
  }
  out->tv_sec = static_cast<time_t>(micros / 1000000);
  out->tv_usec = static_cast<suseconds_t>(micros % 1000000);
  return true;
}

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
      request_reader_(runtime_->config->max_body_bytes),
      response_reader_(std::max(kMaxWatchResponseBytes, runtime_->config->max_body_bytes)) {}

GrpcCall::~GrpcCall() {
  ReportPartialBytes(0);
  ResetUpstream();
  for (size_t i = 0; i < watch_ids_.size(); ++i) session_.worker().metrics().WatchClosed();
  if (deadline_ != nullptr) event_free(deadline_);
  if (response_timer_ != nullptr) event_free(response_timer_);
  LogCall();
}

// ---- The request head -------------------------------------------------------

bool GrpcCall::AddHeader(std::string_view name, std::string_view value, bool trailer) {
  header_bytes_ += name.size() + value.size() + 32;  // as HTTP/2 counts a header list
  if (header_bytes_ > runtime_->config->max_header_bytes) return false;
  if (trailer) return true;  // request trailers mean nothing to gRPC: dropped
  if (name == ":method") {
    http_method_ = value;
  } else if (name == ":path") {
    path_ = value;
  } else if (name == ":scheme") {
    scheme_ = value;
  } else if (name == ":authority") {
    authority_ = value;
  } else if (name == "content-type") {
    content_type_ = value;
  } else if (name == "grpc-encoding") {
    grpc_encoding_ = value;
  } else if (name == "grpc-timeout") {
    grpc_timeout_ = value;
    metadata_.emplace_back(name, value);
  } else if (!name.empty() && name[0] != ':' && !IsDroppedMetadata(name)) {
    metadata_.emplace_back(name, value);
  }
  return true;
}

std::optional<std::string> GrpcCall::CheckHead() {
  if (content_type_ != "application/grpc" && content_type_ != "application/grpc+proto") {
    return "content-type \"" + EscapeForLog(content_type_) +
           "\" is not accepted: send application/grpc (protobuf)";
  }
  if (http_method_ != "POST") return "gRPC calls are POST requests";
  if (!IsCanonicalPath(path_)) return "malformed method name \"" + EscapeForLog(path_) + "\"";
  if (!grpc_encoding_.empty() && grpc_encoding_ != "identity") {
    return "grpc-encoding \"" + EscapeForLog(grpc_encoding_) +
           "\" is not accepted: send uncompressed messages";
  }
  return std::nullopt;
}

void GrpcCall::OnRequestHeaders() {
  identity_.cert_user = session_.cert_user();
  if (content_type_.rfind("application/grpc", 0) != 0) {
    // Not gRPC at all (an HTTP/2 client asking for v2 or the JSON gateway):
    // those are served over HTTP/1.1.
    finished_ = true;
    grpc_status_ = -1;
    rule_ = "-";
    session_.SubmitResponse(stream_id_, {{":status", "415"}, {"content-type", "text/plain"}}, true);
    return;
  }
  if (const std::optional<std::string> why = CheckHead()) {
    spdlog::debug("{}: refused gRPC head: {}", session_.peer(), *why);
    const int code = why->rfind("grpc-encoding", 0) == 0 || why->rfind("malformed", 0) == 0
                         ? kGrpcUnimplemented
                         : kGrpcInvalidArgument;
    return Finish(code, *why);
  }
  if (!grpc_timeout_.empty()) {
    timeval timeout{};
    if (!ParseGrpcTimeout(grpc_timeout_, &timeout)) {
      return Finish(kGrpcInvalidArgument, "malformed grpc-timeout");
    }
    deadline_ = evtimer_new(session_.worker().base(), &GrpcCall::OnDeadline, this);
    if (deadline_ != nullptr) evtimer_add(deadline_, &timeout);
  }
  head_ok_ = true;
  shape_ = acl::ShapeOf(path_);
  watch_ = path_ == kWatchMethod;
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
  const acl::V3ParseResult parsed = watch_ ? acl::ParseGrpcWatchRequest(message.bytes)
                                           : acl::ParseGrpcRequest(path_, message.bytes);
  if (!parsed.request) {
    spdlog::debug("{}: refused gRPC message: {}", session_.peer(), LogText(parsed.error));
    return Finish(kGrpcInvalidArgument, "grpc: cannot decode the request: " + parsed.error);
  }
  const acl::Decision decision = runtime_->acl->DecideV3Call(identity_, *parsed.request);
  const bool watch_create = watch_ && !parsed.request->accesses.empty();
  if (!watch_ || watch_create || rule_ == "-") {
    rule_ = decision.rule;
    key_ = parsed.request->accesses.empty() ? "" : parsed.request->accesses.front().key;
  }
  if (!decision.allowed()) {
    session_.worker().metrics().CountAclDenial(decision.rule);
    if (watch_create) return RefuseWatchCreate(decision);
    const GrpcStatus refusal = GrpcRefusalFor(decision.verdict);
    return Finish(refusal.code, refusal.message);
  }
  if (watch_create) {
    LogWatchCreate(decision);
    creates_.emplace_back(std::nullopt);
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
    upstream_ = session_.worker().h2_pool().Open(UpstreamHeaders(), this);
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

HeaderList GrpcCall::UpstreamHeaders() const {
  HeaderList headers = {
      {":method", "POST"},
      {":scheme", "http"},
      {":authority", authority_.empty() ? std::string("localhost") : authority_},
      {":path", path_},
      {"content-type", "application/grpc"},
      {"te", "trailers"},
  };
  headers.insert(headers.end(), metadata_.begin(), metadata_.end());
  return headers;
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
  etcdserverpb::WatchResponse response;
  // etcdctl 3.4 dereferences the header of a canceled response.
  if (!have_header_ || !response.mutable_header()->ParseFromString(last_header_)) {
    response.mutable_header()->Clear();
  }
  response.set_watch_id(-1);
  response.set_created(true);
  response.set_canceled(true);
  const GrpcStatus refusal = GrpcRefusalFor(decision.verdict);
  response.set_cancel_reason("rpc error: code = " + std::string(GrpcCodeName(refusal.code)) +
                             " desc = " + refusal.message);
  LogWatchCreate(decision);
  std::string framed = FrameGrpcMessage(response.SerializeAsString());
  // clientv3 pairs each "created" answer with its oldest pending create.
  if (creates_.empty()) return SendToClient(framed);
  creates_.emplace_back(std::move(framed));
}

void GrpcCall::RelayWatchResponses(const uint8_t* data, size_t length) {
  std::vector<GrpcMessage> messages;
  const auto status = response_reader_.Feed(
      std::string_view(reinterpret_cast<const char*>(data), length), &messages);
  for (GrpcMessage& message : messages) {
    etcdserverpb::WatchResponse response;
    const bool parsed = !message.compressed && response.ParseFromString(message.bytes);
    std::string framed = FrameGrpcMessage(message.bytes);
    if (message.compressed) framed[0] = 1;
    SendToClient(framed);
    if (!parsed) continue;
    if (response.has_header()) {
      last_header_ = response.header().SerializeAsString();
      have_header_ = true;
    }
    if (response.created() && !response.canceled() &&
        watch_ids_.insert(response.watch_id()).second) {
      session_.worker().metrics().WatchOpened();
    }
    if (response.canceled() && watch_ids_.erase(response.watch_id()) > 0) {
      session_.worker().metrics().WatchClosed();
    }
    if (!response.created()) continue;
    if (!creates_.empty() && !creates_.front()) creates_.pop_front();
    while (!creates_.empty() && creates_.front()) {
      SendToClient(*creates_.front());
      creates_.pop_front();
    }
  }
  if (status == GrpcMessageReader::Status::kTooLarge) {
    Finish(kGrpcResourceExhausted, "a watch response from etcd is too large");
  }
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
    if (watch_) {
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

// ---- Access log ---------------------------------------------------------------

void GrpcCall::LogCall() {
  if (logged_ || path_.empty()) return;
  logged_ = true;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  session_.worker().stats().ObserveRequestLatency(seconds);
  session_.worker().stats().CountGrpcCall(path_, grpc_status_);
  AccessRecord record;
  record.client = session_.peer();
  const std::string identity = identity_.ToString();
  record.identity = identity;
  record.method = "GRPC";
  record.path = path_;
  record.status = 200;
  record.grpc_status = grpc_status_;
  record.key = key_;
  record.bytes = bytes_sent_;
  record.milliseconds = seconds * 1000;
  record.rule = rule_;
  runtime_->access_log->Write(static_cast<size_t>(session_.worker().index()), record);
}

void GrpcCall::LogWatchCreate(const acl::Decision& decision) {
  AccessRecord record;
  record.client = session_.peer();
  const std::string identity = identity_.ToString();
  record.identity = identity;
  record.method = "WATCH";
  record.path = path_;
  record.status = 200;
  record.grpc_status = decision.allowed() ? kGrpcOk : GrpcRefusalFor(decision.verdict).code;
  record.key = key_;
  record.rule = decision.rule;
  runtime_->access_log->Write(static_cast<size_t>(session_.worker().index()), record);
}

}  // namespace tlsproxy::proxy

#include "proxy/http1_request_reader.h"

#include <string_view>
#include <utility>

namespace tlsproxy::proxy {
namespace {

// A request body buffer larger than this is released after use rather than
// kept by an idle connection.
constexpr size_t kMaxKeptBody = 1 << 10;

}  // namespace

const http_parser_settings Http1RequestReader::kSettings = [] {
  http_parser_settings s{};
  s.on_message_begin = &Http1RequestReader::OnMessageBegin;
  s.on_url = &Http1RequestReader::OnUrl;
  s.on_header_field = &Http1RequestReader::OnHeaderField;
  s.on_header_value = &Http1RequestReader::OnHeaderValue;
  s.on_headers_complete = &Http1RequestReader::OnHeadersComplete;
  s.on_body = &Http1RequestReader::OnBody;
  s.on_message_complete = &Http1RequestReader::OnMessageComplete;
  return s;
}();

Http1RequestReader::Http1RequestReader(std::function<void()> send_continue)
    : send_continue_(std::move(send_continue)) {
  http_parser_init(&parser_, HTTP_REQUEST);
  parser_.data = this;
}

void Http1RequestReader::Reset() {
  http_parser_pause(&parser_, 0);
  reading_message_ = false;
  head_ = RequestHead{};
  body_.clear();
  if (body_.capacity() > kMaxKeptBody) std::string().swap(body_);
  head_bytes_ = 0;
  url_bytes_ = 0;
  headers_.Reset();
  message_complete_ = false;
  parse_error_.reset();
}

size_t Http1RequestReader::Parse(const char* data, size_t length, const Limits& limits) {
  limits_ = &limits;
  const size_t parsed = http_parser_execute(&parser_, &kSettings, data, length);
  limits_ = nullptr;
  return parsed;
}

std::optional<Http1RequestReader::Error> Http1RequestReader::error() const {
  if (message_complete_) return std::nullopt;  // paused, not failed
  if (parse_error_) return Error{*parse_error_, parse_error_message_};
  switch (HTTP_PARSER_ERRNO(&parser_)) {
    case HPE_OK:
      return std::nullopt;
    case HPE_HEADER_OVERFLOW:
      return Error{ProxyError::kHeadersTooLarge, "request headers too large"};
    case HPE_INVALID_METHOD:
      return Error{ProxyError::kBadRequest, "unknown method"};
    case HPE_INVALID_CHUNK_SIZE:
      return Error{ProxyError::kBadRequest, "malformed chunk"};
    case HPE_UNEXPECTED_CONTENT_LENGTH:
      return Error{ProxyError::kBadRequest, "ambiguous Content-Length"};
    case HPE_INVALID_TRANSFER_ENCODING:
      return Error{ProxyError::kBadRequest, "Transfer-Encoding other than chunked"};
    default:
      return Error{ProxyError::kBadRequest, "malformed request"};
  }
}

Http1RequestReader* Http1RequestReader::Self(http_parser* parser) {
  return static_cast<Http1RequestReader*>(parser->data);
}

bool Http1RequestReader::Fail(ProxyError error, const char* message) {
  parse_error_ = error;
  parse_error_message_ = message;
  return false;
}

bool Http1RequestReader::CountHeadBytes(size_t length) {
  head_bytes_ += length;
  if (head_bytes_ <= limits_->max_header_bytes) return true;
  return Fail(ProxyError::kHeadersTooLarge, "request headers too large");
}

int Http1RequestReader::OnMessageBegin(http_parser* parser) {
  Http1RequestReader* self = Self(parser);
  self->started_ = std::chrono::steady_clock::now();
  self->reading_message_ = true;
  self->head_complete_ = false;
  return 0;
}

int Http1RequestReader::OnUrl(http_parser* parser, const char* at, size_t length) {
  Http1RequestReader* self = Self(parser);
  self->url_bytes_ += length;
  self->head_.target.append(at, length);
  if (self->url_bytes_ > self->limits_->max_header_bytes) {
    self->Fail(ProxyError::kUriTooLong, "request URI too long");
    return 1;
  }
  return self->CountHeadBytes(length) ? 0 : 1;
}

int Http1RequestReader::OnHeaderField(http_parser* parser, const char* at, size_t length) {
  Http1RequestReader* self = Self(parser);
  if (self->head_complete_) {
    // Trailer fields after a chunked body: they would join the head after
    // it was checked (an Authorization, a Content-Length...). Refuse.
    self->Fail(ProxyError::kBadRequest, "trailer fields are not supported");
    return 1;
  }
  if (!IsTokenText(std::string_view(at, length))) {
    self->Fail(ProxyError::kBadRequest, "invalid character in a header name");
    return 1;
  }
  return self->CountHeadBytes(self->headers_.Field(self->head_.headers, at, length)) ? 0 : 1;
}

int Http1RequestReader::OnHeaderValue(http_parser* parser, const char* at, size_t length) {
  Http1RequestReader* self = Self(parser);
  if (self->head_complete_ || !self->headers_.Value(self->head_.headers, at, length)) return 1;
  return self->CountHeadBytes(length) ? 0 : 1;
}

int Http1RequestReader::OnHeadersComplete(http_parser* parser) {
  Http1RequestReader* self = Self(parser);
  self->head_complete_ = true;
  RequestHead& head = self->head_;
  head.method = http_method_str(static_cast<http_method>(parser->method));
  head.http_major = parser->http_major;
  head.http_minor = parser->http_minor;
  self->keep_alive_ = http_should_keep_alive(parser) != 0;
  if (auto problem = CheckRequestFraming(head)) {
    self->Fail(ProxyError::kBadRequest, *problem);
    return 3;  // any value but 0, 1, 2 is an error
  }
  if (head.First("content-length") && parser->content_length > self->limits_->max_body_bytes) {
    self->Fail(ProxyError::kBodyTooLarge, "request body too large");
    return 3;
  }
  const auto expect = head.First("expect");
  if (expect && EqualsIgnoreCase(*expect, "100-continue")) self->send_continue_();
  return 0;
}

int Http1RequestReader::OnBody(http_parser* parser, const char* at, size_t length) {
  Http1RequestReader* self = Self(parser);
  if (self->body_.size() + length > self->limits_->max_body_bytes) {
    self->Fail(ProxyError::kBodyTooLarge, "request body too large");
    return 1;
  }
  self->body_.append(at, length);
  return 0;
}

int Http1RequestReader::OnMessageComplete(http_parser* parser) {
  Http1RequestReader* self = Self(parser);
  self->message_complete_ = true;
  self->reading_message_ = false;
  http_parser_pause(parser, 1);  // one request at a time; the rest waits in the buffer
  return 0;
}

}  // namespace tlsproxy::proxy

#include "proxy/http1_response.h"

#include <event2/buffer.h>

#include <cstdio>
#include <vector>

#include "proxy/direct_write.h"

namespace tlsproxy::proxy {
namespace {

// Gathered bytes larger than this are released after use rather than kept
// by an idle connection.
constexpr size_t kMaxKeptBuffer = 1 << 10;

}  // namespace

void Http1Response::Reset() {
  framing_ = BodyFraming::kNone;
  status_ = 0;
  body_bytes_ = 0;
}

bool Http1Response::WriteHead(const ResponseHead& head, bool has_body,
                              const std::string* content_length, const RequestHead& request,
                              bool keep_alive) {
  status_ = head.status;
  std::string out;
  out.reserve(512);
  out.append("HTTP/1.1 ").append(std::to_string(head.status)).append(" ");
  out.append(ReasonPhrase(head.status)).append("\r\n");
  const std::vector<std::string> tokens = ConnectionTokens(head.headers);
  for (const auto& [name, value] : head.headers) {
    if (!IsHopByHop(name, tokens)) AppendHeader(out, name, value);
  }
  if (content_length != nullptr && (has_body || request.method == "HEAD")) {
    AppendHeader(out, "Content-Length", *content_length);
    framing_ = has_body ? BodyFraming::kLength : BodyFraming::kNone;
  } else if (!has_body) {
    framing_ = BodyFraming::kNone;
  } else if (request.http_minor >= 1) {
    out += "Transfer-Encoding: chunked\r\n";
    framing_ = BodyFraming::kChunked;
  } else {
    framing_ = BodyFraming::kUntilClose;
    keep_alive = false;
  }
  if (!keep_alive) out += "Connection: close\r\n";
  out += "\r\n";
  Write(out);
  return keep_alive;
}

void Http1Response::WriteBody(const char* data, size_t length) {
  if (length == 0) return;
  if (framing_ == BodyFraming::kChunked) {
    char size[24];
    const int digits = std::snprintf(size, sizeof size, "%zx\r\n", length);
    pending_.append(size, static_cast<size_t>(digits));
    pending_.append(data, length);
    pending_.append("\r\n", 2);
  } else {
    pending_.append(data, length);
  }
  body_bytes_ += length;
}

void Http1Response::WriteEnd() {
  if (framing_ == BodyFraming::kChunked) Write("0\r\n\r\n");
}

void Http1Response::WriteLocal(const LocalResponse& response, bool keep_alive, bool is_head) {
  status_ = response.status;
  body_bytes_ = is_head ? 0 : response.body.size();
  Write(RenderHttp1(response, keep_alive, is_head));
}

// Sends what Write() gathered, as one TLS record when it fits, straight to
// the socket when nothing is queued (proxy/direct_write).
void Http1Response::Flush(bool socket_open) {
  if (pending_.empty()) return;
  if (socket_open) {
    WriteTls(bev_, pending_);
  } else {
    bufferevent_write(bev_, pending_.data(), pending_.size());
  }
  pending_.clear();
  if (pending_.capacity() > kMaxKeptBuffer) std::string().swap(pending_);
}

size_t Http1Response::Queued() const { return evbuffer_get_length(bufferevent_get_output(bev_)); }

}  // namespace tlsproxy::proxy

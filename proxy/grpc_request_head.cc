#include "proxy/grpc_request_head.h"

#include <cstdint>

#include "proxy/log_escape.h"

namespace tlsproxy::proxy {
namespace {

// Never forwarded: see the header comment.
bool IsDropped(std::string_view name) {
  return name == "token" || name == "authorization" || name == "grpc-encoding" ||
         name == "grpc-accept-encoding" || name == "content-type" || name == "te" ||
         name == "host" || name == "content-length" || name == "connection" ||
         name == "keep-alive" || name == "proxy-connection" || name == "transfer-encoding" ||
         name == "upgrade";
}

uint64_t MicrosPerUnit(char unit) {
  switch (unit) {
    case 'H':
      return uint64_t{3600} * 1000000;
    case 'M':
      return uint64_t{60} * 1000000;
    case 'S':
      return 1000000;
    case 'm':
      return 1000;
    case 'u':
      return 1;
    default:
      return 0;  // 'n' and unknown units: handled by the caller
  }
}

}  // namespace

bool GrpcRequestHead::Add(std::string_view name, std::string_view value, bool trailer) {
  bytes_ += name.size() + value.size() + 32;
  if (bytes_ > max_header_bytes_) return false;
  if (trailer) return true;
  if (name == ":method") {
    method_ = value;
  } else if (name == ":path") {
    path_ = value;
  } else if (name == ":authority") {
    authority_ = value;
  } else if (name == "content-type") {
    content_type_ = value;
  } else if (name == "grpc-encoding") {
    encoding_ = value;
  } else if (name == "token" || name == "authorization") {
    if (name == "authorization" && value.rfind("Bearer ", 0) == 0) value.remove_prefix(7);
    tokens_.emplace_back(value);
  } else if (!name.empty() && name[0] != ':' && !IsDropped(name)) {
    if (name == "grpc-timeout") timeout_ = value;
    metadata_.emplace_back(name, value);
  }
  return true;
}

bool GrpcRequestHead::IsGrpc() const { return content_type_.rfind("application/grpc", 0) == 0; }

std::optional<GrpcStatus> GrpcRequestHead::Check() const {
  if (content_type_ != "application/grpc" && content_type_ != "application/grpc+proto") {
    return GrpcStatus{kGrpcInvalidArgument, "content-type \"" + EscapeForLog(content_type_) +
                                                "\" is not accepted: send application/grpc"};
  }
  if (method_ != "POST") return GrpcStatus{kGrpcInvalidArgument, "gRPC calls are POST requests"};
  if (!IsCanonicalGrpcPath(path_)) {
    return GrpcStatus{kGrpcUnimplemented, "malformed method name \"" + EscapeForLog(path_) + "\""};
  }
  if (!encoding_.empty() && encoding_ != "identity") {
    return GrpcStatus{kGrpcUnimplemented, "grpc-encoding \"" + EscapeForLog(encoding_) +
                                              "\" is not accepted: send uncompressed messages"};
  }
  timeval unused{};
  if (!timeout_.empty() && !ParseGrpcTimeout(timeout_, &unused)) {
    return GrpcStatus{kGrpcInvalidArgument, "malformed grpc-timeout"};
  }
  return std::nullopt;
}

std::optional<timeval> GrpcRequestHead::Timeout() const {
  timeval timeout{};
  if (timeout_.empty() || !ParseGrpcTimeout(timeout_, &timeout)) return std::nullopt;
  return timeout;
}

HeaderList GrpcRequestHead::UpstreamHeaders() const {
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

bool IsCanonicalGrpcPath(std::string_view path) {
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

bool ParseGrpcTimeout(std::string_view text, timeval* out) {
  if (text.size() < 2 || text.size() > 9) return false;
  uint64_t value = 0;
  for (const char c : text.substr(0, text.size() - 1)) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  const char unit = text.back();
  uint64_t micros = 0;
  if (unit == 'n') {
    micros = value / 1000;
  } else if (const uint64_t per = MicrosPerUnit(unit); per != 0) {
    micros = value * per;  // at most 99999999 hours: fits in 64 bits
  } else {
    return false;
  }
  out->tv_sec = static_cast<time_t>(micros / 1000000);
  out->tv_usec = static_cast<suseconds_t>(micros % 1000000);
  return true;
}

}  // namespace tlsproxy::proxy

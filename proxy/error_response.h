// The responses the proxy writes itself, never forwarded from etcd. Every one
// has a JSON body, because python-etcd reports a non-JSON error body as a
// "Bad response" and loses the reason.
#pragma once

#include <cstddef>
#include <string>

namespace tlsproxy::proxy {

enum class ProxyError {
  kNeedCredentials,  // 401, etcd errorCode 110, WWW-Authenticate: Basic realm="etcd"
  kForbidden,        // 403, etcd errorCode 110
  kReadOnly,         // 403, etcd errorCode 107
  kBadRequest,       // 400
  kRequestTimeout,   // 408
  kBodyTooLarge,     // 413
  kUriTooLong,       // 414
  kHeadersTooLarge,  // 431
  kTooManyRequests,  // 429, with Retry-After (BuildThrottledResponse)
  kBadGateway,       // 502
  kGatewayTimeout,   // 504
};

int StatusOf(ProxyError error);

// A complete HTTP/1.1 response. `message` is used by the errors that carry a
// free message (400, 413, 414, 431, 502, 504); it must be a fixed literal
// with no '"' or '\\' (checked). `keep_alive` false adds Connection: close.
std::string BuildErrorResponse(ProxyError error, const char* message, bool keep_alive);

// 429 for an address in authentication back-off, with Retry-After.
std::string BuildThrottledResponse(std::size_t retry_after_seconds, bool keep_alive);

// etcd's v3 JSON gateway error shape, {"error":M,"message":M,"code":C}, as
// etcd 3.4 answers with its own auth on: 400/code 3 for a body we cannot
// read, 401/code 16 (with a Basic challenge) for missing or bad credentials,
// 403/code 7 for permission denied. `message` may be any text (JSON-escaped
// by nlohmann-json).
std::string BuildGatewayErrorResponse(int status, int code, const std::string& message,
                                      bool keep_alive);

}  // namespace tlsproxy::proxy

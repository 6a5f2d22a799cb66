// The responses the proxy writes itself, never forwarded from etcd. Every one
// has a JSON body, because python-etcd reports a non-JSON error body as a
// "Bad response" and loses the reason.
#pragma once

#include <string>

namespace tlsproxy::proxy {

enum class ProxyError {
  kNeedCredentials,  // 401, etcd errorCode 110, WWW-Authenticate: Basic realm="etcd"
  kForbidden,        // 403, etcd errorCode 110
  kReadOnly,         // 403, etcd errorCode 107
  kBadRequest,       // 400
  kBodyTooLarge,     // 413
  kUriTooLong,       // 414
  kHeadersTooLarge,  // 431
  kBadGateway,       // 502
  kGatewayTimeout,   // 504
};

int StatusOf(ProxyError error);

// A complete HTTP/1.1 response. `message` is used by the errors that carry a
// free message (400, 413, 414, 431, 502, 504); it must be a fixed literal
// with no '"' or '\\' (checked). `keep_alive` false adds Connection: close.
std::string BuildErrorResponse(ProxyError error, const char* message, bool keep_alive);

}  // namespace tlsproxy::proxy

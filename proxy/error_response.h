// The refusals the proxy makes itself, never forwarded from etcd, as
// LocalResponse values (rendered by RenderHttp1). An ACL verdict's refusal
// for each protocol is in refusal.h, built from these. Every one has a JSON
// body, because python-etcd reports a non-JSON error body as a "Bad
// response" and loses the reason.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "acl/acl.h"
#include "proxy/local_response.h"

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
  kTooManyRequests,  // 429, with Retry-After (ThrottledResponse)
  kBadGateway,       // 502
  kGatewayTimeout,   // 504
};

int StatusOf(ProxyError error);

// The refusal for an ACL verdict, or nullopt for kAllow (nothing to refuse).
std::optional<ProxyError> RefusalFor(acl::Verdict verdict);

// An etcd v2 style refusal. 401, 403 and 107 carry etcd's own bodies
// (errorCode 110 or 107, index 0) and X-Etcd-Index: 0, as etcd's keys
// handler answers; the others {"message":M}. `message` is used by the errors
// that carry a free message (400, 408, 413, 414, 429, 431, 502, 504); it
// must be a fixed literal with no '"' or '\\' (checked).
LocalResponse ErrorResponse(ProxyError error, const char* message);

// 429 for an address in authentication back-off, with Retry-After.
LocalResponse ThrottledResponse(std::size_t retry_after_seconds);

// etcd's v3 JSON gateway error shape, {"code":C,"error":M,"message":M}, as
// etcd 3.4 answers with its own auth on: 400/code 3 for a body we cannot
// read, 401/code 16 (with a Basic challenge) for missing or bad credentials,
// 403/code 7 for permission denied. `message` may be any text (JSON-escaped
// by nlohmann-json).
LocalResponse GatewayErrorResponse(int status, int code, const std::string& message);

}  // namespace tlsproxy::proxy

// A response the proxy makes itself (every refusal), as a value: what to
// say, apart from how a protocol frames it. Builders in error_response.h
// and refusal.h make these; an Http1Session sends them with one call
// (Http1Response::WriteLocal), and the access log counts the body from the
// value.
//
// RenderHttp1 below is its only rendering: gRPC calls end with a gRPC
// status instead (GrpcStatus, proxy/grpc_status.h), and an ACL refusal
// becomes one or the other in proxy/refusal.
#pragma once

#include <string>

#include "proxy/http_message.h"

namespace tlsproxy::proxy {

struct LocalResponse {
  int status = 500;  // the HTTP status
  // The machine-readable code clients act on: etcd's v2 errorCode (110,
  // 107), or the v3 gateway's gRPC code (3, 7, 16); 0 when the body has none.
  int code = 0;
  std::string message;  // human-readable; also in the body
  // Headers beyond the framing ones, in order (WWW-Authenticate,
  // X-Etcd-Index, Retry-After, X-Etcd-Cluster-Id...). Names and values must
  // not contain CR or LF.
  HeaderList headers;
  std::string body;  // JSON (python-etcd reports a non-JSON error body as "Bad response")
};

// The complete HTTP/1.1 response: status line (reason phrase from
// ReasonPhrase), Content-Type: application/json, `headers` in order,
// Content-Length of the body, Connection: close unless `keep_alive`, the
// blank line and the body. To a HEAD request (`is_head`) the same head
// without the body, as RFC 9110 section 9.3.2 asks.
std::string RenderHttp1(const LocalResponse& response, bool keep_alive, bool is_head = false);

}  // namespace tlsproxy::proxy

// The head of a gRPC request as the proxy accepts it, and the head it sends
// etcd in its place. Pure: no I/O.
//
// Guarantees:
// - Only the canonical form passes Check(): :method POST; a :path of the
//   form "/package.Service/Method" (letters, digits, '_' and '.', exactly
//   two slashes), matched exactly afterwards; content-type
//   "application/grpc" or "application/grpc+proto"; no grpc-encoding other
//   than "identity"; a grpc-timeout, when present, of 1-8 digits and a unit.
//   Every other form etcd 3.4 would also run (no leading slash, GET or
//   PUT, +json, a charset parameter) is refused, never rewritten.
// - The header list counts against max_header_bytes as HTTP/2 counts it
//   (name + value + 32 per field); Add() says when it passes the limit.
// - UpstreamHeaders() carries the client's metadata except `token` and
//   `authorization` (the proxy's ACL decides, and etcd 3.4 with its auth off
//   answers any token with "invalid auth token"), compression negotiation
//   (so etcd answers with plain messages the proxy can read) and
//   connection-specific fields; the pseudo-headers are the proxy's own.
#pragma once

#include <sys/time.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/grpc_status.h"
#include "proxy/upstream_h2.h"

namespace tlsproxy::proxy {

class GrpcRequestHead {
 public:
  explicit GrpcRequestHead(size_t max_header_bytes) : max_header_bytes_(max_header_bytes) {}

  // One field of the request's header list (`trailer`: of its trailers,
  // which mean nothing to gRPC and are dropped). False once the list is
  // over max_header_bytes.
  bool Add(std::string_view name, std::string_view value, bool trailer);

  // Whether the client asked for gRPC at all (content-type application/grpc
  // with or without a suffix). Other HTTP/2 requests get a plain 415.
  bool IsGrpc() const;
  // The refusal for a head that is not canonical, or nullopt.
  std::optional<GrpcStatus> Check() const;

  const std::string& path() const { return path_; }
  // The login tokens the call carries (`token` metadata, or `authorization`
  // with or without "Bearer "), in order; never forwarded.
  const std::vector<std::string>& tokens() const { return tokens_; }
  // The call's deadline from grpc-timeout (after Check() passed).
  std::optional<timeval> Timeout() const;
  HeaderList UpstreamHeaders() const;

 private:
  size_t max_header_bytes_;
  size_t bytes_ = 0;
  HeaderList metadata_;  // forwarded non-pseudo fields, as sent
  std::vector<std::string> tokens_;
  std::string method_, path_, authority_, content_type_, encoding_, timeout_;
};

// "/package.Service/Method" and nothing else.
bool IsCanonicalGrpcPath(std::string_view path);

// grpc-timeout's value: 1-8 digits and a unit (H M S m u n); false when
// malformed.
bool ParseGrpcTimeout(std::string_view text, timeval* out);

}  // namespace tlsproxy::proxy

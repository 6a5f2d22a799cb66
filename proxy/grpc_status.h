// gRPC status codes and the proxy's refusals in gRPC's shape: the one place
// an ACL verdict becomes a grpc-status and grpc-message. The messages are
// etcd's own, so clients react as they do to an etcd with auth on.
#pragma once

#include <string>
#include <string_view>

#include "acl/acl.h"

namespace tlsproxy::proxy {

inline constexpr int kGrpcOk = 0;
inline constexpr int kGrpcCancelled = 1;
inline constexpr int kGrpcInvalidArgument = 3;
inline constexpr int kGrpcDeadlineExceeded = 4;
inline constexpr int kGrpcPermissionDenied = 7;
inline constexpr int kGrpcResourceExhausted = 8;
inline constexpr int kGrpcUnimplemented = 12;
inline constexpr int kGrpcInternal = 13;
inline constexpr int kGrpcUnavailable = 14;
inline constexpr int kGrpcUnauthenticated = 16;

struct GrpcStatus {
  int code = kGrpcOk;
  std::string message;
};

// kNeedCredentials: 3 "etcdserver: user name is empty"; kForbidden and
// kReadOnly: 7 "etcdserver: permission denied".
GrpcStatus GrpcRefusalFor(acl::Verdict verdict);

// Go's name of a code, as in "rpc error: code = PermissionDenied desc = ...".
std::string_view GrpcCodeName(int code);

// grpc-message's encoding: bytes outside printable ASCII, and '%', as %XX.
std::string PercentEncodeGrpcMessage(std::string_view message);

}  // namespace tlsproxy::proxy

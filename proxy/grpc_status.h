// gRPC status codes and their spelling. An ACL refusal in gRPC's shape,
// GrpcRefusalFor, is declared in refusal.h beside the other protocols'
// renderings (included here, so a gRPC caller finds it with the codes).
#pragma once

#include <string>
#include <string_view>

#include "proxy/refusal.h"

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

// Go's name of a code, as in "rpc error: code = PermissionDenied desc = ...".
std::string_view GrpcCodeName(int code);

// grpc-message's encoding: bytes outside printable ASCII, and '%', as %XX.
std::string PercentEncodeGrpcMessage(std::string_view message);

}  // namespace tlsproxy::proxy

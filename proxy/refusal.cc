#include "proxy/refusal.h"

#include "proxy/error_response.h"
#include "proxy/grpc_status.h"

namespace tlsproxy::proxy {
namespace {

// etcd's own messages, shared by the gateway and gRPC renderings.
constexpr char kUserNameIsEmpty[] = "etcdserver: user name is empty";
constexpr char kPermissionDenied[] = "etcdserver: permission denied";
constexpr char kAuthenticationFailed[] =
    "etcdserver: authentication failed, invalid user ID or password";

}  // namespace

LocalResponse V2RefusalFor(acl::Verdict verdict) {
  return ErrorResponse(RefusalFor(verdict).value_or(ProxyError::kForbidden), "");
}

LocalResponse GatewayRefusalFor(acl::Verdict verdict) {
  if (verdict == acl::Verdict::kNeedCredentials) {
    return GatewayErrorResponse(401, kGrpcUnauthenticated, kUserNameIsEmpty);
  }
  return GatewayErrorResponse(403, kGrpcPermissionDenied, kPermissionDenied);
}

GrpcStatus GrpcRefusalFor(acl::Verdict verdict) {
  if (verdict == acl::Verdict::kNeedCredentials) return {kGrpcInvalidArgument, kUserNameIsEmpty};
  return {kGrpcPermissionDenied, kPermissionDenied};
}

LocalResponse GatewayAuthenticationFailure() {
  return GatewayErrorResponse(401, kGrpcUnauthenticated, kAuthenticationFailed);
}

}  // namespace tlsproxy::proxy

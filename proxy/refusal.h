// An ACL refusal, rendered once for each protocol the proxy speaks.
//
// The refusal itself is protocol-neutral: an acl::Decision that is not
// allowed(), that is its verdict, the rule that decided and a reason for the
// logs. Only the verdict reaches the client, in etcd's own words for that
// protocol, so clients react as they do to an etcd with auth on; the rule
// and the reason go to the access log, the metrics and the debug log. A
// kAllow verdict is never refused: asked anyway, each renderer fails closed
// (permission denied).
//
//   HTTP/1.1, etcd's v2 API (and every path but the gateway's)  V2RefusalFor
//   HTTP/1.1, etcd's v3 JSON gateway                             GatewayRefusalFor
//   HTTP/2, gRPC (grpc-status and grpc-message trailers)         GrpcRefusalFor
#pragma once

#include "acl/acl.h"
#include "proxy/local_response.h"

namespace tlsproxy::proxy {

struct GrpcStatus;  // grpc_status.h, which includes this header

// etcd's v2 refusal bodies (ErrorResponse): 401 errorCode 110 with a Basic
// challenge, 403 errorCode 110, or 403 errorCode 107 for read-only.
LocalResponse V2RefusalFor(acl::Verdict verdict);

// etcd's v3 JSON gateway shape (GatewayErrorResponse): 401/code 16 "user
// name is empty" with a Basic challenge, else 403/code 7 "permission denied".
LocalResponse GatewayRefusalFor(acl::Verdict verdict);

// kNeedCredentials: 3 "etcdserver: user name is empty"; kForbidden and
// kReadOnly: 7 "etcdserver: permission denied".
GrpcStatus GrpcRefusalFor(acl::Verdict verdict);

// Bad basic-auth credentials on the v3 JSON gateway: 401/code 16, as etcd
// answers a wrong password (on the v2 API, V2RefusalFor(kNeedCredentials)).
LocalResponse GatewayAuthenticationFailure();

}  // namespace tlsproxy::proxy

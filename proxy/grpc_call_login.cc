// GrpcCall's answer to etcd's Auth/Authenticate (see grpc_call.h): the
// proxy checks the name and password against its own accounts and hands out
// its own login token (proxy/login); nothing goes to etcd. A wrong password
// counts towards the auth throttle, as on the v3 JSON gateway.
#include "proxy/grpc_call.h"

#include <spdlog/spdlog.h>

#include <ctime>

#include "etcd/etcdserver/etcdserverpb/rpc.pb.h"
#include "proxy/grpc_status.h"
#include "proxy/http2_session.h"
#include "proxy/login.h"
#include "proxy/worker.h"

namespace tlsproxy::proxy {

// etcd's Auth/Authenticate, answered by the proxy (proxy/login).
void GrpcCall::AnswerLogin(const std::string& message) {
  rule_ = "login";
  etcdserverpb::AuthenticateRequest request;
  if (!request.ParseFromString(message)) {
    return Finish(kGrpcInvalidArgument, "grpc: cannot decode the request");
  }
  const LoginOutcome login =
      Login(*runtime_, request.name(), request.password(), session_.peer_ip(), std::time(nullptr));
  switch (login.kind) {
    case LoginOutcome::Kind::kThrottled:
      session_.worker().metrics().CountAuthFailure("throttled");
      return Finish(kGrpcResourceExhausted, "etcdserver: too many failed logins; retry in " +
                                                std::to_string(login.retry_after) + " s");
    case LoginOutcome::Kind::kFailed:
      session_.worker().metrics().CountAuthFailure("wrong_password");
      if (login.backoff_started) {
        spdlog::warn("{}: too many failed logins: back-off for {} s", session_.peer_ip(),
                     runtime_->config->auth_throttle.backoff);
      }
      return Finish(kGrpcInvalidArgument, kLoginFailed);
    case LoginOutcome::Kind::kOk:
      break;
  }
  identity_.basic_user = request.name();
  etcdserverpb::AuthenticateResponse response;
  response.mutable_header()->set_cluster_id(KnownClusterId());
  response.set_token(login.token);
  SendToClient(FrameGrpcMessage(response.SerializeAsString()));
  Finish(kGrpcOk, "");
}

}  // namespace tlsproxy::proxy

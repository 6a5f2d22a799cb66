// Http1Session's gate (see http1_session.h): from a complete request to a
// decision. HandleRequest canonicalises the target, answers the proxy's own
// v3 gateway logins, applies the auth throttle, authenticates (certificate
// name, basic auth or a login token) and asks the ACL, on the path (DecideKeys)
// or on the v3 JSON gateway's body (DecideGateway); then either Forward() or
// a refusal. The refusals are rendered here for an HTTP/1.1 client, in etcd
// v2's shape (with etcd's cluster ID) or the gateway's; SendRefusal writes them.
#include "proxy/http1_session.h"

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "acl/ascii.h"
#include "acl/basic_auth.h"
#include "acl/request_target.h"
#include "proxy/etcd_cluster_id.h"
#include "proxy/grpc_status.h"
#include "proxy/log_escape.h"
#include "proxy/login.h"
#include "proxy/refusal.h"
#include "proxy/worker.h"

namespace tlsproxy::proxy {
namespace {

// A v2 refusal carries etcd's cluster ID as etcd's own responses do, once
// etcd has reported one (python-etcd warns about every response without it).
LocalResponse WithEtcdClusterId(LocalResponse response) {
  if (const std::string* id = EtcdClusterId::Process().Current()) {
    response.headers.emplace_back("X-Etcd-Cluster-Id", *id);
  }
  return response;
}

}  // namespace

// ---- Deciding --------------------------------------------------------------

void Http1Session::HandleRequest() {
  acl::TargetResult parsed = acl::ParseRequestTarget(head().target);
  if (!parsed.target) {
    spdlog::debug("{}: refused target: {}", peer_, parsed.error);
    return Refuse(ProxyError::kBadRequest, "malformed or non-canonical request path", keep_alive_);
  }
  const acl::RequestTarget& target = *parsed.target;
  path_ = target.path;
  const bool gateway = acl::V3Endpoint(target.path).has_value();

  if (gateway && *acl::V3Endpoint(target.path) == "auth/authenticate" && head().method == "POST") {
    return AnswerGatewayLogin();  // the proxy's own logins: see proxy/login
  }
  if (const size_t wait = ThrottledFor(); wait > 0) {
    worker_.metrics().CountAuthFailure("throttled");
    rule_ = "auth_throttle";
    return SendRefusal(WithEtcdClusterId(ThrottledResponse(wait)), keep_alive_);
  }
  std::string failure;
  std::optional<acl::Identity> identity = Authenticate(gateway, &failure);
  if (!identity) {
    if (runtime_->auth_throttle->RecordFailure(peer_ip_, std::chrono::steady_clock::now())) {
      spdlog::warn("{}: too many failed authentication attempts: back-off for {} s", peer_ip_,
                   runtime_->config->auth_throttle.backoff);
    }
    spdlog::info("{}: authentication failed: {}", peer_, failure);
    worker_.metrics().CountAuthFailure(failure);
    rule_ = "authentication";
    if (gateway && failure == "invalid_token") {
      return SendRefusal(GatewayErrorResponse(401, kGrpcUnauthenticated, kInvalidToken),
                         keep_alive_);
    }
    if (gateway) return SendRefusal(GatewayAuthenticationFailure(), keep_alive_);
    return RefuseVerdict(acl::Verdict::kNeedCredentials, /*gateway=*/false);
  }
  identity_ = identity->ToString();

  std::optional<acl::Decision> decision =
      gateway ? DecideGateway(target, *identity) : DecideKeys(target, *identity);
  if (!decision) return;  // already refused: the body could not be read
  rule_ = decision->rule.empty() ? "-" : decision->rule;
  if (decision->shadow_denied) NoteShadowDenial(*decision->shadow_denied, gateway);
  if (decision->allowed()) return Forward(target);
  worker_.metrics().CountAclDenial(rule_);
  spdlog::debug("{}: {} \"{}\" refused: {}", peer_, head().method, LogText(path_),
                LogText(decision->reason));
  RefuseVerdict(decision->verdict, gateway);
}

// Shadow mode: the ACL would have refused this request, which is forwarded
// anyway; its access line carries the status it would have had.
void Http1Session::NoteShadowDenial(acl::Verdict verdict, bool gateway) {
  worker_.metrics().CountShadowDenial(rule_);
  shadow_denied_ = gateway ? GatewayRefusalFor(verdict).status : V2RefusalFor(verdict).status;
}

// Everything but the v3 gateway: the decision is on the canonical path
// (for /v2/keys, the key), with the body's form parameters for subtree reach.
std::optional<acl::Decision> Http1Session::DecideKeys(const acl::RequestTarget& target,
                                                      const acl::Identity& identity) const {
  acl::AclRequest request;
  request.identity = identity;
  request.method = head().method;
  request.target = target;
  const auto content_type = head().First("content-type");
  request.reaches_subtree =
      acl::ReachesSubtree(target.query, body(), content_type.value_or(std::string_view()));
  return runtime_->acl->Decide(request);
}

// The v3 JSON gateway: the keys are in the body. Returns nullopt after
// refusing a body that cannot be read (400, never forwarded).
std::optional<acl::Decision> Http1Session::DecideGateway(const acl::RequestTarget& target,
                                                         const acl::Identity& identity) {
  // The v3 mode is the ACL's to apply (Acl::DecideV3Call); only in "acl"
  // mode does the body matter, so only then is it read.
  if (runtime_->config->v3 != config::Config::V3Mode::kAcl) {
    return runtime_->acl->DecideV3Call(identity, acl::AdminRequest(target.path, /*write=*/true));
  }
  const acl::V3ParseResult parsed = acl::ParseV3Request(target.path, body());
  if (!parsed.request) {
    spdlog::debug("{}: refused v3 body: {}", peer_, LogText(parsed.error));
    SendRefusal(GatewayErrorResponse(400, 3, parsed.error), keep_alive_);
    return std::nullopt;
  }
  return runtime_->acl->DecideV3Call(identity, *parsed.request);
}

// Seconds this client must wait before its credentials are checked again;
// 0 when it carries none or is not in back-off.
size_t Http1Session::ThrottledFor() const {
  if (!head().First("authorization")) return 0;
  return runtime_->auth_throttle->RetryAfter(peer_ip_, std::chrono::steady_clock::now());
}

// The identity the request proves: the connection's verified certificate
// name, plus the basic-auth user when an Authorization header is present
// (on the v3 gateway, the user of the proxy's login token when the header
// is not Basic, as etcd's gateway takes a bare token there).
// nullopt means the credentials presented are wrong: 401 whatever the path.
std::optional<acl::Identity> Http1Session::Authenticate(bool gateway, std::string* failure) const {
  acl::Identity identity;
  identity.cert_user = cert_user_;
  const auto values = head().All("authorization");
  if (values.empty()) return identity;
  if (values.size() > 1) {
    *failure = "several_headers";
    return std::nullopt;
  }
  if (gateway && !acl::StartsWithIgnoreCase(values[0], "Basic ")) {
    std::string_view token = values[0];
    if (token.substr(0, 7) == "Bearer ") token.remove_prefix(7);
    const std::optional<std::string> user =
        TokenUser(*runtime_, {std::string(token)}, std::time(nullptr));
    if (!user || user->empty()) {
      *failure = "invalid_token";
      return std::nullopt;
    }
    identity.basic_user = *user;
    return identity;
  }
  const std::optional<acl::BasicCredentials> credentials = acl::ParseBasicAuth(values[0]);
  if (!credentials) {
    *failure = "malformed_header";
    return std::nullopt;
  }
  if (!runtime_->accounts->Verify(credentials->user, credentials->password)) {
    *failure = "wrong_password";  // or unknown user; never log the name, it may be a password
    return std::nullopt;
  }
  identity.basic_user = credentials->user;
  return identity;
}

// POST /v3/auth/authenticate: {"name", "password"} -> {"header", "token"},
// answered by the proxy (proxy/login); nothing goes to etcd.
void Http1Session::AnswerGatewayLogin() {
  rule_ = "login";
  const nlohmann::json request = nlohmann::json::parse(body(), nullptr, /*allow_exceptions=*/false);
  const bool shaped = request.is_object() && request.contains("name") &&
                      request["name"].is_string() && request.contains("password") &&
                      request["password"].is_string();
  if (!shaped) {
    return SendRefusal(GatewayErrorResponse(400, 3, "expected {\"name\": ..., \"password\": ...}"),
                       keep_alive_);
  }
  const std::string name = request["name"].get<std::string>();
  const LoginOutcome login =
      Login(*runtime_, name, request["password"].get<std::string>(), peer_ip_, std::time(nullptr));
  switch (login.kind) {
    case LoginOutcome::Kind::kThrottled:
      worker_.metrics().CountAuthFailure("throttled");
      return SendRefusal(ThrottledResponse(login.retry_after), keep_alive_);
    case LoginOutcome::Kind::kFailed:
      worker_.metrics().CountAuthFailure("wrong_password");
      if (login.backoff_started) {
        spdlog::warn("{}: too many failed logins: back-off for {} s", peer_ip_,
                     runtime_->config->auth_throttle.backoff);
      }
      return SendRefusal(GatewayErrorResponse(400, 3, kLoginFailed), keep_alive_);
    case LoginOutcome::Kind::kOk:
      break;
  }
  identity_ = "basic:" + name;
  nlohmann::json response = {
      {"header", {{"cluster_id", std::to_string(KnownClusterId())}}},
      {"token", login.token},
  };
  LocalResponse ok;
  ok.status = 200;
  ok.headers.emplace_back("Content-Type", "application/json");
  ok.body = response.dump();
  SendRefusal(ok, keep_alive_);
}

// ---- Refusing ---------------------------------------------------------------

void Http1Session::Refuse(ProxyError error, const char* message, bool keep_alive) {
  SendRefusal(WithEtcdClusterId(ErrorResponse(error, message)), keep_alive);
}

// An ACL refusal, in the v3 JSON gateway's shape or etcd v2's.
void Http1Session::RefuseVerdict(acl::Verdict verdict, bool gateway) {
  if (gateway) return SendRefusal(GatewayRefusalFor(verdict), keep_alive_);
  SendRefusal(WithEtcdClusterId(V2RefusalFor(verdict)), keep_alive_);
}

}  // namespace tlsproxy::proxy

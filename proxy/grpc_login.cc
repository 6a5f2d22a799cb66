#include "proxy/grpc_login.h"

#include <charconv>
#include <chrono>

#include "etcd/etcdserver/etcdserverpb/rpc.pb.h"
#include "proxy/etcd_cluster_id.h"

namespace tlsproxy::proxy {
namespace {

constexpr char kAuthFailed[] = "etcdserver: authentication failed, invalid user ID or password";

// etcd's cluster ID when known (clients do not read the rest of a login's
// header).
void FillHeader(etcdserverpb::ResponseHeader* header) {
  const std::string* id = EtcdClusterId::Process().Current();
  if (id == nullptr) return;
  uint64_t value = 0;
  const auto [end, error] = std::from_chars(id->data(), id->data() + id->size(), value, 16);
  if (error == std::errc() && end == id->data() + id->size()) header->set_cluster_id(value);
}

}  // namespace

LoginResult Login(const Runtime& runtime, std::string_view request, const std::string& address,
                  std::time_t now) {
  LoginResult result;
  etcdserverpb::AuthenticateRequest login;
  if (!login.ParseFromArray(request.data(), static_cast<int>(request.size()))) {
    result.refusal = {kGrpcInvalidArgument, "grpc: cannot decode the request"};
    return result;
  }
  result.user = login.name();
  const auto steady = std::chrono::steady_clock::now();
  if (const size_t wait = runtime.auth_throttle->RetryAfter(address, steady); wait > 0) {
    result.refusal = {kGrpcResourceExhausted,
                      "etcdserver: too many failed logins from this "
                      "address; retry in " +
                          std::to_string(wait) + " s"};
    return result;
  }
  const auto account = runtime.config->accounts.find(login.name());
  if (account == runtime.config->accounts.end() ||
      !runtime.accounts->Verify(login.name(), login.password())) {
    result.failed_password = true;
    result.refusal = {kGrpcInvalidArgument, kAuthFailed};
    return result;
  }
  etcdserverpb::AuthenticateResponse response;
  FillHeader(response.mutable_header());
  response.set_token(runtime.tokens->Issue(login.name(), account->second, now));
  result.response = response.SerializeAsString();
  return result;
}

std::optional<std::string> TokenUser(const Runtime& runtime, const std::vector<std::string>& tokens,
                                     std::time_t now) {
  if (tokens.empty()) return std::nullopt;
  std::string user;
  for (const std::string& token : tokens) {
    const std::optional<std::string> verified =
        runtime.tokens->Verify(token, runtime.config->accounts, now);
    if (!verified || (!user.empty() && *verified != user)) return std::string();
    user = *verified;
  }
  return user;
}

}  // namespace tlsproxy::proxy

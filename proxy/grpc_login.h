// etcd's Auth/Authenticate, answered by the proxy itself against its own
// `accounts`: v3 clients log in with a name and a password and get a token
// (acl/auth_token) that later calls carry as `token` metadata. With etcd's
// own auth off (as behind this proxy) etcd would refuse the call.
//
// Guarantees: the same checks as basic auth (AccountStore: the credential
// cache, constant-time comparison) and the same per-address AuthThrottle; a
// wrong name or password is status 3 "etcdserver: authentication failed,
// invalid user ID or password" and counts as a failed login; an address in
// back-off gets status 8 without its password being checked. Nothing here
// logs the password or the token.
#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/grpc_status.h"
#include "proxy/runtime.h"

namespace tlsproxy::proxy {

struct LoginResult {
  std::optional<std::string> response;  // a serialized AuthenticateResponse on success
  GrpcStatus refusal;                   // otherwise
  std::string user;                     // the name given (for the access log), or ""
  bool failed_password = false;         // a failed login, to count
};

// `request` is the AuthenticateRequest message; `address` the client's IP.
LoginResult Login(const Runtime& runtime, std::string_view request, const std::string& address,
                  std::time_t now);

// The user of the call's tokens: nullopt when there are none, "" when any is
// invalid (the call then gets status 16) or they name different users.
std::optional<std::string> TokenUser(const Runtime& runtime, const std::vector<std::string>& tokens,
                                     std::time_t now);

}  // namespace tlsproxy::proxy

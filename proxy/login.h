// Password logins for etcd v3 clients, answered by the proxy itself against
// its own `accounts`: etcd's Auth/Authenticate over gRPC (grpc_call) and the
// JSON gateway's POST /v3/auth/authenticate (http1_session) both come here,
// and so does every token a later call carries. With etcd's own auth off
// (as behind this proxy) etcd would refuse both.
//
// Guarantees: the same checks as basic auth (AccountStore: the credential
// cache, a constant-time comparison) and the same per-address AuthThrottle
// (a wrong name or password counts as a failed login; an address in
// back-off is refused before its password is checked); tokens are
// acl::AuthTokens, signed with the Runtime's key. Nothing here logs a
// password or a token.
#pragma once

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/runtime.h"

namespace tlsproxy::proxy {

// etcd's words for a failed login (status 3 / the gateway's code 3).
inline constexpr char kLoginFailed[] =
    "etcdserver: authentication failed, invalid user ID or password";
// etcd's words for a token it does not accept (status 16).
inline constexpr char kInvalidToken[] = "etcdserver: invalid auth token";

struct LoginOutcome {
  enum class Kind { kOk, kFailed, kThrottled };
  Kind kind = Kind::kFailed;
  std::string token;             // kOk
  size_t retry_after = 0;        // kThrottled: seconds
  bool backoff_started = false;  // kFailed: this failure started a back-off (log it once)
};

// Checks `name` and `password` for the client at `address`.
LoginOutcome Login(const Runtime& runtime, const std::string& name, const std::string& password,
                   const std::string& address, std::time_t now);

// The user of a call's tokens: nullopt when there are none, "" when any is
// invalid or they name different users (the call is then refused).
std::optional<std::string> TokenUser(const Runtime& runtime, const std::vector<std::string>& tokens,
                                     std::time_t now);

// etcd's cluster ID as etcd last reported it, for the header of a login
// answer (0 while unknown).
uint64_t KnownClusterId();

}  // namespace tlsproxy::proxy

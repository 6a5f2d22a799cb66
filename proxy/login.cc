#include "proxy/login.h"

#include <charconv>
#include <chrono>

#include "proxy/etcd_cluster_id.h"

namespace tlsproxy::proxy {

LoginOutcome Login(const Runtime& runtime, const std::string& name, const std::string& password,
                   const std::string& address, std::time_t now) {
  LoginOutcome outcome;
  const auto steady = std::chrono::steady_clock::now();
  if (const size_t wait = runtime.auth_throttle->RetryAfter(address, steady); wait > 0) {
    outcome.kind = LoginOutcome::Kind::kThrottled;
    outcome.retry_after = wait;
    return outcome;
  }
  const auto account = runtime.config->accounts.find(name);
  if (account == runtime.config->accounts.end() || !runtime.accounts->Verify(name, password)) {
    outcome.kind = LoginOutcome::Kind::kFailed;
    outcome.backoff_started = runtime.auth_throttle->RecordFailure(address, steady);
    return outcome;
  }
  outcome.kind = LoginOutcome::Kind::kOk;
  outcome.token = runtime.tokens->Issue(name, account->second, now);
  return outcome;
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

uint64_t KnownClusterId() {
  const std::string* id = EtcdClusterId::Process().Current();
  if (id == nullptr) return 0;
  uint64_t value = 0;
  const auto [end, error] = std::from_chars(id->data(), id->data() + id->size(), value, 16);
  return error == std::errc() && end == id->data() + id->size() ? value : 0;
}

}  // namespace tlsproxy::proxy

#include "proxy/runtime.h"

#include <fstream>
#include <iterator>

#include <thread>

namespace tlsproxy::proxy {

size_t WorkerCount(const config::Config& config) {
  if (config.workers != 0) return config.workers;
  const unsigned cores = std::thread::hardware_concurrency();
  return cores == 0 ? 1 : cores;
}

namespace {

// The signing key shared by a cluster's proxies: the file's bytes (a
// trailing newline, as `openssl rand -hex 32 > file` leaves, is not part of
// it). "" or why it cannot be used.
std::string ReadTokenKey(const std::string& path, std::string* key) {
  std::ifstream file(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (!file.good() && !file.eof()) return "cannot read '" + path + "'";
  while (!bytes.empty() && (bytes.back() == '\n' || bytes.back() == '\r')) bytes.pop_back();
  if (bytes.size() < acl::AuthTokens::kMinKeyBytes) {
    return "the key in '" + path + "' is shorter than " +
           std::to_string(acl::AuthTokens::kMinKeyBytes) +
           " bytes (make one with: openssl rand -hex 32 > FILE)";
  }
  *key = std::move(bytes);
  return "";
}

}  // namespace

Runtime::Result Runtime::Build(const std::string& path, const Runtime* previous) {
  Result result;
  config::LoadResult loaded = config::LoadConfigFile(path);
  if (!loaded.ok()) {
    result.errors = std::move(loaded.errors);
    return result;
  }
  TlsContext::Result tls =
      TlsContext::Create(loaded.config->tls, previous ? previous->tls.get() : nullptr);
  if (!tls.context) {
    result.errors = std::move(tls.errors);
    return result;
  }
  auto runtime = std::make_shared<Runtime>();
  runtime->random_token_key = previous ? previous->random_token_key : acl::AuthTokens::RandomKey();
  std::string token_key = runtime->random_token_key;
  if (!loaded.config->token_key_file.empty()) {
    std::string error = ReadTokenKey(loaded.config->token_key_file, &token_key);
    if (!error.empty()) {
      result.errors.push_back(
          config::ConfigError{"token_key_file", loaded.config->token_key_line, error});
      return result;
    }
  }
  runtime->tokens = std::make_shared<const acl::AuthTokens>(
      std::move(token_key), std::chrono::seconds(loaded.config->token_ttl_seconds));
  std::string log_error;
  // Workers are fixed for the process's life: a reload keeps their number.
  const size_t writers = previous ? previous->access_log->writers() : WorkerCount(*loaded.config);
  std::shared_ptr<AccessLog> access_log =
      AccessLog::Open(loaded.config->log.access_log, writers, &log_error);
  if (!access_log) {
    result.errors.push_back(config::ConfigError{"log.access_log", 0, log_error});
    return result;
  }
  runtime->access_log = std::move(access_log);
  if (previous != nullptr) {
    runtime->auth_throttle = previous->auth_throttle;
    runtime->auth_throttle->SetSettings(loaded.config->auth_throttle);
  } else {
    runtime->auth_throttle = std::make_shared<acl::AuthThrottle>(loaded.config->auth_throttle);
  }
  runtime->config = loaded.config;
  runtime->acl = acl::Acl::Compile(*loaded.config);
  runtime->accounts = std::make_shared<const acl::AccountStore>(loaded.config->accounts);
  runtime->tls = tls.context;
  result.runtime = std::move(runtime);
  return result;
}

std::string ShadowModeWarning(const config::Config& config) {
  if (!config.shadow) return "";
  std::string warning = "SHADOW MODE (enforce: shadow, line " +
                        std::to_string(config.enforce_line) +
                        "): the ACL refuses nothing; a request it would refuse is forwarded, "
                        "marked shadow_denied= in the access log and counted in "
                        "etcd_tlsproxy_shadow_denials_total. Credentials and read_only still apply";
  if (config.log.access_log == "off") {
    warning += "; log.access_log is off, so would-be refusals are only counted";
  }
  return warning;
}

}  // namespace tlsproxy::proxy

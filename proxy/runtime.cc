#include "proxy/runtime.h"

#include <thread>

namespace tlsproxy::proxy {

size_t WorkerCount(const config::Config& config) {
  if (config.workers != 0) return config.workers;
  const unsigned cores = std::thread::hardware_concurrency();
  return cores == 0 ? 1 : cores;
}

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
  std::string log_error;
  // Workers are fixed for the process's life: a reload keeps their number.
  const size_t writers = previous ? previous->access_log->writers() : WorkerCount(*loaded.config);
  std::shared_ptr<AccessLog> access_log =
      AccessLog::Open(loaded.config->log.access_log, writers, &log_error);
  if (!access_log) {
    result.errors.push_back(config::ConfigError{"log.access_log", 0, log_error});
    return result;
  }
  auto runtime = std::make_shared<Runtime>();
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

}  // namespace tlsproxy::proxy

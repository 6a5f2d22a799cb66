#include "proxy/runtime.h"

namespace tlsproxy::proxy {

Runtime::Result Runtime::Build(const std::string& path) {
  Result result;
  config::LoadResult loaded = config::LoadConfigFile(path);
  if (!loaded.ok()) {
    result.errors = std::move(loaded.errors);
    return result;
  }
  TlsContext::Result tls = TlsContext::Create(loaded.config->tls);
  if (!tls.context) {
    result.errors = std::move(tls.errors);
    return result;
  }
  std::string log_error;
  std::shared_ptr<AccessLog> access_log =
      AccessLog::Open(loaded.config->log.access_log, &log_error);
  if (!access_log) {
    result.errors.push_back(config::ConfigError{"log.access_log", 0, log_error});
    return result;
  }
  auto runtime = std::make_shared<Runtime>();
  runtime->access_log = std::move(access_log);
  runtime->auth_throttle = std::make_shared<acl::AuthThrottle>(loaded.config->auth_throttle);
  runtime->config = loaded.config;
  runtime->acl = acl::Acl::Compile(*loaded.config);
  runtime->accounts = std::make_shared<const acl::AccountStore>(loaded.config->accounts);
  runtime->tls = tls.context;
  result.runtime = std::move(runtime);
  return result;
}

}  // namespace tlsproxy::proxy

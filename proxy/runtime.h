// Everything the proxy needs to serve, compiled once from a config file and
// then immutable: the validated Config, the ACL, the accounts, the TLS
// context and the open access log. Built the same way for `--check`, start-up and (later) reload,
// so they can never disagree.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "acl/account_store.h"
#include "acl/acl.h"
#include "acl/auth_throttle.h"
#include "config/config.h"
#include "proxy/access_log.h"
#include "proxy/tls_context.h"

namespace tlsproxy::proxy {

struct Runtime {
  std::shared_ptr<const config::Config> config;
  std::shared_ptr<const acl::Acl> acl;
  std::shared_ptr<const acl::AccountStore> accounts;
  std::shared_ptr<const TlsContext> tls;
  std::shared_ptr<AccessLog> access_log;
  std::shared_ptr<acl::AuthThrottle>
      auth_throttle;  // mutable state, thread-safe  // thread-safe; reopened by every Build()

  struct Result {
    std::shared_ptr<const Runtime> runtime;  // set when errors is empty
    std::vector<config::ConfigError> errors;
  };
  // Loads, validates and compiles the config file at `path`. Every problem
  // found is listed, each naming its key and line.
  static Result Build(const std::string& path);
};

}  // namespace tlsproxy::proxy

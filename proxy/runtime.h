// Everything the proxy needs to serve, compiled once from a config file:
// the validated Config, the ACL, the accounts, the TLS context, the open
// access log and the auth throttle. Built the same way for `--check`,
// start-up and reload, so they can never disagree.
//
// Immutable once built, except the state that must outlive a reload, which
// Build() carries over from the previous Runtime: the auth throttle's
// counts and back-offs (its limits follow the new config), the random
// token key used when no token_key_file is set, and the TLS
// session-ticket keys and session cache (see TlsContext::Create). The
// access log is reopened by every Build(), so logrotate's SIGHUP moves
// writing to the new file.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "acl/account_store.h"
#include "acl/acl.h"
#include "acl/auth_throttle.h"
#include "acl/auth_token.h"
#include "config/config.h"
#include "proxy/access_log.h"
#include "proxy/tls_context.h"

namespace tlsproxy::proxy {

struct Runtime {
  std::shared_ptr<const config::Config> config;
  std::shared_ptr<const acl::Acl> acl;
  std::shared_ptr<const acl::AccountStore> accounts;
  std::shared_ptr<const TlsContext> tls;
  std::shared_ptr<AccessLog> access_log;             // one writer per worker
  std::shared_ptr<acl::AuthThrottle> auth_throttle;  // thread-safe; shared with the previous set
  std::shared_ptr<const acl::AuthTokens> tokens;     // v3 login tokens
  // The process's random token key (used when token_key_file is not set),
  // carried over by every reload so tokens outlive a logrotate.
  std::string random_token_key;

  struct Result {
    std::shared_ptr<const Runtime> runtime;  // set when errors is empty
    std::vector<config::ConfigError> errors;
  };
  // Loads, validates and compiles the config file at `path`. Every problem
  // found is listed, each naming its key and line. With `previous` (a
  // reload), carries over what must outlive it; nothing of `previous`
  // changes when the new file is refused.
  static Result Build(const std::string& path, const Runtime* previous = nullptr);
};

// Empty when the ACL is enforced; under `enforce: shadow`, the warning that
// start-up, every reload and --check print: nothing is refused by the ACL.
std::string ShadowModeWarning(const config::Config& config);

// The number of worker event loops `config` asks for (`workers: 0` is one per core).
size_t WorkerCount(const config::Config& config);

}  // namespace tlsproxy::proxy

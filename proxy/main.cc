// etcd-tlsproxy: wires config -> acl -> proxy and runs the event loop.
#include <signal.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "config/nginx_import.h"
#include "config/nginx_syntax.h"
#include "proxy/access_log.h"
#include "proxy/command_line.h"
#include "proxy/runtime.h"
#include "proxy/server.h"

namespace {

using tlsproxy::proxy::CommandLine;
using tlsproxy::proxy::Runtime;

void SetUpLogging(const std::string& level) {
  // Every thread logs through it: the sink must be the thread-safe one.
  auto logger = std::make_shared<spdlog::logger>("etcd-tlsproxy",
                                                 std::make_shared<spdlog::sinks::stderr_sink_mt>());
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %l %v");
  logger->set_level(spdlog::level::from_str(level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

// Builds the runtime, or prints every problem and returns null.
std::shared_ptr<const Runtime> BuildOrReport(const std::string& path) {
  Runtime::Result built = Runtime::Build(path);
  for (const auto& error : built.errors) {
    std::fprintf(stderr, "etcd-tlsproxy: %s: %s\n", path.c_str(), error.ToString().c_str());
  }
  return built.runtime;
}

int Check(const std::string& path) {
  std::shared_ptr<const Runtime> runtime = BuildOrReport(path);
  if (!runtime) return 1;
  std::printf("%s: configuration OK\n", path.c_str());
  std::printf("ACL rules (a key's longest whole-segment prefix decides it):\n");
  for (const std::string& line : runtime->acl->Explain()) std::printf("  %s\n", line.c_str());
  if (const std::string shadow = tlsproxy::proxy::ShadowModeWarning(*runtime->config);
      !shadow.empty()) {
    std::printf("\nWARNING: %s\n", shadow.c_str());
  }
  return 0;
}

// --from-nginx: prints the acls an nginx tlsproxy site translates to.
int FromNginx(const std::string& path) {
  namespace config = tlsproxy::config;
  const std::string shown = config::EscapeNginxText(path);
  const config::NginxFileReader read_file = config::DiskFileReader();
  std::string why;
  const std::optional<std::string> text = read_file(path, &why);
  if (!text) {
    std::fprintf(stderr, "etcd-tlsproxy: %s: %s\n", shown.c_str(), why.c_str());
    return 1;
  }
  const config::NginxImport imported = config::ImportNginx(*text, path, read_file);
  if (!imported.ok()) {
    const std::string where =
        imported.error_line > 0 ? ":" + std::to_string(imported.error_line) : "";
    std::fprintf(stderr, "etcd-tlsproxy: %s%s: %s\n", shown.c_str(), where.c_str(),
                 imported.error.c_str());
    return 1;
  }
  std::fputs(imported.yaml.c_str(), stdout);
  return 0;
}

// Each client costs one descriptor (two while forwarding): raise the soft
// limit to the hard one so 10,000 watchers fit without tuning.
void RaiseDescriptorLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

int Serve(const std::string& path) {
  std::shared_ptr<const Runtime> runtime = BuildOrReport(path);
  if (!runtime) return 1;
  SetUpLogging(runtime->config->log.level);
  signal(SIGPIPE, SIG_IGN);
  RaiseDescriptorLimit();
  std::string error;
  std::unique_ptr<tlsproxy::proxy::Server> server =
      tlsproxy::proxy::Server::Create(path, std::move(runtime), &error);
  if (!server) {
    spdlog::critical("{}: {}", path, error);
    return 1;
  }
  return server->Run();
}

}  // namespace

int main(int argc, char** argv) {
  const CommandLine command_line =
      CommandLine::Parse(std::vector<std::string>(argv + 1, argv + argc));
  switch (command_line.action) {
    case CommandLine::Action::kHelp:
      std::fputs(CommandLine::Usage(), stdout);
      return 0;
    case CommandLine::Action::kVersion:
      std::printf("etcd-tlsproxy %s\n", TLSPROXY_VERSION);
      return 0;
    case CommandLine::Action::kUsageError:
      std::fprintf(stderr, "etcd-tlsproxy: %s\n%s", command_line.error.c_str(),
                   CommandLine::Usage());
      return 2;
    case CommandLine::Action::kCheck:
      return Check(command_line.config_path);
    case CommandLine::Action::kFromNginx:
      return FromNginx(command_line.nginx_path);
    case CommandLine::Action::kServe:
      return Serve(command_line.config_path);
  }
  return 2;
}

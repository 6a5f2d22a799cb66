// The command line: `--config FILE [--check]`, `--from-nginx FILE`,
// `--version`, `--help`.
// Parsing is pure; main() acts on the result.
#pragma once

#include <string>
#include <vector>

namespace tlsproxy::proxy {

struct CommandLine {
  enum class Action { kServe, kCheck, kFromNginx, kVersion, kHelp, kUsageError };
  Action action = Action::kUsageError;
  std::string config_path;
  std::string nginx_path;  // for kFromNginx
  std::string error;       // for kUsageError

  static CommandLine Parse(const std::vector<std::string>& arguments);
  static const char* Usage();
};

}  // namespace tlsproxy::proxy

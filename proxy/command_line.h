// The command line: `--config FILE [--check]`, `--version`, `--help`.
// Parsing is pure; main() acts on the result.
#pragma once

#include <string>
#include <vector>

namespace tlsproxy::proxy {

struct CommandLine {
  enum class Action { kServe, kCheck, kVersion, kHelp, kUsageError };
  Action action = Action::kUsageError;
  std::string config_path;
  std::string error;  // for kUsageError

  static CommandLine Parse(const std::vector<std::string>& arguments);
  static const char* Usage();
};

}  // namespace tlsproxy::proxy

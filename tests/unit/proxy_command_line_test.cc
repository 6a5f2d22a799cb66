#include "proxy/command_line.h"

#include <gtest/gtest.h>

namespace tlsproxy::proxy {
namespace {

TEST(CommandLine, Table) {
  using A = CommandLine::Action;
  const struct {
    std::vector<std::string> args;
    A action;
    const char* path;
  } cases[] = {
      {{"--config", "f.yaml"}, A::kServe, "f.yaml"},
      {{"--config=f.yaml"}, A::kServe, "f.yaml"},
      {{"--config", "f.yaml", "--check"}, A::kCheck, "f.yaml"},
      {{"--check", "--config", "f.yaml"}, A::kCheck, "f.yaml"},
      {{"--version"}, A::kVersion, ""},
      {{"--help"}, A::kHelp, ""},
      {{}, A::kUsageError, ""},
      {{"--check"}, A::kUsageError, ""},
      {{"--config"}, A::kUsageError, ""},
      {{"--config", "f", "--bogus"}, A::kUsageError, "f"},
  };
  for (const auto& c : cases) {
    const CommandLine parsed = CommandLine::Parse(c.args);
    EXPECT_EQ(parsed.action, c.action) << ::testing::PrintToString(c.args);
    EXPECT_EQ(parsed.config_path, c.path) << ::testing::PrintToString(c.args);
    if (c.action == A::kUsageError) {
      EXPECT_FALSE(parsed.error.empty());
    }
  }
}

}  // namespace
}  // namespace tlsproxy::proxy

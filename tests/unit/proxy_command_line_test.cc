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
    const char* nginx_path = "";
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
      {{"--from-nginx", "site.conf"}, A::kFromNginx, "", "site.conf"},
      {{"--from-nginx=site.conf"}, A::kFromNginx, "", "site.conf"},
      {{"--from-nginx"}, A::kUsageError, ""},
      {{"--from-nginx="}, A::kUsageError, ""},
      {{"--from-nginx", "site.conf", "--config", "f.yaml"}, A::kUsageError, "f.yaml", "site.conf"},
      {{"--from-nginx", "site.conf", "--check"}, A::kUsageError, "", "site.conf"},
  };
  for (const auto& c : cases) {
    const CommandLine parsed = CommandLine::Parse(c.args);
    EXPECT_EQ(parsed.action, c.action) << ::testing::PrintToString(c.args);
    EXPECT_EQ(parsed.config_path, c.path) << ::testing::PrintToString(c.args);
    EXPECT_EQ(parsed.nginx_path, c.nginx_path) << ::testing::PrintToString(c.args);
    if (c.action == A::kUsageError) {
      EXPECT_FALSE(parsed.error.empty());
    }
  }
}

TEST(CommandLine, UsageNamesEveryAction) {
  const std::string usage = CommandLine::Usage();
  for (const char* action : {"--config FILE", "--check", "--from-nginx FILE", "--version"}) {
    EXPECT_NE(usage.find(action), std::string::npos) << action;
  }
}

}  // namespace
}  // namespace tlsproxy::proxy

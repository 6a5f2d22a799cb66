// A second proxy (or any program) on an address already in use is a
// start-up error, even though the workers share their port with
// SO_REUSEPORT: two processes must never split one port's connections.
#include "tests/integration/harness.h"

namespace tlsproxy::integration {
namespace {

TEST(ListenTest, SecondProxyOnTheSamePortRefusesToStart) {
  Stack stack;
  ASSERT_TRUE(stack.Start());
  const CommandResult second =
      RunCommand({TLSPROXY_BINARY, "--config", stack.proxy.config_path()}, {}, 10s);
  EXPECT_EQ(second.exit_code, 1) << second.output;
  EXPECT_NE(second.output.find("Address already in use"), std::string::npos) << second.output;
  EXPECT_NE(second.output.find("listen (line 1)"), std::string::npos) << second.output;
  // The first one is untouched.
  EXPECT_EQ(HttpsGet(stack.port(), "/version").status, 200);
  EXPECT_TRUE(stack.proxy.Stop());
}

}  // namespace
}  // namespace tlsproxy::integration

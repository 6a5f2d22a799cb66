// SIGTERM drains: an open watch ends with a clean end of stream (the client
// sees a complete 200 response, not a reset), and the proxy exits 0.
#include <signal.h>

#include <thread>

#include "tests/integration/harness.h"

namespace tlsproxy::integration {
namespace {

TEST(DrainTest, OpenWatchEndsCleanlyAndProxyExitsZero) {
  Stack stack;
  ASSERT_TRUE(stack.Start());
  HttpsRequest watch;
  watch.path = "/v2/keys/" + UniqueName("drained") + "?wait=true";
  watch.timeout = 30s;
  std::atomic<bool> head{false};
  watch.on_head = [&](long) { head = true; };
  HttpResponse response;
  std::thread watcher([&] { response = Https(stack.port(), watch); });
  for (int i = 0; i < 200 && !head; ++i) std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(head.load()) << "the watch never got its response head";

  EXPECT_TRUE(stack.proxy.Stop(SIGTERM));  // exit status 0
  watcher.join();
  EXPECT_EQ(response.status, 200);
  EXPECT_TRUE(response.error.empty()) << "the stream did not end cleanly: " << response.error;
}

TEST(DrainTest, NewConnectionsRefusedAfterStop) {
  Stack stack;
  ASSERT_TRUE(stack.Start());
  EXPECT_EQ(HttpsGet(stack.port(), "/version").status, 200);
  EXPECT_TRUE(stack.proxy.Stop(SIGINT));
  const HttpResponse after = HttpsGet(stack.port(), "/version");
  EXPECT_EQ(after.status, 0);
  EXPECT_FALSE(after.error.empty());
}

}  // namespace
}  // namespace tlsproxy::integration
